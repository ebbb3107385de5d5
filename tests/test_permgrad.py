"""permgrad_importance: ground truth on synthetic data, shapes, errors."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

keras = pytest.importorskip("keras")

from _tiny import TINY  # noqa: E402

from skpermgrad import (  # noqa: E402
    HybridClassifier,
    HybridRegressor,
    TintoImager,
    permgrad_importance,
)
from skpermgrad.inspection._fusion import _minmax, _share  # noqa: E402
from skpermgrad.models import NetworkView  # noqa: E402

# The network these checks of the explanation's mechanics were calibrated on:
# min-max input, no embeddings, one head, batch 32. The defaults since (the
# quantile map and periodic embeddings, explained in test_mlp_input.py, whose
# kinks make integrated gradients' quadrature error larger; the ensemble head,
# tested in test_ensemble.py and run through by the Grad-CAM reference below)
# are pinned off here.
TRAIN = {
    **TINY,
    "mlp_input": "minmax",
    "numeric_embedding": None,
    "ensemble_size": 1,
    "batch_size": 32,
    "dense_units": 16,
    "head_units": 16,
    "epochs": 30,
    "lr_schedule": "constant",
    "learning_rate": 1e-2,
}


@pytest.fixture(scope="module")
def linear_task():
    """y depends on x0 strongly, x1 weakly; x2..x5 are pure noise."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(400, 6))
    y = 4 * X[:, 0] + 0.5 * X[:, 1] + 0.05 * rng.normal(size=400)
    reg = HybridRegressor(TintoImager(pixels=6, random_state=0), **TRAIN).fit(X, y)
    return reg, X, y


def test_result_layout_and_reproducibility(linear_task):
    reg, X, y = linear_task
    result = permgrad_importance(reg, X, y, n_repeats=3, random_state=0)
    assert result.permutation.importances.shape == (6, 3)
    assert result.permutation.importances_mean.shape == (6,)
    assert result.gradcam.shape == (6,) and result.importances.shape == (6,)
    assert set(result.branch_weights) == {"mlp", "cnn"}
    assert sum(result.branch_weights.values()) == pytest.approx(1.0)
    assert list(result.feature_names) == [f"x{i}" for i in range(6)]
    assert result.fusion == "model_split" and result.scale == "share"
    parts = result.branch_contributions
    np.testing.assert_allclose(parts.mlp + parts.cnn, result.importances)
    assert result.importances_std.shape == (6,)
    assert result.importances_ci.shape == (6, 2)
    assert np.all(result.importances_ci[:, 0] <= result.importances_ci[:, 1])
    assert result.indistinguishable_from_zero.dtype == bool
    again = permgrad_importance(reg, X, y, n_repeats=3, random_state=0)
    np.testing.assert_array_equal(result.importances, again.importances)
    np.testing.assert_array_equal(
        result.permutation.importances, again.permutation.importances
    )


def test_strongest_feature_first_and_noise_near_zero(linear_task):
    reg, X, y = linear_task
    perm = permgrad_importance(reg, X, y, n_repeats=3, random_state=0).permutation
    mean = perm.importances_mean
    assert np.argmax(mean) == 0
    assert np.all(np.abs(mean[2:]) < 0.05 * mean[0])
    # how much of x0 the MLP branch carries depends on the seed (the CNN branch
    # reads it too); permuting it in the whole model destroys the fit: R² drops
    # by about twice x0's share of the variance (1.97)
    model = permgrad_importance(
        reg, X, y, n_repeats=3, random_state=0, permutation="model"
    ).permutation.importances_mean
    assert np.argmax(model) == 0 and model[0] > 1.0


def test_model_mode_permutes_the_image_too(linear_task):
    reg, X, y = linear_task
    branch = permgrad_importance(reg, X, y, n_repeats=2, random_state=0)
    model = permgrad_importance(
        reg, X, y, n_repeats=2, random_state=0, permutation="model"
    )
    assert np.argmax(model.permutation.importances_mean) == 0
    assert not np.allclose(
        branch.permutation.importances_mean, model.permutation.importances_mean
    )


def test_pipeline_and_max_samples(linear_task):
    _, X, y = linear_task
    pipe = make_pipeline(
        StandardScaler().set_output(transform="pandas"),
        HybridRegressor(TintoImager(pixels=6), **TINY),
    )
    import pandas as pd

    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    pipe.fit(frame, y)
    result = permgrad_importance(
        pipe, frame, y, n_repeats=1, max_samples=50, random_state=0
    )
    assert list(result.feature_names) == [f"f{i}" for i in range(6)]
    assert result.permutation.importances.shape == (6, 1)


