"""DeepInsight: a 2-D projection of the features, rotated and binned onto a grid."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ._layout import _LayoutImager, _pca_2d, _place_colliding


class _ProjectedImager(_LayoutImager):
    """Imagers that project the features to 2-D, then bin them onto the grid
    (TINTOlib's ``ParamImageMethod``): subclasses give ``_coordinates``."""

    _parameter_constraints: dict = {
        **_LayoutImager._parameter_constraints,
        "pixels": [Interval(Integral, 2, None, closed="left"), None],
        "assignment": [StrOptions({"bin", "bin_digitize", "lsa"})],
        "collisions": [StrOptions({"resolve", "mean", "error"})],
    }

    def _coordinates(self, values, side):  # pragma: no cover - abstract
        raise NotImplementedError

    def _fit_layout(self, values):
        n_features = values.shape[1]
        side = self._grid_side(n_features, pixels_per_feature=2)
        self.feature_coordinates_ = _min_area_rotation(self._coordinates(values, side))
        exact, grid = _assign_cells(self.feature_coordinates_, side, self.assignment)
        grid, self.moved_features_ = _place_colliding(
            exact, grid, side, self.collisions, self._feature_labels()
        )
        return grid, side


_SHARED_DOC = """
    assignment : {"bin", "bin_digitize", "lsa"}, default=%s
        How coordinates become pixels: ``"bin"`` scales them to the grid and
        floors them; ``"bin_digitize"`` cuts each axis into ``pixels`` equal
        bins; ``"lsa"`` gives each feature its own pixel by the assignment
        that minimises the summed squared distance to the pixel centres.
    collisions : {"resolve", "mean", "error"}, default="resolve"
        What to do when binning puts two features on one pixel:
        ``"resolve"`` keeps the lowest-indexed feature there and moves each
        other one to the free pixel nearest its coordinate; ``"mean"`` lets
        them share it (its value is their mean, as in TINTOlib); ``"error"``
        raises, naming both features.
    zoom : int, default=1
        Each grid cell becomes a ``zoom x zoom`` block of the image.
    channels : int, default=1
        Number of identical channels of the image."""

_SHARED_ATTRIBUTES = """
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Names of features seen during ``fit``, when ``X`` has string column names.
    feature_coordinates_ : ndarray of shape (n_features, 2)
        Each feature's 2-D coordinate, rotated into its smallest bounding box.
    feature_positions_ : ndarray of shape (n_features, 2), dtype int
        ``(row, col)`` of each feature's pixel in the rendered image (the
        top-left pixel of its ``zoom x zoom`` block).
    moved_features_ : ndarray of int
        Indices of the features that ``collisions="resolve"`` moved off a
        shared pixel (empty when none collided).
    image_shape_ : tuple of int
        ``(height, width, channels)`` of one image.
    feature_masks_ : ndarray of shape (n_features, height, width), dtype bool
        The pixels each feature is drawn on (its own ``zoom x zoom`` block;
        explanations read Grad-CAM there)."""


class DeepInsightImager(_ProjectedImager):
    __doc__ = """Turn each row into an image with DeepInsight: a projection, binned.

    ``fit`` learns each feature's min/max from the training rows, projects the
    features (the columns of the scaled training table) to 2-D by PCA, t-SNE
    or kernel PCA, rotates the projection into its smallest bounding
    rectangle and bins it onto a ``pixels x pixels`` grid (Sharma et al. [1]_).
    ``transform`` writes each row's min-max scaled values at those pixels.

    Parameters
    ----------
    pixels : int or None, default=None
        Side of the square image grid before ``zoom``; None takes
        ``ceil(sqrt(2 * n_features))`` (about half the pixels hold a feature).
    algorithm : {"pca", "tsne", "kpca"}, default="pca"
        The projection: PCA, t-SNE (cosine metric) or kernel PCA (RBF kernel).
    perplexity : float or None, default=None
        t-SNE only; None takes TINTOlib's ``pixels``, lowered to
        ``n_features - 1`` when there are fewer features (t-SNE needs more
        points than its perplexity).%s
    random_state : int, RandomState instance or None, default=None
        Seeds t-SNE and kernel PCA; pass an int for a reproducible layout. The
        PCA projection is exact and does not depend on it.

    Attributes
    ----------%s
    data_min_, data_max_ : ndarray of shape (n_features,)
        Per-feature minimum and maximum of the training data.
    scale_, min_ : ndarray of shape (n_features,)
        Min-max scaling learned from the training data: ``X * scale_ + min_``.

    See Also
    --------
    FotomicsImager : Coordinates from a Fourier transform instead.
    TintoImager : A PCA or t-SNE layout scaled into a circle on the grid.

    Notes
    -----
    A vectorised reimplementation of ``TINTOlib.deepInsight.DeepInsight``
    (TINTOlib 1.3.1); with ``collisions="mean"`` it draws TINTOlib's images
    (tested for each projection and assignment). Deliberate deviations:

    - **No files.** Arrays in memory, values in [0, 1].
    - **Collisions** are resolved by default (TINTOlib averages the features of
      a shared pixel, ``collisions="mean"``); TINTOlib's ``relocate`` and
      ``group_method="rev"`` (PCA loadings as relevance) are not offered.
    - **PCA** is computed exactly from the small Gram matrix (the same
      coordinates as scikit-learn's PCA, without its randomized solver).
    - **Fewer than 3 features**, or features on one line, have no convex hull:
      their coordinates are not rotated (TINTOlib raises).
    - **Unseen values are clipped** to the training range.

    References
    ----------
    .. [1] A. Sharma et al., "DeepInsight: A methodology to transform a
       non-image data to an image for convolution neural network
       architecture", Scientific Reports 9, 11399, 2019.
       :doi:`10.1038/s41598-019-47765-6`

    Examples
    --------
    >>> from skpermgrad import DeepInsightImager
    >>> from skpermgrad.datasets import load_puma8nh
    >>> X, y = load_puma8nh(return_X_y=True)
    >>> imager = DeepInsightImager().fit(X)
    >>> imager.image_shape_
    (4, 4, 1)
    >>> imager.transform_images(X[:5]).shape
    (5, 4, 4, 1)
    """ % (_SHARED_DOC % '"bin"', _SHARED_ATTRIBUTES)

    _method = "deepinsight"
    _parameter_constraints: dict = {
        **_ProjectedImager._parameter_constraints,
        "algorithm": [StrOptions({"pca", "tsne", "kpca"})],
        "perplexity": [Interval(Real, 0, None, closed="neither"), None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        pixels: int | None = None,
        *,
        algorithm: str = "pca",
        perplexity: float | None = None,
        assignment: str = "bin",
        collisions: str = "resolve",
        zoom: int = 1,
        channels: int = 1,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.pixels = pixels
        self.algorithm = algorithm
        self.perplexity = perplexity
        self.assignment = assignment
        self.collisions = collisions
        self.zoom = zoom
        self.channels = channels
        self.random_state = random_state

    def _coordinates(self, values, side):
        columns = values.T
        if np.all(columns == columns[0]):  # one point: nothing to project
            return np.zeros((len(columns), 2))
        if self.algorithm == "pca":
            return _pca_2d(columns)
        if self.algorithm == "kpca":
            from sklearn.decomposition import KernelPCA

            kpca = KernelPCA(2, kernel="rbf", random_state=self.random_state)
            return kpca.fit_transform(columns)
        from sklearn.manifold import TSNE

        perplexity = self.perplexity
        if perplexity is None:
            perplexity = min(side, len(columns) - 1)
        tsne = TSNE(
            n_components=2,
            metric="cosine",
            perplexity=perplexity,
            random_state=self.random_state,
        )
        return tsne.fit_transform(columns)


def _min_area_rotation(coords):
    """The coordinates rotated into their minimum-area bounding rectangle.

    TINTOlib's ``get_minimum_rectangle`` (DeepInsight, Fotomics): the convex
    hull's edge angles, each tried as a rotation, the one whose axis-aligned
    box is smallest kept. Fewer than 3 points, or points on one line, have no
    hull and are left as they are.
    """
    from scipy.spatial import ConvexHull, QhullError

    try:
        hull = ConvexHull(coords)
    except (QhullError, ValueError):
        return coords
    limits = coords[hull.vertices]
    edges = limits[1:] - limits[:-1]
    angles = np.unique(np.abs(np.mod(np.arctan2(edges[:, 1], edges[:, 0]), np.pi / 2)))
    rotations = np.vstack(
        [np.cos(angles), -np.sin(angles), np.sin(angles), np.cos(angles)]
    ).T.reshape((-1, 2, 2))
    rotated = np.dot(rotations, limits.T)
    areas = (np.nanmax(rotated[:, 0], axis=1) - np.nanmin(rotated[:, 0], axis=1)) * (
        np.nanmax(rotated[:, 1], axis=1) - np.nanmin(rotated[:, 1], axis=1)
    )
    return np.dot(rotations[np.argmin(areas)], coords.T).T


def _assign_cells(coords, side, assignment):
    """DeepInsight's assignment of 2-D coordinates to the cells of a grid.

    Returns each point's continuous cell position (for moving colliding
    points to the nearest free cell) and its ``(row, col)`` cell:

    - ``"bin"``: coordinates scaled to [0, side], floored (TINTOlib's
      ``BinAssigner``);
    - ``"bin_digitize"``: ``np.digitize`` into ``side`` equal bins between the
      extremes (``BinDigitizeAssigner``);
    - ``"lsa"``: one point a cell, by the assignment that minimises the summed
      squared distance to the cell centres (``PixelsCentroidsAssigner`` with
      ``linear_sum_assignment``).
    """
    low, high = coords.min(axis=0), coords.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    scaled = (coords - low) / span * side
    exact = np.clip(scaled - 0.5, 0, side - 1)
    if assignment == "bin":
        grid = np.minimum(np.floor(scaled).astype(np.intp), side - 1)
    elif assignment == "bin_digitize":
        grid = np.column_stack(
            [
                np.digitize(coords[:, k], np.linspace(low[k], high[k], side)) - 1
                for k in range(2)
            ]
        ).astype(np.intp)
        grid = np.clip(grid, 0, side - 1)
    else:
        from scipy.optimize import linear_sum_assignment
        from scipy.spatial.distance import cdist

        cells = np.argwhere(np.zeros((side, side)) == 0)
        cost = cdist(scaled, cells + 0.5, metric="euclidean") ** 2
        rows, picked = linear_sum_assignment(cost)
        grid = np.empty((len(coords), 2), dtype=np.intp)
        grid[rows] = cells[picked]
    return exact, grid
