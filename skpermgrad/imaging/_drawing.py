"""Every image as a function of a batch of scaled rows: a layout's footprints
and TINTOlib's drawn images.

Each drawing is written once, against an array namespace ``xp``: NumPy
(``transform_images``) or ``keras.ops`` (the hybrids draw the same images
inside the graph, batch by batch); both draw in the values' dtype, float32
from ``transform_values``, so the two agree to the last bar pixel. Only
operations the two share are used: indexing with ``None``, arithmetic,
comparisons, ``max``/``min``/``sum``/``where``/``floor``/``take``/``repeat``/
``stack``/``reshape``/``transpose``/``pad``/``matmul``/``logical_and``/
``sqrt``/``abs``/``exp``/``clip``/``einsum``/``maximum``.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _as_float(xp, array, like):
    """``array`` (a constant or a result) in ``like``'s float dtype: the two
    namespaces never mix float32 and float64."""
    if xp is np:
        return np.asarray(array, dtype=like.dtype)
    return xp.cast(array, like.dtype)


def _zoomed(xp, image, zoom):
    """Repeat each pixel of ``(batch, h, w)`` images into a zoom x zoom block."""
    if zoom > 1:
        image = xp.repeat(xp.repeat(image, zoom, axis=1), zoom, axis=2)
    return image


def _range_normalised(xp, difference, low_to_high, fill=0.5):
    """``difference`` over ``low_to_high`` (a range, broadcastable), and
    ``fill`` where the range is 0 (a constant row: TINTOlib divides 0 by 0
    there; a constant pixel: its MinMaxScaler writes 0)."""
    flat = low_to_high > 0
    return xp.where(flat, difference / xp.where(flat, low_to_high, 1.0), fill)


def _row_range(xp, values):
    return (xp.max(values, axis=1) - xp.min(values, axis=1))[:, None, None]


# every drawing by name (``get_drawing``'s kind), registered where it is
# written: here, or in a new method's own module
_DRAWINGS = {}


def drawing(name):
    """Register a function ``f(xp, values, **params)`` as the drawing ``name``
    (a batch of scaled rows to ``(batch, height, width)`` images, or with
    channels last), which :func:`draw` and the hybrids' render layer call."""

    def register(function):
        _DRAWINGS[name] = function
        return function

    return register


@drawing("footprints")
def footprints(xp, values, weights, mode, pixels, channels=1):
    """A layout: each feature's footprint on a ``pixels x pixels`` grid
    (``weights``, one row a feature; see ``get_render_weights``), merged by
    ``mode``: ``"linear"`` (``values @ weights``), ``"mean"`` (that sum over
    the features with a positive contribution to a pixel, divided by their
    count: TINTOlib's blur) or ``"max"``; ``channels`` copies of the grid."""
    weights = _as_float(xp, weights, values)
    if mode == "max" and xp is np:
        # feature by feature: a block of rows never holds a (rows, features,
        # pixels) array, which a large image makes gigabytes (the products
        # are non-negative, so the maximum from 0 is the maximum over features)
        grid = np.zeros((len(values), weights.shape[1]), dtype=values.dtype)
        for j in range(values.shape[1]):
            np.maximum(grid, values[:, j, None] * weights[j], out=grid)
    elif mode == "max":  # a batch in the graph: one op
        grid = xp.max(values[:, :, None] * weights[None], axis=1)
    else:
        grid = xp.matmul(values, weights)
        if mode == "mean":
            footprint = _as_float(xp, weights > 0, values)
            counts = xp.matmul(_as_float(xp, values > 0, values), footprint)
            grid = grid / xp.maximum(counts, 1.0)
    image = xp.reshape(grid, (-1, pixels, pixels, 1))
    if channels > 1:
        image = xp.repeat(image, channels, axis=3)
    return image


@drawing("distance_matrix")
def distance_matrix(xp, values):
    """TINTOlib's ``DistanceMatrix``: ``v_i - v_j`` min-max normalised per row.

    The differences of a row lie in ``[-r, r]`` (``r``, the row's range), so
    the normalised matrix is ``(v_i - v_j + r) / (2 r)``: 0.5 on the diagonal.
    """
    difference = values[:, :, None] - values[:, None, :]
    span = _row_range(xp, values)
    return _range_normalised(xp, difference + span, span + span)


def bar_geometry(n_features, pixel_width, gap):
    """TINTOlib's ``BarGraph`` geometry: the square image's side, the bars' top
    (a ``pixel_width`` padding), their greatest height, and which feature's bar
    each column shows (-1 for a gap)."""
    side = pixel_width * n_features + (n_features + 1) * gap
    top = pixel_width
    height = side - 2 * pixel_width
    owner = np.full(side, -1)
    for j in range(n_features):
        start = gap + (gap + pixel_width) * j
        owner[start : start + pixel_width] = j
    return side, top, height, owner


