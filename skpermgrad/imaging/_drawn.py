"""What the drawn images share: a drawing of the whole scaled row.

A layout (``_layout._LayoutImager``) puts each feature on one pixel; a drawn
image is a function of the whole row (bars, pairwise differences), drawn by
``_drawing.draw`` from the scaled values, in NumPy here and in ``keras.ops``
inside the hybrids. A subclass names its drawing, its parameters, where each
feature is labelled and which pixels it draws.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._base import _RootImager
from ._drawing import draw

# docstring pieces every drawn imager shares
_SHARED_ATTRIBUTES = """
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Names of features seen during ``fit``, when ``X`` has string column names.
    data_min_, data_max_ : ndarray of shape (n_features,)
        Each feature's training minimum and maximum (the scaling's range).
    image_shape_ : tuple of int
        ``(height, width, channels)`` of one image.
    feature_positions_ : ndarray of shape (n_features, 2), dtype int
        ``(row, col)`` where a feature is labelled (the top-left pixel of its
        ``zoom x zoom`` block).
    feature_masks_ : ndarray of shape (n_features, height, width), dtype bool
        The pixels each feature draws (explanations read Grad-CAM there)."""

_SHARED_DIFFERENCES = """
    - **No files**: images stay in memory as float32 in [0, 1] (TINTOlib
      writes ``uint8(255 * value)`` PNG files, one a row).
    - **Min-max scaling fitted in** ``fit`` and unseen values clipped to the
      training range (TINTOlib's ``transformer`` is refitted on whatever its
      ``fit`` reads and leaves unseen values outside [0, 1]).
    - **Drawn in float32** from :meth:`transform_values`' output, as the
      hybrids draw it inside their graph (TINTOlib: float64): pixels differ
      by float32 rounding, and a bar whose ``v * height`` lies within float32
      rounding of a whole number (a feature's training maximum, which
      float64 min-max scaling can leave a hair under 1) is one pixel longer."""

TINTOLIB_REFERENCE = """J. Liu et al., "TINTOlib: A Python library for
       transforming tabular data into synthetic images for deep neural
       networks", SoftwareX 32, 102444, 2025.
       :doi:`10.1016/j.softx.2025.102444`"""

SHARMA_REFERENCES = (
    """
    References
    ----------
    .. [1] A. Sharma, D. Kumar, "Non-image data classification with
       convolutional neural networks", code at
       https://github.com/anuraganands/Non-image-data-classification-with-CNN/
    .. [2] %s"""
    % TINTOLIB_REFERENCE
)


class _DrawnImager(_RootImager):
    """Base of the drawn images.

    Subclasses set ``_kind`` (a name :func:`~skpermgrad.imaging.draw` knows)
    and implement ``_drawing_params(n_features)`` (the drawing's parameters,
    refusing a drawing that cannot show the row), ``_anchors(n_features)``
    (each feature's label pixel, before zoom) and ``_masks(n_features)`` (the
    pixels each feature draws, before zoom).
    """

    _kind: str

    def _drawing_params(self, n_features: int) -> dict[str, Any]:
        return {}

    def _fit_image(self, values):
        n_features = values.shape[1]
        # one row drawn: its channels (and any refusal of the parameters)
        probe = draw(self._kind, values[:1], **self._drawing_params(n_features))
        self._set_image(
            self._anchors(n_features), self._masks(n_features), probe.shape[-1]
        )

    def _drawing(self):
        return self._kind, self._drawing_params(self.n_features_in_)


def _cross_masks(n_features):
    """Row ``i`` and column ``i`` of an ``n x n`` image, for each feature ``i``."""
    masks = np.zeros((n_features, n_features, n_features), dtype=bool)
    for i in range(n_features):
        masks[i, i, :] = masks[i, :, i] = True
    return masks


def _diagonal(n_features):
    return np.repeat(np.arange(n_features)[:, None], 2, axis=1)
