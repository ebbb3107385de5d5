"""The ensemble head (``ensemble_size``): its layers, its loss, and the hybrids
and explanations built on it."""

import pickle

import numpy as np
import pytest

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
    ENSEMBLE_ADAPTER,
    OUTPUT,
    EnsembleAdapter,
    EnsembleDense,
    EnsembleModel,
)


def test_adapter_scales_copies_by_random_signs():
    layer = EnsembleAdapter(5, seed=0)
    x = np.arange(1, 7, dtype="float32").reshape(2, 3)
    out = np.asarray(layer(x))
    assert out.shape == (2, 5, 3)
    scales = np.asarray(layer.scales)
    assert set(np.unique(scales)) <= {-1.0, 1.0}
    np.testing.assert_allclose(out, x[:, None, :] * scales[None])
    clone = EnsembleAdapter.from_config(layer.get_config())
    assert (clone.n_members, clone.seed) == (5, 0)


def test_ensemble_dense_returns_members_when_training_and_their_mean_otherwise():
    layer = EnsembleDense(4, 3, activation="softmax")
    h = np.random.default_rng(0).normal(size=(6, 4, 5)).astype("float32")
    members = np.asarray(layer(h, training=True))
    assert members.shape == (6, 4, 3)
    mean = np.asarray(layer(h, training=False))
    np.testing.assert_allclose(mean, members.mean(axis=1), rtol=1e-6)
    np.testing.assert_allclose(mean.sum(axis=1), 1.0, rtol=1e-6)
    logits = np.asarray(layer.member_logits(h))
    np.testing.assert_allclose(np.asarray(layer.logits(h)), logits.mean(axis=1))
    clone = EnsembleDense.from_config(layer.get_config())
    assert (clone.n_members, clone.units) == (4, 3)
    assert clone.activation is keras.activations.softmax


def test_each_member_is_trained_on_its_own_loss():
    inputs = keras.Input((3,))
    members = EnsembleDense(4, 1)(EnsembleAdapter(4, seed=0)(inputs))
    model = EnsembleModel(inputs, members)
    model.compile(loss="mse")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 3)).astype("float32")
    y = rng.normal(size=(8, 1)).astype("float32")
    y_members = np.asarray(model(x, training=True))
    loss = float(model.compute_loss(x, y, model(x, training=True), training=True))
    expected = np.mean((y_members - y[:, None, :]) ** 2)  # the members' mean loss
    mean_loss = np.mean((y_members.mean(axis=1) - y) ** 2)
    assert loss == pytest.approx(expected, rel=1e-5)
    assert loss > mean_loss  # not the loss of the averaged prediction
    # inference: one output, the members' mean
    np.testing.assert_allclose(np.asarray(model(x)), y_members.mean(axis=1), rtol=1e-5)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    y = X[:, 0] + 0.5 * X[:, 1] ** 2
    return X, y


@pytest.mark.slow
@pytest.mark.parametrize("Estimator", [HybridRegressor, HybridClassifier])
def test_hybrid_with_an_ensemble_head_fits_explains_and_pickles(data, Estimator):
    X, y = data
    if Estimator is HybridClassifier:
        y = np.digitize(y, np.quantile(y, [0.33, 0.66]))  # three classes
    # min-max input: the quantile map's kinks would add to integrated
    # gradients' quadrature error (see test_mlp_input.py)
    est = Estimator(
        TintoImager(pixels=4),
        ensemble_size=4,
        ensemble_scope="head",
        mlp_input="minmax",
        **TINY,
    ).fit(X, y)
    model = est.model_
    assert isinstance(model, EnsembleModel)
    assert isinstance(model.get_layer(OUTPUT), EnsembleDense)
    width = model.get_layer("concatenate").output.shape[-1]
    assert model.get_layer(ENSEMBLE_ADAPTER).output.shape[1:] == (4, width)
    # the members are different models
    output = model.get_layer(OUTPUT)
    head = keras.Model(model.inputs, output.input)
    values = est.feature_encoder_.transform(X[:50])
    per_member = np.asarray(output.member_logits(head(values)))
    assert per_member.shape == (50, 4, output.units)
    assert per_member.std(axis=1).mean() > 1e-3
    if Estimator is HybridClassifier:
        np.testing.assert_allclose(est.predict_proba(X).sum(axis=1), 1.0, rtol=1e-5)
    result = permgrad_importance(est, X[:60], y[:60], n_repeats=2, random_state=0)
    assert np.isfinite(result.importances).all()
    assert np.isfinite(result.gradcam).all()
    if Estimator is HybridRegressor:
        rows = explain_rows(est, X[:3], background=X[:20])
        gap = rows.predictions - rows.baseline_prediction
        gaps = np.abs(rows.attributions.sum(axis=1) - gap)
        assert gaps.max() <= 0.1 * np.abs(gap).max()  # measured 6%
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict(X), est.predict(X))


def test_ensemble_size_is_validated(data):
    X, y = data
    with pytest.raises(ValueError, match="'ensemble_size' parameter"):
        HybridRegressor(ensemble_size=0, **TINY).fit(X, y)


def test_seeded_fits_draw_the_same_members(data):
    # the adapter's random signs come from the seeded state, like every weight
    X, y = data
    fits = [
        HybridRegressor(TintoImager(pixels=4), ensemble_size=4, **TINY).fit(X, y)
        for _ in range(2)
    ]
    np.testing.assert_array_equal(fits[0].predict(X), fits[1].predict(X))