@drawing("bar_graph")
def bar_graph(xp, values, pixel_width=1, gap=0):
    """TINTOlib's ``BarGraph``: one bar per feature, ``floor(v * height)``
    pixels long, hanging from the top padding."""
    side, top, height, owner = bar_geometry(values.shape[1], pixel_width, gap)
    heights = xp.floor(values * height)
    in_bar = _as_float(xp, owner >= 0, values)
    per_column = xp.take(heights, np.maximum(owner, 0), axis=1) * in_bar
    rows = _as_float(xp, np.arange(side)[None, :, None], values)
    lit = xp.logical_and(rows >= top, rows < top + per_column[:, None, :])
    return _as_float(xp, lit, values)


def row_levels(xp, values):
    """The third channel of TINTOlib's ``Combination``: row ``i`` filled with
    ``v_i``, min-max normalised over the row's values."""
    low = xp.min(values, axis=1)[:, None, None]
    level = xp.repeat(values[:, :, None] - low, values.shape[1], axis=2)
    return _range_normalised(xp, level, _row_range(xp, values))


@drawing("combination")
def combination(xp, values):
    """TINTOlib's ``Combination``: the distance matrix, the bar graph of
    1-pixel bars without gaps (``n x n``), and the row levels, as 3 channels."""
    return xp.stack(
        [distance_matrix(xp, values), bar_graph(xp, values), row_levels(xp, values)],
        axis=-1,
    )


def _as_index(xp, array):
    if xp is np:
        return array.astype(np.intp)
    return xp.cast(array, "int32")


# 2**k for k = -126..0: the smallest normal float32 to 1
_POWERS = 2.0 ** np.arange(-126, 1)


@drawing("float_bits")
def float_bits(xp, values):
    """TINTOlib's ``BIE`` (32 bits): each value's float32 bits as a row of
    pixels (sign, 8 exponent bits, 23 mantissa bits; 1 for a set bit).

    Computed with arithmetic that is exact in float32 for values in [0, 1]
    (the scaled values): the biased exponent ``E`` counts the powers of two
    at or below the value, the mantissa is ``v / 2**(E - 127) - 1``, and each
    bit is ``floor(x / 2**k) mod 2``. A subnormal value (below ``2**-126``)
    is drawn as 0.
    """
    powers = _as_float(xp, _POWERS, values)
    exponent = xp.sum(_as_float(xp, values[:, :, None] >= powers, values), axis=2)
    normal = exponent > 0
    scale = xp.take(powers, _as_index(xp, xp.where(normal, exponent - 1, 126)))
    mantissa = xp.where(normal, values / scale - 1.0, 0.0)
    exponent = exponent[:, :, None]
    mantissa = mantissa[:, :, None]
    shifts = np.arange(7, -1, -1)  # exponent bits, most significant first
    exponent_bits = xp.floor(exponent / _as_float(xp, 2.0**shifts, values))
    exponent_bits = exponent_bits - 2.0 * xp.floor(exponent_bits / 2.0)
    steps = np.arange(1, 24)  # mantissa bits: 2**-1 first
    mantissa_bits = xp.floor(mantissa * _as_float(xp, 2.0**steps, values))
    mantissa_bits = mantissa_bits - 2.0 * xp.floor(mantissa_bits / 2.0)
    sign = 0.0 * mantissa  # the scaled values are never negative
    return xp.concatenate([sign, exponent_bits, mantissa_bits], axis=2)


