"""IGTD: features on a compact grid, swapped until near features sit near."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from scipy.spatial.distance import pdist, squareform
from scipy.stats import rankdata
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ._layout import _LayoutImager


def _lower_ranks(dist):
    """Symmetric matrix of the ranks (ties averaged) of the lower triangle."""
    n = dist.shape[0]
    tril = np.tril_indices(n, k=-1)
    ranking = np.zeros((n, n))
    ranking[tril] = rankdata(dist[tril])
    return ranking + ranking.T


def _feature_ranking(values, method):
    """IGTD's ranking of the distances between features (TINTOlib's, exactly).

    ``"pearson"``/``"spearman"``: 1 - correlation (a constant column correlates
    0 with every other); ``"euclidean"``: the distances scaled so that the
    farthest pair is 1.
    """
    if method == "euclidean":
        dist = squareform(pdist(values.T, metric="euclidean"))
        similarity = np.max(dist) - dist
        similarity = similarity / np.max(similarity)
    else:
        data = rankdata(values, axis=0) if method == "spearman" else values
        with np.errstate(invalid="ignore", divide="ignore"):
            similarity = np.corrcoef(data.T)
        constant = np.ptp(data, axis=0) == 0
        similarity[constant, :] = 0.0
        similarity[:, constant] = 0.0
        np.fill_diagonal(similarity, 1.0)
    return _lower_ranks(np.around(1 - similarity, decimals=10))


def _pixel_ranking(n_features, side, method):
    """Ranking of the distances between the first ``n_features`` cells (row-major)."""
    rows, cols = np.divmod(np.arange(n_features), side)
    coords = np.column_stack([rows, cols]).astype(np.float64)
    metric = "euclidean" if method == "euclidean" else "cityblock"
    return _lower_ranks(squareform(pdist(coords, metric=metric))), (rows, cols)


def _igtd_swaps(source, target, *, error, max_step, val_step, switch_t, min_gain, rng):
    """IGTD's greedy search: which feature goes to which cell.

    Zhu et al.'s algorithm as TINTOlib 1.3.1 runs it, step for step (the same
    random choices for a seed, the same swaps): each step takes the feature
    left alone longest (ties drawn at random), evaluates swapping it with every
    other and makes the best swap if it lowers the error. A swap's change of
    error is computed for all candidates at once in O(n_features**2) (squared
    error: ``2 * sum_k (S[i,k]-S[j,k]) (T[i,k]-T[j,k])`` minus the pair's own
    term), instead of TINTOlib's Python loop. Ranks are half-integers, so
    every error is exact in float64 and the choices equal TINTOlib's.

    Returns the order (``order[k]`` is the feature in cell ``k``) at the lowest
    error, that error and the number of steps taken.
    """
    source = source.copy()
    n = source.shape[0]
    tril = np.tril_indices(n, k=-1)
    index = np.arange(n)
    if error == "squared":
        err = float(np.sum(np.square(source[tril] - target[tril])))
    else:
        err = float(np.sum(np.abs(source[tril] - target[tril])))
    errors, best_index, best_err = [err], index.copy(), err
    step_record = -np.ones(n)
    for s in range(max_step):
        ties = np.flatnonzero(step_record == np.min(step_record))
        ii = ties[rng.permutation(len(ties))[0]]
        if error == "squared":
            delta = 2 * (
                np.einsum("jk,jk->j", source[ii] - source, target[ii] - target)
                - 2 * source[ii] * target[ii]
            )
        else:
            change = (
                np.abs(source - target[ii])
                + np.abs(source[ii] - target)
                - np.abs(source[ii] - target[ii])
                - np.abs(source - target)
            )
            change[:, ii] = 0.0
            change[np.arange(n), np.arange(n)] = 0.0
            delta = change.sum(axis=1)
        delta[ii] = np.inf
        with np.errstate(divide="ignore", invalid="ignore"):
            improves = np.any(delta / err <= switch_t)
        if improves:
            jj = int(np.argmin(delta))
            source[[ii, jj]] = source[[jj, ii]]
            source[:, [ii, jj]] = source[:, [jj, ii]]
            index[[ii, jj]] = index[[jj, ii]]
            step_record[[ii, jj]] = s
            new_err = delta[jj] + err
        else:
            step_record[ii] = s
            new_err = err
        errors.append(new_err)
        if new_err < best_err:  # the first lowest error, as TINTOlib's argmin
            best_index, best_err = index.copy(), new_err
        if s > val_step:
            old = errors[-val_step - 1]
            with np.errstate(divide="ignore", invalid="ignore"):
                gains = (old - np.array(errors[-val_step:])) / old
            if np.sum(gains >= min_gain) == 0:
                break
        err = new_err
    return best_index, best_err, len(errors) - 1


class IGTDImager(_LayoutImager):
    """Turn each row into a compact image with IGTD: no empty pixel but the last row's.

    ``fit`` learns each feature's min/max from the training rows and places
    the features on a ``pixels x pixels`` grid, filled in row-major order, so
    that the ranking of the distances between pixels matches the ranking of
    the distances between features (Image Generator for Tabular Data, Zhu et
    al. [1]_): a greedy search swaps pairs of features while the error between
    the two rankings falls. ``transform`` writes each row's min-max scaled
    values at those pixels, in memory.

    Parameters
    ----------
    pixels : int or None, default=None
        Side of the square image grid before ``zoom``; None takes the smallest
        that holds every feature, ``ceil(sqrt(n_features))``.
    feature_distance : {"pearson", "spearman", "euclidean"}, default="pearson"
        How far apart two features are: 1 - their Pearson or Spearman
        correlation over the training rows, or the Euclidean distance between
        their scaled columns.
    pixel_distance : {"euclidean", "manhattan"}, default="euclidean"
        How far apart two pixels are.
    error : {"squared", "abs"}, default="squared"
        How the difference between the two rankings is summed.
    max_step : int, default=1000
        Most swap steps of the search.
    val_step : int, default=50
        The search stops when the error has not fallen by a relative
        ``min_gain`` within this many steps.
    switch_t : float, default=0.0
        A swap is made when it changes the error by at most ``switch_t`` times
        the current error (0: when it does not raise it).
    min_gain : float, default=1e-5
        See ``val_step``.
    zoom : int, default=1
        Each grid cell becomes a ``zoom x zoom`` block of the image.
    channels : int, default=1
        Number of identical channels of the image.
    random_state : int, RandomState instance or None, default=None
        Draws which feature the search tries next among those left alone
        longest. Pass an int for a reproducible layout (TINTOlib's default is 1).

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
    feature_positions_ : ndarray of shape (n_features, 2), dtype int
        ``(row, col)`` of each feature's pixel in the rendered image (the
        top-left pixel of its ``zoom x zoom`` block).
    cost_ : float
        The error between the rankings at the chosen layout.
    n_steps_ : int
        Steps the search took.
    image_shape_ : tuple of int
        ``(height, width, channels)`` of one image.
    feature_masks_ : ndarray of shape (n_features, height, width), dtype bool
        The pixels each feature is drawn on (its own ``zoom x zoom`` block;
        explanations read Grad-CAM there).

    See Also
    --------
    TintoImager : Features placed by a PCA or t-SNE of the features.
    RefinedImager : An MDS layout refined by hill climbing.

    Notes
    -----
    A vectorised reimplementation of ``TINTOlib.igtd.IGTD`` (TINTOlib 1.3.1):
    for the same seed it chooses the same swaps and draws the same images
    (tested against TINTOlib). Each step costs O(n_features**2) in NumPy
    (TINTOlib: O(n_features**2) Python operations), at most ``max_step`` steps.
    Deliberate deviations:

    - **No files**; values stay in [0, 1] with 1 the largest value (TINTOlib's
      npy files hold ``255 * (1 - value)``, "black means high", over the data's
      global range).
    - **Square grids only**, ``pixels x pixels`` (TINTOlib's ``scale=[rows,
      cols]``), so that every imager feeds the same CNN.
    - The ``"set"``, Wasserstein, Jensen, Geodesic and Tropical feature
      distances are not offered.
    - **A constant column** correlates 0 with every other (TINTOlib's
      correlation is NaN and its ranking undefined) and is scaled to 0.
    - **Unseen values are clipped** to the training range.

    References
    ----------
    .. [1] Y. Zhu et al., "Converting tabular data into images for deep learning
       with convolutional neural networks", Scientific Reports 11, 11325, 2021.
       :doi:`10.1038/s41598-021-90923-y`

    Examples
    --------
    >>> from skpermgrad import IGTDImager
    >>> from skpermgrad.datasets import load_puma8nh
    >>> X, y = load_puma8nh(return_X_y=True)
    >>> imager = IGTDImager(random_state=0).fit(X)
    >>> imager.image_shape_
    (3, 3, 1)
    >>> imager.transform_images(X[:5]).shape
    (5, 3, 3, 1)
    """

    _method = "igtd"
    _parameter_constraints: dict = {
        **_LayoutImager._parameter_constraints,
        "pixels": [Interval(Integral, 2, None, closed="left"), None],
        "feature_distance": [StrOptions({"pearson", "spearman", "euclidean"})],
        "pixel_distance": [StrOptions({"euclidean", "manhattan"})],
        "error": [StrOptions({"squared", "abs"})],
        "max_step": [Interval(Integral, 0, None, closed="left")],
        "val_step": [Interval(Integral, 1, None, closed="left")],
        "switch_t": [Interval(Real, None, None, closed="neither")],
        "min_gain": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        pixels: int | None = None,
        *,
        feature_distance: str = "pearson",
        pixel_distance: str = "euclidean",
        error: str = "squared",
        max_step: int = 1000,
        val_step: int = 50,
        switch_t: float = 0.0,
        min_gain: float = 1e-5,
        zoom: int = 1,
        channels: int = 1,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.pixels = pixels
        self.feature_distance = feature_distance
        self.pixel_distance = pixel_distance
        self.error = error
        self.max_step = max_step
        self.val_step = val_step
        self.switch_t = switch_t
        self.min_gain = min_gain
        self.zoom = zoom
        self.channels = channels
        self.random_state = random_state

    def _fit_layout(self, values):
        n_features = values.shape[1]
        side = self._grid_side(n_features)
        source = _feature_ranking(values, self.feature_distance)
        target, (rows, cols) = _pixel_ranking(n_features, side, self.pixel_distance)
        order, self.cost_, self.n_steps_ = _igtd_swaps(
            source,
            target,
            error=self.error,
            max_step=self.max_step,
            val_step=self.val_step,
            switch_t=self.switch_t,
            min_gain=self.min_gain,
            rng=check_random_state(self.random_state),
        )
        grid = np.empty((n_features, 2), dtype=np.intp)
        grid[order] = np.column_stack([rows, cols])
        return grid, side
