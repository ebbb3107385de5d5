"""What every imager shares: the scaling, the image's drawing, its pixels and
their labels.

An imager learns two things in ``fit``: how to scale each feature into [0, 1]
(min-max by default) and what the image of the scaled row looks like.
``_RootImager`` holds the first and everything an image's consumer reads
(``get_drawing``, ``image_shape_``, ``feature_positions_``, ``feature_masks_``,
pixel names). Its two kinds: the layouts (``_layout._LayoutImager``), each
feature one pixel of a square grid, and the drawn images
(``_drawn._DrawnImager``), a function of the whole row.
"""

from __future__ import annotations

import os
import warnings
from numbers import Integral
from typing import TYPE_CHECKING, Any

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
from ._drawing import draw

if TYPE_CHECKING:
    from typing_extensions import Self

# Rows drawn per block: bounds the scratch space of ``transform_images``.
_CHUNK_ROWS = 1024

# Every public imager by its method's name (``make_imager``'s, the hybrids'
# ``imager="<name>"``, the run's ``--images``), registered as its class is
# defined: a class declares its name (``_method``) and nothing else lists it.
_METHODS: dict[str, type] = {}


class _RootImager(_VersionedPickleMixin, TransformerMixin, BaseEstimator):
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
    # the method's public name (a key of ``_METHODS``); None for a base
    _method: str | None = None
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
        self._fit_values(X, y)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform_values(
        self, X: ArrayLike, y: ArrayLike | None = None
    ) -> np.ndarray:
        """Fit, and return the training rows' values as :meth:`transform_values`
        gives them, reading and scaling ``X`` once (what a hybrid's fit needs).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric training data, at least 2 rows and 2 features.
        y : array-like of shape (n_samples,), default=None
            The target, as :meth:`fit` takes it.

        Returns
        -------
        X_scaled : ndarray of shape (n_samples, n_features), float32
            Each feature's value as its pixel shows it.
        """
        return self._fit_values(X, y)

    def _fit_values(self, X, y):
        """Validate ``X``, learn the scaling and the image; the scaled values."""
        check_numeric_frame(X, type(self).__name__)
        X = validate_data(
            self, X, dtype=np.float64, ensure_min_samples=2, ensure_min_features=2
        )
        _check_ranges(X, getattr(self, "feature_names_in_", None))
        self._fit_scaling(X)
        # _scale copies (its first step is a clip): X is left as it is
        values = self._scale(X)
        scaled = values.astype(np.float32)  # before the image may use values
        self._fit_target(values, y)
        self._fit_image(values)
        return scaled

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

    def get_drawing(self) -> tuple[str, dict[str, Any]]:
        """The image, as data: its drawing's name and parameters (zoom included).

        ``skpermgrad.imaging.draw(kind, values, **params)`` draws what
        :meth:`transform_images` returns from :meth:`transform_values`'
        output; the hybrid networks draw it inside the Keras graph with
        ``xp=keras.ops``. A layout's drawing is ``"footprints"`` (its
        :meth:`~skpermgrad.TintoImager.get_render_weights`).

        Returns
        -------
        kind : str
            The drawing's name.
        params : dict
            Its keyword arguments.
        """
        check_is_fitted(self)
        kind, params = self._drawing()
        return kind, {"zoom": self.zoom, **params}

    def _drawing(self):  # pragma: no cover - abstract
        """The drawing's name and its own parameters (zoom aside)."""
        raise NotImplementedError

    def transform_images(self, X: ArrayLike) -> np.ndarray:
        """Draw rows as images of shape ``(n_samples, height, width, channels)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric data; values outside the training range are clipped to it.

        Returns
        -------
        images : ndarray of shape (n_samples, height, width, channels), float32
            Pixel values in [0, 1], drawn in float32 from the values
            :meth:`transform_values` returns: what the hybrids draw from them
            inside their graph.
        """
        values = self.transform_values(X)
        kind, params = self.get_drawing()
        images = np.empty((len(values), *self.image_shape_), dtype=np.float32)
        for start in range(0, len(values), _CHUNK_ROWS):  # bounded scratch space
            rows = slice(start, start + _CHUNK_ROWS)
            images[rows] = draw(kind, values[rows], **params)
        return images

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

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("_method") is not None:
            _METHODS[cls._method] = cls

    @classmethod
    def _for_table(cls, n_features, random_state):
        """The method's imager for a table of ``n_features`` columns, seeded
        by ``random_state`` where it draws random numbers: its defaults,
        unless a default does not fit every table (a subclass says)."""
        if "random_state" in cls._get_param_names():
            return cls(random_state=random_state)
        return cls()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


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
