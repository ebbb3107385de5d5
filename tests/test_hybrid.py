"""HybridRegressor / HybridClassifier: sklearn semantics, reproducibility, search."""

import pickle
import random
import subprocess
import sys
import textwrap
import threading

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.datasets import make_classification
from sklearn.ensemble import StackingRegressor, VotingClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedKFold,
    check_cv,
    cross_val_score,
    cross_validate,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

keras = pytest.importorskip("keras")

from _tiny import TINY, assert_network_draws_the_image  # noqa: E402

from skpermgrad import HybridClassifier, HybridRegressor, TintoImager  # noqa: E402
from skpermgrad.models import build_hybrid_model  # noqa: E402


def tiny_regressor(**params):
    return HybridRegressor(**{"imager": TintoImager(pixels=4), **TINY, **params})


def tiny_classifier(**params):
    return HybridClassifier(**{"imager": TintoImager(pixels=4), **TINY, **params})


@pytest.fixture(scope="module")
def binary():
    X, y = make_classification(80, 9, n_informative=4, random_state=0)
    return X, y


@pytest.fixture(scope="module")
def multiclass():
    X, y = make_classification(
        90, 9, n_informative=5, n_classes=3, n_clusters_per_class=1, random_state=0
    )
    return X, np.array(["cat", "dog", "eel"])[y]


# --- item 3: named layers -------------------------------------------------------


def test_layers_have_documented_names(reg9):
    X, y = reg9
    names = {layer.name for layer in tiny_regressor().fit(X, y).model_.layers}
    for name in [
        "tabular",
        "image_input",
        "image",
        "mlp_output",
        "last_conv",
        "cnn_output",
        "concatenate",
        "output",
    ]:
        assert name in names
    assert isinstance(
        tiny_regressor().fit(X, y).model_.get_layer("last_conv"), keras.layers.Conv2D
    )


@pytest.mark.parametrize(
    "branches, inputs", [("mlp", ["tabular"]), ("cnn", ["image_input"])]
)
def test_single_branch_baselines(reg9, branches, inputs):
    X, y = reg9
    model = tiny_regressor(branches=branches).fit(X, y).model_
    assert [t.name for t in model.inputs] == inputs
    assert "concatenate" not in {layer.name for layer in model.layers}


def test_image_rendered_in_graph_equals_imager(reg9):
    X, y = reg9
    for imager in [
        TintoImager(pixels=5, random_state=0),
        TintoImager(pixels=5, blur=True, random_state=0),
        TintoImager(pixels=5, blur=True, option="max", zoom=2, channels=3),
    ]:
        reg = HybridRegressor(imager, **{**TINY, "n_conv_layers": 1}).fit(X, y)
        assert_network_draws_the_image(reg, X)


def test_builder_is_pure_and_explicit():
    model = build_hybrid_model(
        n_features=4,
        drawing=(
            "footprints",
            {"weights": np.eye(4, 16), "mode": "linear", "pixels": 4},
        ),
        n_conv_layers=2,
    )
    assert model.get_layer("image").output.shape[1:] == (4, 4, 1)
    assert model.output.shape[1:] == (1,)


# --- item 4: classifier and regressor semantics ---------------------------------


