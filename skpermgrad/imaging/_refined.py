"""REFINED: an MDS layout of the features on a square grid, refined by hill climbing."""

from __future__ import annotations

import math
from itertools import product
from numbers import Integral

import numpy as np
from sklearn.manifold import MDS
from sklearn.metrics import euclidean_distances, pairwise_distances
from sklearn.utils._param_validation import Interval

from ._layout import _LayoutImager

# the 9 moves of a pixel's swap, in REFINED's order (the 5th stays put)
_MOVES = np.array(list(product([-1, 0, 1], repeat=2)))


def _equalise(xy):
    """REFINED's ``two_d_eq``: each coordinate replaced by its rank / n."""
    n = xy.shape[0]
    eq = np.empty_like(xy, dtype=np.float64)
    for axis in range(2):
        eq[np.argsort(xy[:, axis]), axis] = np.arange(n) * 1 / n
    return eq


def _assign_to_pixels(xy, side):
    """REFINED's ``Assign_features_to_pixels``: each feature to a free pixel.

    Rounds until every feature has a pixel: each unplaced feature picks its
    nearest free pixel centre; a pixel picked by several goes to the nearest
    of them. Returns the ``(side, side)`` map of feature indices (-1: empty).
    """
    n = xy.shape[0]
    cells = np.array(list(product(range(side), repeat=2)), dtype=np.float64)
    centroids = cells / side + 0.5 / side
    dist = pairwise_distances(centroids, xy, metric="euclidean")
    nearest = np.argsort(dist, axis=0)  # per feature, pixels nearest first
    free = np.ones(side * side, dtype=bool)
    owner = np.full(side * side, -1)
    placed = np.zeros(n, dtype=bool)
    while not placed.all():
        picks = {}
        for j in np.flatnonzero(~placed):
            order = nearest[:, j]
            pixel = order[np.argmax(free[order])]
            picks.setdefault(pixel, []).append(j)
        for pixel in sorted(picks):
            related = np.array(picks[pixel])
            best = related[np.argsort(dist[pixel, related])[0]]
            owner[pixel], free[pixel], placed[best] = best, False, True
    return owner.reshape(side, side)


def _positions(feature_map, n_features):
    rows, cols = np.nonzero(feature_map >= 0)
    grid = np.empty((n_features, 2), dtype=np.intp)
    grid[feature_map[rows, cols]] = np.column_stack([rows, cols])
    return grid


def _cost(grid, feature_dist):
    """REFINED's objective: ``sqrt(sum (pixel_dist - feature_dist)**2 /
    sum feature_dist**2)`` over the pairs of features."""
    pixel_dist = euclidean_distances(grid.astype(np.float64))
    tril = np.tril_indices(len(grid), k=-1)
    return math.sqrt(
        np.sum((pixel_dist[tril] - feature_dist[tril]) ** 2)
        / np.sum(feature_dist[tril] ** 2)
    )


def _hill_climb(feature_map, feature_dist, n_iterations):
    """REFINED's hill climbing, as TINTOlib's MPI workers and master run it.

    Each iteration visits the 9 offsets of a stride-3 lattice of centres; for
    every centre of the lattice it evaluates the swaps of its pixel with its 8
    neighbours on the same map, and then makes each centre's best swap that
    lowers the objective (the centres' 3x3 neighbourhoods are disjoint, so the
    swaps are independent). A swap's change of the objective's sum is computed
    in O(n_features) from the two pixels' distances to every feature, all
    candidates of an offset at once: O(n_features**2) per offset, 9 offsets an
    iteration (TINTOlib recomputes the whole objective, O(n_features**2), for
    each of the ~9 * n_features candidates, in MPI worker processes).
    """
    side = feature_map.shape[0]
    feature_map = feature_map.copy()
    n = feature_dist.shape[0]
    for _ in range(n_iterations):
        for start in product(range(3), repeat=2):
            centres = np.array(
                list(product(range(start[0], side, 3), range(start[1], side, 3)))
            )
            if centres.size == 0:
                continue
            grid = _positions(feature_map, n).astype(np.float64)
            targets = centres[:, None, :] + _MOVES[None, :, :]  # (C, 9, 2)
            inside = np.all((targets >= 0) & (targets < side), axis=2)
            targets = np.clip(targets, 0, side - 1)
            a = feature_map[centres[:, 0], centres[:, 1]][:, None].repeat(9, axis=1)
            b = feature_map[targets[..., 0], targets[..., 1]]
            here = np.broadcast_to(centres[:, None, :], targets.shape)
            # distances of both pixels to every feature: (C, 9, n)
            d_here = np.linalg.norm(here[..., None, :] - grid, axis=-1)
            d_there = np.linalg.norm(targets[..., None, :] - grid, axis=-1)
            change = np.zeros(a.shape)
            for moving, old, new in ((a, d_here, d_there), (b, d_there, d_here)):
                has = moving >= 0
                f = feature_dist[np.where(has, moving, 0)]  # (C, 9, n)
                term = (new - f) ** 2 - (old - f) ** 2
                others = np.ones(term.shape, dtype=bool)
                for k in (a, b):
                    idx = np.nonzero(k >= 0)
                    others[idx[0], idx[1], k[idx]] = False
                change += np.where(has, np.sum(term * others, axis=-1), 0.0)
            change[~inside] = np.inf
            change[:, 4] = 0.0  # staying put
            best = np.argmin(change, axis=1)
            for c, move in enumerate(best):
                if move == 4 or not change[c, move] < 0:
                    continue
                (r1, c1), (r2, c2) = centres[c], targets[c, move]
                feature_map[r1, c1], feature_map[r2, c2] = (
                    feature_map[r2, c2],
                    feature_map[r1, c1],
                )
    return feature_map


