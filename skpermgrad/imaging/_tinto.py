"""TINTO: tabular rows as small synthetic images, fitted and rendered in memory."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
from sklearn.manifold import TSNE
from sklearn.utils._param_validation import Interval, StrOptions

from ._layout import _LayoutImager, _pca_2d, _place_colliding


class TintoImager(_LayoutImager):
    """Turn each tabular row into a small synthetic image with the TINTO method.

    ``fit`` learns, from the training rows only, each feature's min/max and a
    2-D layout of the *features* (PCA or t-SNE of the transposed, min-max scaled
    data) that gives every feature its own pixel on a ``pixels x pixels`` grid.
    ``transform`` writes each row's scaled values at those pixels (optionally
    blurred into rings around them) for all rows at once, in memory.

    Parameters
    ----------
    pixels : int, default=20
        Side of the square image grid before ``zoom``.
    algorithm : {"pca", "tsne"}, default="pca"
        How the features are laid out in 2-D.
    blur : bool, default=False
        Spread each value into rings around its pixel (TINTO blurring).
    amplification : float, default=np.pi
        Blurring: ring intensity is ``min(amplification / (pi * r**2), 1)``
        times the value, for a ring of radius ``r``.
    distance : int, default=2
        Blurring: radius step between rings, in pixels.
    steps : int, default=4
        Blurring: number of rings.
    option : {"mean", "max"}, default="mean"
        Blurring: how overlapping rings of different features merge.
    times : int, default=4
        t-SNE only: the transposed data is replicated ``2**times`` times before
        the embedding (as in TINTOlib), so t-SNE sees
        ``n_features * 2**times`` points.
    perplexity : float, default=50.0
        t-SNE only: its perplexity (TINTOlib uses 50). Must be smaller than
        ``n_features * 2**times``.
    zoom : int, default=1
        Each grid cell becomes a ``zoom x zoom`` block of the image.
    channels : int, default=1
        Number of identical channels of the image (the PermGrad notebook fed 3).
    collisions : {"resolve", "mean", "error"}, default="resolve"
        What to do when two features land on one pixel. ``"resolve"`` keeps the
        lowest-indexed feature there and moves each other one to the free pixel
        nearest its exact projected position (ties: lowest row, then column);
        ``"mean"`` lets them share the pixel, which then holds their mean;
        ``"error"`` raises, naming both features.
    random_state : int, RandomState instance or None, default=None
        Seeds t-SNE; pass an int for a reproducible t-SNE layout. The PCA layout
        is exact and does not depend on it.

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Names of features seen during ``fit``, when ``X`` has string column names.
    data_min_, data_max_ : ndarray of shape (n_features,)
        Per-feature minimum and maximum of the training data.
    scale_, min_ : ndarray of shape (n_features,)
        Min-max scaling learned from the training data: ``X * scale_ + min_``
        (the arithmetic of :class:`~sklearn.preprocessing.MinMaxScaler`).
    feature_coordinates_ : ndarray of shape (n_features, 2)
        Each feature's 2-D coordinate from PCA or t-SNE.
    feature_positions_ : ndarray of shape (n_features, 2), dtype int
        ``(row, col)`` of each feature's pixel in the rendered image (the
        top-left pixel of its ``zoom x zoom`` block). With ``zoom=1`` these are
        TINTOlib's ``pos_pixel_caract`` where no collision occurred.
    moved_features_ : ndarray of int
        Indices of the features that ``collisions="resolve"`` moved off a shared
        pixel (empty when none collided).
    image_shape_ : tuple of int
        ``(height, width, channels)`` of one image:
        ``(pixels * zoom, pixels * zoom, channels)``.
    feature_masks_ : ndarray of shape (n_features, height, width), dtype bool
        The pixels each feature is drawn on: its own ``zoom x zoom`` block,
        not the blur around it (explanations read Grad-CAM there).

    See Also
    --------
    sklearn.preprocessing.MinMaxScaler : The scaling applied before imaging.

    Notes
    -----
    This is a vectorized reimplementation of ``TINTOlib.tinto.TINTO`` (TINTOlib
    1.3.1, default ``submatrix=True`` path). Pixel positions and image values are
    identical wherever no two features share a pixel (tested against TINTOlib).
    Deliberate deviations:

    - **No files.** TINTOlib writes PNG/npy/CSV files; this returns arrays.
    - **No per-image normalisation.** TINTOlib's PNG output rescales every image
      to its own maximum; values here stay the learned min-max scaled values
      (TINTOlib's npy output), comparable across rows.
    - **No shared scaler.** TINTOlib's default ``transformer=MinMaxScaler()`` is
      one object shared by every instance; here each fit learns its own
      ``data_min_``/``data_max_`` from its own training data.
    - **Collisions.** TINTOlib silently overwrites a feature that lands on an
      occupied pixel; see ``collisions``.
    - **Unseen values are clipped** to the training range (TINTOlib lets them
      leave [0, 1]).
    - **Zoom is applied once.** TINTOlib 1.3.1 repeats pixels by ``zoom`` twice
      (once when rendering, once when saving), so its images are
      ``pixels * zoom**2`` wide.
    - **A constant column** is scaled to 0 (as by ``MinMaxScaler``) and stays 0
      for unseen rows, since they are clipped to its one training value.
    - Fewer than 2 rows or 2 features cannot be laid out and raise an error.

    Pixel values are ``float32`` in [0, 1]. ``transform`` returns one flat row per
    sample, ``(n_samples, height * width * channels)`` in row-major
    ``(height, width, channels)`` order; :meth:`transform_images` returns the
    ``(n_samples, height, width, channels)`` array.

    References
    ----------
    .. [1] M. Castillo-Cara et al., "TINTO: Converting Tidy Data into Image for
       Classification with 2-Dimensional Convolutional Neural Networks",
       SoftwareX 22, 101391, 2023. :doi:`10.1016/j.softx.2023.101391`

    Examples
    --------
    >>> from skpermgrad import TintoImager
    >>> from skpermgrad.datasets import load_puma8nh
    >>> X, y = load_puma8nh(return_X_y=True)
    >>> imager = TintoImager(pixels=8, random_state=0).fit(X)
    >>> imager.image_shape_
    (8, 8, 1)
    >>> imager.transform(X[:5]).shape
    (5, 64)
    >>> imager.transform_images(X[:5]).shape
    (5, 8, 8, 1)
    >>> imager.get_feature_layout().columns.tolist()
    ['feature', 'row', 'col']
    """

    _method = "tinto"
    _parameter_constraints: dict = {
        **_LayoutImager._parameter_constraints,
        "pixels": [Interval(Integral, 2, None, closed="left")],
        "algorithm": [StrOptions({"pca", "tsne"})],
        "blur": ["boolean"],
        "amplification": [Interval(Real, 0, None, closed="neither")],
        "distance": [Interval(Integral, 1, None, closed="left")],
        "steps": [Interval(Integral, 1, None, closed="left")],
        "option": [StrOptions({"mean", "max"})],
        "times": [Interval(Integral, 0, None, closed="left")],
        "perplexity": [Interval(Real, 0, None, closed="neither")],
        "collisions": [StrOptions({"resolve", "mean", "error"})],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        pixels: int = 20,
        *,
        algorithm: str = "pca",
        blur: bool = False,
        amplification: float = np.pi,
        distance: int = 2,
        steps: int = 4,
        option: str = "mean",
        times: int = 4,
        perplexity: float = 50.0,
        zoom: int = 1,
        channels: int = 1,
        collisions: str = "resolve",
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.pixels = pixels
        self.algorithm = algorithm
        self.blur = blur
        self.amplification = amplification
        self.distance = distance
        self.steps = steps
        self.option = option
        self.times = times
        self.perplexity = perplexity
        self.zoom = zoom
        self.channels = channels
        self.collisions = collisions
        self.random_state = random_state

    def _fit_layout(self, values):
        side = self._grid_side(values.shape[1])
        self.feature_coordinates_ = _feature_coordinates(
            values,
            self.algorithm,
            times=self.times,
            perplexity=self.perplexity,
            random_state=self.random_state,
        )
        exact, grid = _grid_positions(self.feature_coordinates_, side)
        grid, self.moved_features_ = _place_colliding(
            exact, grid, side, self.collisions, self._feature_labels()
        )
        return grid, side

    def get_render_weights(self) -> tuple[np.ndarray, str]:
        """Each feature's footprint on the ``pixels x pixels`` grid, and how they merge.

        What :meth:`transform_images` draws, as data, so that the image can be
        rendered elsewhere (the hybrid networks render it inside the Keras graph
        from :meth:`transform_values`). Zoom and channels are applied afterwards.

        Returns
        -------
        weights : ndarray of shape (n_features, pixels**2)
            Without blur, 1 at the feature's pixel (``1/k`` on a pixel shared by
            ``k`` features); with blur, the feature's rings.
        mode : {"linear", "mean", "max"}
            ``"linear"``: the grid is ``values @ weights``; ``"mean"``: that sum
            divided, per pixel, by the number of features with a positive
            contribution there (TINTOlib's ``option="mean"``); ``"max"``: the
            maximum of ``values[:, j] * weights[j]`` over features.
        """
        if not self.blur:
            return super().get_render_weights()
        grid = self.feature_positions_ // self.zoom
        weights = _blurred_footprints(
            grid, self.pixels, self.distance, self.steps, self.amplification
        )
        return weights, self.option


def _feature_coordinates(X_scaled, algorithm, *, times, perplexity, random_state):
    """2-D coordinates of the features (the rows of the transposed data)."""
    X_t = X_scaled.T
    if np.all(X_t == X_t[0]):  # identical features: one point, nothing to fit
        return np.zeros((X_t.shape[0], 2))
    if algorithm == "pca":
        return _pca_2d(X_t)
    n_features = X_t.shape[0]
    n_points = n_features * 2**times
    if n_points <= perplexity:
        needed = times
        while n_features * 2**needed <= perplexity:
            needed += 1
        raise ValueError(
            f"t-SNE needs more points than its perplexity ({perplexity}), "
            f"but TINTO gives it n_features * 2**times = {n_features} * "
            f"2**{times} = {n_points}. Use times >= {needed}, a smaller "
            "perplexity, or algorithm='pca'."
        )
    replicated = np.tile(X_t, (2**times, 1))
    tsne = TSNE(n_components=2, perplexity=perplexity, random_state=random_state)
    embedded = tsne.fit_transform(replicated)
    return embedded.reshape(2**times, n_features, 2).mean(axis=0)


def _grid_positions(coords, pixels):
    """TINTO's square delimitation: exact and rounded (row, col) per feature."""
    centred = coords - coords.mean(axis=0)
    radius = math.ceil(max((centred[:, 0] ** 2 + centred[:, 1] ** 2) ** 0.5))
    # All features on one point: any square works, they all collide.
    radius = max(radius, 1)
    shifted = centred - np.array([-radius, radius])
    exact = np.abs((shifted / (2 * radius)) * (pixels - 1))
    return exact, np.round(exact).astype(np.intp)


def _blur_filter(distance, steps, amplification):
    """TINTO's blurring stencil: rings of decreasing intensity around 1 at the centre.

    Identical to TINTOlib's ``TINTO.__createFilter``: ring ``k`` (radius
    ``distance * k``) holds ``min(amplification / (pi * radius**2), 1)`` and inner
    rings overwrite outer ones.
    """
    size = 2 * distance * steps + 1
    center = distance * steps
    ii, jj = np.ogrid[:size, :size]
    sq_dist = (center - ii) ** 2 + (center - jj) ** 2
    stencil = np.zeros((size, size))
    for step in reversed(range(steps)):
        radius = int(distance * (step + 1))
        stencil[sq_dist <= radius**2] = min(amplification * 1 / (np.pi * radius**2), 1)
    stencil[center, center] = 1
    return stencil


def _blurred_footprints(grid, pixels, distance, steps, amplification):
    """Each feature's blurred rings on the ``pixels x pixels`` grid, flattened."""
    # A pixel at distance d from a feature takes the innermost ring of
    # radius >= d: rings beyond the image's diagonal change no pixel, so
    # a huge ``steps`` draws the same image without a huge stencil.
    steps = min(steps, math.ceil(math.sqrt(2) * pixels / distance) + 1)
    stencil = _blur_filter(distance, steps, amplification)
    size, center = stencil.shape[0], distance * steps
    weights = np.zeros((len(grid), pixels * pixels))
    padded = np.zeros((size + pixels, size + pixels))
    for j, (row, col) in enumerate(grid):
        padded[:] = 0
        padded[row : row + size, col : col + size] = stencil
        weights[j] = padded[center : center + pixels, center : center + pixels].ravel()
    return weights