def wrap_weights(n_features, bins, size):
    """TINTOlib's ``FeatureWrap`` packing as a matrix: the one-hot bit of bin
    ``k`` of feature ``j`` (position ``j * bins + k``) to its pixel, bits
    grouped by 8 into a byte (most significant first) and the byte scaled
    by 1/255; pixels filled row by row."""
    positions = np.arange(n_features * bins)
    weights = np.zeros((len(positions), size[0] * size[1]))
    weights[positions, positions // 8] = 2.0 ** (7 - positions % 8) / 255
    return weights


@drawing("feature_wrap")
def feature_wrap(xp, values, bins=10, size=(8, 8)):
    """TINTOlib's ``FeatureWrap``: each value binned into ``bins`` equal bins
    of [0, 1], one-hot, the bits of all features packed 8 to a pixel of a
    ``size`` image (the last pixels 0)."""
    n_features = values.shape[1]
    edges = _as_float(xp, np.linspace(0.0, 1.0, bins + 1)[1:-1], values)
    # the bin: how many inner edges lie at or below the value (searchsorted)
    which = xp.sum(_as_float(xp, values[:, :, None] >= edges, values), axis=2)
    levels = _as_float(xp, np.arange(bins), values)
    one_hot = _as_float(xp, which[:, :, None] == levels, values)
    flat = xp.reshape(one_hot, (-1, n_features * bins))
    weights = _as_float(xp, wrap_weights(n_features, bins, size), values)
    return xp.reshape(xp.matmul(flat, weights), (-1, *size))


TEXT_CHARACTERS = "0123456789."  # the glyphs of a value's text, "d.ddd"


def _text_ink(xp, values, glyphs):
    """Each value's text ``d.ddd`` (rounded to 3 decimals) as ink, from
    ``glyphs`` of shape ``(n_features, 5, 11, height, width)``: each
    feature's drawing of each character of :data:`TEXT_CHARACTERS` at each of
    the text's 5 places (a monospaced font: the places never move). The 5
    glyphs are laid over each other as white ink (``1 - prod(1 - glyph)``):
    the font's drawing of the whole string, to within a grey level where
    neighbouring glyphs share a pixel. Returns ``(batch, n_features, height,
    width)``."""
    n_features, _, n_characters, height, width = np.shape(glyphs)
    thousandths = xp.floor(values * 1000.0 + 0.5)

    def digit(scale):
        return xp.floor(thousandths / scale) - 10.0 * xp.floor(thousandths / scale / 10)

    places = [xp.floor(thousandths / 1000.0), 10.0 + 0.0 * values]  # "d", "."
    places += [digit(100.0), digit(10.0), digit(1.0)]
    # feature j's character k is row j * 11 + k of its place's table
    first = _as_float(xp, np.arange(n_features) * n_characters, values)
    clear = 1.0  # the share of each pixel no glyph inks
    for place, character in enumerate(places):
        table = np.reshape(np.asarray(glyphs)[:, place], (-1, height, width))
        table = _as_float(xp, table, values)
        clear = clear * (1.0 - xp.take(table, _as_index(xp, character + first), axis=0))
    return 1.0 - clear


@drawing("text_cells")
def text_cells(xp, values, glyphs, offset, cell, grid, pixels):
    """SuperTML's equal regions: each value written ``d.ddd`` (rounded to 3
    decimals) in its cell of a ``grid`` of ``cell``-sized regions.

    ``glyphs`` (5 places x 11 characters x height x width) holds each
    character of :data:`TEXT_CHARACTERS` as drawn at each of the text's 5
    places, the same for every feature, ``offset`` where that box sits in a
    cell.
    """
    n_features = values.shape[1]
    glyphs = np.broadcast_to(np.asarray(glyphs), (n_features, *np.shape(glyphs)))
    text = _text_ink(xp, values, glyphs)
    (top, left), (height, width) = offset, cell
    rows, cols = grid
    text_height, text_width = np.shape(glyphs)[-2:]
    text = xp.pad(
        text,
        [
            (0, 0),
            (0, rows * cols - n_features),
            (top, height - top - text_height),
            (left, width - left - text_width),
        ],
    )
    text = xp.reshape(text, (-1, rows, cols, height, width))
    text = xp.reshape(
        xp.transpose(text, (0, 1, 3, 2, 4)), (-1, rows * height, cols * width)
    )
    return xp.pad(
        text, [(0, 0), (0, pixels - rows * height), (0, pixels - cols * width)]
    )


@drawing("text_placed")
def text_placed(xp, values, glyphs, font_index, corners, pixels):
    """SuperTML's variable font sizes: each value written ``d.ddd`` at its own
    size and place, as TINTOlib's SuperTML-VF lays them out.

    ``glyphs`` (n_sizes x 5 places x 11 characters x height x width) holds
    each font size's characters (zero beyond a smaller size's box),
    ``font_index`` each feature's size, ``corners`` the top-left pixel of each
    feature's text on the ``pixels x pixels`` image; texts laid over each
    other as white ink, what reaches past the image's edge cut.
    """
    glyphs = np.asarray(glyphs)
    text = _text_ink(xp, values, glyphs[np.asarray(font_index)])
    height, width = glyphs.shape[-2:]
    side = pixels + max(height, width)  # room for a text at the edge, then cut
    if xp is np:  # the same products, in place on each text's own box
        clear = np.ones((len(text), side, side), dtype=text.dtype)
        for j, (row, col) in enumerate(np.asarray(corners)):
            clear[:, row : row + height, col : col + width] *= 1.0 - text[:, j]
        return (1.0 - clear)[:, :pixels, :pixels]
    clear = 1.0
    for j, (row, col) in enumerate(np.asarray(corners)):
        placed = xp.pad(
            text[:, j],
            [(0, 0), (row, side - row - height), (col, side - col - width)],
        )
        clear = clear * (1.0 - placed)
    return (1.0 - clear)[:, :pixels, :pixels]


def _standardised(xp, values, mean, scale):
    return (values - _as_float(xp, np.asarray(mean), values)) / _as_float(
        xp, np.asarray(scale), values
    )


def centre_distances(xp, values, mean, scale, centers, metric, sigma):
    """The standardised row's distance to each centre (``metric``), or with
    ``sigma`` its ``exp(-d**2 / (2 sigma**2))`` (TINTOlib's ``RBFMethod``).

    The Euclidean distance is ``sqrt(s + 1e-12)`` of the squared distance
    ``s``: within 1e-6 of it, and with a gradient at a centre (a k-medoid is
    a training row)."""
    z = _standardised(xp, values, mean, scale)
    centers = _as_float(xp, np.asarray(centers), values)
    difference = z[:, None, :] - centers[None, :, :]
    if metric == "euclidean":
        distance = xp.sqrt(xp.sum(difference * difference, axis=2) + 1e-12)
    elif metric == "manhattan":
        distance = xp.sum(xp.abs(difference), axis=2)
    else:  # chebyshev
        distance = xp.max(xp.abs(difference), axis=2)
    if sigma is not None:
        distance = xp.exp(-(distance * distance) / (2.0 * sigma * sigma))
    return distance


def memberships(xp, values, mean, scale, means, precisions_cholesky, log_constant):
    """The standardised row's membership probability of each component of a
    Gaussian mixture (scikit-learn's ``predict_proba``; every covariance
    type written as full Cholesky factors of the precisions, ``log_constant``
    each component's log weight and log normalising constant)."""
    z = _standardised(xp, values, mean, scale)
    means = _as_float(xp, np.asarray(means), values)
    factors = _as_float(xp, np.asarray(precisions_cholesky), values)
    whitened = xp.einsum("bkd,kde->bke", z[:, None, :] - means[None], factors)
    log_joint = _as_float(xp, np.asarray(log_constant), values) - 0.5 * xp.sum(
        whitened * whitened, axis=2
    )
    joint = xp.exp(log_joint - xp.max(log_joint, axis=1)[:, None])
    return joint / xp.sum(joint, axis=1)[:, None]


def factor_scores(xp, values, mean, scale, weights, offset):
    """The standardised row's factor scores (scikit-learn's
    ``FactorAnalysis.transform``: an affine map ``z @ weights + offset``)."""
    z = _standardised(xp, values, mean, scale)
    scores = xp.matmul(z, _as_float(xp, np.asarray(weights), values))
    return scores + _as_float(xp, np.asarray(offset), values)


CLUSTER_RESPONSES = {
    "distances": centre_distances,
    "memberships": memberships,
    "factor_scores": factor_scores,
}


@drawing("clusters")
def clusters(xp, values, response, low, span, side, **params):
    """TINTOlib's ``Clusters``: the row's responses to a clustering of the
    training rows (``response``, one of :data:`CLUSTER_RESPONSES`, with its
    ``params``), min-max scaled over the training rows (``low``, ``span``;
    clipped to [0, 1]), placed row by row on a ``side x side`` grid, 0 after
    the last."""
    response = CLUSTER_RESPONSES[response](xp, values, **params)
    low = _as_float(xp, np.asarray(low), response)
    span = _as_float(xp, np.asarray(span), response)
    flat = xp.clip(_range_normalised(xp, response - low, span, fill=0.0), 0.0, 1.0)
    flat = xp.pad(flat, [(0, 0), (0, side * side - response.shape[1])])
    return xp.reshape(flat, (-1, side, side))


def draw(kind: str, values: Any, *, xp: Any = np, zoom: int = 1, **params: Any):
    """Draw scaled rows as images of shape ``(batch, height, width, channels)``.

    Parameters
    ----------
    kind : {"footprints", "distance_matrix", "bar_graph", "combination", \
"float_bits", "feature_wrap", "text_cells", "text_placed", "clusters"}
        The drawing (an imager's :meth:`~skpermgrad.TintoImager.get_drawing`
        names it; ``"footprints"`` is every layout's).
    values : array of shape (batch, n_features)
        Scaled values in [0, 1], as ``transform_values`` returns them.
    xp : module, default=numpy
        The array namespace: ``numpy``, or ``keras.ops`` inside a network.
    zoom : int, default=1
        Each pixel repeated into a ``zoom x zoom`` block.
    **params
        The drawing's own parameters (a layout's ``weights``, ``mode``,
        ``pixels`` and ``channels``; ``pixel_width``, ``gap`` of the bars;
        ``bins``, ``size`` of the feature wrap; the glyphs and geometry of
        the text; the clustering's response and constants).

    Returns
    -------
    images : array of shape (batch, height, width, channels)
        Of ``values``' dtype.
    """
    image = _DRAWINGS[kind](xp, values, **params)
    if len(image.shape) == 3:  # one channel
        image = image[..., None]
    return _zoomed(xp, image, zoom)