def test_classifier_string_labels_multiclass(multiclass):
    X, y = multiclass
    clf = tiny_classifier().fit(X, y)
    np.testing.assert_array_equal(clf.classes_, ["cat", "dog", "eel"])
    proba = clf.predict_proba(X)
    assert proba.shape == (90, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert set(clf.predict(X)) <= {"cat", "dog", "eel"}


def test_classifier_integer_labels_binary(binary):
    X, y = binary
    clf = tiny_classifier().fit(X, y + 5)
    np.testing.assert_array_equal(clf.classes_, [5, 6])
    assert clf.predict_proba(X).shape == (80, 2)
    assert clf.predict(X).dtype.kind == "i"


@pytest.mark.slow
def test_sample_weight_and_class_weight_change_the_fit(binary):
    X, y = binary
    train = dict(epochs=5, lr_schedule="constant", learning_rate=1e-2)
    base = tiny_classifier(**train).fit(X, y).predict_proba(X)
    weights = np.where(y == 1, 10.0, 0.1)
    weighted = tiny_classifier(**train).fit(X, y, sample_weight=weights)
    assert weighted.predict_proba(X)[:, 1].mean() > base[:, 1].mean() + 0.05
    skewed = tiny_classifier(class_weight={0: 0.1, 1: 10.0}, **train).fit(X, y)
    assert skewed.predict_proba(X)[:, 1].mean() > base[:, 1].mean() + 0.05


def test_regressor_target_is_standardised_and_restored(reg9):
    X, y = reg9
    y_big = y * 1000 + 5000
    reg = tiny_regressor(epochs=3).fit(X, y_big)
    enc = reg.target_encoder_
    assert enc.mean_ == pytest.approx(y_big.mean())
    assert enc.std_ == pytest.approx(y_big.std())
    pred = reg.predict(X)
    assert pred.shape == (60,)
    assert abs(pred.mean() - y_big.mean()) < 3 * y_big.std()
    raw = tiny_regressor(scale_target=False).fit(X, y_big).target_encoder_
    assert (raw.mean_, raw.std_) == (0.0, 1.0)


def test_regressor_refuses_2d_targets_and_warns_on_column(reg9):
    X, y = reg9
    with pytest.raises(ValueError, match="predicts one target; y has shape"):
        tiny_regressor().fit(X, np.c_[y, y])
    from sklearn.exceptions import DataConversionWarning

    with pytest.warns(DataConversionWarning):
        tiny_regressor().fit(X, y[:, None])


def test_early_stopping_on_internal_validation(reg9):
    X, y = reg9
    reg = tiny_regressor(epochs=30, validation_fraction=0.2, patience=2).fit(X, y)
    assert "val_loss" in reg.history_
    assert len(reg.history_["loss"]) <= 30


def test_the_train_step_is_traced_once(reg9, monkeypatch):
    # Python runs train_step only while TensorFlow traces it; Keras left alone
    # builds the optimizer inside the first trace, and TensorFlow traces again
    keras = pytest.importorskip("keras")
    traces = []
    train_step = keras.Model.train_step

    def counted(self, data):
        traces.append(1)
        return train_step(self, data)

    monkeypatch.setattr(keras.Model, "train_step", counted)
    X, y = reg9
    tiny_regressor(epochs=3).fit(X, y)
    assert len(traces) == 1


# --- item 5: tags and meta-estimators -------------------------------------------


def test_tags_make_sklearn_see_the_task(binary):
    assert is_regressor(tiny_regressor()) and not is_classifier(tiny_regressor())
    assert is_classifier(tiny_classifier()) and not is_regressor(tiny_classifier())
    X, y = binary
    assert isinstance(
        check_cv(3, y, classifier=is_classifier(tiny_classifier())), StratifiedKFold
    )


@pytest.mark.slow
@pytest.mark.parametrize("scoring", ["roc_auc", "neg_log_loss", "accuracy"])
def test_probability_scorers_work_binary(binary, scoring):
    X, y = binary
    scores = cross_val_score(tiny_classifier(), X, y, cv=2, scoring=scoring)
    assert np.all(np.isfinite(scores))


@pytest.mark.slow
def test_roc_auc_ovr_multiclass(multiclass):
    X, y = multiclass
    scores = cross_val_score(tiny_classifier(), X, y, cv=2, scoring="roc_auc_ovr")
    assert np.all(np.isfinite(scores))


def test_voting_classifier(binary):
    X, y = binary
    vote = VotingClassifier(
        [("hybrid", tiny_classifier()), ("lr", LogisticRegression())], voting="soft"
    ).fit(X, y)
    assert vote.predict_proba(X).shape == (80, 2)


@pytest.mark.slow
def test_stacking_and_transformed_target_regressors(reg9):
    X, y = reg9
    stack = StackingRegressor(
        [("hybrid", tiny_regressor()), ("ridge", Ridge())],
        final_estimator=Ridge(),
        cv=2,
    ).fit(X, y)
    assert stack.predict(X).shape == (60,)
    ttr = TransformedTargetRegressor(tiny_regressor(), transformer=StandardScaler())
    assert ttr.fit(X, y).predict(X).shape == (60,)


def test_pipeline_with_column_transformer_upstream(rng):
    frame = pd.DataFrame(rng.normal(size=(60, 5)), columns=list("abcde"))
    frame["colour"] = rng.choice(["red", "green", "blue"], size=60)
    y = frame["a"] * 2 + (frame["colour"] == "red")
    pre = ColumnTransformer(
        [("num", StandardScaler(), list("abcde")), ("cat", OneHotEncoder(), ["colour"])]
    )
    pipe = make_pipeline(pre, tiny_regressor())
    result = cross_validate(pipe, frame, y, cv=2)
    assert np.all(np.isfinite(result["test_score"]))


# --- item 6: reproducibility and global state -----------------------------------


@pytest.mark.slow
def test_same_seed_same_predictions_and_no_leaked_determinism(reg9):
    from tensorflow.python.framework import config

    X, y = reg9
    first = tiny_regressor().fit(X, y).predict(X)
    assert not config.is_op_determinism_enabled()
    second = tiny_regressor().fit(X, y).predict(X)
    np.testing.assert_array_equal(first, second)
    # an unseeded fit after a seeded one works (SciKeras 0.13 alone raises here)
    tiny_regressor(random_state=None, dropout=0.3).fit(X, y)
    state = np.random.get_state()[1].copy()
    tiny_regressor().fit(X, y)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def _weights(model):
    return [w.numpy().copy() for w in model.weights]


@pytest.mark.parametrize("seed", [3, None])
def test_a_seeded_network_draws_nothing_from_the_global_random_state(seed):
    # Keras seeds an unseeded initializer or dropout layer from Python's global
    # random state; a seeded build must not read it (another thread may draw)
    builds = []
    for state in (1, 2):
        random.seed(state)
        builds.append(
            build_hybrid_model(
                n_features=3,
                drawing=(
                    "footprints",
                    {"weights": np.eye(3, 4), "mode": "linear", "pixels": 2},
                ),
                ensemble_size=2,
                seed=seed,
            )
        )
    same = all(np.array_equal(a, b) for a, b in zip(*map(_weights, builds)))
    assert same == (seed is not None)
    dropouts = [
        layer.seed
        for layer in builds[0].layers
        if isinstance(layer, keras.layers.Dropout)
    ]
    assert len(dropouts) == 5
    if seed is not None:
        assert None not in dropouts and len(set(dropouts)) == len(dropouts)


def test_a_random_state_instance_seeds_the_network_by_its_state(reg9):
    # SciKeras 0.13 alone seeds every RandomState's network with 0
    X, y = reg9

    def weights(state):
        fitted = tiny_regressor(random_state=np.random.RandomState(state), epochs=1)
        return _weights(fitted.fit(X, y).model_)

    first, again, other = weights(1), weights(1), weights(2)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_seeded_fits_agree_while_another_thread_draws_random_numbers(reg9):
    X, y = reg9
    stop = threading.Event()

    def draw():
        while not stop.is_set():
            random.random()

    thread = threading.Thread(target=draw, daemon=True)
    thread.start()
    try:
        first, second = (tiny_regressor().fit(X, y).predict(X) for _ in range(2))
    finally:
        stop.set()
        thread.join()
    np.testing.assert_array_equal(first, second)


_SUBPROCESS = textwrap.dedent(
    """
    import numpy as np
    from sklearn.datasets import make_regression
    from skpermgrad import HybridRegressor, TintoImager
    X, y = make_regression(60, 9, noise=0.1, random_state=0)
    reg = HybridRegressor(TintoImager(pixels=4), n_dense_layers=1, dense_units=8,
                          n_conv_layers=1, base_filters=4, head_units=8, epochs=2,
                          validation_fraction=0.2, random_state=0).fit(X, y)
    np.save({path!r}, reg.predict(X))
    """
)


@pytest.mark.slow
def test_same_seed_same_predictions_across_processes(tmp_path):
    paths = [str(tmp_path / f"run{i}.npy") for i in range(2)]
    for path in paths:
        subprocess.run(
            [sys.executable, "-c", _SUBPROCESS.format(path=path)],
            check=True,
            capture_output=True,
        )
    np.testing.assert_array_equal(np.load(paths[0]), np.load(paths[1]))


# --- item 7: params, clone, persistence -----------------------------------------


def test_get_set_params_reach_the_imager():
    reg = tiny_regressor()
    params = reg.get_params()
    assert params["imager__pixels"] == 4 and params["dropout"] == 0.1
    reg.set_params(imager__pixels=6, dropout=0.2)
    assert reg.imager.pixels == 6 and reg.dropout == 0.2
    cloned = clone(reg)
    assert cloned.imager is not reg.imager and cloned.imager.pixels == 6


def test_invalid_parameters_are_named(reg9):
    X, y = reg9
    with pytest.raises(ValueError, match="'branches' parameter"):
        tiny_regressor(branches="all").fit(X, y)
    with pytest.raises(ValueError, match="'optimizer' parameter"):
        tiny_regressor(optimizer="sgd").fit(X, y)


@pytest.mark.slow
@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_round_trips_of_estimator_and_pipeline(reg9, tmp_path, dump):
    X, y = reg9
    for fitted in [
        tiny_regressor(imager=TintoImager(pixels=4, blur=True)).fit(X, y),
        make_pipeline(StandardScaler(), tiny_regressor()).fit(X, y),
    ]:
        expected = fitted.predict(X)
        if dump == "pickle":
            restored = pickle.loads(pickle.dumps(fitted))
        else:
            joblib.dump(fitted, tmp_path / "model.joblib")
            restored = joblib.load(tmp_path / "model.joblib")
        np.testing.assert_array_equal(restored.predict(X), expected)


# --- item 8: searches -----------------------------------------------------------


@pytest.mark.slow
def test_grid_search_over_dropout_and_imager_pixels(reg9):
    X, y = reg9
    grid = GridSearchCV(
        tiny_regressor(epochs=1),
        {"dropout": [0.1, 0.3], "imager__pixels": [4, 5]},
        cv=2,
    ).fit(X, y)
    assert len(grid.cv_results_["params"]) == 4
    assert grid.best_estimator_.feature_encoder_.imager_.pixels in (4, 5)


@pytest.mark.slow
def test_optuna_search_resumes_from_storage(reg9, tmp_path):
    optuna = pytest.importorskip("optuna")
    from optuna_integration import OptunaSearchCV

    from skpermgrad.model_selection import hybrid_search_space

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    X, y = reg9
    space = hybrid_search_space()
    # images of 4 pixels allow 2 conv layers; keep the search fast
    space["n_conv_layers"] = optuna.distributions.IntDistribution(1, 2)
    space["base_filters"] = optuna.distributions.IntDistribution(2, 4)
    storage = f"sqlite:///{tmp_path / 'study.db'}"

    def search():
        study = optuna.create_study(
            storage=storage,
            study_name="hybrid",
            direction="maximize",
            load_if_exists=True,
            sampler=optuna.samplers.RandomSampler(seed=0),
        )
        return OptunaSearchCV(
            tiny_regressor(epochs=1),
            space,
            cv=2,
            n_trials=2,
            study=study,
            random_state=0,
            error_score="raise",
        ).fit(X, y)

    first = search()
    assert len(first.study_.trials) == 2
    second = search()  # a second worker / a restart continues the same study
    assert len(second.study_.trials) == 4
    assert set(second.best_params_) <= set(space)


def test_compile_arguments_pass_through(reg9):
    X, y = reg9
    reg = HybridRegressor(
        TintoImager(pixels=4), **TINY, metrics=["mae"], run_eagerly=True
    ).fit(X, y)
    assert reg.model_.run_eagerly
    assert "mean_absolute_error" in reg.history_


def test_scikeras_fit_parameters_are_honoured(reg9, monkeypatch):
    """shuffle, validation_batch_size and warm_start do what their docs say."""
    import skpermgrad.models._base as hybrid_module

    X, y = reg9
    made = []

    class Recording(hybrid_module._Batches):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(hybrid_module, "_Batches", Recording)
    tiny_regressor(shuffle=False, validation_fraction=0.2, validation_batch_size=5).fit(
        X, y
    )
    val, train = made  # the validation batches are made first
    assert train._rng is None  # in order every epoch
    np.testing.assert_array_equal(train._order, train.rows)
    assert val.batch_size == 5 and train.batch_size == TINY.get(
        "batch_size", HybridRegressor().batch_size
    )
    made.clear()
    tiny_regressor(validation_fraction=0.2).fit(X, y)
    val, train = made
    assert train._rng is not None and val.batch_size == train.batch_size

    reg = tiny_regressor(warm_start=True).fit(X, y)
    first = reg.model_
    weights = [w.copy() for w in first.get_weights()]
    reg.fit(X, y)
    assert reg.model_ is first  # the same network, trained further
    assert any(not np.allclose(a, b) for a, b in zip(weights, first.get_weights()))


# --- feature names, as scikit-learn estimators check them (issue 13) -----------


@pytest.fixture(scope="module")
def named():
    X = pd.DataFrame(
        np.random.default_rng(0).normal(size=(120, 5)), columns=list("abcde")
    )
    return X, 2 * X.a + X.b


@pytest.mark.parametrize("make", [tiny_regressor, tiny_classifier])
def test_feature_names_are_learned_and_checked(named, make):
    X, y = named
    y = y if make is tiny_regressor else (y > 0).astype(int)
    est = make().fit(X, y)
    np.testing.assert_array_equal(est.feature_names_in_, list("abcde"))
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        est.predict(X[list("edcba")])
    renamed = X.rename(columns={"a": "z"})
    with pytest.raises(ValueError, match="Feature names unseen at fit time"):
        est.predict(renamed)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        est.predict(X.to_numpy())
    assert not hasattr(make().fit(X.to_numpy(), y), "feature_names_in_")


def test_explanations_name_the_dataframe_columns(named):
    from skpermgrad import permgrad_importance

    X, y = named
    reg = tiny_regressor().fit(X, y)
    result = permgrad_importance(reg, X, y, n_repeats=1, random_state=0)
    assert list(result.feature_names) == list("abcde")


def test_classifier_refuses_a_single_class(binary):
    X, _ = binary
    with pytest.raises(ValueError, match="only one class: 'a'"):
        tiny_classifier().fit(X, ["a"] * len(X))


def test_unclear_inputs_get_clear_answers(binary):
    X, y = binary
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    with pytest.raises(
        ValueError, match=r"needs numeric columns.*'f2': '(object|str)'"
    ):
        tiny_regressor().fit(frame.assign(f2="text"), y)
    with pytest.raises(TypeError, match=r"unexpected parameter\(s\) \['colour'\]"):
        tiny_regressor(colour=1).fit(X, y)
    labels = np.where(y == 1, "yes", "no")
    clf = tiny_classifier().fit(X, labels)
    # a label never seen in training (longer than the others) counts as an error
    unseen = np.where(y == 1, "certainly", "no")
    expected = np.mean(clf.predict(X) == unseen)
    assert clf.score(X, unseen) == pytest.approx(expected)


def test_repr_shows_only_changed_parameters():
    assert repr(HybridRegressor()) == "HybridRegressor()"
    assert repr(HybridClassifier(dropout=0.2, imager=TintoImager(pixels=4))) == (
        "HybridClassifier(dropout=0.2, imager=TintoImager(pixels=4))"
    )
    # inside a Pipeline too (scikit-learn's printer), SciKeras's defaults unshown
    pipe = make_pipeline(StandardScaler(), HybridRegressor(shuffle=False))
    assert "HybridRegressor(shuffle=False)" in repr(pipe)
    assert (
        "build_fn" not in repr(pipe)
        and "build_fn" not in HybridRegressor().get_params()
    )


@pytest.mark.parametrize("cls", [HybridRegressor, HybridClassifier])
def test_the_signature_and_the_docs_are_the_parameter_table(cls):
    # the knobs are written once, in models/_params.py; the explicit __init__
    # signatures (scikit-learn's rule) must give the same defaults, and the
    # docstring documents each
    import inspect

    from skpermgrad.models import _params

    own = (
        _params._REGRESSOR_PARAMS
        if cls is HybridRegressor
        else _params._CLASSIFIER_PARAMS
    )
    table = {name: p.default for name, p in {**_params._PARAMS, **own}.items()}
    signature = {
        name: p.default
        for name, p in inspect.signature(cls).parameters.items()
        if p.kind is not p.VAR_KEYWORD
    }
    assert signature == table
    assert set(signature) == set(cls().get_params())
    for name in table:
        assert f"\n    {name} : " in cls.__doc__


def test_a_fit_scales_X_once(reg9, monkeypatch):
    # the feature encoder's fit hands the network the training rows' inputs:
    # X is not scaled again for training (nor for the quantile knots)
    from skpermgrad.imaging import _base

    scaled, scale = [], _base._RootImager._scale

    def counted(self, X):
        scaled.append(len(X))
        return scale(self, X)

    monkeypatch.setattr(_base._RootImager, "_scale", counted)
    X, y = reg9
    weights = np.r_[np.zeros(5), np.ones(len(y) - 5)]  # zero-weight rows left out
    reg = HybridRegressor(TintoImager(pixels=4), **TINY).fit(X, y, weights)
    assert scaled == [len(X)]
    assert reg.predict(X[:3]).shape == (3,)
