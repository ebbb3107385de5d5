"""TINTOlib's DistanceMatrix, in memory: the row's pairwise differences."""

from ._drawn import (
    _SHARED_ATTRIBUTES,
    _SHARED_DIFFERENCES,
    SHARMA_REFERENCES,
    _cross_masks,
    _diagonal,
    _DrawnImager,
)

_DISTANCE_NOTE = """
    - **A constant row** (all scaled values equal: every difference 0) is
      drawn 0.5 everywhere, the diagonal's value; TINTOlib divides 0 by 0
      there and writes an undefined pixel."""


class DistanceMatrixImager(_DrawnImager):
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
%s

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
    """ % (_SHARED_ATTRIBUTES, _SHARED_DIFFERENCES, _DISTANCE_NOTE, SHARMA_REFERENCES)

    differentiable = True  # whether a gradient reaches the values
    _method = "distance_matrix"
    _kind = "distance_matrix"

    def __init__(self, zoom: int = 1) -> None:
        self.zoom = zoom

    def _anchors(self, n_features):
        return _diagonal(n_features)

    def _masks(self, n_features):
        return _cross_masks(n_features)
