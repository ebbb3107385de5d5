"""TINTOlib's SuperTML, in memory: each value written as text in its region."""

import math
from numbers import Integral
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import type_of_target

from ._drawing import TEXT_CHARACTERS
from ._drawn import (
    _SHARED_ATTRIBUTES,
    _SHARED_DIFFERENCES,
    TINTOLIB_REFERENCE,
    _DrawnImager,
)


def _font_path():
    """DejaVu Sans Mono, which ships with matplotlib: the same glyphs on
    every machine."""
    import matplotlib

    return str(Path(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSansMono.ttf"))


# TINTOlib's SuperTML-VF: the room kept around each placed text, and the rows
# its random forest reads at most
_PADDING = 5
_MAX_FOREST_ROWS = 100_000
# each tree's bootstrap, a share of those rows (TINTOlib: all of them):
# faster, and the font sizes agree with a full forest's as often as two full
# forests' agree with each other (measured on puma8NH and spambase)
_TREE_SAMPLES = 0.25


def _text_box(font_size):
    """The box of ``"0.000"`` at ``font_size``: ``(left, top, right, bottom)``
    from the drawing origin (DejaVu Sans Mono is monospaced: every value's
    text has this box, to within a pixel below 4 px)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(_font_path(), font_size)
    return ImageDraw.Draw(Image.new("L", (1, 1))).textbbox((0, 0), "0.000", font=font)


def _glyph_table(font_size, at, size):
    """Each character of ``TEXT_CHARACTERS`` drawn alone at each of the 5
    places of a text drawn at ``at`` on a ``size = (height, width)`` canvas:
    ``(5, 11, height, width)`` in [0, 1]."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(_font_path(), font_size)
    glyphs = np.zeros((5, len(TEXT_CHARACTERS), *size))
    for place in range(5):
        for k, character in enumerate(TEXT_CHARACTERS):
            text = [" "] * 5
            text[place] = character
            image = Image.new("L", size[::-1])
            ImageDraw.Draw(image).text(at, "".join(text), fill=255, font=font)
            glyphs[place, k] = np.asarray(image) / 255
    return glyphs


def _ink_box(glyphs):
    """The rows and columns any glyph inks: ``(top, left), (bottom, right)``
    (exclusive)."""
    rows = np.flatnonzero(glyphs.any(axis=(0, 1, 3)))
    cols = np.flatnonzero(glyphs.any(axis=(0, 1, 2)))
    return (int(rows[0]), int(cols[0])), (int(rows[-1]) + 1, int(cols[-1]) + 1)


def _first_fit(boxes, pixels):
    """TINTOlib's SuperTML-VF placement: each ``(height, width)`` box in turn
    at the first ``(y, x)``, row by row, where it overlaps no box placed
    before (each widened by ``_PADDING``); ``None`` where none is left."""
    corners, placed = [], []
    for height, width in boxes:
        # TINTOlib scans y < pixels - height and x < pixels - width
        free = np.ones((max(pixels - height, 0), max(pixels - width, 0)), dtype=bool)
        for y, x, h, w in placed:
            # TINTOlib's overlap: not (x + width < px or x > px + pw or ...)
            free[max(y - height, 0) : y + h + 1, max(x - width, 0) : x + w + 1] = False
        if not free.any():
            corners.append(None)
            continue
        y, x = np.unravel_index(np.argmax(free), free.shape)
        corners.append((int(y), int(x)))
        placed.append((int(y), int(x), height + _PADDING, width + _PADDING))
    return corners


class SuperTMLImager(_DrawnImager):
    __doc__ = """Turn each row into text: every value written in its own region.

    ``fit`` learns each feature's min/max from the training rows.
    ``transform`` writes each min-max scaled value with 3 decimals
    (``0.123``, ``1.000``), white on black, on a ``pixels x pixels`` image
    (TINTOlib's ``SuperTML`` [1]_ [2]_, in memory). With equal regions
    (SuperTML-EF, the default) each text is centred in its cell of a
    ``ceil(sqrt(n))``-column grid of equal cells. With
    ``feature_importance`` (SuperTML-VF) each feature's font size is
    ``max(int(font_size * importance / max importance), 1)`` and the texts,
    the most important first, take the first free place row by row, as
    TINTOlib lays them out.

    Parameters
    ----------
    pixels : int, default=224
        Side of the square image.
    font_size : int, default=10
        Font size of the text, in pixels (with ``feature_importance``, the
        most important feature's).
    feature_importance : bool or array-like of shape (n_features,), \
default=False
        False: equal font sizes and regions (SuperTML-EF). True: font sizes
        from the impurity importances of a random forest (100 trees, each on
        a bootstrap of a quarter of the rows; a classifier for a categorical
        ``y``, a regressor for a continuous one) fitted in ``fit`` on the
        scaled training rows and ``y`` (at most 100,000 rows, drawn by
        ``random_state``): ``fit`` needs ``y``. An
        array: those importances (non-negative, one a feature, not all
        zero), e.g. a model's own.
    random_state : int, RandomState instance or None, default=None
        Seeds the random forest and its rows (``feature_importance=True``).
    n_jobs : int or None, default=None
        The random forest's parallel jobs (``feature_importance=True``;
        ``-1``: all cores, as TINTOlib's forest). The importances do not
        depend on it.
    zoom : int, default=1
        Each pixel repeated into a ``zoom x zoom`` block.

    Attributes
    ----------%s
    glyphs_ : ndarray of shape (5, 11, text_height, text_width)
        Each character of ``"0123456789."`` as drawn at each of the text's 5
        places; with ``feature_importance``, of shape ``(n_font_sizes, 5,
        11, text_height, text_width)``: one table a font size, the largest
        box's size (zeros beyond a smaller one's).
    text_offset_ : tuple of int
        ``(row, col)`` of the text's box in its cell (equal regions only).
    feature_importances_ : ndarray of shape (n_features,)
        The importances the font sizes follow (``feature_importance`` only).
    font_sizes_ : ndarray of shape (n_features,), dtype int
        Each feature's font size.

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
    - **A text larger than its cell is refused** (TINTOlib clips it), and
      so is a text with no free place left with ``feature_importance``
      (TINTOlib leaves that feature out of the image).
    - **SuperTML-VF's places are fixed in** ``fit``, each text placed by the
      box of ``"0.000"`` at its size (TINTOlib places every row's texts anew
      by their own boxes: with its proportional Arial a row's places move
      with its values; with a monospaced font they do not, but below 4 px a
      box can differ by a pixel between strings). Its random forest reads
      the rows in their order, or a seeded sample of 100,000 (TINTOlib: an
      unseeded shuffle of them, so its importances vary run to run), each
      tree a bootstrap of a quarter of them (TINTOlib: of all): faster, and
      its font sizes agree with a full forest's as often as two
      full forests' agree with each other (measured on puma8NH and
      spambase).

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
    >>> imager = SuperTMLImager(
    ...     pixels=96, font_size=12, feature_importance=True, random_state=0
    ... ).fit(X[:500], y[:500])
    >>> int(imager.font_sizes_.max())
    12
    """ % (_SHARED_ATTRIBUTES, _SHARED_DIFFERENCES, TINTOLIB_REFERENCE)

    differentiable = False  # whether a gradient reaches the values
    _method = "supertml"

    @classmethod
    def _for_table(cls, n_features, random_state):
        # 20 px cells with a 6 px font (TINTOlib's 224 px image would make
        # each batch's activations hundreds of times larger than the layouts')
        return cls(pixels=20 * math.ceil(math.sqrt(n_features)), font_size=6)

    _parameter_constraints: dict = {
        **_DrawnImager._parameter_constraints,
        "pixels": [Interval(Integral, 1, None, closed="left")],
        "font_size": [Interval(Integral, 1, None, closed="left")],
        "feature_importance": ["boolean", "array-like"],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        pixels: int = 224,
        font_size: int = 10,
        feature_importance: bool | ArrayLike = False,
        random_state: int | np.random.RandomState | None = None,
        n_jobs: int | None = None,
        zoom: int = 1,
    ) -> None:
        self.pixels = pixels
        self.font_size = font_size
        self.feature_importance = feature_importance
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.zoom = zoom

    @property
    def _kind(self):
        return "text_cells" if self._equal_regions else "text_placed"

    @property
    def _equal_regions(self):
        return self._importance_flag() is False

    def _importance_flag(self):
        """``feature_importance`` as True or False, or None for an array."""
        given = self.feature_importance
        return bool(given) if isinstance(given, (bool, np.bool_)) else None

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # font sizes from a random forest of X and y
        tags.target_tags.required = bool(self._importance_flag())
        return tags

    def _fit_target(self, values, y):
        """The font sizes: equal, or by the given or a random forest's
        importances."""
        n_features = values.shape[1]
        name = type(self).__name__
        if self._equal_regions:
            self.font_sizes_ = np.full(n_features, self.font_size)
            return
        if self._importance_flag():
            importances = self._forest_importances(values, y)
        else:
            importances = np.asarray(self.feature_importance, dtype=np.float64)
            if importances.shape != (n_features,):
                raise ValueError(
                    f"{name}: feature_importance has shape {importances.shape}, "
                    f"not ({n_features},): give one importance a feature of X."
                )
            if not np.isfinite(importances).all() or (importances < 0).any():
                raise ValueError(
                    f"{name}: feature_importance holds negative or non-finite "
                    "values: give non-negative importances (e.g. a random "
                    "forest's feature_importances_)."
                )
        if not importances.max() > 0:
            raise ValueError(
                f"{name}: every feature_importance is 0: at least one must be "
                "positive (or use feature_importance=False, equal font sizes)."
            )
        self.feature_importances_ = importances
        ratio = importances / importances.max()
        self.font_sizes_ = np.maximum((self.font_size * ratio).astype(int), 1)

    def _forest_importances(self, values, y):
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
        from sklearn.utils.validation import check_consistent_length, column_or_1d

        if y is None:
            raise ValueError(
                f"{type(self).__name__}(feature_importance=True) requires y to be "
                "passed, but the target y is None (a random forest's importances "
                "set the font sizes): pass y to fit, or the importances "
                "themselves as feature_importance."
            )
        y = column_or_1d(y, warn=True)
        check_consistent_length(values, y)
        rng = check_random_state(self.random_state)
        rows = np.arange(len(values))
        if len(rows) > _MAX_FOREST_ROWS:
            rows = np.sort(rng.choice(rows, _MAX_FOREST_ROWS, replace=False))
        forest = (
            RandomForestRegressor
            if type_of_target(y) in ("continuous", "continuous-multioutput")
            else RandomForestClassifier
        )(
            max_samples=_TREE_SAMPLES,
            random_state=rng.randint(2**31 - 1),
            n_jobs=self.n_jobs,
        )
        return forest.fit(values[rows], y[rows]).feature_importances_

    def _geometry(self, n_features):
        """TINTOlib's grid: ``ceil(sqrt(n))`` columns, as many rows as needed,
        cells of ``pixels // columns`` by ``pixels // rows``."""
        cols = math.ceil(math.sqrt(n_features))
        rows = math.ceil(n_features / cols)
        return (rows, cols), (self.pixels // rows, self.pixels // cols)

    def _fit_image(self, values):
        if self._equal_regions:
            self._fit_cells(values.shape[1])
        else:
            self._fit_places(values.shape[1])
        super()._fit_image(values)

    def _fit_cells(self, n_features):
        """Equal regions: one glyph table, each text centred in its cell."""
        grid, (height, width) = self._geometry(n_features)
        left, top, right, bottom = _text_box(self.font_size)
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
        glyphs = _glyph_table(self.font_size, at, (height, width))
        (top, left), (bottom, right) = _ink_box(glyphs)
        self.text_offset_ = (top, left)
        self.glyphs_ = glyphs[:, :, top:bottom, left:right].astype(np.float32)

    def _fit_places(self, n_features):
        """Variable font sizes: a glyph table a size, each text at the first
        free place, the most important first (TINTOlib's order: stable)."""
        sizes = np.unique(self.font_sizes_)[::-1]
        tables, inks = [], []
        for size in sizes:
            left, top, right, bottom = _text_box(int(size))
            # drawn at the origin, as TINTOlib draws SuperTML-VF's texts
            table = _glyph_table(int(size), (0, 0), (bottom + 2, right + 2))
            start, stop = _ink_box(table)
            tables.append(table[:, :, start[0] : stop[0], start[1] : stop[1]])
            inks.append((start, (bottom - top, right - left)))
        height = max(t.shape[-2] for t in tables)
        width = max(t.shape[-1] for t in tables)
        self.glyphs_ = np.zeros((len(sizes), 5, len(TEXT_CHARACTERS), height, width))
        for k, table in enumerate(tables):
            self.glyphs_[k, :, :, : table.shape[-2], : table.shape[-1]] = table
        self.glyphs_ = self.glyphs_.astype(np.float32)
        self._font_index = np.searchsorted(-sizes, -self.font_sizes_)
        order = np.argsort(-self.feature_importances_, kind="stable")
        boxes = [inks[self._font_index[j]][1] for j in order]
        corners = np.zeros((n_features, 2), dtype=np.intp)
        for j, corner in zip(order, _first_fit(boxes, self.pixels)):
            if corner is None:
                raise ValueError(
                    f"{type(self).__name__}: feature {j}'s text (font size "
                    f"{self.font_sizes_[j]}) has no free place left on the "
                    f"{self.pixels} px image: use a larger pixels or a smaller "
                    "font_size."
                )
            # the text is drawn at the place; its ink starts at the ink offset
            corners[j] = np.add(corner, inks[self._font_index[j]][0])
        self._corners = corners

    def _drawing_params(self, n_features):
        if not self._equal_regions:
            return {
                "glyphs": self.glyphs_,
                "font_index": self._font_index,
                "corners": self._corners,
                "pixels": int(self.pixels),
            }
        grid, cell = self._geometry(n_features)
        return {
            "glyphs": self.glyphs_,
            "offset": self.text_offset_,
            "cell": cell,
            "grid": grid,
            "pixels": int(self.pixels),
        }

    def _boxes(self, n_features):
        """Each feature's text box: top-left corner, and its height and width."""
        if not self._equal_regions:
            sizes = [
                np.asarray(_ink_box(self.glyphs_[k]))[1]
                for k in range(len(self.glyphs_))
            ]
            return self._corners, np.array([sizes[k] for k in self._font_index])
        (rows, cols), (height, width) = self._geometry(n_features)
        j = np.arange(n_features)
        corner = np.column_stack([j // cols * height, j % cols * width])
        box = np.tile(self.glyphs_.shape[2:], (n_features, 1))
        return corner + self.text_offset_, box

    def _anchors(self, n_features):
        return self._boxes(n_features)[0]

    def _masks(self, n_features):
        corners, boxes = self._boxes(n_features)
        masks = np.zeros((n_features, self.pixels, self.pixels), dtype=bool)
        for j, ((row, col), (height, width)) in enumerate(zip(corners, boxes)):
            masks[j, row : row + height, col : col + width] = True
        return masks
