"""TINTOlib's SuperTML, in memory: each value written as text in its region."""

import math
from numbers import Integral
from pathlib import Path

import numpy as np
from sklearn.utils._param_validation import Interval

from ._drawing import TEXT_CHARACTERS
from ._drawn import (
    _SHARED_ATTRIBUTES,
    _SHARED_DIFFERENCES,
    TINTOLIB_REFERENCE,
    _BaseDrawnImager,
)


def _font_path():
    """DejaVu Sans Mono, which ships with matplotlib: the same glyphs on
    every machine."""
    import matplotlib

    return str(Path(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSansMono.ttf"))


class SuperTMLImager(_BaseDrawnImager):
    __doc__ = """Turn each row into text: every value written in its own region.

    ``fit`` learns each feature's min/max from the training rows.
    ``transform`` writes each min-max scaled value with 3 decimals
    (``0.123``, ``1.000``), white on black, centred in its cell of a
    ``ceil(sqrt(n))``-column grid of equal cells on a ``pixels x pixels``
    image (TINTOlib's ``SuperTML`` with equal regions, SuperTML-EF [1]_ [2]_,
    in memory).

    Parameters
    ----------
    pixels : int, default=224
        Side of the square image.
    font_size : int, default=10
        Font size of the text, in pixels.
    zoom : int, default=1
        Each pixel repeated into a ``zoom x zoom`` block.

    Attributes
    ----------%s
    glyphs_ : ndarray of shape (5, 11, text_height, text_width)
        Each character of ``"0123456789."`` as drawn at each of the text's 5
        places.
    text_offset_ : tuple of int
        ``(row, col)`` of the text's box in its cell.

    See Also
    --------
    BarGraphImager : A bar per feature.
    IGTDImager : One pixel per feature (the hybrids' default image).

    Notes
    -----
    The font is DejaVu Sans Mono, which ships with matplotlib, so the images
    are the same on every machine; it is monospaced, so a value's 5
    characters always sit at the same places and the text is drawn, in
    NumPy and inside the hybrid's graph alike, from a table of glyphs (the
    font's own drawing of the whole string to within a grey level, tested).
    Feature ``j`` draws the box of its text (``feature_masks_``; labelled at
    its top-left pixel). A step function of the value (``differentiable`` is
    False: integrated gradients are refused). Deliberate differences from
    TINTOlib 1.3.1:
%s
    - **DejaVu Sans Mono**, not Arial (which TINTOlib loads by file name
      and most Linux machines lack); given this font, TINTOlib draws the
      same images (tested).
    - **One channel** (TINTOlib writes the same white text on all 3 RGB
      channels).
    - **Rounding**: ``floor(1000 v + 0.5)`` of the float32 value (TINTOlib:
      Python's ``f"{v:.3f}"`` of the float64 one); they differ only on
      halves.
    - **Every text centred by the box of** ``"0.000"`` (TINTOlib: by its own
      box, whose height differs by a pixel between strings at a 3 px font,
      moving the text by one pixel; at 4 px and more the boxes measured
      equal).
    - **A text larger than its cell is refused** (TINTOlib clips it).
    - **SuperTML-VF** (font sizes by a random forest's importances) is not
      offered.

    References
    ----------
    .. [1] B. Sun et al., "SuperTML: Two-Dimensional Word Embedding for the
       Precognition on Structured Tabular Data", CVPR Workshops, 2019.
       https://arxiv.org/abs/1903.06246
    .. [2] %s

    Examples
    --------
    >>> from skpermgrad import SuperTMLImager
    >>> from skpermgrad.datasets import load_puma8nh
    >>> X, y = load_puma8nh(return_X_y=True)
    >>> imager = SuperTMLImager(pixels=96, font_size=8).fit(X)
    >>> imager.image_shape_
    (96, 96, 1)
    """ % (_SHARED_ATTRIBUTES, _SHARED_DIFFERENCES, TINTOLIB_REFERENCE)

    differentiable = False  # whether a gradient reaches the values
    _kind = "text_cells"
    _parameter_constraints: dict = {
        **_BaseDrawnImager._parameter_constraints,
        "pixels": [Interval(Integral, 1, None, closed="left")],
        "font_size": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, pixels: int = 224, font_size: int = 10, zoom: int = 1) -> None:
        self.pixels = pixels
        self.font_size = font_size
        self.zoom = zoom

    def _geometry(self, n_features):
        """TINTOlib's grid: ``ceil(sqrt(n))`` columns, as many rows as needed,
        cells of ``pixels // columns`` by ``pixels // rows``."""
        cols = math.ceil(math.sqrt(n_features))
        rows = math.ceil(n_features / cols)
        return (rows, cols), (self.pixels // rows, self.pixels // cols)

    def _fit_image(self, values):
        from PIL import Image, ImageDraw, ImageFont

        n_features = values.shape[1]
        grid, (height, width) = self._geometry(n_features)
        font = ImageFont.truetype(_font_path(), self.font_size)
        canvas = ImageDraw.Draw(Image.new("L", (1, 1)))
        left, top, right, bottom = canvas.textbbox((0, 0), "0.000", font=font)
        text_width, text_height = right - left, bottom - top
        if text_width > width or text_height > height:
            raise ValueError(
                f"{type(self).__name__}: a value's text is {text_width}x{text_height}"
                f" px at font_size={self.font_size}, larger than the {width}x{height}"
                f" px cell of each of {n_features} features on a {self.pixels} px "
                "image: use a larger pixels or a smaller font_size."
            )
        # where TINTOlib puts the text in its cell: centred by its box
        at = ((width - text_width) / 2, (height - text_height) / 2)
        glyphs = np.zeros((5, len(TEXT_CHARACTERS), height, width))
        for place in range(5):
            for k, character in enumerate(TEXT_CHARACTERS):
                text = [" "] * 5
                text[place] = character
                image = Image.new("L", (width, height))
                ImageDraw.Draw(image).text(at, "".join(text), fill=255, font=font)
                glyphs[place, k] = np.asarray(image) / 255
        ink_rows = np.flatnonzero(glyphs.any(axis=(0, 1, 3)))
        ink_cols = np.flatnonzero(glyphs.any(axis=(0, 1, 2)))
        self.text_offset_ = (int(ink_rows[0]), int(ink_cols[0]))
        self.glyphs_ = glyphs[
            :, :, ink_rows[0] : ink_rows[-1] + 1, ink_cols[0] : ink_cols[-1] + 1
        ].astype(np.float32)
        super()._fit_image(values)

    def _drawing_params(self, n_features):
        grid, cell = self._geometry(n_features)
        return {
            "glyphs": self.glyphs_,
            "offset": self.text_offset_,
            "cell": cell,
            "grid": grid,
            "pixels": int(self.pixels),
        }

    def _boxes(self, n_features):
        """Each feature's text box: top-left corner and size."""
        (rows, cols), (height, width) = self._geometry(n_features)
        j = np.arange(n_features)
        corner = np.column_stack([j // cols * height, j % cols * width])
        return corner + self.text_offset_, self.glyphs_.shape[2:]

    def _anchors(self, n_features):
        return self._boxes(n_features)[0]

    def _masks(self, n_features):
        corners, (height, width) = self._boxes(n_features)
        masks = np.zeros((n_features, self.pixels, self.pixels), dtype=bool)
        for j, (row, col) in enumerate(corners):
            masks[j, row : row + height, col : col + width] = True
        return masks
