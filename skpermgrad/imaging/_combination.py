"""TINTOlib's Combination, in memory: differences, bars and levels."""

import warnings

from ._distance_matrix import _DISTANCE_NOTE
from ._drawn import (
    _SHARED_ATTRIBUTES,
    _SHARED_DIFFERENCES,
    SHARMA_REFERENCES,
    _cross_masks,
    _diagonal,
    _DrawnImager,
)


class CombinationImager(_DrawnImager):
    __doc__ = """Turn each row into 3 channels: differences, bars and levels.

    ``fit`` learns each feature's min/max from the training rows. ``transform``
    draws each row's min-max scaled values ``v`` as an ``n x n`` image of 3
    channels (TINTOlib's ``Combination`` [1]_ [2]_, in memory):

    0. the distance matrix (see :class:`DistanceMatrixImager`);
    1. the bar graph of 1-pixel bars without gaps (see
       :class:`BarGraphImager`), ``floor(v * (n - 2))`` pixels long;
    2. row ``i`` filled with ``v_i``, min-max normalised over the row.

    Parameters
    ----------
    zoom : int, default=1
        Each pixel repeated into a ``zoom x zoom`` block.

    Attributes
    ----------%s

    See Also
    --------
    DistanceMatrixImager : Its first channel alone.
    BarGraphImager : Bars of any width and gap.
    IGTDImager : One pixel per feature (the hybrids' default image).

    Notes
    -----
    Feature ``i`` draws row ``i`` and column ``i`` (``feature_masks_``, over
    all channels; labelled at ``(i, i)``). The bars are a step function of
    the values: no gradient reaches a value through the second channel
    (integrated gradients are refused on this image; ``differentiable`` is
    False). TINTOlib 1.3.1's image but for float32 rounding (tested).
    Deliberate differences:
%s%s
      The third channel of a constant row is 0.5 too.
    - **2 features warn**: the bar channel of ``2 x 2`` has no pixel for a
      bar and stays empty (as TINTOlib's, which says nothing).
%s

    Examples
    --------
    >>> from skpermgrad import CombinationImager
    >>> from skpermgrad.datasets import load_puma8nh
    >>> X, y = load_puma8nh(return_X_y=True)
    >>> imager = CombinationImager().fit(X)
    >>> imager.image_shape_
    (8, 8, 3)
    """ % (_SHARED_ATTRIBUTES, _SHARED_DIFFERENCES, _DISTANCE_NOTE, SHARMA_REFERENCES)

    differentiable = False  # whether a gradient reaches the values
    _method = "combination"
    _kind = "combination"

    def __init__(self, zoom: int = 1) -> None:
        self.zoom = zoom

    def _fit_image(self, values):
        if values.shape[1] < 3:
            warnings.warn(
                f"{type(self).__name__}: with {values.shape[1]} features the bar "
                "channel (1-pixel bars between 1-pixel paddings) has no room for a "
                "bar and stays empty; BarGraphImager(gap=1) draws bars of 2 features.",
                UserWarning,
                stacklevel=4,
            )
        super()._fit_image(values)

    def _anchors(self, n_features):
        return _diagonal(n_features)

    def _masks(self, n_features):
        return _cross_masks(n_features)
