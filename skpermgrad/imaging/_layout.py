"""What the layouts share: their base, ``_LayoutImager`` (each feature one
pixel of a square grid; a subclass says only where, in ``_fit_layout``), the
2-D coordinates of points (PCA) and the placing of features that land on one
pixel. Each method's own helpers live in its module (TINTO's grid and blur in
``_tinto.py``, DeepInsight's rotation and cell assignment in
``_deepinsight.py``)."""

from __future__ import annotations

import math
from numbers import Integral

import numpy as np
from numpy.typing import ArrayLike
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ._base import _check_image_memory, _RootImager


def _pca_2d(X):
    """Scores of the rows of ``X`` on its first two principal components.

    The exact PCA that ``sklearn.decomposition.PCA(n_components=2)`` computes
    (TINTOlib calls it on the transposed table), with the same sign convention
    (``svd_flip(u_based_decision=False)``: each component's largest-magnitude
    loading is positive). A table has few features and many rows, so the
    component scores come from the eigen-decomposition of the small
    ``(n_features, n_features)`` Gram matrix instead of a randomized SVD of the
    whole table: the same result, deterministic and faster.
    """
    centred = X - X.mean(axis=0)
    if centred.shape[0] <= centred.shape[1]:
        eigval, eigvec = np.linalg.eigh(centred @ centred.T)
        components = eigvec[:, np.argsort(eigval)[::-1][:2]].T @ centred
        norms = np.linalg.norm(components, axis=1, keepdims=True)
        # A direction without variance (e.g. 2 features) is rounding noise: drop it.
        noise = norms <= max(centred.shape) * np.finfo(float).eps * norms.max()
        components = np.where(noise, 0.0, components / np.where(noise, 1.0, norms))
    else:
        components = np.linalg.svd(centred, full_matrices=False)[2][:2]
    largest = components[np.arange(2), np.argmax(np.abs(components), axis=1)]
    components *= np.where(largest < 0, -1.0, 1.0)[:, None]
    return centred @ components.T


def _place_colliding(exact, grid, pixels, collisions, names):
    """Grid positions after ``collisions`` is applied, and the moved features.

    ``"mean"`` keeps shared pixels; ``"error"`` refuses the first one, naming
    both features; ``"resolve"`` moves each later feature of a shared pixel to
    the nearest free one (ties: lowest row, then column).
    """
    flat = grid[:, 0] * pixels + grid[:, 1]
    _, first, inverse = np.unique(flat, return_index=True, return_inverse=True)
    losers = np.flatnonzero(first[inverse.ravel()] != np.arange(len(flat)))
    if losers.size == 0 or collisions == "mean":
        return grid, np.array([], dtype=np.intp)
    if collisions == "error":
        j = losers[0]
        i = first[inverse.ravel()[j]]
        raise ValueError(
            f"Features {names[i]!r} and {names[j]!r} both land on pixel "
            f"{tuple(int(v) for v in grid[j])}. Use collisions='resolve' to move "
            "one to the nearest free pixel, collisions='mean' to share it, or a "
            "larger `pixels`."
        )
    taken = np.zeros(pixels**2, dtype=bool)
    taken[flat] = True
    rows, cols = np.divmod(np.arange(pixels**2), pixels)
    grid = grid.copy()
    for j in losers:  # only the displaced features, never the rows
        sq_dist = (rows - exact[j, 0]) ** 2 + (cols - exact[j, 1]) ** 2
        sq_dist[taken] = np.inf
        cell = int(np.argmin(sq_dist))  # first minimum: lowest row, then col
        taken[cell] = True
        grid[j] = rows[cell], cols[cell]
    return grid, losers


class _LayoutImager(_RootImager):
    """Base of the layouts: each feature one pixel of a square grid.

    Subclasses implement ``_fit_layout(values)``, which returns each feature's
    ``(row, col)`` on the grid and the grid's side from the scaled training
    values, and may override ``get_render_weights`` (footprints other than one
    pixel).
    """

    _parameter_constraints: dict = {
        **_RootImager._parameter_constraints,
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

    def _drawing(self):
        weights, mode = self.get_render_weights()
        return "footprints", {
            "weights": weights.astype(np.float32),
            "mode": mode,
            "pixels": self._side(),
            "channels": self.channels,
        }

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