# The CNN branch does the work when the MLP branch is one ReLU unit wide: a
# single monotone projection of the values cannot carry |x0| + |x3|.
CNN_DOMINANT = {**TRAIN, "dense_units": 1, "base_filters": 8}


def test_classifier_gradcam_per_class():
    # Class "a" depends on x0, class "b" on x3: each class's own gradient gives
    # its own map (the notebook used the predicted class's for every class).
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, size=(300, 6))
    y = np.where(X[:, 0] > 0, "a", np.where(X[:, 3] > 0, "b", "c"))
    imager = TintoImager(pixels=4, random_state=0)
    clf = HybridClassifier(imager, **CNN_DOMINANT).fit(X, y)
    result = permgrad_importance(
        clf,
        X,
        y,
        n_repeats=2,
        random_state=0,
        scoring="neg_log_loss",
        fusion="branch_weights",
        cnn_importance="gradcam",
        permutation="model",  # the MLP branch carries almost nothing here
    )
    assert result.gradcam.shape == (3, 6)
    assert result.importances.shape == (3, 6)
    assert result.importances_ci.shape == (3, 6, 2)
    assert result.heatmap.shape == (3, 4, 4)
    np.testing.assert_array_equal(result.classes, ["a", "b", "c"])
    assert np.argmax(result.permutation.importances_mean) in (0, 3)
    a, b = _minmax(result.gradcam[0]), _minmax(result.gradcam[1])
    assert np.abs(a - b).max() > 0.3


@pytest.mark.slow
def test_branch_weight_follows_the_branch_that_can_carry_the_target():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(400, 6))
    # Numeric only: x0 and x1 are near copies, so they share a pixel whose value
    # is their mean; y = x0 - x1 is in the table but not in the image.
    X[:, 1] = X[:, 0] + 0.1 * rng.normal(size=400)
    imager = TintoImager(pixels=4, collisions="mean")
    assert np.array_equal(*imager.fit(X).feature_positions_[:2])
    y = X[:, 0] - X[:, 1]
    reg = HybridRegressor(imager, **TRAIN).fit(X, y)
    weights = permgrad_importance(reg, X, y, n_repeats=1, random_state=0)
    assert weights.branch_weights["mlp"] > 0.9
    # Image pattern only: |x0| + |x3| needs two bends the one-unit MLP lacks.
    y = np.abs(X[:, 0]) + np.abs(X[:, 3])
    imager = TintoImager(pixels=4, random_state=0)
    reg = HybridRegressor(imager, **CNN_DOMINANT).fit(X, y)
    weights = permgrad_importance(reg, X, y, n_repeats=1, random_state=0)
    assert weights.branch_weights["cnn"] > 0.8


def _hand_built(imager, mlp_weight, cnn_weight):
    """A network with the hybrid's layer names and known weights.

    MLP branch: the sum of the values. CNN branch: the image itself (a 1x1
    conv with weight 1, flattened). Output: ``mlp_weight * mlp + cnn_weight *
    sum(image)``.
    """
    from skpermgrad.models import DrawnRender

    n_features = imager.n_features_in_
    side = imager.image_shape_[0]
    tab = keras.Input((n_features,), name="tabular")
    val = keras.Input((n_features,), name="image_input")
    mlp_layer = keras.layers.Dense(1, name="mlp_output")
    mlp = mlp_layer(tab)
    img = DrawnRender(*imager.get_drawing(), name="image")(val)
    conv = keras.layers.Conv2D(1, 1, name="last_conv")
    cnn = keras.layers.Flatten(name="cnn_output")(conv(img))
    both = keras.layers.Concatenate(name="concatenate")([mlp, cnn])
    out_layer = keras.layers.Dense(1, name="output")
    model = keras.Model([tab, val], out_layer(both))
    mlp_layer.set_weights([np.ones((n_features, 1)), np.zeros(1)])
    conv.set_weights([np.ones((1, 1, 1, 1)), np.zeros(1)])
    kernel = np.r_[mlp_weight, np.full(side * side, cnn_weight)][:, None]
    out_layer.set_weights([kernel, np.zeros(1)])
    return model


