"""What every imager shares: the scaling, the image's pixels and their labels.

An imager learns two things in ``fit``: how to scale each feature into [0, 1]
(min-max by default) and what the image of the scaled row looks like.
``_ScaledImager`` holds the first and everything an image's consumer reads
(``image_shape_``, ``feature_positions_``, ``feature_masks_``, pixel names);
``_BaseImager`` the layouts that give each feature one pixel of a square
grid, whose subclasses say only where, in ``_fit_layout``. The drawn images
(``_drawn.py``) are the other kind.
"""

from __future__ import annotations

import math
import os
import warnings
from numbers import Integral
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_is_fitted,
    validate_data,
)

from .._persistence import _VersionedPickleMixin
from .._validation import check_numeric_frame
from ._layout import _render_images

if TYPE_CHECKING:
    from typing_extensions import Self


class _ScaledImager(_VersionedPickleMixin, TransformerMixin, BaseEstimator):
    """Base of every imager: validate, scale each feature into [0, 1], image.

    Subclasses implement ``_fit_image(values)`` (set ``image_shape_``,
    ``feature_positions_`` and ``feature_masks_`` from the scaled training
    values) and ``transform_images``; they may override
    ``_fit_scaling``/``_scale``/``_unscale`` (another scaling) and
    ``_fit_target(values, y)`` (what the image learns from the target, before
    ``_fit_image``; nothing by default).
    """

    _parameter_constraints: dict = {
        "zoom": [Interval(Integral, 1, None, closed="left")],
    }
    # whether the image is a differentiable function of the scaled values
    # (integrated gradients reach the values through it); a drawing of steps
    # (bar lengths) is not
    differentiable = True
    # whether each feature has pixels of its own (``feature_masks_``), where
    # Grad-CAM is read for it; a clustering's pixel is drawn from every feature
    feature_pixels = True

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> Self:
        """Learn the scaling and the image from the training rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric training data, at least 2 rows and 2 features.
        y : array-like of shape (n_samples,), default=None
            The target: read only by an image drawn from it
            (``SuperTMLImager(feature_importance=True)``'s font sizes);
            ignored otherwise.

        Returns
        -------
        self : object
            The fitted imager.
        """
        check_numeric_frame(X, type(self).__name__)
        X = validate_data(
            self, X, dtype=np.float64, ensure_min_samples=2, ensure_min_features=2
        )
        _check_ranges(X, getattr(self, "feature_names_in_", None))
        self._fit_scaling(X)
        # _scale copies (its first step is a clip): X is left as it is
        values = self._scale(X)
        self._fit_target(values, y)
        self._fit_image(values)
        return self

    def _fit_target(self, values, y):
        """Learn what the image takes from the target (nothing here)."""

    def _fit_image(self, values):  # pragma: no cover - abstract
        raise NotImplementedError

    def _set_image(self, positions, masks, channels):
        """Zoom the image: each feature's label pixel and the pixels it draws,
        given before zoom, become ``feature_positions_``, ``feature_masks_``
        (each pixel a ``zoom x zoom`` block) and ``image_shape_``; a position
        ``(-1, -1)`` (no pixel of its own) stays."""
        zoom = self.zoom
        positions = np.asarray(positions, dtype=np.intp)
        self.feature_positions_ = np.where(positions >= 0, positions * zoom, -1)
        self.feature_masks_ = np.kron(masks, np.ones((1, zoom, zoom), dtype=bool))
        self.image_shape_ = (*self.feature_masks_.shape[1:], channels)

    def _fit_scaling(self, X):
        # MinMaxScaler's arithmetic, but each column scaled by its own range
        # however small (MinMaxScaler scales a range below 10 float64 epsilons
        # by 1, which flattens a column of values around 1e-20 to zeros);
        # _check_ranges refuses a range whose inverse float64 cannot hold
        self.data_min_, self.data_max_ = X.min(axis=0), X.max(axis=0)
        span = self.data_max_ - self.data_min_
        self.scale_ = np.divide(1.0, span, out=np.ones_like(span), where=span > 0)
        self.min_ = -self.data_min_ * self.scale_

    def _scale(self, X):
        # in place on one float64 copy: this feeds networks on millions of rows
        values = np.clip(X, self.data_min_, self.data_max_)
        values *= self.scale_
        values += self.min_
        return np.clip(values, 0.0, 1.0, out=values)

    def _unscale(self, values):
        return (values - self.min_) / self.scale_

    def _feature_labels(self):
        if hasattr(self, "feature_names_in_"):
            return [str(name) for name in self.feature_names_in_]
        return [f"x{i}" for i in range(self.n_features_in_)]

    def _checked(self, X):
        check_is_fitted(self)
        check_numeric_frame(X, type(self).__name__)
        return validate_data(self, X, dtype=np.float64, reset=False)

    def transform_values(self, X: ArrayLike) -> np.ndarray:
        """The values that the images hold: scaled and clipped to [0, 1].

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric data; values outside the training range are clipped to it.

        Returns
        -------
        X_scaled : ndarray of shape (n_samples, n_features), float32
            Each feature's value as its pixel shows it.
        """
        return self._scale(self._checked(X)).astype(np.float32)

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

    # -------------------------------------------------------------- labels
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
            (its pixel, or where a drawing labels it, as in
            ``feature_positions_``; ``feature_masks_`` holds every pixel it
            draws).
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


