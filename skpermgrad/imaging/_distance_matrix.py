"""TINTOlib's DistanceMatrix, in memory: the row's pairwise differences."""

from ._drawn import _BaseDrawnImager, _cross_masks, _diagonal

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

_DISTANCE_NOTE = """
    - **A constant row** (all scaled values equal: every difference 0) is
      drawn 0.5 everywhere, the diagonal's value; TINTOlib divides 0 by 0
      there and writes an undefined pixel."""

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


class DistanceMatrixImager(_BaseDrawnImager):
    __doc__ = """Turn each row into the matrix of its pairwise differences.

    ``fit`` learns each feature's min/max from the training rows. ``transform``
    draws each row's min-max scaled values ``v`` as an ``n x n`` image whose
    pixel ``(i, j)`` is ``v_i - v_j``, normalised per row into [0, 1]:
    ``(v_i - v_j + r) / (2 r)`` with ``r`` the row's range, so the diagonal is
    0.5, a pixel above it is brighter when ``v_i > v_j`` (TINTOlib's
    ``DistanceMatrix`` [1]_ [2]_, in memory). The drawing is differentiable in
    the values, so the hybrids draw it inside their graph and integrated
    gradients reach the values through it.

    Parameters
    ----------
    zoom : int, default=1
        Each pixel repeated into a ``zoom x zoom`` block.

    Attributes
    ----------%s

    See Also
    --------
    CombinationImager : This matrix, a bar graph and the row's levels as 3
        channels.
    BarGraphImager : One bar per feature.
    IGTDImager : One pixel per feature (the hybrids' default image).

    Notes
    -----
    Feature ``i`` draws row ``i`` and column ``i`` (``feature_masks_``; it is
    labelled at ``(i, i)``); every pixel also depends on the row's range, so
    on its largest and smallest values. TINTOlib 1.3.1's image but for
    float32 rounding (tested). Deliberate differences:
%s%s

    References
    ----------
    .. [1] A. Sharma, D. Kumar, "Non-image data classification with
       convolutional neural networks", code at
       https://github.com/anuraganands/Non-image-data-classification-with-CNN/
    .. [2] J. Liu et al., "TINTOlib: A Python library for transforming tabular
       data into synthetic images for deep neural networks", SoftwareX 32,
       102444, 2025. :doi:`10.1016/j.softx.2025.102444`

    Examples
    --------
    >>> from skpermgrad import DistanceMatrixImager
    >>> from skpermgrad.datasets import load_puma8nh
    >>> X, y = load_puma8nh(return_X_y=True)
    >>> imager = DistanceMatrixImager().fit(X)
    >>> imager.image_shape_
    (8, 8, 1)
    >>> images = imager.transform_images(X[:5])
    >>> float(images[0, 3, 3, 0])  # the diagonal
    0.5
    """ % (_SHARED_ATTRIBUTES, _SHARED_DIFFERENCES, _DISTANCE_NOTE)

    differentiable = True  # whether a gradient reaches the values
    _kind = "distance_matrix"

    def __init__(self, zoom: int = 1) -> None:
        self.zoom = zoom

    def _anchors(self, n_features):
        return _diagonal(n_features)

    def _masks(self, n_features):
        return _cross_masks(n_features)
