"""TINTOlib's BarGraph, in memory: one bar per feature."""

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval

from ._drawing import bar_geometry
from ._drawn import (
    _SHARED_ATTRIBUTES,
    _SHARED_DIFFERENCES,
    SHARMA_REFERENCES,
    _DrawnImager,
)


class BarGraphImager(_DrawnImager):
    __doc__ = """Turn each row into a bar graph: one bar per feature.

    ``fit`` learns each feature's min/max from the training rows. ``transform``
    draws each row's min-max scaled values as bars ``pixel_width`` pixels wide
    with ``gap`` pixels before, between and after them, on a square image of
    side ``s = pixel_width * n + gap * (n + 1)``; a bar hangs from a top
    padding of ``pixel_width`` pixels and is ``floor(v * (s - 2 *
    pixel_width))`` pixels long (TINTOlib's ``BarGraph`` [1]_ [2]_, in memory).

    Parameters
    ----------
    pixel_width : int, default=1
        Width of each bar, and of the top and bottom padding, in pixels.
    gap : int, default=0
        Pixels between two bars and at both sides.
    zoom : int, default=1
        Each pixel repeated into a ``zoom x zoom`` block.

    Attributes
    ----------%s

    See Also
    --------
    DistanceMatrixImager : The row's pairwise differences.
    CombinationImager : Bars, differences and levels as 3 channels.
    IGTDImager : One pixel per feature (the hybrids' default image).

    Notes
    -----
    Feature ``j`` draws its bar's columns between the paddings
    (``feature_masks_``; labelled at the bar's top-left pixel). A bar's length
    is a step function of the value: the hybrids draw it inside their graph,
    but no gradient reaches the value through it (integrated gradients are
    refused on this image; ``differentiable`` is False). TINTOlib 1.3.1's
    image but for float32 rounding (tested). Deliberate differences:
%s
    - **A bar graph with no room for bars is refused** (two features without
      a gap leave ``s - 2 * pixel_width = 0`` pixels; TINTOlib draws empty
      images).
%s

    Examples
    --------
    >>> from skpermgrad import BarGraphImager
    >>> from skpermgrad.datasets import load_puma8nh
    >>> X, y = load_puma8nh(return_X_y=True)
    >>> imager = BarGraphImager(pixel_width=2, gap=1).fit(X)
    >>> imager.image_shape_
    (25, 25, 1)
    >>> imager.transform_images(X[:5]).shape
    (5, 25, 25, 1)
    """ % (_SHARED_ATTRIBUTES, _SHARED_DIFFERENCES, SHARMA_REFERENCES)

    differentiable = False  # whether a gradient reaches the values
    _kind = "bar_graph"
    _method = "bar_graph"

    @classmethod
    def _for_table(cls, n_features, random_state):
        # its default gap of 0 leaves a table of two features no room for a
        # bar between the paddings (a 2x2 image): a gap of 1 gives them one
        _, _, height, _ = bar_geometry(n_features, 1, 0)
        return cls() if height >= 1 else cls(gap=1)

    _parameter_constraints: dict = {
        **_DrawnImager._parameter_constraints,
        "pixel_width": [Interval(Integral, 1, None, closed="left")],
        "gap": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(self, pixel_width: int = 1, gap: int = 0, zoom: int = 1) -> None:
        self.pixel_width = pixel_width
        self.gap = gap
        self.zoom = zoom

    def _drawing_params(self, n_features):
        side, _, height, _ = bar_geometry(n_features, self.pixel_width, self.gap)
        if height < 1:
            raise ValueError(
                f"{type(self).__name__}: {n_features} bars {self.pixel_width} px "
                f"wide with gap={self.gap} make a {side}x{side} image with no room "
                f"for a bar between its {self.pixel_width} px paddings: use gap >= 1."
            )
        return {"pixel_width": self.pixel_width, "gap": self.gap}

    def _anchors(self, n_features):
        _, top, _, owner = bar_geometry(n_features, self.pixel_width, self.gap)
        first = [int(np.flatnonzero(owner == j)[0]) for j in range(n_features)]
        return np.column_stack([np.full(n_features, top), first])

    def _masks(self, n_features):
        side, top, height, owner = bar_geometry(n_features, self.pixel_width, self.gap)
        masks = np.zeros((n_features, side, side), dtype=bool)
        for j in range(n_features):
            masks[j, top : top + height, owner == j] = True
        return masks
