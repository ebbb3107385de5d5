"""The learned layouts (IGTD, REFINED, DeepInsight, Fotomics) as imagers, and the
hybrid and its explanations on each of them."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skpermgrad import (
    DeepInsightImager,
    FotomicsImager,
    IGTDImager,
    RefinedImager,
    TintoImager,
)

LAYOUTS = {
    "igtd": lambda **kw: IGTDImager(random_state=0, **kw),
    "igtd-abs": lambda **kw: IGTDImager(error="abs", random_state=0, **kw),
    "refined": lambda **kw: RefinedImager(random_state=0, **kw),
    "deepinsight": lambda **kw: DeepInsightImager(**kw),
    "deepinsight-tsne": lambda **kw: DeepInsightImager(
        algorithm="tsne", random_state=0, **kw
    ),
    "deepinsight-lsa": lambda **kw: DeepInsightImager(assignment="lsa", **kw),
    "fotomics": lambda **kw: FotomicsImager(**kw),
}
NEW_IMAGERS = [IGTDImager, RefinedImager, DeepInsightImager, FotomicsImager]


def _make(imager_class, *args, **kwargs):
    """An imager, seeded where it draws random numbers."""
    if "random_state" in imager_class().get_params():
        kwargs.setdefault("random_state", 0)
    return imager_class(*args, **kwargs)


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(200, 4))
    X = np.column_stack([base, base[:, :3] + 0.1 * rng.normal(size=(200, 3))])
    return pd.DataFrame(X * [1, 10, 100, 0.1, 1, 10, 100], columns=list("abcdefg"))


@pytest.mark.parametrize("name", LAYOUTS)
def test_every_feature_gets_its_own_pixel_and_shows_its_value(name, table):
    imager = LAYOUTS[name]().fit(table)
    positions = imager.feature_positions_
    assert len(np.unique(positions, axis=0)) == table.shape[1]  # none lost
    images = imager.transform_images(table)
    assert images.dtype == np.float32 and images.shape[1:] == imager.image_shape_
    assert 0 <= images.min() and images.max() <= 1
    values = imager.transform_values(table)
    np.testing.assert_allclose(images[:, positions[:, 0], positions[:, 1], 0], values)
    np.testing.assert_allclose(
        imager.inverse_transform(imager.transform(table)), table, rtol=1e-4, atol=1e-4
    )
    layout = imager.get_feature_layout()
    assert layout.feature.tolist() == list("abcdefg")
    np.testing.assert_array_equal(layout[["row", "col"]], positions)


@pytest.mark.parametrize("name", LAYOUTS)
def test_layout_is_reproducible_and_learned_from_training_rows(name, table):
    first = LAYOUTS[name]().fit(table)
    again = LAYOUTS[name]().fit(table)
    np.testing.assert_array_equal(first.feature_positions_, again.feature_positions_)
    # fitted on the training rows: their range, and unseen values clipped to it
    train, test = table.iloc[:100], table.iloc[100:] * 3
    imager = LAYOUTS[name]().fit(train)
    np.testing.assert_array_equal(imager.data_min_, train.min())
    np.testing.assert_array_equal(imager.data_max_, train.max())
    values = imager.transform_values(test)
    assert values.min() == 0 and values.max() == 1
    pipe = make_pipeline(StandardScaler(), LAYOUTS[name]()).fit(train)
    assert pipe.transform(test).shape == (100, np.prod(pipe[-1].image_shape_))


def test_igtd_and_refined_fill_the_smallest_square(table):
    for imager in (IGTDImager(random_state=0), RefinedImager(random_state=0)):
        imager.fit(table)
        assert imager.image_shape_ == (3, 3, 1)  # 7 features: ceil(sqrt(7)) = 3
        cells = imager.feature_positions_[:, 0] * 3 + imager.feature_positions_[:, 1]
        assert len(set(cells)) == 7
    # IGTD fills the grid in row-major order: the first 7 cells
    igtd = IGTDImager(random_state=0).fit(table)
    cells = igtd.feature_positions_[:, 0] * 3 + igtd.feature_positions_[:, 1]
    assert sorted(cells) == list(range(7))


def test_igtd_puts_correlated_features_side_by_side(table):
    """Columns e, f, g are noisy copies of a, b, c: IGTD's search puts most
    pairs within one pixel (an 8-neighbourhood) of each other."""
    imager = IGTDImager(random_state=0).fit(table)
    pos = imager.feature_positions_
    near = [np.abs(pos[i] - pos[i + 4]).max() <= 1 for i in range(3)]
    assert sum(near) >= 2
    assert imager.cost_ > 0 and imager.n_steps_ >= 1


def test_refined_hill_climbing_lowers_its_objective(table):
    start = RefinedImager(n_iterations=0, random_state=0).fit(table)
    climbed = RefinedImager(random_state=0).fit(table)
    assert start.cost_ == start.initial_cost_ == climbed.initial_cost_
    assert climbed.cost_ <= climbed.initial_cost_


@pytest.mark.parametrize("imager_class", [DeepInsightImager, FotomicsImager])
def test_projected_layouts_resolve_share_or_refuse_collisions(imager_class, table):
    resolved = imager_class(3).fit(table)  # 7 features binned onto 9 pixels
    assert len(np.unique(resolved.feature_positions_, axis=0)) == 7
    shared = imager_class(3, collisions="mean").fit(table)
    n_shared = 7 - len(np.unique(shared.feature_positions_, axis=0))
    assert n_shared == len(resolved.moved_features_) > 0
    with pytest.raises(ValueError, match="Features '.+' and '.+' both land on pixel"):
        imager_class(3, collisions="error").fit(table)
    # a shared pixel holds the mean of its features, and cannot be read back
    images = shared.transform_images(table)
    values = shared.transform_values(table)
    pos = shared.feature_positions_
    for r, c in np.unique(pos, axis=0):
        members = np.flatnonzero((pos == [r, c]).all(axis=1))
        np.testing.assert_allclose(
            images[:, r, c, 0], values[:, members].mean(axis=1), rtol=1e-6
        )
    with pytest.raises(ValueError, match="shared pixel"):
        shared.inverse_transform(shared.transform(table))


def test_fotomics_log_scaling_reads_back(table):
    imager = FotomicsImager().fit(table)
    values = imager.transform_values(table)
    assert values.max() == pytest.approx(1.0)  # the largest log over all features
    np.testing.assert_allclose(
        imager.inverse_transform(imager.transform(table)), table, rtol=1e-4, atol=1e-3
    )


@pytest.mark.parametrize("imager_class", NEW_IMAGERS)
def test_clear_errors(imager_class, table):
    with pytest.raises(ValueError, match=r"7 features do not fit in a 2x2 image"):
        imager_class(2).fit(table)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        imager_class().fit(table.assign(a=np.nan))
    with pytest.raises(ValueError, match="column"):
        imager_class().fit(table.assign(a="x"))
    with pytest.raises(ValueError, match="a minimum of 2 is required"):
        imager_class().fit(table.iloc[:, :1])
    fitted = imager_class().fit(table)
    with pytest.raises(ValueError, match="yet now missing"):
        fitted.transform(table.iloc[:, :3])
    with pytest.raises(ValueError, match="'pixels' parameter"):
        imager_class(pixels=1).fit(table)


@pytest.mark.parametrize("imager_class", NEW_IMAGERS)
def test_set_output_and_pickle(imager_class, table):
    imager = _make(imager_class).set_output(transform="pandas").fit(table)
    out = imager.transform(table.iloc[:3])
    assert isinstance(out, pd.DataFrame)
    assert out.columns[0] == "pixel_0_0_0" and out.shape[1] == np.prod(
        imager.image_shape_
    )
    again = pickle.loads(pickle.dumps(imager))
    pd.testing.assert_frame_equal(again.transform(table.iloc[:3]), out)


@pytest.mark.parametrize("imager_class", NEW_IMAGERS)
def test_zoom_and_channels(imager_class, table):
    plain = _make(imager_class).fit(table)
    zoomed = _make(imager_class, zoom=3, channels=2).fit(table)
    side = plain.image_shape_[0]
    assert zoomed.image_shape_ == (3 * side, 3 * side, 2)
    np.testing.assert_array_equal(
        zoomed.feature_positions_, 3 * plain.feature_positions_
    )
    big = zoomed.transform_images(table.iloc[:5])
    np.testing.assert_array_equal(
        big[:, ::3, ::3, :], np.repeat(plain.transform_images(table.iloc[:5]), 2, -1)
    )


def test_constant_and_identical_columns_are_laid_out(table):
    X = table.assign(h=3.0, i=3.0).to_numpy()
    for imager in (
        IGTDImager(random_state=0),
        RefinedImager(random_state=0),
        DeepInsightImager(),
        FotomicsImager(),
    ):
        imager.fit(X)
        assert len(np.unique(imager.feature_positions_, axis=0)) == 9
    same = np.tile(table.iloc[:, :1].to_numpy(), (1, 4))
    for imager in (RefinedImager(random_state=0), DeepInsightImager()):
        assert len(np.unique(imager.fit(same).feature_positions_, axis=0)) == 4


# ---------------------------------------------------------------- the hybrid
keras = pytest.importorskip("keras")

from _tiny import FAST, assert_network_draws_the_image, curved  # noqa: E402

from skpermgrad import (  # noqa: E402
    GradCAMDisplay,
    HybridClassifier,
    HybridRegressor,
    explain_rows,
    permgrad_importance,
)
from skpermgrad.models import LAST_CONV  # noqa: E402


@pytest.fixture(scope="module")
def task():
    return curved(7)


@pytest.fixture(scope="module")
def fitted(task):
    """A small hybrid fitted on each learned layout (shared by the tests)."""
    X, y = task
    return {
        name: HybridRegressor(LAYOUTS[name](), **{**FAST, "n_conv_layers": 2}).fit(X, y)
        for name in ("igtd", "refined", "deepinsight", "fotomics")
    }


@pytest.mark.parametrize("name", ["igtd", "refined", "deepinsight", "fotomics"])
def test_hybrid_reads_every_layout_and_explains_it(name, task, fitted, pyplot):
    X, y = task
    reg = fitted[name]
    imager = reg.feature_encoder_.imager_
    assert type(imager) is type(LAYOUTS[name]())
    side = imager.image_shape_[0]
    assert reg.model_.get_layer("image").output.shape[1:3] == (side, side)
    assert_network_draws_the_image(reg, X[:20])
    result = permgrad_importance(reg, X, y, n_repeats=2, random_state=0)
    assert result.importances.shape == (7,)
    assert np.all(np.isfinite(result.importances))
    # Grad-CAM is read at each feature's own pixel of this layout
    np.testing.assert_array_equal(result.feature_positions, imager.feature_positions_)
    display = GradCAMDisplay.from_result(result)
    assert display.heatmap.shape == (side, side)
    labels = {t.get_text() for t in display.texts_}
    assert labels == {f"x{i}" for i in range(7)}  # one pixel each
    rows = explain_rows(reg, X[:5], background=X)
    assert rows.attributions.shape == (5, 7)
    gap = rows.predictions - rows.baseline_prediction
    np.testing.assert_allclose(rows.attributions.sum(axis=1), gap, atol=0.05)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["igtd", "refined", "deepinsight", "fotomics"])
@pytest.mark.parametrize(
    "options",
    [
        dict(permutation="model"),
        dict(cnn_importance="gradcam"),
        dict(cnn_importance="integrated_gradients"),
    ],
    ids=lambda o: "-".join(o.values()),
)
def test_every_explanation_mode_on_every_layout(name, options, task, fitted):
    X, y = task
    result = permgrad_importance(
        fitted[name], X, y, n_repeats=1, random_state=0, **options
    )
    assert result.importances.shape == (7,)
    assert np.all(np.isfinite(result.importances))


def test_small_images_keep_every_conv_block_without_over_pooling(task):
    X, y = task
    reg = HybridRegressor(IGTDImager(random_state=0), **{**FAST, "n_conv_layers": 3})
    reg.fit(X, y)  # a 3x3 image: no block pools it
    assert reg.model_.get_layer(LAST_CONV).output.shape[1:3] == (3, 3)
    assert not [layer for layer in reg.model_.layers if "pool" in layer.name]
    deep = HybridRegressor(TintoImager(pixels=8), **{**FAST, "n_conv_layers": 3})
    deep.fit(X, y)  # 8 -> 4 -> 2, then 2 stays 2
    assert deep.model_.get_layer(LAST_CONV).output.shape[1:3] == (2, 2)
    pools = [layer.name for layer in deep.model_.layers if "pool" in layer.name]
    assert pools == ["conv_pool_0", "conv_pool_1"]


@pytest.mark.parametrize(
    "pixels, zoom, pooled, last_conv",
    [
        (20, 1, None, (10, 10)),  # at most 32 a side: convolved as drawn
        (32, 1, None, (16, 16)),
        (20, 3, (2, 2), (15, 15)),  # 60x60 -> 30x30 -> 15x15
        (160, 1, (5, 5), (16, 16)),  # 160x160 -> 32x32 -> 16x16
    ],
)
def test_a_large_image_is_pooled_to_at_most_32_pixels_a_side_before_the_convs(
    pixels, zoom, pooled, last_conv
):
    from skpermgrad.models import IMAGE, IMAGE_POOL, build_hybrid_model

    weights = np.eye(3, pixels * pixels, dtype="float32")
    params = {"weights": weights, "mode": "linear", "pixels": pixels, "zoom": zoom}
    model = build_hybrid_model(n_features=3, drawing=("footprints", params))
    names = [layer.name for layer in model.layers]
    # the image stays whole (Grad-CAM's maps are resized to it)
    assert model.get_layer(IMAGE).output.shape[1:3] == (pixels * zoom,) * 2
    if pooled is None:
        assert IMAGE_POOL not in names
    else:
        assert model.get_layer(IMAGE_POOL).pool_size == pooled
        assert names.index(IMAGE_POOL) == names.index(IMAGE) + 1
    assert model.get_layer(LAST_CONV).output.shape[1:3] == last_conv


def test_a_pooled_image_is_explained_at_its_full_size(task):
    X, y = task
    reg = HybridRegressor(TintoImager(pixels=40), **FAST).fit(X, y)
    assert reg.model_.get_layer("image_pool").pool_size == (2, 2)
    result = permgrad_importance(
        reg, X, y, n_repeats=1, random_state=0, cnn_importance="gradcam"
    )
    assert result.heatmap.shape[-2:] == result.mean_image.shape[:2] == (40, 40)
    assert np.all(np.isfinite(result.gradcam))


def test_a_long_drawing_is_pooled_along_its_long_side_only():
    from skpermgrad.models import IMAGE_POOL, build_hybrid_model
    from skpermgrad.models._architecture import _image_pool

    assert _image_pool(8, 160) == (1, 5)
    assert _image_pool(33, 32) == (2, 1)
    from skpermgrad import BIEImager

    imager = BIEImager(zoom=5).fit(np.random.default_rng(0).uniform(size=(20, 8)))
    model = build_hybrid_model(n_features=8, drawing=imager.get_drawing())
    # 40x160 (8 features x 32 bits, zoomed 5x) -> 20x32
    assert model.get_layer(IMAGE_POOL).output.shape[1:3] == (20, 32)


def test_grid_search_over_imagers(task):
    X, y = task
    search = GridSearchCV(
        HybridRegressor(**FAST),
        {"imager": [IGTDImager(random_state=0), DeepInsightImager()]},
        cv=2,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 2
    assert type(search.best_estimator_.feature_encoder_.imager_) in (
        IGTDImager,
        DeepInsightImager,
    )
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_classifier_on_a_learned_layout():
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, size=(150, 5))
    y = np.where(X[:, 0] > 0, "a", "b")
    clf = HybridClassifier(RefinedImager(random_state=0), **FAST).fit(X, y)
    assert clf.predict_proba(X[:3]).shape == (3, 2)
    result = permgrad_importance(clf, X, y, n_repeats=1, random_state=0)
    assert result.importances.shape == (5,)