class RefinedImager(_LayoutImager):
    """Turn each row into a compact image with REFINED: MDS, then hill climbing.

    ``fit`` learns each feature's min/max from the training rows, embeds the
    features in 2-D by multidimensional scaling of their Euclidean distances,
    spreads the embedding evenly (each coordinate replaced by its rank), gives
    each feature the free pixel of a ``pixels x pixels`` grid nearest to it,
    then swaps neighbouring pixels while that brings the distances between
    pixels closer to the distances between features (REpresentation of
    Features as Images with NEighborhood Dependencies, Bazgir et al. [1]_).
    ``transform`` writes each row's min-max scaled values at those pixels.

    Parameters
    ----------
    pixels : int or None, default=None
        Side of the square image grid before ``zoom``; None takes
        ``ceil(sqrt(n_features))``, as REFINED does.
    n_iterations : int, default=5
        Rounds of hill climbing (TINTOlib's ``hcIterations``).
    zoom : int, default=1
        Each grid cell becomes a ``zoom x zoom`` block of the image.
    channels : int, default=1
        Number of identical channels of the image.
    random_state : int, RandomState instance or None, default=None
        Seeds the MDS embedding; pass an int for a reproducible layout
        (TINTOlib's default is 1).

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Names of features seen during ``fit``, when ``X`` has string column names.
    data_min_, data_max_ : ndarray of shape (n_features,)
        Per-feature minimum and maximum of the training data.
    scale_, min_ : ndarray of shape (n_features,)
        Min-max scaling learned from the training data: ``X * scale_ + min_``.
    feature_coordinates_ : ndarray of shape (n_features, 2)
        Each feature's MDS coordinate.
    feature_positions_ : ndarray of shape (n_features, 2), dtype int
        ``(row, col)`` of each feature's pixel in the rendered image (the
        top-left pixel of its ``zoom x zoom`` block).
    initial_cost_, cost_ : float
        REFINED's objective, ``sqrt(sum (d_pixels - d_features)**2 / sum
        d_features**2)`` over pairs of features, before and after the hill
        climbing.
    image_shape_ : tuple of int
        ``(height, width, channels)`` of one image.
    feature_masks_ : ndarray of shape (n_features, height, width), dtype bool
        The pixels each feature is drawn on (its own ``zoom x zoom`` block;
        explanations read Grad-CAM there).

    See Also
    --------
    IGTDImager : A compact layout found by greedy swaps of any two features.
    TintoImager : Features placed by a PCA or t-SNE of the features.

    Notes
    -----
    A reimplementation of ``TINTOlib.refined.REFINED`` (TINTOlib 1.3.1). The
    MDS, the even spreading and the first assignment are TINTOlib's, step for
    step (tested: the same initial map). TINTOlib runs the hill climbing in
    ``mpirun`` worker processes (it needs ``mpi4py`` and an MPI installation,
    neither a dependency of TINTOlib); here it runs in NumPy in the fitting
    process, each swap's change computed in O(n_features), and makes the same
    moves up to floating-point ties: the parity test checks that its objective
    is no worse than TINTOlib's hill climbing (replayed through TINTOlib's own
    functions in one process). Deliberate deviations:

    - **No files, no subprocess**, no temporary pickles in the working
      directory.
    - **Unseen values are clipped** to the training range; a constant column
      is scaled to 0.
    - ``pixels`` may be larger than ``ceil(sqrt(n_features))``.

    References
    ----------
    .. [1] O. Bazgir et al., "Representation of features as images with
       neighborhood dependencies for compatibility with convolutional neural
       networks", Nature Communications 11, 4391, 2020.
       :doi:`10.1038/s41467-020-18197-y`

    Examples
    --------
    >>> from skpermgrad import RefinedImager
    >>> from skpermgrad.datasets import load_puma8nh
    >>> X, y = load_puma8nh(return_X_y=True)
    >>> imager = RefinedImager(random_state=0).fit(X[:2000])
    >>> imager.image_shape_
    (3, 3, 1)
    >>> bool(imager.cost_ <= imager.initial_cost_)
    True
    """

    _method = "refined"
    _parameter_constraints: dict = {
        **_LayoutImager._parameter_constraints,
        "pixels": [Interval(Integral, 2, None, closed="left"), None],
        "n_iterations": [Interval(Integral, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        pixels: int | None = None,
        *,
        n_iterations: int = 5,
        zoom: int = 1,
        channels: int = 1,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.pixels = pixels
        self.n_iterations = n_iterations
        self.zoom = zoom
        self.channels = channels
        self.random_state = random_state

    def _fit_layout(self, values):
        n_features = values.shape[1]
        side = self._grid_side(n_features)
        columns = values.T
        feature_dist = euclidean_distances(columns)
        feature_dist = np.maximum(feature_dist, feature_dist.T)
        if np.all(columns == columns[0]):  # one point: MDS has nothing to fit
            self.feature_coordinates_ = np.zeros((n_features, 2))
        else:
            # one random start, as scikit-learn >= 1.9 does by default (stated,
            # so that every supported version embeds alike and none warns)
            start = {"init": "random"} if "init" in MDS().get_params() else {}
            mds = MDS(n_components=2, n_init=1, random_state=self.random_state, **start)
            self.feature_coordinates_ = mds.fit_transform(columns)
        first = _assign_to_pixels(_equalise(self.feature_coordinates_), side)
        if np.sum(feature_dist) == 0:  # every column equal: nothing to refine
            self.initial_cost_ = self.cost_ = 0.0
            return _positions(first, n_features), side
        self.initial_cost_ = _cost(_positions(first, n_features), feature_dist)
        final = _hill_climb(first, feature_dist, self.n_iterations)
        grid = _positions(final, n_features)
        self.cost_ = _cost(grid, feature_dist)
        return grid, side
