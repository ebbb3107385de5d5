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
from skpermgrad.inspection._permgrad import _gradcam, _minmax  # noqa: E402

TRAIN = {
    **TINY,
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
    assert np.all(result.importances >= 0) and np.all(result.importances <= 1)
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
    assert mean[0] > 0.5
    assert np.all(np.abs(mean[2:]) < 0.05 * mean[0])


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


def test_classifier_gradcam_per_class():
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, size=(300, 6))
    y = np.where(X[:, 0] > 0, "a", np.where(X[:, 3] > 0, "b", "c"))
    clf = HybridClassifier(TintoImager(pixels=6, random_state=0), **TRAIN).fit(X, y)
    result = permgrad_importance(
        clf, X, y, n_repeats=2, random_state=0, scoring="neg_log_loss"
    )
    assert result.gradcam.shape == (3, 6)
    assert result.importances.shape == (3, 6)
    np.testing.assert_array_equal(result.classes, ["a", "b", "c"])
    assert np.argmax(result.permutation.importances_mean) in (0, 3)


def test_gradcam_is_read_at_row_col_of_the_image():
    # A network whose last conv map *is* the image and whose output is its sum:
    # Grad-CAM then equals the image, so feature j's value is the mean of its
    # own pixel. Reading (col, row) instead would hit empty pixels.
    from skpermgrad.models import TintoRender

    rng = np.random.default_rng(0)
    X = rng.uniform(size=(40, 5)) * np.array([1, 2, 3, 4, 5])
    imager = TintoImager(pixels=7, random_state=0).fit(X)
    rows, cols = imager.feature_positions_.T
    assert not np.array_equal(rows, cols)
    weights, mode = imager.get_render_weights()
    tab = keras.Input((5,), name="tabular")
    val = keras.Input((5,), name="image_input")
    img = TintoRender(weights, mode, 7, name="image")(val)
    conv = keras.layers.Conv2D(
        1, 1, kernel_initializer="ones", bias_initializer="zeros", name="last_conv"
    )(img)
    both = keras.layers.Concatenate()([keras.layers.Flatten()(conv), tab])
    out_layer = keras.layers.Dense(1, name="output")
    out = out_layer(both)
    out_layer.set_weights([np.r_[np.ones(49), np.zeros(5)][:, None], np.zeros(1)])
    model = keras.Model([tab, val], out)
    values = imager.transform_values(X)
    cam = _gradcam(model, values, imager.feature_positions_, 7, 1, batch_size=16)[0]
    np.testing.assert_allclose(cam, values.mean(axis=0), rtol=1e-5)


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
