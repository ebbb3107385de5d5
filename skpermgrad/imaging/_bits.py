"""TINTOlib's bit images, in memory: BIE (a value's float bits) and
FeatureWrap (binned values' one-hot bits packed into bytes)."""

import math
from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval

from ._drawn import (
    _SHARED_ATTRIBUTES,
    _SHARED_DIFFERENCES,
    TINTOLIB_REFERENCE,
    _DrawnImager,
)

_REFERENCES = (
    """
    References
    ----------
    .. [1] %s
    .. [2] %%s"""
    % TINTOLIB_REFERENCE
)


class BIEImager(_DrawnImager):
    __doc__ = """Turn each row into the float32 bits of its values (BIE).

    ``fit`` learns each feature's min/max from the training rows.
    ``transform`` draws each row's min-max scaled values as an ``n x 32``
    image: row ``j`` holds the 32 bits of feature ``j``'s value as a float32
    (sign, 8 exponent bits, 23 mantissa bits), 1 for a set bit (TINTOlib's
    ``BIE``, Binary Image Encoding [1]_ [2]_, in memory). Values in [0, 1]
    share their sign and most exponent bits: the image's information is in
    the mantissa columns.

    Parameters
    ----------
    zoom : int, default=1
        Each pixel repeated into a ``zoom x zoom`` block.

    Attributes
    ----------%s

    See Also
    --------
    FeatureWrapImager : Binned values as bits.
    IGTDImager : One pixel per feature (the hybrids' default image).

    Notes
    -----
    Feature ``j`` draws row ``j`` (``feature_masks_``; labelled at its first
    pixel). The bits are computed with arithmetic that is exact in float32
    for values in [0, 1], in NumPy and in the hybrid's graph alike; they are
    a step function of the value (``differentiable`` is False: integrated
    gradients are refused). TINTOlib 1.3.1's image (tested). Deliberate
    differences:
%s
    - **32-bit floats only**: the network reads float32 values (TINTOlib's
      ``precision=64`` draws the float64 bits). A subnormal value (below
      ``2**-126``, which min-max scaling practically never gives) is drawn 0.
%s

    Examples
    --------
    >>> from skpermgrad import BIEImager
    >>> from skpermgrad.datasets import load_puma8nh
    >>> X, y = load_puma8nh(return_X_y=True)
    >>> imager = BIEImager().fit(X)
    >>> imager.image_shape_
    (8, 32, 1)
    """ % (
        _SHARED_ATTRIBUTES,
        _SHARED_DIFFERENCES,
        _REFERENCES
        % (
            "Binary Image Encoding, the paper TINTOlib's method table links: "
            "https://ieeexplore.ieee.org/document/10278393"
        ),
    )

    differentiable = False  # whether a gradient reaches the values
    _method = "bie"
    _kind = "float_bits"

    def __init__(self, zoom: int = 1) -> None:
        self.zoom = zoom

    def _anchors(self, n_features):
        return np.column_stack([np.arange(n_features), np.zeros(n_features, int)])

    def _masks(self, n_features):
        masks = np.zeros((n_features, n_features, 32), dtype=bool)
        masks[np.arange(n_features), np.arange(n_features)] = True
        return masks


