"""The backbone of the best tabular MLPs: the ensemble through the MLP branch
(TabM-mini, TabM), piecewise-linear embeddings, RealMLP's robust scaling and
label smoothing; their layers, and the hybrids and explanations built on
them."""

import numpy as np
import pytest
from sklearn.preprocessing import RobustScaler

keras = pytest.importorskip("keras")

from _tiny import TINY  # noqa: E402

from skpermgrad import (  # noqa: E402
    HybridClassifier,
    HybridRegressor,
    TintoImager,
    explain_rows,
    permgrad_importance,
)
from skpermgrad.models import (  # noqa: E402
    CNN_MEMBERS,
    ENSEMBLE_ADAPTER,
    MLP_EMBEDDING,
    MLP_OUTPUT,
    MLP_ROBUST,
    EnsembleLinear,
    NetworkView,
    PiecewiseLinearEmbedding,
    RobustScale,
    SmoothedCrossentropy,
    piecewise_edges,
    robust_scaling,
)


def test_ensemble_linear_is_a_shared_kernel_with_each_members_scalings():
    layer = EnsembleLinear(3, 2, activation="relu")
    h = np.random.default_rng(0).normal(size=(5, 3, 4)).astype("float32")
    layer.build(h.shape)
    rng = np.random.default_rng(1)
    for weight in (layer.input_scales, layer.output_scales, layer.bias):
        weight.assign(rng.normal(size=weight.shape))
    out = np.asarray(layer(h))
    r, s, b = (
        np.asarray(w) for w in (layer.input_scales, layer.output_scales, layer.bias)
    )
    kernel = np.asarray(layer.kernel)
    expected = np.maximum(((h * r[None]) @ kernel) * s[None] + b[None], 0)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    clone = EnsembleLinear.from_config(layer.get_config())
    assert (clone.n_members, clone.units) == (3, 2)
    # a new layer starts as one shared Dense: scalings 1, biases 0
    fresh = EnsembleLinear(3, 2)
    fresh.build(h.shape)
    np.testing.assert_array_equal(np.asarray(fresh.input_scales), 1.0)
    np.testing.assert_array_equal(np.asarray(fresh.bias), 0.0)


def test_robust_scaling_is_scikit_learns_then_a_smooth_clip():
    rng = np.random.default_rng(0)
    X = np.column_stack(
        [rng.lognormal(0, 2, 500), np.r_[np.zeros(450), np.arange(50.0)], np.ones(500)]
    )
    center, scale = robust_scaling(X)
    scaled = RobustScaler().fit(X[:, :1]).transform(X[:, :1])[:, 0]
    mapped = np.asarray(RobustScale(center, scale)(X.astype("float32")))
    np.testing.assert_allclose(
        mapped[:, 0], scaled / np.sqrt(1 + (scaled / 3) ** 2), rtol=1e-4, atol=1e-5
    )
    assert np.abs(mapped).max() < 3
    # a column whose IQR is 0 is scaled by its range; a constant one maps to 0
    assert scale[1] == pytest.approx(2 / 49)
    np.testing.assert_array_equal(mapped[:, 2], 0.0)
    again = RobustScale.from_config(RobustScale(center, scale).get_config())
    np.testing.assert_array_equal(np.asarray(again(X.astype("float32"))), mapped)


def test_piecewise_linear_encoding_on_quantile_bins():
    edges = np.array([[0.0, 1.0, 3.0], [2.0, 2.0, 2.0], [0.0, 1.0, 1.0]], "float32")
    layer = PiecewiseLinearEmbedding(edges, d_embedding=2, seed=0)
    x = np.array([[-1.0, 2.0, 0.5], [2.0, 5.0, 4.0]], "float32")
    layer.build(x.shape)
    # read the encoding through an identity-like kernel: 2 bins -> 2 units
    layer.kernel.assign(np.tile(np.eye(2, dtype="float32"), (3, 1, 1)))
    layer.bias.assign(np.zeros((3, 2), "float32") - 10.0)  # ReLU: shifted up
    encoded = np.asarray(layer(x)).reshape(2, 3, 2) + 0.0
    layer.bias.assign(np.zeros((3, 2), "float32") + 10.0)
    encoded = np.asarray(layer(x)).reshape(2, 3, 2) - 10.0
    # feature 0: below the first edge the first bin extrapolates (-1); 2 is
    # past the first bin (1) and half-way through the second (0.5)
    np.testing.assert_allclose(encoded[0, 0], [-1.0, 0.0])
    np.testing.assert_allclose(encoded[1, 0], [1.0, 0.5])
    # feature 1 is constant (bins of width 0): encoded as zeros
    np.testing.assert_allclose(encoded[:, 1], 0.0)
    # feature 2's second bin has width 0: its first bin extrapolates above
    np.testing.assert_allclose(encoded[:, 2], [[0.5, 0.0], [4.0, 0.0]])
    clone = PiecewiseLinearEmbedding.from_config(layer.get_config())
    np.testing.assert_array_equal(clone.edges, edges)
    # the edges are quantiles, ties merged
    values = np.column_stack([np.arange(101.0), np.repeat([0.0, 1.0], [90, 11])])
    found = piecewise_edges(values, n_bins=4)
    np.testing.assert_allclose(found[0], [0, 25, 50, 75, 100])
    np.testing.assert_allclose(found[1], [0, 1, 1, 1, 1])


