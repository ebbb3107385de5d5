"""TINTOlib's Clusters, in memory: a row as its responses to a clustering of
the training rows (distances to centres, memberships or factor scores)."""

from __future__ import annotations

import math
from numbers import Integral

import numpy as np
from scipy.spatial.distance import cdist
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import _CHUNK_ROWS
from ._drawing import CLUSTER_RESPONSES
from ._drawn import _SHARED_ATTRIBUTES, TINTOLIB_REFERENCE, _DrawnImager

_ALGORITHMS = ("kmeans", "kmedoids", "gaussian_mixture", "factor")
_SCIPY_METRICS = {
    "euclidean": "euclidean",
    "manhattan": "cityblock",
    "chebyshev": "chebyshev",
}
_COST_ROWS = 2048  # rows of a cluster's distance matrix held at once (PAM)


class ClustersImager(_DrawnImager):
    __doc__ = """Turn each row into its responses to a clustering of the training rows.

    ``fit`` learns each feature's min/max, standardises the min-max scaled
    training rows and fits ``algorithm`` to them: k-means, k-medoids
    (TINTOlib's PAM), a Gaussian mixture or factor analysis, with
    ``n_clusters`` clusters, components or factors. ``transform`` draws each
    row as one pixel per cluster: its distance to the cluster's centre
    (k-means, k-medoids; or ``exp(-d**2 / (2 sigma**2))`` with ``rbf=True``,
    ``sigma`` the mean training distance), its membership probability
    (Gaussian mixture) or its factor score (factor analysis), min-max scaled
    over the training rows, placed row by row on the smallest square grid
    (TINTOlib's ``Clusters`` [1]_, in memory). The centres of k-means and
    k-medoids are ordered as TINTOlib chains them: from the closest pair on,
    each next the closest to the last, so neighbouring pixels are close
    clusters.

    Every pixel depends on every feature, so no pixel is a feature's own:
    ``feature_masks_`` is empty, ``feature_positions_`` is ``(-1, -1)`` and
    PermGrad's Grad-CAM part is undefined (NaN; ``cnn_importance="gradcam"``
    is refused). The drawing is differentiable in the values: the hybrids
    draw it inside their graph and integrated gradients reach the values.

    Parameters
    ----------
    algorithm : {"kmeans", "kmedoids", "gaussian_mixture", "factor"}, \
default="kmeans"
        The clustering (TINTOlib's ``kmeans``, ``kmedoids``, ``gaussianMix``,
        ``factor``).
    n_clusters : int, default=16
        Clusters, components or factors (pixels); at most the number of
        training rows, and for ``"factor"`` fewer than the features.
    rbf : bool, default=False
        k-means and k-medoids: draw ``exp(-d**2 / (2 sigma**2))`` rather than
        the distance ``d`` (TINTOlib's ``RBFMethod``).
    metric : {"euclidean", "manhattan", "chebyshev"}, default="euclidean"
        k-medoids' distance (k-means' is Euclidean).
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
        The Gaussian mixture's covariances.
    n_init : "auto" or int, default="auto"
        k-means' initialisations (the Gaussian mixture's: 1 for ``"auto"``).
    max_iter : int, default=300
        Iterations of k-means, k-medoids and the Gaussian mixture.
    random_state : int, RandomState instance or None, default=None
        Seeds the clustering (TINTOlib's ``random_seed``, 1 by default there).
    zoom : int, default=1
        Each pixel repeated into a ``zoom x zoom`` block.

    Attributes
    ----------%s
    clustering_ : estimator or ndarray
        The fitted ``KMeans``, ``GaussianMixture`` or ``FactorAnalysis``, or
        the k-medoids' medoids (n_clusters, n_features), in standardised units.
    cluster_order_ : ndarray of shape (n_clusters,), dtype int
        The cluster each pixel shows, in reading order.
    n_iter_ : int
        Iterations the clustering ran.

    See Also
    --------
    DistanceMatrixImager : A row's pairwise differences (a pixel per feature
        pair).
    IGTDImager : One pixel per feature (the hybrids' default image).

    Notes
    -----
    TINTOlib 1.3.1's image, to within one grey level of its 8-bit PNGs
    (tested for each algorithm). Deliberate differences:

    - **No files**: images stay in memory as float32 in [0, 1] (TINTOlib
      writes ``uint8(round(255 * value))`` PNG files, one a row).
    - **Scaled and clipped to the training rows' range**: the features'
      min-max scaling (as every imager), and each pixel's (TINTOlib leaves an
      unseen row's pixel outside [0, 255], which its ``uint8`` conversion
      wraps around).
    - **Drawn in float32** from :meth:`transform_values`' output, as the
      hybrids draw it (TINTOlib: float64); the Euclidean distance is
      ``sqrt(s + 1e-12)`` of its square ``s`` (a gradient at a medoid).
    - **Not offered**: TINTOlib's ``aggloKNN`` (a nearest-neighbour vote over
      every training row), ``kde`` (a pixel per feature, each a kernel sum
      over every training row), ``mixMethod`` (three algorithms as three
      channels) and ``n_clusters="auto"`` (an SSIM search over seeds): tune
      ``n_clusters`` in a search instead.

    References
    ----------
    .. [1] %s

    Examples
    --------
    >>> from skpermgrad import ClustersImager
    >>> from skpermgrad.datasets import load_puma8nh
    >>> X, y = load_puma8nh(return_X_y=True)
    >>> imager = ClustersImager(random_state=1).fit(X)
    >>> imager.image_shape_
    (4, 4, 1)
    >>> imager.transform_images(X[:3]).shape
    (3, 4, 4, 1)
    """ % (_SHARED_ATTRIBUTES, TINTOLIB_REFERENCE)

    differentiable = True  # whether a gradient reaches the values
    _method = "clusters"
    _kind = "clusters"
    feature_pixels = False  # whether each feature has pixels of its own
    _parameter_constraints: dict = {
        **_DrawnImager._parameter_constraints,
        "algorithm": [StrOptions(set(_ALGORITHMS))],
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "rbf": ["boolean"],
        "metric": [StrOptions(set(_SCIPY_METRICS))],
        "covariance_type": [StrOptions({"full", "tied", "diag", "spherical"})],
        "n_init": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        algorithm: str = "kmeans",
        n_clusters: int = 16,
        *,
        rbf: bool = False,
        metric: str = "euclidean",
        covariance_type: str = "full",
        n_init: str | int = "auto",
        max_iter: int = 300,
        random_state: int | np.random.RandomState | None = None,
        zoom: int = 1,
    ) -> None:
        self.algorithm = algorithm
        self.n_clusters = n_clusters
        self.rbf = rbf
        self.metric = metric
        self.covariance_type = covariance_type
        self.n_init = n_init
        self.max_iter = max_iter
        self.random_state = random_state
        self.zoom = zoom

    def _fit_image(self, values):
        n_samples, n_features = values.shape
        k = self.n_clusters
        if k > n_samples:
            raise ValueError(
                f"{type(self).__name__}: n_clusters={k} is more than the "
                f"{n_samples} training rows: use n_clusters <= {n_samples}."
            )
        if self.algorithm == "factor" and k > n_features - 1:
            raise ValueError(
                f"{type(self).__name__}: factor analysis of {n_features} features "
                f"has at most {n_features - 1} factors, got n_clusters={k}: use "
                f"n_clusters <= {n_features - 1} or another algorithm."
            )
        # standardised in place: ``values`` is fit's own copy (one copy of
        # the rows in memory, for millions of them); its first row kept for
        # the drawing's probe
        first = values[:1].copy()
        standard = StandardScaler(copy=False).fit(values)
        z = standard.transform(values)
        fitted = getattr(self, f"_fit_{self.algorithm}")(
            z, check_random_state(self.random_state)
        )
        # each pixel's range over the training rows' responses, by blocks of
        # rows (bounded scratch space), from the standardised rows
        respond = CLUSTER_RESPONSES[fitted["response"]]
        params = {n: v for n, v in fitted.items() if n != "response"}
        identity = {"mean": np.zeros(n_features), "scale": np.ones(n_features)}
        low, high = np.full(k, np.inf), np.full(k, -np.inf)
        for start in range(0, n_samples, _CHUNK_ROWS):
            block = respond(np, z[start : start + _CHUNK_ROWS], **identity, **params)
            low = np.minimum(low, block.min(axis=0))
            high = np.maximum(high, block.max(axis=0))
        self._response = {"mean": standard.mean_, "scale": standard.scale_, **fitted}
        self._pixel_range = {"low": low, "span": high - low}
        super()._fit_image(first)

    # ---------------------------------------------------- the clusterings
    def _centres(self, centres, z):
        """The distance drawing of ``centres`` in TINTOlib's chained order."""
        self.cluster_order_ = _chained_order(centres)
        centres = centres[self.cluster_order_]
        metric = "euclidean" if self.algorithm == "kmeans" else self.metric
        sigma = None
        if self.rbf:  # TINTOlib's sigma: the mean training distance, by blocks
            total = sum(
                cdist(
                    z[start : start + _CHUNK_ROWS], centres, _SCIPY_METRICS[metric]
                ).sum()
                for start in range(0, len(z), _CHUNK_ROWS)
            )
            sigma = float(total / (len(z) * len(centres)))
        return {
            "response": "distances",
            "centers": centres,
            "metric": metric,
            "sigma": sigma,
        }

    def _fit_kmeans(self, z, rng):
        from sklearn.cluster import KMeans

        self.clustering_ = KMeans(
            self.n_clusters,
            copy_x=False,  # z is this fit's own: no copy of the rows
            n_init=self.n_init,
            max_iter=self.max_iter,
            random_state=rng,
        ).fit(z)
        self.n_iter_ = self.clustering_.n_iter_
        return self._centres(self.clustering_.cluster_centers_, z)

    def _fit_kmedoids(self, z, rng):
        medoids, self.n_iter_ = _pam(
            z, self.n_clusters, self.max_iter, _SCIPY_METRICS[self.metric], rng
        )
        self.clustering_ = z[medoids]
        return self._centres(self.clustering_, z)

    def _fit_gaussian_mixture(self, z, rng):
        from sklearn.mixture import GaussianMixture

        self.clustering_ = mixture = GaussianMixture(
            self.n_clusters,
            covariance_type=self.covariance_type,
            n_init=1 if self.n_init == "auto" else self.n_init,
            max_iter=self.max_iter,
            random_state=rng,
        ).fit(z)
        self.n_iter_ = mixture.n_iter_
        self.cluster_order_ = np.arange(self.n_clusters)
        factors = _full_cholesky(
            mixture.precisions_cholesky_,
            self.covariance_type,
            z.shape[1],
            self.n_clusters,
        )
        log_det = np.log(np.diagonal(factors, axis1=1, axis2=2)).sum(axis=1)
        return {
            "response": "memberships",
            "means": mixture.means_,
            "precisions_cholesky": factors,
            "log_constant": log_det
            + np.log(mixture.weights_)
            - 0.5 * z.shape[1] * np.log(2 * np.pi),
        }

    def _fit_factor(self, z, rng):
        from sklearn.decomposition import FactorAnalysis

        self.clustering_ = analysis = FactorAnalysis(
            self.n_clusters, random_state=rng
        ).fit(z)
        self.n_iter_ = analysis.n_iter_
        self.cluster_order_ = np.arange(self.n_clusters)
        # FactorAnalysis.transform: (z - mean) @ W_psi.T @ inv(I + W_psi W.T)
        w_psi = analysis.components_ / analysis.noise_variance_
        weights = w_psi.T @ np.linalg.inv(
            np.eye(self.n_clusters) + w_psi @ analysis.components_.T
        )
        return {
            "response": "factor_scores",
            "weights": weights,
            "offset": -analysis.mean_ @ weights,
        }

    # ---------------------------------------------------- the drawing
    def _side(self):
        """The grid's side before zoom: the smallest square of the clusters."""
        return math.ceil(math.sqrt(self.n_clusters))

    def _drawing_params(self, n_features):
        return {**self._response, **self._pixel_range, "side": self._side()}

    def _anchors(self, n_features):
        return np.full((n_features, 2), -1)  # no pixel of its own

    def _masks(self, n_features):
        return np.zeros((n_features, self._side(), self._side()), dtype=bool)