class _BaseImager(_ScaledImager):
    """Base of the layouts: each feature one pixel of a square grid.

    Subclasses implement ``_fit_layout(values)``, which returns each feature's
    ``(row, col)`` on the grid and the grid's side from the scaled training
    values, and may override ``get_render_weights`` (footprints other than one
    pixel).
    """

    _parameter_constraints: dict = {
        **_ScaledImager._parameter_constraints,
        "channels": [Interval(Integral, 1, None, closed="left")],
    }

    def _fit_image(self, values):
        grid, side = self._fit_layout(values)
        grid = np.asarray(grid, dtype=np.intp)
        # a feature's own pixel (not TINTO's blur around it)
        masks = np.zeros((len(grid), side, side), dtype=bool)
        masks[np.arange(len(grid)), grid[:, 0], grid[:, 1]] = True
        self._set_image(grid, masks, self.channels)

    def _fit_layout(self, values):  # pragma: no cover - abstract
        raise NotImplementedError

    def _grid_side(self, n_features, pixels_per_feature=1):
        """The grid's side: ``pixels``, or when None the smallest square with
        ``pixels_per_feature`` pixels a feature (at least 2x2); refuses a grid
        with fewer pixels than features."""
        side = self.pixels
        if side is None:
            side = max(2, math.ceil(math.sqrt(pixels_per_feature * n_features)))
        if n_features > side**2:
            raise ValueError(
                f"{n_features} features do not fit in a {side}x{side} image "
                f"({side**2} pixels): use pixels >= {math.ceil(math.sqrt(n_features))}."
            )
        _check_image_memory(self, n_features, side * self.zoom)
        return side

    def _side(self):
        """The grid's side before zoom."""
        return self.image_shape_[0] // self.zoom

    # ------------------------------------------------------------ rendering
    def get_render_weights(self) -> tuple[np.ndarray, str]:
        """Each feature's footprint on the grid (before zoom), and how they merge.

        What :meth:`transform_images` draws, as data, so that the image can be
        rendered elsewhere (the hybrid networks render it inside the Keras graph
        from :meth:`transform_values`). Zoom and channels are applied afterwards.

        Returns
        -------
        weights : ndarray of shape (n_features, side**2)
            1 at the feature's pixel, ``1/k`` on a pixel shared by ``k``
            features (their mean).
        mode : {"linear", "mean", "max"}
            ``"linear"``: the grid is ``values @ weights``; ``"mean"``: that sum
            divided, per pixel, by the number of features with a positive
            contribution there; ``"max"``: the maximum of
            ``values[:, j] * weights[j]`` over features.
        """
        check_is_fitted(self)
        side = self._side()
        grid = self.feature_positions_ // self.zoom
        flat = grid[:, 0] * side + grid[:, 1]
        weights = np.zeros((len(flat), side * side))
        weights[np.arange(len(flat)), flat] = 1.0
        return weights / weights.sum(axis=0).clip(min=1), "linear"

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
        values = self._scale(self._checked(X))
        weights, mode = self.get_render_weights()
        return _render_images(
            values, weights, mode, self._side(), self.zoom, self.channels
        )

    def inverse_transform(self, X: ArrayLike) -> np.ndarray:
        """Read each feature's value back from its pixel and undo the scaling.

        Only available when the image determines the row: one feature per
        pixel and no blur. Values that ``transform`` clipped come back clipped.

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
            + self.feature_positions_[:, 1]
        )
        # a footprint other than one pixel (TINTO's blur) merges non-linearly
        blur = self.get_render_weights()[1] != "linear"
        if blur or len(np.unique(flat)) < len(flat):
            raise ValueError(
                "inverse_transform needs one feature per pixel and no blur; this "
                f"imager has blur={blur} and {len(flat) - len(np.unique(flat))} "
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
        return self._unscale(pixels)


def _check_image_memory(imager, n_features, side):
    """Refuse, before allocating it, an image whose fit needs more memory than
    the machine has: each feature's pixel mask (``side**2`` bytes a feature)
    and one float32 image of each channel."""
    channels = getattr(imager, "channels", 1)
    needed = side * side * (n_features + 4 * channels)
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # not a POSIX system
        return
    if needed > memory:
        raise ValueError(
            f"{type(imager).__name__}: a {side}x{side} image of {n_features} "
            f"features needs {needed / 2**30:.3g} GiB to fit, more than this "
            f"machine's {memory / 2**30:.3g} GiB of memory: choose a smaller image "
            "(pixels, zoom)."
        )


def _check_ranges(X, names):
    """Refuse a column whose range overflows float64, or whose inverse (its
    scale) does; warn about one whose range is a few float64 steps (min-max
    scaling makes it a constant or a few levels)."""
    names = np.asarray(
        names if names is not None else [f"x{j}" for j in range(X.shape[1])],
        dtype=object,
    )
    low, high = X.min(axis=0), X.max(axis=0)
    with np.errstate(over="ignore", divide="ignore"):
        span = high - low
        scale = 1.0 / span
    refusals = (
        (
            ~np.isfinite(span),
            "span more than float64 can hold (max - min overflows: {low:.3g} to "
            "{high:.3g}); rescale them first (e.g. divide by 1e300).",
        ),
        (
            (span > 0) & ~np.isfinite(scale),
            "vary by less than float64 can scale (range {span:.3g}); multiply "
            "them by a power of ten first (e.g. 1e300).",
        ),
    )
    for bad, problem in refusals:
        if bad.any():
            j = np.flatnonzero(bad)[0]
            raise ValueError(
                f"column(s) {names[bad].tolist()} "
                + problem.format(low=low[j], high=high[j], span=span[j])
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