def test_label_smoothing_spreads_the_target():
    y_pred = np.array([[0.7, 0.2, 0.1]], "float32")
    loss = float(SmoothedCrossentropy(0.3)(np.array([0]), y_pred))
    target = np.array([0.7 + 0.1, 0.1, 0.1])
    assert loss == pytest.approx(-(target * np.log(y_pred[0])).sum(), rel=1e-5)
    plain = keras.losses.SparseCategoricalCrossentropy()(np.array([0]), y_pred)
    assert float(SmoothedCrossentropy(0.0)(np.array([0]), y_pred)) == pytest.approx(
        float(plain), rel=1e-6
    )
    clone = SmoothedCrossentropy.from_config(SmoothedCrossentropy(0.3).get_config())
    assert clone.label_smoothing == 0.3


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    y = X[:, 0] + 0.5 * X[:, 1] ** 2
    return X, y


@pytest.mark.parametrize("scope", ["mlp_mini", "mlp"])
def test_members_run_through_the_mlp_branch_and_explanations_read_their_mean(
    data, scope
):
    X, y = data
    est = HybridRegressor(
        TintoImager(pixels=4), ensemble_size=4, ensemble_scope=scope, **TINY
    ).fit(X, y)
    model = est.model_
    units = TINY["dense_units"]
    assert model.get_layer(MLP_OUTPUT).output.shape[1:] == (4, units)
    assert model.get_layer(CNN_MEMBERS).output.shape[1] == 4
    embedded = model.get_layer(MLP_EMBEDDING).output.shape[-1]
    assert model.get_layer(ENSEMBLE_ADAPTER).output.shape[1:] == (4, embedded)
    dense = model.get_layer("mlp_dense_0")
    assert isinstance(dense, EnsembleLinear) == (scope == "mlp")
    # the members differ, and the network's output is their mean
    view = NetworkView(est)
    mlp, cnn = view.branches(view.values(X[:40]))
    assert np.asarray(mlp).std(axis=1).mean() > 1e-4
    np.testing.assert_allclose(
        np.asarray(view.head(mlp, cnn))[:, 0],
        est.target_encoder_.transform(est.predict(X[:40]))[:, 0],
        rtol=1e-4,
        atol=1e-5,
    )
    result = permgrad_importance(est, X[:60], y[:60], n_repeats=2, random_state=0)
    assert np.isfinite(result.importances).all()
    assert np.isfinite(list(result.branch_weights.values())).all()
    rows = explain_rows(est, X[:3], background=X[:20])
    gap = rows.predictions - rows.baseline_prediction
    assert np.abs(rows.attributions.sum(axis=1) - gap).max() <= 0.1 * np.abs(gap).max()


def test_the_mlp_scope_is_the_default_and_a_cnn_only_network_parts_at_the_head(
    data,
):
    X, y = data
    defaults = HybridClassifier().get_params()
    assert defaults["ensemble_scope"] == "mlp" and defaults["optimizer"] == "adamw"
    assert defaults["label_smoothing"] == 0.0
    cnn = HybridRegressor(
        TintoImager(pixels=4),
        branches="cnn",
        ensemble_size=4,
        ensemble_scope="mlp",
        **TINY,
    ).fit(X, y)
    names = {layer.name for layer in cnn.model_.layers}
    assert ENSEMBLE_ADAPTER in names and CNN_MEMBERS not in names


def test_the_robust_input_and_piecewise_embeddings_are_learned_on_the_training_rows(
    data,
):
    X, y = data
    est = HybridRegressor(
        TintoImager(pixels=4), mlp_input="robust", numeric_embedding="piecewise", **TINY
    ).fit(X, y)
    encoder = est.feature_encoder_
    values = encoder.imager_.transform_values(X)
    center, scale = encoder.robust_scaling_
    np.testing.assert_allclose(center, np.median(values, axis=0), rtol=1e-5)
    layer = est.model_.get_layer(MLP_ROBUST)
    mapped = np.asarray(layer(values))
    # the bins are quantiles of what the embedding reads: the robust values
    np.testing.assert_allclose(
        encoder.piecewise_edges_, piecewise_edges(mapped), atol=1e-5
    )
    assert encoder.quantile_knots_ is None
    assert isinstance(est.model_.get_layer(MLP_EMBEDDING), PiecewiseLinearEmbedding)


def test_label_smoothing_trains_the_classifier_on_the_smoothed_loss(data):
    X, y = data
    labels = y > np.median(y)
    clf = HybridClassifier(TintoImager(pixels=4), label_smoothing=0.2, **TINY).fit(
        X, labels
    )
    assert isinstance(clf.model_.loss, SmoothedCrossentropy)
    assert clf.model_.loss.label_smoothing == 0.2
    plain = HybridClassifier(TintoImager(pixels=4), **TINY).fit(X, labels)
    assert plain.model_.loss == "sparse_categorical_crossentropy"
    with pytest.raises(ValueError, match="'label_smoothing' parameter"):
        HybridClassifier(label_smoothing=1.5, **TINY).fit(X, labels)
    with pytest.raises(TypeError, match="label_smoothing"):
        HybridRegressor(label_smoothing=0.1, **TINY).fit(X, y)


def test_invalid_scope_and_missing_bins_are_named(data):
    X, y = data
    with pytest.raises(ValueError, match="'ensemble_scope' parameter"):
        HybridRegressor(ensemble_scope="cnn", **TINY).fit(X, y)
    from skpermgrad.models import build_hybrid_model

    imager = TintoImager(pixels=4).fit(X)
    with pytest.raises(ValueError, match="piecewise_edges"):
        build_hybrid_model(
            n_features=5, drawing=imager.get_drawing(), numeric_embedding="piecewise"
        )