def _chained_order(centres):
    """TINTOlib's ``__centroidsOrder``: the closest pair of centres first,
    then each time the centre closest to the last one placed, among those
    not placed (ties: the first pair in ``(i, j)`` order)."""
    n = len(centres)
    if n == 1:
        return np.zeros(1, dtype=np.intp)
    distance = cdist(centres, centres)
    i, j = np.triu_indices(n, 1)
    pair = np.argmin(distance[i, j])
    order = [int(i[pair]), int(j[pair])]
    placed = set(order)
    while len(order) < n:
        last = order[-1]
        others = [c for c in range(n) if c not in placed]
        nearest = others[int(np.argmin(distance[last, others]))]
        order.append(nearest)
        placed.add(nearest)
    return np.asarray(order, dtype=np.intp)


def _pam(z, k, max_iter, metric, rng):
    """TINTOlib's k-medoids (``__kmedoids_pam``): ``k`` distinct rows drawn
    at random, then each row assigned to its nearest medoid and each medoid
    moved to the row of its cluster with the least total distance to the
    others, until the medoids stop moving. Returns the medoids' row indices
    and the iterations run."""
    medoids = rng.choice(len(z), k, replace=False)
    for iteration in range(1, max_iter + 1):
        labels = np.argmin(cdist(z, z[medoids], metric), axis=1)
        moved = medoids.copy()
        for c in range(k):
            members = np.flatnonzero(labels == c)
            if len(members) == 0:
                continue
            costs = np.zeros(len(members))
            for start in range(0, len(members), _COST_ROWS):  # bounded memory
                block = members[start : start + _COST_ROWS]
                costs[start : start + len(block)] = cdist(
                    z[block], z[members], metric
                ).sum(axis=1)
            moved[c] = members[np.argmin(costs)]
        if np.array_equal(moved, medoids):
            break
        medoids = moved
    return medoids, iteration


def _full_cholesky(factors, covariance_type, n_features, k):
    """A Gaussian mixture's ``precisions_cholesky_`` as ``(k, d, d)`` upper
    triangular factors, whatever its covariance type."""
    if covariance_type == "full":
        return factors
    if covariance_type == "tied":
        return np.repeat(factors[None], k, axis=0)
    if covariance_type == "diag":
        return factors[:, :, None] * np.eye(n_features)
    return factors[:, None, None] * np.eye(n_features)  # spherical