class FeatureWrapImager(_DrawnImager):
    __doc__ = """Turn each row into bytes: every value binned, one-hot, 8 bits a pixel.

    ``fit`` learns each feature's min/max from the training rows.
    ``transform`` cuts each min-max scaled value into one of ``bins`` equal
    bins of [0, 1], writes its one-hot code (``bins`` bits, feature after
    feature), and packs the bits 8 to a pixel, most significant first, into
    a ``size`` image filled row by row; a pixel is its byte over 255 and the
    pixels after the last bit are 0 (TINTOlib's ``FeatureWrap`` [1]_ [2]_, in
    memory).

    Parameters
    ----------
    size : tuple of int, default=(8, 8)
        ``(rows, cols)`` of the image; it must hold ``n_features * bins``
        bits, 8 a pixel.
    bins : int, default=10
        Equal-width bins of each scaled value.
    zoom : int, default=1
        Each pixel repeated into a ``zoom x zoom`` block.

    Attributes
    ----------%s

    See Also
    --------
    BIEImager : A value's float bits.
    IGTDImager : One pixel per feature (the hybrids' default image).

    Notes
    -----
    Feature ``j`` draws the pixels that hold its ``bins`` bits
    (``feature_masks_``; two features can share a pixel's byte; labelled at
    its first pixel). A step function of the value (``differentiable`` is
    False: integrated gradients are refused). TINTOlib 1.3.1's image but for
    float32 rounding (tested). Deliberate differences:
%s
    - **Bins fitted on the training rows** (TINTOlib refits its scaling and
      its bins on whatever rows it transforms); a value on a bin edge within
      float32 rounding can fall in the next bin.
    - **Numeric columns only**, like every imager (TINTOlib one-hot encodes
      string columns): encode categories first.
    - **An image too small for the bits is refused** when fitted.
%s

    Examples
    --------
    >>> from skpermgrad import FeatureWrapImager
    >>> from skpermgrad.datasets import load_puma8nh
    >>> X, y = load_puma8nh(return_X_y=True)
    >>> imager = FeatureWrapImager().fit(X)
    >>> imager.image_shape_
    (8, 8, 1)
    >>> int(imager.feature_masks_.any(axis=0).sum())  # 8 x 10 bits: 10 pixels
    10
    """ % (
        _SHARED_ATTRIBUTES,
        _SHARED_DIFFERENCES,
        _REFERENCES
        % (
            "FeatureWrap, the chapter TINTOlib's method table links: "
            ":doi:`10.1007/978-3-319-70139-4_87`"
        ),
    )

    differentiable = False  # whether a gradient reaches the values
    _method = "feature_wrap"

    @classmethod
    def _for_table(cls, n_features, random_state):
        # the smallest square of at least 8x8 (the default) that holds the
        # table's bits: n_features x 10 bins, 8 bits a pixel
        bins = cls().bins
        side = max(8, math.ceil(math.sqrt(n_features * bins / 8)))
        return cls(size=(side, side), bins=bins)

    _kind = "feature_wrap"
    _parameter_constraints: dict = {
        **_DrawnImager._parameter_constraints,
        "size": [tuple, list],
        "bins": [Interval(Integral, 2, None, closed="left")],
    }

    def __init__(self, size: tuple = (8, 8), bins: int = 10, zoom: int = 1) -> None:
        self.size = size
        self.bins = bins
        self.zoom = zoom

    def _drawing_params(self, n_features):
        size = tuple(self.size)
        if len(size) != 2 or not all(
            isinstance(s, Integral) and not isinstance(s, bool) and s >= 1 for s in size
        ):
            raise ValueError(
                f"{type(self).__name__}: size must be (rows, cols), two positive "
                f"integers; got {self.size!r}."
            )
        size = (int(size[0]), int(size[1]))
        bits = n_features * self.bins
        if bits > 8 * size[0] * size[1]:
            need = -(-bits // 8)
            raise ValueError(
                f"{type(self).__name__}: {n_features} features x {self.bins} bins "
                f"need {bits} bits, but size={size} holds {8 * size[0] * size[1]} "
                f"(8 bits a pixel): use a size of at least {need} pixels or fewer "
                "bins."
            )
        return {"bins": int(self.bins), "size": size}

    def _anchors(self, n_features):
        """Each feature's first pixel, row by row."""
        masks = self._masks(n_features)
        first = masks.reshape(n_features, -1).argmax(axis=1)
        return np.column_stack(np.divmod(first, masks.shape[2]))

    def _masks(self, n_features):
        """The pixels that hold each feature's bits (bit ``b`` in pixel
        ``b // 8``)."""
        rows, cols = self._drawing_params(n_features)["size"]
        bits = np.arange(n_features * self.bins).reshape(n_features, self.bins)
        masks = np.zeros((n_features, rows * cols), dtype=bool)
        masks[np.arange(n_features)[:, None], bits // 8] = True
        return masks.reshape(n_features, rows, cols)