@pytest.mark.slow
@pytest.mark.parametrize("weights", [(0.0, 1.0), (1.0, 0.0), (1.0, 1.0)])
def test_image_permutation_mirrors_the_mlp_permutation(reg9, weights):
    # Hand-built network: output = a * sum(values) + b * sum(image). Permuting a
    # column in the image input only changes the b-part; in the tabular input
    # only, the a-part; in both ("model"), both. The same seed draws the same
    # permutations for all three, so on a CNN-only network the image
    # permutation equals the whole-model one, and on an MLP-only one it is 0.
    X, _ = reg9
    reg = HybridRegressor(TintoImager(pixels=4), **TINY).fit(X, X[:, 0])
    reg.model_ = _hand_built(reg.feature_encoder_.imager_, *weights)
    y = reg.predict(X)  # exact: any change of the output is a score drop
    kwargs = dict(n_repeats=2, random_state=0, scoring="neg_mean_squared_error")
    result = permgrad_importance(
        reg, X, y, fusion="branch_weights", cnn_importance="permutation", **kwargs
    )
    image = result.image_permutation.importances
    mlp = result.permutation.importances
    whole = permgrad_importance(reg, X, y, permutation="model", **kwargs)
    assert result.cnn_importance == "permutation"
    # the default: the whole-model drop (as permutation="model" measures it),
    # split between the branches by their own drops
    split = permgrad_importance(reg, X, y, **kwargs)
    assert split.fusion == "model_split"
    np.testing.assert_allclose(
        split.model_permutation.importances, whole.permutation.importances, rtol=1e-5
    )
    total = _share(whole.permutation.importances_mean)
    np.testing.assert_allclose(split.importances, total, rtol=1e-4, atol=1e-9)
    parts = split.branch_contributions
    np.testing.assert_allclose(parts.mlp + parts.cnn, split.importances)
    if weights == (0.0, 1.0):
        np.testing.assert_allclose(parts.mlp, 0.0, atol=1e-12)
    if weights == (1.0, 0.0):
        np.testing.assert_allclose(parts.cnn, 0.0, atol=1e-12)
    if weights == (0.0, 1.0):
        np.testing.assert_allclose(image, whole.permutation.importances, rtol=1e-4)
        np.testing.assert_array_equal(mlp, 0.0)
    elif weights == (1.0, 0.0):
        np.testing.assert_array_equal(image, 0.0)
    else:  # each branch alone carries part of every feature's effect
        assert np.all(image.mean(axis=1) > 0) and np.all(mlp.mean(axis=1) > 0)
    w = result.branch_weights["mlp"]
    np.testing.assert_allclose(
        result.importances,
        w * _share(mlp.mean(axis=1)) + (1 - w) * _share(image.mean(axis=1)),
    )
    published = permgrad_importance(
        reg,
        X,
        y,
        fusion="branch_weights",
        cnn_importance="gradcam",
        scale="minmax",
        **kwargs,
    )
    np.testing.assert_allclose(
        published.importances,
        w * _minmax(mlp.mean(axis=1)) + (1 - w) * _minmax(published.gradcam),
    )
    # Grad-CAM is computed either way; fusing it leaves no image part
    np.testing.assert_allclose(published.gradcam, result.gradcam, rtol=1e-6)
    assert "image_permutation" not in published


def test_image_permutation_of_a_classifier_is_one_score():
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, size=(120, 5))
    y = np.where(X[:, 0] > 0, "a", np.where(X[:, 3] > 0, "b", "c"))
    clf = HybridClassifier(TintoImager(pixels=4, random_state=0), **TINY).fit(X, y)
    result = permgrad_importance(
        clf, X, y, n_repeats=2, random_state=0, cnn_importance="permutation"
    )
    assert result.gradcam.shape == (3, 5)
    assert result.importances.shape == (5,)
    assert result.image_permutation.importances.shape == (5, 2)


