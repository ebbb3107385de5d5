"""PermGradDisplay and GradCAMDisplay on the Agg backend."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from _tiny import FAST  # noqa: E402

from skpermgrad import (  # noqa: E402
    GradCAMDisplay,
    HybridClassifier,
    HybridRegressor,
    PermGradDisplay,
    TintoImager,
    permgrad_importance,
)


@pytest.fixture(scope="module")
def regression():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(120, 5))
    y = 3 * X[:, 0] + X[:, 2]
    reg = HybridRegressor(TintoImager(pixels=4, random_state=0), **FAST).fit(X, y)
    return reg, X, y, permgrad_importance(reg, X, y, n_repeats=3, random_state=0)


@pytest.fixture(scope="module")
def classification():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(120, 5))
    y = np.where(X[:, 0] > 0, "a", np.where(X[:, 1] > 0, "b", "c"))
    clf = HybridClassifier(TintoImager(pixels=4, random_state=0), **FAST).fit(X, y)
    return permgrad_importance(
        clf,
        X,
        y,
        n_repeats=2,
        random_state=0,
        fusion="branch_weights",
        cnn_importance="gradcam",
    )


def test_fused_bars_stack_the_two_parts(pyplot, regression):
    *_, result = regression
    display = PermGradDisplay.from_result(result)
    mlp_bars, cnn_bars = display.bars_
    order = np.argsort(-result.importances, kind="mergesort")[::-1]
    mlp = np.array([bar.get_width() for bar in mlp_bars])
    cnn = np.array([bar.get_width() for bar in cnn_bars])
    np.testing.assert_allclose(mlp, result.branch_contributions.mlp[order])
    np.testing.assert_allclose(mlp + cnn, result.importances[order])
    labels = [t.get_text() for t in display.ax_.get_yticklabels()]
    assert labels == list(result.feature_names[order])
    assert labels[-1] == result.feature_names[np.argmax(result.importances)]
    assert display.figure_ is display.ax_.figure


def test_fused_bars_name_the_image_permutation(pyplot, regression):
    reg, X, y, _ = regression
    result = permgrad_importance(
        reg,
        X,
        y,
        n_repeats=2,
        random_state=0,
        fusion="branch_weights",
        cnn_importance="permutation",
    )
    display = PermGradDisplay.from_result(result)
    mlp_bars, cnn_bars = display.bars_
    order = np.argsort(-result.importances, kind="mergesort")[::-1]
    widths = [bar.get_width() for bar in mlp_bars] + [
        bar.get_width() for bar in cnn_bars
    ]
    np.testing.assert_allclose(
        np.add(*np.split(np.array(widths), 2)), result.importances[order]
    )
    legend = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert legend[1].startswith("CNN branch: permutation in the image")
    # the default fusion: the whole-model drop, stacked by branch
    *_, default = regression
    legend = PermGradDisplay.from_result(default).ax_.get_legend().get_texts()
    assert [t.get_text() for t in legend][:2] == [
        "via the MLP branch",
        "via the CNN branch",
    ]


def test_fused_bars_show_the_interval_and_hatch_what_is_not_zero(pyplot, regression):
    from sklearn.utils import Bunch

    *_, result = regression
    result = Bunch(**result)
    result["indistinguishable_from_zero"] = np.array([0, 1, 0, 1, 1], bool)
    display = PermGradDisplay.from_result(result)
    order = np.argsort(-result["importances"], kind="mergesort")[::-1]
    flagged = result["indistinguishable_from_zero"][order]
    for bars in display.bars_:
        assert [bar.get_hatch() == "//" for bar in bars] == list(flagged)
    assert display.bars_[-1].errorbar is not None
    legend = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert legend[-1] == "indistinguishable from 0"


def test_permutation_bars_have_error_bars_and_top_n(pyplot, regression):
    *_, result = regression
    _, ax = pyplot.subplots()
    display = PermGradDisplay.from_result(result, kind="permutation", top_n=2, ax=ax)
    assert display.ax_ is ax
    (bars,) = display.bars_
    assert len(bars) == 2
    top = np.argsort(-result.permutation.importances_mean)[:2][::-1]
    widths = [bar.get_width() for bar in bars]
    np.testing.assert_allclose(widths, result.permutation.importances_mean[top])
    assert bars.errorbar is not None
    display = PermGradDisplay.from_result(result, kind="gradcam")
    assert len(display.bars_[0]) == 5


def test_from_estimator_matches_from_result(pyplot, regression):
    reg, X, y, result = regression
    display = PermGradDisplay.from_estimator(
        reg, X, y, importance_kw={"n_repeats": 3, "random_state": 0}
    )
    np.testing.assert_allclose(display.importances, result.importances)


def test_per_class_choice(pyplot, classification):
    result = classification
    display = PermGradDisplay.from_result(result, target="b")
    np.testing.assert_array_equal(display.importances, result.importances[1])
    assert display.ax_.get_title() == "PermGrad importance, class b"
    display = PermGradDisplay.from_result(result)
    np.testing.assert_allclose(display.importances, result.importances.mean(axis=0))
    cam = GradCAMDisplay.from_result(result, target="c")
    np.testing.assert_array_equal(cam.heatmap, result.heatmap[2])
    cam = GradCAMDisplay.from_result(result)
    np.testing.assert_allclose(cam.heatmap, result.heatmap.mean(axis=0))


def test_gradcam_labels_sit_on_each_features_pixel(pyplot, regression):
    reg, X, y, result = regression
    display = GradCAMDisplay.from_estimator(
        reg, X, y, importance_kw={"n_repeats": 1, "random_state": 0}
    )
    np.testing.assert_allclose(display.heatmap, result.heatmap, rtol=1e-6)
    np.testing.assert_array_equal(display.heatmap_.get_array(), display.heatmap)
    positions = {text.get_text(): text.get_position() for text in display.texts_}
    for name, (row, col) in zip(result.feature_names, result.feature_positions):
        # imshow: x is the column, y the row
        assert positions[name] == (col, row)
    assert display.image_.get_array().shape == (4, 4)


def test_features_sharing_a_pixel_share_a_label(pyplot):
    display = GradCAMDisplay(
        heatmap=np.zeros((3, 3)),
        mean_image=np.zeros((3, 3)),
        feature_positions=np.array([[0, 1], [0, 1], [2, 0]]),
        feature_names=["a", "b", "c"],
    ).plot()
    assert sorted(t.get_text() for t in display.texts_) == ["a\nb", "c"]
    assert display.ax_.get_xlabel() == ""  # the "no labels" note is for none


def test_an_image_with_no_feature_pixel_says_why_nothing_is_labelled(pyplot):
    display = GradCAMDisplay(
        heatmap=np.zeros((3, 3)),
        mean_image=np.zeros((3, 3)),
        feature_positions=np.full((2, 2), -1),
        feature_names=["a", "b"],
    ).plot()
    assert display.texts_ == []
    assert display.ax_.get_xlabel().startswith("No labels: no pixel")


def test_errors(pyplot, regression, classification):
    *_, result = regression
    with pytest.raises(ValueError, match="kind='bars' is not one of"):
        PermGradDisplay.from_result(result, kind="bars")
    with pytest.raises(ValueError, match="top_n=0 must be a positive int"):
        PermGradDisplay.from_result(result, top_n=0)
    with pytest.raises(ValueError, match="explanation is of a regressor"):
        GradCAMDisplay.from_result(result, target="a")
    with pytest.raises(ValueError, match=r"'z' is not one of the classes \['a'"):
        PermGradDisplay.from_result(classification, target="z")


def test_row_display_draws_one_rows_attributions_and_image(pyplot, regression):
    from skpermgrad import RowExplanationDisplay, explain_rows

    reg, X, _, _ = regression
    seeded = {"random_state": 0}  # the same baselines drawn from X
    display = RowExplanationDisplay.from_estimator(
        reg, X, row=3, top_n=3, explain_kw=seeded
    )
    rows = explain_rows(reg, X[3:4], background=X, **seeded)
    widths = sorted(bar.get_width() for bar in display.bars_)
    top = np.sort(rows.attributions[0][np.argsort(-np.abs(rows.attributions[0]))[:3]])
    np.testing.assert_allclose(widths, top, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(display.image, rows.images[0])
    np.testing.assert_allclose(display.heatmap, rows.heatmaps[0])
    assert display.gradcam_display_.ax_ is display.axes_[1]
    title = display.axes_[0].get_title()
    assert "baseline" in title and " = " not in title  # no claimed identity
    gap = display.prediction - display.baseline_prediction
    residual = gap - display.attributions.sum()
    assert (f"they miss {residual:+.3g}" in title) == (abs(residual) > 0.01 * abs(gap))
    with pytest.raises(ValueError, match="row=120 is not one of the 120 rows"):
        RowExplanationDisplay.from_estimator(reg, X, row=120)


def test_row_display_of_a_classifier_shows_one_class(pyplot):
    from skpermgrad import RowExplanationDisplay, explain_rows

    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(60, 5))
    y = np.where(X[:, 0] > 0, "a", "b")
    clf = HybridClassifier(TintoImager(pixels=4, random_state=0), **FAST).fit(X, y)
    rows = explain_rows(clf, X[:4], background=X)
    assert rows.heatmaps.shape == (4, 2, 4, 4) and rows.images.shape == (4, 4, 4)
    display = RowExplanationDisplay.from_result(rows, 1, target="b")
    np.testing.assert_allclose(display.attributions, rows.attributions[1, :, 1])
    assert display.class_name == "b"
    with pytest.raises(ValueError, match="'z' is not one of the classes"):
        RowExplanationDisplay.from_result(rows, 1, target="z")


def test_displays_send_kwargs_to_matplotlib_and_title_each_chart(pyplot, regression):
    from skpermgrad import RowExplanationDisplay

    reg, X, y, result = regression
    display = PermGradDisplay.from_estimator(
        reg, X, y, importance_kw={"n_repeats": 1, "random_state": 0}, edgecolor="k"
    )
    assert display.bars_[0].patches[0].get_edgecolor()[:3] == (0.0, 0.0, 0.0)
    assert display.ax_.get_title() == "PermGrad importance"
    display.plot(kind="permutation")
    assert display.ax_.get_title() == "Permutation importance (MLP branch)"
    cam = GradCAMDisplay.from_result(result, interpolation="none")
    assert cam.heatmap_.get_interpolation() == "none"
    row = RowExplanationDisplay.from_estimator(reg, X, row=1, edgecolor="k")
    assert row.bars_.patches[0].get_edgecolor()[:3] == (0.0, 0.0, 0.0)
