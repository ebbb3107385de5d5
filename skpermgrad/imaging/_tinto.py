"""TINTO: tabular rows as small synthetic images, fitted and rendered in memory."""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_is_fitted,
    validate_data,
)

from .._persistence import _VersionedPickleMixin
from .._validation import check_numeric_frame
from ._layout import (
    _blurred_footprints,
    _feature_coordinates,
    _grid_positions,
    _place_colliding,
    _render_images,
)


class TintoImager(_VersionedPickleMixin, TransformerMixin, BaseEstimator):
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

    _parameter_constraints: dict = {
        "pixels": [Interval(Integral, 2, None, closed="left")],
        "algorithm": [StrOptions({"pca", "tsne"})],
        "blur": ["boolean"],
        "amplification": [Interval(Real, 0, None, closed="neither")],
        "distance": [Interval(Integral, 1, None, closed="left")],
        "steps": [Interval(Integral, 1, None, closed="left")],
        "option": [StrOptions({"mean", "max"})],
        "times": [Interval(Integral, 0, None, closed="left")],
        "perplexity": [Interval(Real, 0, None, closed="neither")],
        "zoom": [Interval(Integral, 1, None, closed="left")],
        "channels": [Interval(Integral, 1, None, closed="left")],
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

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: ArrayLike, y: None = None) -> TintoImager:
        """Learn the scaling and each feature's pixel from the training rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric training data, at least 2 rows and 2 features.
        y : None
            Ignored.

        Returns
        -------
        self : TintoImager
            The fitted imager.
        """
        check_numeric_frame(X, type(self).__name__)
        X = validate_data(
            self, X, dtype=np.float64, ensure_min_samples=2, ensure_min_features=2
        )
        n_features = X.shape[1]
        n_cells = self.pixels**2
        if n_features > n_cells:
            raise ValueError(
                f"{n_features} features do not fit in a {self.pixels}x{self.pixels} "
                f"image ({n_cells} pixels): use pixels >= "
                f"{math.ceil(math.sqrt(n_features))}."
            )
        _check_ranges(X, getattr(self, "feature_names_in_", None))
        scaler = MinMaxScaler().fit(X)
        self.data_min_, self.data_max_ = scaler.data_min_, scaler.data_max_
        self.scale_, self.min_ = scaler.scale_, scaler.min_

        self.feature_coordinates_ = _feature_coordinates(
            X * self.scale_ + self.min_,
            self.algorithm,
            times=self.times,
            perplexity=self.perplexity,
            random_state=self.random_state,
        )
        exact, grid = _grid_positions(self.feature_coordinates_, self.pixels)
        grid, self.moved_features_ = _place_colliding(
            exact, grid, self.pixels, self.collisions, self._feature_labels()
        )
        self.feature_positions_ = grid * self.zoom
        self.image_shape_ = (
            self.pixels * self.zoom,
            self.pixels * self.zoom,
            self.channels,
        )
        return self

    def _feature_labels(self):
        if hasattr(self, "feature_names_in_"):
            return [str(name) for name in self.feature_names_in_]
        return [f"x{i}" for i in range(self.n_features_in_)]

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
        check_is_fitted(self)
        p = self.pixels
        grid = self.feature_positions_ // self.zoom
        n_features = grid.shape[0]
        if not self.blur:
            flat = grid[:, 0] * p + grid[:, 1]
            weights = np.zeros((n_features, p * p))
            weights[np.arange(n_features), flat] = 1.0
            return weights / weights.sum(axis=0).clip(min=1), "linear"
        weights = _blurred_footprints(
            grid, p, self.distance, self.steps, self.amplification
        )
        return weights, self.option

    def _scale(self, X):
        # in place on one float64 copy: this feeds networks on millions of rows
        values = np.clip(X, self.data_min_, self.data_max_)
        values *= self.scale_
        values += self.min_
        return np.clip(values, 0.0, 1.0, out=values)

    def transform_values(self, X: ArrayLike) -> np.ndarray:
        """The values that the images hold: min-max scaled, clipped to [0, 1].

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric data.

        Returns
        -------
        X_scaled : ndarray of shape (n_samples, n_features), float32
            ``clip(X, data_min_, data_max_) * scale_ + min_``.
        """
        check_is_fitted(self)
        check_numeric_frame(X, type(self).__name__)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self._scale(X).astype(np.float32)

    def transform_images(self, X: ArrayLike) -> np.ndarray:
        """Render rows as images of shape ``(n_samples, height, width, channels)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric data; values outside the training range are clipped to it.

        Returns
        -------
        images : ndarray of shape (n_samples, height, width, channels), float32
            Pixel values in [0, 1].
        """
        check_is_fitted(self)
        check_numeric_frame(X, type(self).__name__)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        values = self._scale(X)
        weights, mode = self.get_render_weights()
        return _render_images(
            values, weights, mode, self.pixels, self.zoom, self.channels
        )

    def transform(self, X: ArrayLike) -> np.ndarray:
        """Render rows as flat images of shape ``(n_samples, height*width*channels)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric data; values outside the training range are clipped to it.

        Returns
        -------
        X_images : ndarray of shape (n_samples, height * width * channels), float32
            Each row is one image flattened in ``(height, width, channels)`` order.
        """
        images = self.transform_images(X)
        return images.reshape(images.shape[0], -1)

    def inverse_transform(self, X: ArrayLike) -> np.ndarray:
        """Read each feature's value back from its pixel and undo the scaling.

        Only available when the image determines the row: ``blur=False`` and no
        two features sharing a pixel. Values that ``transform`` clipped come back
        clipped.

        Parameters
        ----------
        X : array-like of shape (n_samples, height*width*channels) or \
                (n_samples, height, width, channels)
            Images as returned by :meth:`transform` or :meth:`transform_images`.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            The feature values, in the original units.
        """
        check_is_fitted(self)
        flat = (
            self.feature_positions_[:, 0] * self.image_shape_[1]
            + (self.feature_positions_[:, 1])
        )
        if self.blur or len(np.unique(flat)) < len(flat):
            raise ValueError(
                "inverse_transform needs one feature per pixel and blur=False; this "
                f"imager has blur={self.blur} and {len(flat) - len(np.unique(flat))} "
                "shared pixel(s), so the image does not determine the row."
            )
        X = np.asarray(X, dtype=np.float64)
        n_values = math.prod(self.image_shape_)
        if X.ndim not in (2, 4) or math.prod(X.shape[1:]) != n_values:
            raise ValueError(
                f"Expected images of shape (n_samples, {n_values}) or (n_samples, "
                f"*{self.image_shape_}), got an array of shape {X.shape}."
            )
        pixels = X.reshape(X.shape[0], -1, self.image_shape_[2])[:, flat, 0]
        return (pixels - self.min_) / self.scale_

    def get_feature_names_out(
        self, input_features: ArrayLike | None = None
    ) -> np.ndarray:
        """Names of the output pixels: ``"pixel_{row}_{col}_{channel}"``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against the names seen in ``fit``.

        Returns
        -------
        feature_names_out : ndarray of str objects
            One name per column of :meth:`transform`'s output.
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features)
        height, width, channels = self.image_shape_
        return np.asarray(
            [
                f"pixel_{r}_{c}_{k}"
                for r in range(height)
                for c in range(width)
                for k in range(channels)
            ],
            dtype=object,
        )

    def get_feature_layout(self) -> pd.DataFrame:
        """Which feature sits where, for labelling images and heatmaps.

        Returns
        -------
        layout : pandas.DataFrame
            One row per input feature, in input order, with columns ``feature``
            (its name, ``x0``, ``x1``, ... for unnamed input), ``row`` and ``col``
            (its pixel, as in ``feature_positions_``).
        """
        check_is_fitted(self)
        return pd.DataFrame(
            {
                "feature": self._feature_labels(),
                "row": self.feature_positions_[:, 0],
                "col": self.feature_positions_[:, 1],
            }
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


def _check_ranges(X, names):
    """Refuse a column whose range overflows float64; warn about one whose
    range is a few float64 steps (min-max scaling makes it a constant or a
    few levels)."""
    names = np.asarray(
        names if names is not None else [f"x{j}" for j in range(X.shape[1])],
        dtype=object,
    )
    low, high = X.min(axis=0), X.max(axis=0)
    with np.errstate(over="ignore"):
        span = high - low
    huge = ~np.isfinite(span)
    if huge.any():
        j = np.flatnonzero(huge)[0]
        raise ValueError(
            f"column(s) {names[huge].tolist()} span more than float64 can hold "
            f"(max - min overflows: {low[j]:.3g} to {high[j]:.3g}); rescale them "
            "first (e.g. divide by 1e300)."
        )
    steps = span / (np.finfo(np.float64).eps * np.maximum(abs(low), abs(high)))
    tiny = (span > 0) & (steps < 64)
    if tiny.any():
        j = np.flatnonzero(tiny)[0]
        warnings.warn(
            f"column(s) {names[tiny].tolist()} vary by fewer than 64 float64 steps "
            f"(range {span[j]:.3g} around {high[j]:.6g}): scaled, they are a "
            "constant or a few levels; subtract their mean or rescale them first.",
            UserWarning,
            stacklevel=3,
        )