def test_gradcam_is_read_at_row_col_of_the_image():
    # With the hand-built network Grad-CAM equals the image, so feature j's
    # value is the mean over its mask, its own pixel. Reading (col, row)
    # instead would hit empty pixels: the layout is asymmetric.
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(40, 5)) * np.array([1, 2, 3, 4, 5])
    reg = HybridRegressor(TintoImager(pixels=7, random_state=0), **TINY)
    imager = reg.fit(X, X[:, 0]).feature_encoder_.imager_
    rows, cols = imager.feature_positions_.T
    assert not np.array_equal(rows, cols)
    assert np.array_equal(np.argwhere(imager.feature_masks_)[:, 1:], np.c_[rows, cols])
    reg.model_ = _hand_built(imager, 0.0, 1.0)
    net = NetworkView(reg)
    values = imager.transform_values(X)
    cam, heat, image, _ = (t.numpy() for t in net.gradcam(values, np.zeros((1, 1))))
    np.testing.assert_allclose(cam[0], values, rtol=1e-5, atol=1e-7)
    images = imager.transform_images(X)[..., 0]
    np.testing.assert_allclose(image, images, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(heat[0].reshape(-1, 7, 7), images, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    "weights, expected",
    [((1.0, 0.0), {"mlp": 1.0, "cnn": 0.0}), ((0.0, 1.0), {"mlp": 0.0, "cnn": 1.0})],
)
def test_branch_weights_of_a_network_that_uses_one_branch(reg9, weights, expected):
    # The prediction comes from one branch only: silencing the other changes
    # nothing, so all the weight goes to the one in use.
    X, _ = reg9
    reg = HybridRegressor(TintoImager(pixels=4), **TINY).fit(X, X[:, 0])
    reg.model_ = _hand_built(reg.feature_encoder_.imager_, *weights)
    y = reg.predict(X)
    result = permgrad_importance(reg, X, y, n_repeats=2, random_state=0)
    assert result.branch_weights == pytest.approx(expected)
    assert result.branch_score_drops["mlp" if weights[0] else "cnn"] > 0.5


def test_minmax_of_a_constant_vector_is_zero():
    np.testing.assert_array_equal(_minmax(np.full(4, 3.0)), np.zeros(4))
    np.testing.assert_allclose(_minmax([1.0, 3.0, 2.0]), [0, 1, 0.5])


def test_errors(linear_task, reg9):
    reg, X, y = linear_task
    with pytest.raises(NotFittedError):
        permgrad_importance(HybridRegressor(), X, y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        permgrad_importance(reg, X, y[:-1])
    with pytest.raises(ValueError, match="'n_repeats' parameter"):
        permgrad_importance(reg, X, y, n_repeats=0)
    Xr, yr = reg9
    mlp_only = HybridRegressor(TintoImager(pixels=4), branches="mlp", **TINY)
    with pytest.raises(ValueError, match=r"has no layer\(s\)"):
        permgrad_importance(mlp_only.fit(Xr, yr), Xr, yr)


def test_blocks_and_threads_do_not_change_the_result(linear_task, capsys):
    reg, X, y = linear_task
    one = permgrad_importance(reg, X, y, n_repeats=2, random_state=0)
    blocks = permgrad_importance(
        reg, X, y, n_repeats=2, random_state=0, batch_size=64, verbose=1
    )
    assert "[permgrad] permutations: block 7/7" in capsys.readouterr().err
    threads = permgrad_importance(
        reg, X, y, n_repeats=2, random_state=0, batch_size=64, n_jobs=2
    )
    for key in ("importances", "gradcam", "heatmap", "mean_image"):
        np.testing.assert_array_equal(blocks[key], threads[key])
        np.testing.assert_allclose(blocks[key], one[key], rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(
        blocks.permutation.importances, threads.permutation.importances
    )


# --- issue 16, item 6: weights, empty selections, classifier scoring, zoom ---


def test_sample_weight_weights_every_mean_over_rows(linear_task):
    """Zero weight on half the rows equals explaining the other half."""
    reg, X, y = linear_task
    keep = np.arange(len(y)) % 2 == 0
    weighted = permgrad_importance(
        reg, X, y, n_repeats=1, random_state=0, sample_weight=keep.astype(float)
    )
    subset = permgrad_importance(reg, X[keep], y[keep], n_repeats=1, random_state=0)
    np.testing.assert_allclose(weighted.gradcam, subset.gradcam, rtol=1e-5)
    np.testing.assert_allclose(weighted.heatmap, subset.heatmap, rtol=1e-5)
    np.testing.assert_allclose(weighted.mean_image, subset.mean_image, rtol=1e-5)
    for branch in ("mlp", "cnn"):
        assert weighted.branch_score_drops[branch] == pytest.approx(
            subset.branch_score_drops[branch], rel=1e-4, abs=1e-6
        )


@pytest.mark.parametrize(
    "weights, message",
    [
        (-np.ones(400), "Negative values in data passed to `sample_weight`"),
        (np.zeros(400), "Sample weights must contain at least one non-zero"),
        (np.ones(3), "inconsistent numbers of samples"),
    ],
)
def test_bad_sample_weight_is_refused(linear_task, weights, message):
    reg, X, y = linear_task
    with pytest.raises(ValueError, match=message):
        permgrad_importance(reg, X, y, sample_weight=weights)


def test_max_samples_selecting_no_row_is_refused(linear_task):
    reg, X, y = linear_task
    with pytest.raises(ValueError, match=r"max_samples=1e-09 selects no row of the"):
        permgrad_importance(reg, X, y, max_samples=1e-9)


@pytest.mark.slow
def test_classifier_default_scoring_is_the_log_loss():
    from sklearn.metrics import log_loss, make_scorer

    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(200, 5))
    y = np.where(X[:, 0] > 0, "yes", "no")
    clf = HybridClassifier(TintoImager(pixels=4), **TRAIN).fit(X, y)
    default = permgrad_importance(clf, X[:60], y[:60], n_repeats=2, random_state=0)
    scorer = make_scorer(
        log_loss,
        greater_is_better=False,
        response_method="predict_proba",
        labels=clf.classes_,
    )
    explicit = permgrad_importance(
        clf, X[:60], y[:60], n_repeats=2, random_state=0, scoring=scorer
    )
    np.testing.assert_allclose(
        default.permutation.importances, explicit.permutation.importances
    )
    assert default.branch_weights_defined
    # rows of one class only: the log loss still needs every class's label
    one_class = permgrad_importance(
        clf, X[y == "yes"][:20], y[y == "yes"][:20], n_repeats=1, random_state=0
    )
    assert np.all(np.isfinite(one_class.permutation.importances))


def test_undefined_branch_weights_warn_and_are_flagged(linear_task):
    reg, X, y = linear_task

    def constant_score(estimator, X, y):
        return 0.0

    with pytest.warns(UserWarning, match="branch weights are undefined") as caught:
        result = permgrad_importance(
            reg, X, y, n_repeats=1, random_state=0, scoring=constant_score
        )
    assert caught[0].filename == __file__  # it points at the caller's line
    assert result.branch_weights == {"mlp": 0.5, "cnn": 0.5}
    assert result.branch_weights_defined is False


@pytest.mark.slow
@pytest.mark.parametrize("zoom, n_conv_layers", [(1, 2), (2, 1), (2, 2)])
def test_gradcam_matches_a_reference_with_upsampling_and_zoom(zoom, n_conv_layers):
    """Grad-CAM of the whole model, computed directly, read at each feature's block.

    Two conv layers put ``last_conv`` at half the image's side (the map is
    upsampled); ``zoom=2`` makes each feature a 2x2 block of the image.
    """
    import tensorflow as tf

    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(120, 5))
    y = X[:, 0] - X[:, 2]
    imager = TintoImager(pixels=4, zoom=zoom, random_state=0)
    params = {**TRAIN, "epochs": 3, "n_conv_layers": n_conv_layers, "ensemble_size": 4}
    reg = HybridRegressor(imager, **params).fit(X, y)
    result = permgrad_importance(
        reg, X, y, n_repeats=1, random_state=0, cnn_importance="gradcam"
    )

    # the network from last_conv on, layer by layer, by the documented names
    model, last = reg.model_, n_conv_layers - 1
    values = reg.feature_encoder_.imager_.transform_values(X).astype("float32")
    inputs = {"tabular": values, "image_input": values}
    fmap = keras.Model(model.inputs, model.get_layer("last_conv").output)(inputs)
    mlp = keras.Model(model.inputs, model.get_layer("mlp_output").output)(inputs)
    # the last block pools only if its input is at least 4 pixels a side (a 4x4
    # image pooled once to 2x2 is convolved at 2x2 by the second block)
    pools = model.get_layer("last_conv").input.shape[1] >= 4
    pool = [f"conv_pool_{last}"] if pools else []
    assert any(layer.name == f"conv_pool_{last}" for layer in model.layers) is pools
    after_conv = [f"conv_norm_{last}", *pool, f"conv_dropout_{last}"]
    # ... through the head: the members' own MLP outputs next to the CNN's,
    # repeated for each (the default ensemble_scope="mlp"), shared layers,
    # the members averaged
    head = [
        "head_dense_0",
        "head_norm_0",
        "head_dropout_0",
        "output",
    ]
    with tf.GradientTape() as tape:
        tape.watch(fmap)
        x = fmap
        for name in [*after_conv, "cnn_output", "cnn_members"]:
            x = model.get_layer(name)(x, training=False)
        x = model.get_layer("concatenate")([mlp, x])
        for name in head:
            x = model.get_layer(name)(x, training=False)
        target = x[:, 0]
    grads = tape.gradient(target, fmap).numpy()
    np.testing.assert_allclose(x.numpy()[:, 0], reg.model_(inputs)[:, 0], rtol=1e-4)
    fmap = fmap.numpy()
    cam = np.maximum(np.einsum("bhwc,bc->bhw", fmap, grads.mean(axis=(1, 2))), 0)
    side = 4 * zoom
    cam = tf.image.resize(cam[..., None], (side, side)).numpy()[..., 0]
    assert fmap.shape[1] == side // 2 ** (n_conv_layers - 1)  # upsampled if < side
    assert (zoom, n_conv_layers) != (1, 2) or not pools  # the case without a pool
    expected = [
        cam[:, r : r + zoom, c : c + zoom].mean(axis=(1, 2)).mean()
        for r, c in reg.feature_encoder_.imager_.feature_positions_
    ]
    np.testing.assert_allclose(result.gradcam, expected, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(result.heatmap, cam.mean(axis=0), rtol=1e-4, atol=1e-7)


# --- issue 16: a faithful default, uncertainty, groups, per-row explanations ---


def test_share_keeps_a_flat_part_flat():
    flat = np.array([0.015, 0.03, 0.04, 0.035])
    np.testing.assert_allclose(_share(flat), flat / flat.sum())
    assert _share(flat).max() < 0.4  # min-max would stretch it to [0, 1]
    np.testing.assert_allclose(_share([2.0, -1.0, 2.0]), [0.5, -0.25, 0.5])
    np.testing.assert_array_equal(_share([-1.0, 0.0]), [0.0, 0.0])


@pytest.fixture(scope="module")
def issue_task():
    """The issue's table: y = 4 x0 + 2 x1, x2..x5 pure noise (smaller, faster)."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(2000, 6))
    y = 4 * X[:, 0] + 2 * X[:, 1] + 0.05 * rng.normal(size=2000)
    reg = HybridRegressor(TintoImager(pixels=8), epochs=40, random_state=0)
    return reg.fit(X[:1500], y[:1500]), X[1500:], y[1500:]


@pytest.mark.slow
def test_default_ranks_the_truth_and_flags_the_noise(issue_task):
    # The published fusion (Grad-CAM, min-max) ranked x0 last and a noise
    # column first on this table; the default must rank x0, x1 first and flag
    # every noise column as indistinguishable from zero, but not x0 or x1.
    reg, X, y = issue_task
    assert reg.score(X, y) > 0.95
    result = permgrad_importance(reg, X, y, random_state=0)
    assert list(np.argsort(-result.importances)[:2]) == [0, 1]
    np.testing.assert_array_equal(
        result.indistinguishable_from_zero, [False, False, True, True, True, True]
    )
    low, high = result.importances_ci.T
    assert low[1] > high[2:].max()  # x1 clearly ahead of every noise column
    # no tolerance: the flags rest on the interval reaching zero itself
    strict = permgrad_importance(reg, X, y, random_state=0, zero_tolerance=0.0)
    assert not strict.indistinguishable_from_zero[:2].any()


def test_groups_are_permuted_jointly():
    # x1 = -x0, so after TINTO's min-max scaling x1 = 1 - x0 and the MLP's
    # sum of values does not move when both are permuted with one row order.
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(200, 4))
    X[:, 0] = np.linspace(-1, 1, 200)
    X[:, 1] = -X[:, 0]
    reg = HybridRegressor(TintoImager(pixels=4), **TINY).fit(X, X[:, 2])
    reg.model_ = _hand_built(reg.feature_encoder_.imager_, 1.0, 0.0)
    y = reg.predict(X) + 0.1 * rng.normal(size=200)
    kwargs = dict(n_repeats=2, random_state=0, scoring="neg_mean_squared_error")
    alone = permgrad_importance(reg, X, y, **kwargs)
    joint = permgrad_importance(reg, X, y, feature_groups={"pair": [0, 1]}, **kwargs)
    assert list(joint.feature_names) == ["pair", "x2", "x3"]
    np.testing.assert_array_equal(joint.feature_groups["pair"], ["x0", "x1"])
    assert alone.permutation.importances_mean[0] > 0.01
    np.testing.assert_allclose(joint.permutation.importances[0], 0.0, atol=1e-6)
    assert np.all(joint.permutation.importances[1:] > 0.01)  # x2, x3 alone


def _city_frame(n, seed):
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "city": rng.choice(["Paris", "Rome", "Oslo"], n),
            "n0": rng.uniform(-1, 1, n),
            "n1": rng.uniform(-1, 1, n),
        }
    )
    effect = frame["city"].map({"Paris": 2.0, "Rome": -2.0, "Oslo": 0.0})
    return frame, effect.to_numpy() + frame["n0"].to_numpy()


def test_automatic_groups_report_the_users_columns():
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    frame, y = _city_frame(300, 0)
    encode = ColumnTransformer(
        [("city", OneHotEncoder(sparse_output=False), ["city"])],
        remainder="passthrough",
        verbose_feature_names_out=False,
    )
    pipe = make_pipeline(encode, HybridRegressor(TintoImager(pixels=4), **TRAIN))
    pipe.fit(frame, y)
    kwargs = dict(n_repeats=2, random_state=0)
    auto = permgrad_importance(pipe, frame, y, **kwargs)
    assert list(auto.feature_names) == ["city", "n0", "n1"]
    np.testing.assert_array_equal(
        auto.feature_groups["city"], ["city_Oslo", "city_Paris", "city_Rome"]
    )
    np.testing.assert_array_equal(
        auto.encoded_feature_names, ["city_Oslo", "city_Paris", "city_Rome", "n0", "n1"]
    )
    assert auto.permutation.importances.shape == (3, 2)
    assert auto.feature_positions.shape == (5, 2)
    explicit = permgrad_importance(
        pipe,
        frame,
        y,
        feature_groups={"city": ["city_Oslo", "city_Paris", "city_Rome"]},
        **kwargs,
    )
    np.testing.assert_array_equal(auto.importances, explicit.importances)
    ungrouped = permgrad_importance(pipe, frame, y, feature_groups=None, **kwargs)
    assert len(ungrouped.feature_names) == 5
    assert np.argmax(auto.importances) == 0  # the city carries most of y


def test_auto_groups_follow_nested_encoders_or_give_up():
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    from skpermgrad.inspection._groups import auto_groups

    frame, _ = _city_frame(50, 1)
    categories = make_pipeline(
        SimpleImputer(strategy="most_frequent"), OneHotEncoder(drop="first")
    )
    pre = Pipeline(
        [
            (
                "columns",
                ColumnTransformer(
                    [
                        ("c", categories, ["city"]),
                        ("n", StandardScaler(), [1, 2]),
                        ("none", StandardScaler(), []),  # no column: left unfitted
                    ]
                ),
            )
        ]
    ).fit(frame)
    assert auto_groups(pre, list(frame.columns)) == {
        "city": [0, 1],
        "n0": [2],
        "n1": [3],
    }
    # a step whose outputs cannot be traced back: no automatic groups
    untraced = make_pipeline(SimpleImputer(add_indicator=True)).fit(
        frame[["n0", "n1"]].mask(frame[["n0", "n1"]] > 0.9)
    )
    assert auto_groups(untraced, ["n0", "n1"]) is None


@pytest.mark.parametrize(
    "groups, message",
    [
        ({"g": ["x0", "nope"]}, "names column 'nope', which is not one of"),
        ({"g": [0, 1], "h": [1, 2]}, "Column 'x1' is in two feature groups"),
        ({"g": []}, r"feature_groups\['g'\] lists no column"),
        ({"x3": [0, 1]}, "a group 'x3', which is also a column outside it"),
    ],
)
def test_bad_feature_groups_are_refused(linear_task, groups, message):
    reg, X, y = linear_task
    with pytest.raises(ValueError, match=message):
        permgrad_importance(reg, X, y, feature_groups=groups)


@pytest.mark.parametrize("cnn_importance", ["integrated_gradients", "gradcam"])
def test_other_cnn_parts_and_the_published_fusion(linear_task, cnn_importance):
    reg, X, y = linear_task
    result = permgrad_importance(
        reg,
        X,
        y,
        n_repeats=2,
        random_state=0,
        fusion="branch_weights",
        cnn_importance=cnn_importance,
    )
    cnn = result.get("integrated_gradients", result.gradcam)
    w = result.branch_weights["mlp"]
    np.testing.assert_allclose(result.branch_contributions.cnn, (1 - w) * _share(cnn))
    assert np.argmax(result.importances) == 0


def test_explain_rows_sums_to_prediction_minus_baseline(reg9):
    from skpermgrad import explain_rows

    # exact on the hand-built (linear) network: attribution = gradient x step
    X, _ = reg9
    reg = HybridRegressor(TintoImager(pixels=4), **TINY).fit(X, 3 * X[:, 0])
    reg.model_ = _hand_built(reg.feature_encoder_.imager_, 1.0, 0.5)
    values = reg.feature_encoder_.imager_.transform_values(X)
    for n_baselines, drawn in (("mean", None), (len(X), None), (4, 0)):
        rows = explain_rows(
            reg, X[:5], background=X, n_baselines=n_baselines, random_state=drawn
        )
        # a linear network: every path has the same gradient, so the mean over
        # the baselines steps from their mean row, the background's when all
        if drawn is None:
            np.testing.assert_allclose(
                rows.baselines.mean(axis=0), values.mean(axis=0), rtol=1e-6
            )
        else:  # 4 rows of the background, drawn without replacement, seeded
            assert rows.baselines.shape == (4, X.shape[1])
            assert len({tuple(b) for b in rows.baselines}) == 4
            again = explain_rows(
                reg, X[:5], background=X, n_baselines=4, random_state=0
            )
            np.testing.assert_array_equal(again.attributions, rows.attributions)
        start = rows.baselines.mean(axis=0)
        step = (values[:5] - start) * reg.target_encoder_.std_
        np.testing.assert_allclose(rows.mlp, step, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(rows.attributions, rows.mlp + rows.cnn)
        np.testing.assert_allclose(rows.predictions, reg.predict(X[:5]), rtol=1e-5)
        gap = rows.predictions - rows.baseline_prediction
        np.testing.assert_allclose(rows.attributions.sum(axis=1), gap, rtol=1e-4)


def test_explain_rows_shares_a_product_as_shap_does(reg9):
    # expected gradients from every background row split f = x0 * x1 into
    # interventional SHAP's exact values, (x0 - m0) x1 / 2 + (x0 m1 - E[x0 x1]) / 2
    # (the straight path's integrand is linear, so the quadrature is exact);
    # from the mean row they are x0 x1 / 2 + ..., off by the pair's covariance
    from skpermgrad import explain_rows

    X, _ = reg9
    rng = np.random.default_rng(0)
    X = X.copy()
    X[:, 1] = X[:, 0] + 0.3 * rng.normal(size=len(X))  # x0, x1 correlated
    reg = HybridRegressor(TintoImager(pixels=4), **TINY).fit(X, X[:, 0] * X[:, 1])
    # the hand-built network with its MLP branch the product of x0 and x1 and
    # its CNN branch weighted 0
    model = _hand_built(reg.feature_encoder_.imager_, 1.0, 0.0)
    mlp = model.get_layer("mlp_output")
    product = keras.layers.Lambda(lambda v: v[:, :1] * v[:, 1:2], name=mlp.name)
    mlp._name = "mlp_sum"
    tabular, image = model.inputs
    cnn = model.get_layer("cnn_output").output
    both = keras.layers.Concatenate()([product(tabular), cnn])
    reg.model_ = keras.Model([tabular, image], model.get_layer("output")(both))
    v = reg.feature_encoder_.imager_.transform_values(X)
    scale = reg.target_encoder_.std_
    rows = explain_rows(reg, X[:6], background=X, n_baselines=len(X), n_steps=4)
    m0, m1, m01 = v[:, 0].mean(), v[:, 1].mean(), (v[:, 0] * v[:, 1]).mean()
    x0, x1 = v[:6, 0], v[:6, 1]
    shap0 = ((x0 - m0) * x1 + x0 * m1 - m01) / 2 * scale
    shap1 = ((x1 - m1) * x0 + x1 * m0 - m01) / 2 * scale
    np.testing.assert_allclose(rows.attributions[:, 0], shap0, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(rows.attributions[:, 1], shap1, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(rows.attributions[:, 2:], 0, atol=1e-7)
    # a row's paths split over passes of 8 points (2 paths of 4 nodes) add up
    # to the same attributions
    split = explain_rows(
        reg, X[:6], background=X, n_baselines=len(X), n_steps=4, batch_size=8
    )
    np.testing.assert_allclose(split.attributions, rows.attributions, rtol=1e-5)
    mean = explain_rows(reg, X[:6], background=X, n_baselines="mean", n_steps=4)
    shift = (m01 - m0 * m1) / 2 * scale  # half the covariance, per feature
    np.testing.assert_allclose(mean.attributions[:, 0] - shift, shap0, rtol=1e-4)


def test_explain_rows_of_trained_networks(linear_task):
    from skpermgrad import explain_rows

    reg, X, y = linear_task
    rows = explain_rows(reg, X[:50], background=X, n_steps=128, random_state=0)
    gap = rows.predictions - rows.baseline_prediction
    error = np.abs(rows.attributions.sum(axis=1) - gap)
    assert error.mean() < 0.02 * np.abs(gap).mean()
    assert np.argmax(np.abs(rows.attributions).mean(axis=0)) == 0
    grouped = explain_rows(
        reg, X[:50], background=X, feature_groups={"g": [0, 1]}, random_state=0
    )
    np.testing.assert_allclose(
        grouped.attributions[:, 0], rows.attributions[:, :2].sum(axis=1), rtol=0.05
    )

    rng = np.random.default_rng(1)
    Xc = rng.uniform(-1, 1, size=(150, 5))
    yc = np.where(Xc[:, 0] > 0, "a", np.where(Xc[:, 3] > 0, "b", "c"))
    clf = HybridClassifier(TintoImager(pixels=4, random_state=0), **TRAIN).fit(Xc, yc)
    rows = explain_rows(clf, Xc[:10], background=Xc, n_steps=128)
    assert rows.attributions.shape == (10, 5, 3)
    np.testing.assert_allclose(rows.predictions, clf.predict_proba(Xc[:10]), rtol=1e-5)
    gap = rows.predictions - rows.baseline_prediction
    np.testing.assert_allclose(rows.attributions.sum(axis=1), gap, atol=0.02)
    with pytest.raises(ValueError, match="explain_rows needs baselines"):
        explain_rows(clf, Xc[:1])


def test_an_undefined_score_is_refused(linear_task):
    reg, X, y = linear_task
    with pytest.raises(ValueError, match=r"score on the 1 row\(s\) explained is nan"):
        permgrad_importance(reg, X[:1], y[:1])
    with pytest.raises(ValueError, match=r"y is constant \(1.0\) on the 20 rows"):
        permgrad_importance(reg, X[:20], np.ones(20))
    # another scoring is defined on a constant y
    result = permgrad_importance(
        reg, X[:20], np.ones(20), n_repeats=1, scoring="neg_mean_squared_error"
    )
    assert np.all(np.isfinite(result.importances))
