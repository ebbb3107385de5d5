"""The drawn images (DistanceMatrix, BarGraph, Combination, BIE, FeatureWrap,
SuperTML) as imagers, drawn in NumPy and inside the hybrid's graph, and the hybrid's
explanations on them."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV

from skpermgrad import (
    BarGraphImager,
    BIEImager,
    CombinationImager,
    DistanceMatrixImager,
    FeatureWrapImager,
    IGTDImager,
    SuperTMLImager,
    TintoImager,
)

DRAWN = {
    "distance": lambda **kw: DistanceMatrixImager(**kw),
    "bars": lambda **kw: BarGraphImager(pixel_width=2, gap=1, **kw),
    "combination": lambda **kw: CombinationImager(**kw),
    "bits": lambda **kw: BIEImager(**kw),
    "wrap": lambda **kw: FeatureWrapImager(size=(4, 5), bins=6, **kw),
    "text": lambda **kw: SuperTMLImager(pixels=60, font_size=6, **kw),
    # SuperTML-VF, font sizes 9 down to 2 by the given importances
    "text_vf": lambda **kw: SuperTMLImager(
        pixels=72, font_size=9, feature_importance=[1, 0.5, 0.8, 0.3, 0.2], **kw
    ),
}


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5)) * [1, 10, 100, 0.1, 1]
    return pd.DataFrame(X, columns=list("abcde"))


def test_distance_matrix_by_hand():
    X = np.array([[0.0, 0.0, 0.0], [4.0, 2.0, 1.0], [2.0, 1.0, 0.5]])
    image = DistanceMatrixImager().fit(X).transform_images(X[2:])[0, :, :, 0]
    # scaled row (0.5, 0.5, 0.5) is constant: mid-grey everywhere
    np.testing.assert_array_equal(image, 0.5)
    image = DistanceMatrixImager().fit(X).transform_images([[4.0, 0.0, 0.5]])[0, ..., 0]
    v = np.array([1.0, 0.0, 0.5])  # scaled; range 1
    np.testing.assert_allclose(image, (v[:, None] - v[None, :] + 1) / 2, atol=1e-7)


def test_bar_graph_by_hand():
    X = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    imager = BarGraphImager(pixel_width=1, gap=1).fit(X)
    assert imager.image_shape_ == (7, 7, 1)  # 3 bars + 4 gaps; 5 px of bar
    image = imager.transform_images([[1.0, 0.5, 0.0]])[0, ..., 0]
    expected = np.zeros((7, 7))
    expected[1:6, 1] = 1  # floor(1.0 * 5) from the top padding
    expected[1:3, 3] = 1  # floor(0.5 * 5) = 2
    np.testing.assert_array_equal(image, expected)
    np.testing.assert_array_equal(imager.feature_positions_, [[1, 1], [1, 3], [1, 5]])
    assert imager.feature_masks_[1, 1:6, 3].all()
    assert imager.feature_masks_[1].sum() == 5


@pytest.mark.parametrize("name", DRAWN)
def test_each_feature_draws_only_its_mask(name, table):
    imager = DRAWN[name]().fit(table)
    X = table.to_numpy()
    base = np.median(X, axis=0)
    lo, hi = X.min(axis=0), X.max(axis=0)
    row = np.where(np.arange(5) % 2, lo, hi)  # the row's range is 0..1 already
    for j in range(5):
        a, b = row.copy(), row.copy()
        a[j], b[j] = lo[j] + 0.3 * (hi[j] - lo[j]), lo[j] + 0.7 * (hi[j] - lo[j])
        changed = np.any(
            imager.transform_images([a]) != imager.transform_images([b]), -1
        )
        assert changed[0].any()
        assert not (changed[0] & ~imager.feature_masks_[j]).any()
    del base


@pytest.mark.parametrize("name", DRAWN)
def test_images_are_learned_from_training_rows_and_clipped(name, table):
    imager = DRAWN[name]().fit(table.iloc[:100])
    images = imager.transform_images(table)
    assert images.dtype == np.float32 and images.min() >= 0 and images.max() <= 1
    assert images.shape == (200, *imager.image_shape_)
    assert imager.transform(table).shape == (200, np.prod(imager.image_shape_))
    assert list(imager.get_feature_layout().feature) == list("abcde")
    assert imager.feature_masks_.shape == (5, *imager.image_shape_[:2])


@pytest.mark.parametrize("name", DRAWN)
def test_zoom_repeats_every_pixel(name, table):
    one = DRAWN[name]().fit(table)
    three = DRAWN[name](zoom=3).fit(table)
    small, big = one.transform_images(table[:4]), three.transform_images(table[:4])
    np.testing.assert_array_equal(big[:, ::3, ::3], small)
    np.testing.assert_array_equal(big[:, 2::3, 1::3], small)
    np.testing.assert_array_equal(three.feature_positions_, 3 * one.feature_positions_)
    assert three.feature_masks_.sum() == 9 * one.feature_masks_.sum()


@pytest.mark.parametrize("name", DRAWN)
def test_set_output_and_pickle(name, table):
    imager = DRAWN[name]().set_output(transform="pandas").fit(table)
    out = imager.transform(table[:3])
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(imager.get_feature_names_out())
    again = pickle.loads(pickle.dumps(imager))
    pd.testing.assert_frame_equal(again.transform(table[:3]), out)


def test_float_bits_by_hand():
    X = np.array([[0.0, 0.0], [4.0, 1.0]])
    image = BIEImager().fit(X).transform_images([[1.0, 0.25]])[0, ..., 0]
    # 0.25 = 2**-2: biased exponent 125 = 0b01111101, mantissa 0
    expected = np.unpackbits(np.array([0.25, 0.25], ">f4").view(np.uint8))
    np.testing.assert_array_equal(image.ravel(), expected)
    assert image[0, 1:9].tolist() == [0, 1, 1, 1, 1, 1, 0, 1]


def test_feature_wrap_by_hand():
    X = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    imager = FeatureWrapImager(size=(1, 2), bins=4).fit(X)
    image = imager.transform_images([[0.1, 0.6, 1.0]])[0, :, :, 0]
    # bins 0, 2, 3: bits 1000 0010 | 0001 0000
    np.testing.assert_allclose(image * 255, [[0b10000010, 0b00010000]], atol=1e-4)
    np.testing.assert_array_equal(imager.feature_masks_[:, 0], [[1, 0], [1, 0], [0, 1]])
    np.testing.assert_array_equal(imager.feature_positions_, [[0, 0], [0, 0], [0, 1]])


def test_text_is_the_fonts_drawing_of_tintolibs_layout(table):
    # SuperTML-EF as TINTOlib draws it (PIL, text centred by its box in cells
    # of a ceil(sqrt(n))-column grid), with the font the imager ships with
    from PIL import Image, ImageDraw, ImageFont

    from skpermgrad.imaging._supertml import _font_path

    imager = SuperTMLImager(pixels=80, font_size=8).fit(table)
    font = ImageFont.truetype(_font_path(), 8)
    values = imager.transform_values(table[:4]).astype(np.float64)
    images = imager.transform_images(table[:4])[..., 0]
    width, height = 80 // 3, 80 // 2  # 5 features: 3 columns, 2 rows
    for row, image in zip(values, images):
        expected = Image.new("L", (80, 80))
        pen = ImageDraw.Draw(expected)
        for i, value in enumerate(row):
            text = f"{value:.3f}"
            left, top, right, bottom = pen.textbbox((0, 0), text, font=font)
            x = i % 3 * width + (width - (right - left)) / 2
            y = i // 3 * height + (height - (bottom - top)) / 2
            pen.text((x, y), text, fill=255, font=font)
        # to within a grey level where two glyphs share a pixel
        np.testing.assert_allclose(image, np.asarray(expected) / 255, atol=1 / 255)


def _ink_offset(font_size):
    """Where the ink of "0.000" drawn at the origin starts: (row, col)."""
    from PIL import Image, ImageDraw, ImageFont

    from skpermgrad.imaging._supertml import _font_path

    image = Image.new("L", (60, 20))
    font = ImageFont.truetype(_font_path(), font_size)
    ImageDraw.Draw(image).text((0, 0), "0.000", fill=255, font=font)
    ink = np.asarray(image) > 0
    return np.array([ink.any(axis=1).argmax(), ink.any(axis=0).argmax()])


def test_variable_font_sizes_take_the_first_free_place(table):
    # SuperTML-VF: font sizes by importance, the most important text first at
    # the first free place row by row, 5 px kept around each text; ties in
    # the input order
    imager = SuperTMLImager(
        pixels=80, font_size=10, feature_importance=[0.2, 1.0, 0.5, 0.0, 0.5]
    ).fit(table)
    np.testing.assert_array_equal(imager.font_sizes_, [2, 10, 5, 1, 5])
    places = imager.feature_positions_ - [_ink_offset(s) for s in imager.font_sizes_]
    # feature 1 at the origin; its box is 30x7 px at 10 px, so x <= 30 + 5
    # overlaps it and feature 2 (before 4, its tie) is drawn at x = 36
    np.testing.assert_array_equal(places[[1, 2]], [[0, 0], [0, 36]])
    assert imager.feature_masks_.sum(axis=0).max() == 1  # no two texts meet
    # each text is the font's drawing of the value at its place
    from PIL import Image, ImageDraw, ImageFont

    from skpermgrad.imaging._supertml import _font_path

    values = imager.transform_values(table[:3]).astype(np.float64)
    for row, image in zip(values, imager.transform_images(table[:3])[..., 0]):
        expected = Image.new("L", (80, 80))
        pen = ImageDraw.Draw(expected)
        for value, (y, x), size in zip(row, places, imager.font_sizes_):
            font = ImageFont.truetype(_font_path(), int(size))
            pen.text((int(x), int(y)), f"{value:.3f}", fill=255, font=font)
        np.testing.assert_allclose(image, np.asarray(expected) / 255, atol=1 / 255)


def test_variable_font_sizes_from_a_random_forest(table):
    y = table["b"] + table["e"] ** 2
    imager = SuperTMLImager(
        pixels=90, font_size=12, feature_importance=True, random_state=0
    ).fit(table, y)
    assert imager.feature_importances_.sum() == pytest.approx(1)
    assert imager.font_sizes_.max() == 12 and imager.font_sizes_[1] == 12
    again = SuperTMLImager(
        pixels=90, font_size=12, feature_importance=True, random_state=0
    ).fit(table, y)
    np.testing.assert_array_equal(again.feature_positions_, imager.feature_positions_)
    labels = np.where(y > y.median(), "high", "low")  # a classifier's forest
    imager.fit(table, labels)
    assert imager.feature_importances_.sum() == pytest.approx(1)


def test_the_forest_runs_n_jobs_and_finds_the_same_importances(table, monkeypatch):
    from sklearn.ensemble import RandomForestRegressor

    y = table["b"] + table["e"] ** 2
    seen = []
    fit = RandomForestRegressor.fit

    def spy(self, *args, **kwargs):
        seen.append((self.n_jobs, self.max_samples))
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(RandomForestRegressor, "fit", spy)
    params = dict(pixels=90, font_size=12, feature_importance=True, random_state=0)
    one = SuperTMLImager(**params).fit(table, y)
    two = SuperTMLImager(**params, n_jobs=2).fit(table, y)
    assert seen == [(None, 0.25), (2, 0.25)]
    np.testing.assert_array_equal(one.feature_importances_, two.feature_importances_)


def test_clear_errors(table):
    two = table.iloc[:, :2]
    with pytest.raises(ValueError, match="no room for a bar.*gap >= 1"):
        BarGraphImager().fit(two)
    BarGraphImager(gap=1).fit(two)
    with pytest.warns(UserWarning, match="bar channel.*stays empty"):
        CombinationImager().fit(two)
    with pytest.raises(ValueError, match="pixel_width"):
        BarGraphImager(pixel_width=0).fit(table)
    with pytest.raises(ValueError, match=r"50 bits, but size=\(2, 3\) holds 48"):
        FeatureWrapImager(size=(2, 3), bins=10).fit(table)
    with pytest.raises(ValueError, match="larger than the 10x15 px cell"):
        SuperTMLImager(pixels=30, font_size=6).fit(table)
    with pytest.raises(ValueError, match="requires y to be passed.*or the importan"):
        SuperTMLImager(feature_importance=True).fit(table)
    with pytest.raises(ValueError, match=r"shape \(2,\), not \(5,\)"):
        SuperTMLImager(feature_importance=[1, 2]).fit(table)
    with pytest.raises(ValueError, match="negative or non-finite"):
        SuperTMLImager(feature_importance=[1, -1, 1, 1, 1]).fit(table)
    with pytest.raises(ValueError, match="every feature_importance is 0"):
        SuperTMLImager(feature_importance=np.zeros(5)).fit(table)
    with pytest.raises(ValueError, match="feature 0's text.*no free place.*30 px"):
        SuperTMLImager(pixels=30, font_size=10, feature_importance=[1] * 5).fit(table)
    with pytest.raises(ValueError, match="two positive integers"):
        FeatureWrapImager(size=(2, 0)).fit(table)
    with pytest.raises(ValueError, match="has 4 features"):
        DistanceMatrixImager().fit(table).transform(table.iloc[:, :4].to_numpy())


# ---------------------------------------------------------------- the hybrid
keras = pytest.importorskip("keras")

from _tiny import FAST, assert_drawn_in_the_graph, assert_network_draws_the_image  # noqa: E402

from skpermgrad import (  # noqa: E402
    GradCAMDisplay,
    HybridClassifier,
    HybridRegressor,
    explain_rows,
    permgrad_importance,
)


@pytest.mark.parametrize("name", DRAWN)
def test_the_graph_draws_what_transform_images_draws(name, table):
    assert_drawn_in_the_graph(DRAWN[name](zoom=2).fit(table), table)


def test_the_network_draws_a_layout_or_a_drawing():
    from skpermgrad.models import build_hybrid_model

    # one protocol: every imager, a layout too, gives the network a drawing
    with pytest.raises(TypeError, match="drawing"):
        build_hybrid_model(n_features=3)
    model = build_hybrid_model(n_features=3, drawing=("distance_matrix", {"zoom": 2}))
    assert tuple(model.get_layer("image").output.shape[1:]) == (6, 6, 1)
    layout = TintoImager(pixels=4, zoom=2, channels=3).fit(np.eye(3) + 0.5)
    model = build_hybrid_model(n_features=3, drawing=layout.get_drawing())
    assert tuple(model.get_layer("image").output.shape[1:]) == (8, 8, 3)


def _hybrid_image(name):
    # SuperTML-VF with font sizes from the hybrid's training target
    if name == "text_vf":
        return SuperTMLImager(
            pixels=72, font_size=9, feature_importance=True, random_state=0
        )
    return DRAWN[name]()


@pytest.fixture(scope="module")
def fitted(curved_task):
    X, y = curved_task
    return {
        name: HybridRegressor(_hybrid_image(name), **{**FAST, "n_conv_layers": 2}).fit(
            X, y
        )
        for name in DRAWN
    }


@pytest.mark.parametrize("name", DRAWN)
def test_hybrid_reads_every_drawing_and_explains_it(name, curved_task, fitted, pyplot):
    X, y = curved_task
    reg = fitted[name]
    imager = reg.feature_encoder_.imager_
    shape = imager.image_shape_
    assert tuple(reg.model_.get_layer("image").output.shape[1:]) == shape
    assert_network_draws_the_image(reg, X[:20])
    for options in ({}, {"cnn_importance": "gradcam"}, {"permutation": "model"}):
        result = permgrad_importance(reg, X, y, n_repeats=1, random_state=0, **options)
        assert result.importances.shape == (6,)
        assert np.all(np.isfinite(result.importances))
    np.testing.assert_array_equal(result.feature_positions, imager.feature_positions_)
    display = GradCAMDisplay.from_result(result)
    assert display.heatmap.shape == shape[:2]
    # features labelled at one pixel (FeatureWrap's shared bytes) share a label
    labels = {n for t in display.texts_ for n in t.get_text().split("\n")}
    assert labels == {f"x{i}" for i in range(6)}


def test_integrated_gradients_only_through_a_differentiable_drawing(
    curved_task, fitted
):
    X, y = curved_task
    rows = explain_rows(fitted["distance"], X[:5], background=X)
    gap = rows.predictions - rows.baseline_prediction
    np.testing.assert_allclose(rows.attributions.sum(axis=1), gap, atol=0.05)
    assert np.abs(rows.cnn).sum() > 0  # the image's part reaches the values
    ig = {"fusion": "branch_weights", "cnn_importance": "integrated_gradients"}
    result = permgrad_importance(fitted["distance"], X, y, n_repeats=1, **ig)
    assert np.all(np.isfinite(result.importances))
    for name in ("bars", "combination", "bits", "wrap", "text", "text_vf"):
        with pytest.raises(ValueError, match="step function.*cnn_importance="):
            explain_rows(fitted[name], X[:5], background=X)
        imager = type(fitted[name].feature_encoder_.imager_).__name__
        with pytest.raises(ValueError, match=f"{imager}'s image is a step function"):
            permgrad_importance(fitted[name], X, y, **ig)


def test_grid_search_over_layouts_and_drawings(curved_task):
    X, y = curved_task
    search = GridSearchCV(
        HybridRegressor(**FAST),
        {"imager": [IGTDImager(random_state=0), DistanceMatrixImager()]},
        cv=2,
    ).fit(X, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_classifier_on_a_drawing():
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, size=(150, 5))
    y = np.where(X[:, 0] > 0, "a", "b")
    clf = HybridClassifier(CombinationImager(), **FAST).fit(X, y)
    assert clf.predict_proba(X[:3]).shape == (3, 2)
    result = permgrad_importance(clf, X, y, n_repeats=1, random_state=0)
    assert result.importances.shape == (5,)
