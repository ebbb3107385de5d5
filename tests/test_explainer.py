"""PermGradExplainer: fitting, delegation, selection, prefit, errors."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import is_classifier, is_regressor
from sklearn.compose import make_column_transformer
from sklearn.exceptions import NotFittedError
from sklearn.feature_selection import SelectFromModel
from sklearn.linear_model import Ridge
from sklearn.model_selection import StratifiedKFold, check_cv, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

keras = pytest.importorskip("keras")

from _tiny import FAST  # noqa: E402

from skpermgrad import (  # noqa: E402
    HybridClassifier,
    HybridRegressor,
    PermGradExplainer,
    TintoImager,
)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(200, 5))
    y = 3 * X[:, 0] + X[:, 1] + 0.05 * rng.normal(size=200)
    return X, y


def _regressor():
    return HybridRegressor(TintoImager(pixels=4), **FAST)


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return PermGradExplainer(_regressor(), n_repeats=2, random_state=0).fit(X, y)


def test_fitted_attributes_and_delegation(fitted, data):
    X, y = data
    assert fitted.importances_.shape == (5,)
    np.testing.assert_array_equal(fitted.feature_importances_, fitted.importances_)
    assert fitted.permutation_.importances.shape == (5, 2)
    assert fitted.gradcam_.shape == (5,)
    assert sum(fitted.branch_weights_.values()) == pytest.approx(1.0)
    assert fitted.explanation_.importances is fitted.importances_
    np.testing.assert_array_equal(fitted.predict(X), fitted.estimator_.predict(X))
    assert fitted.score(X, y) == fitted.estimator_.score(X, y)
    assert is_regressor(fitted) and not hasattr(fitted, "predict_proba")
    assert fitted.estimator_.n_features_in_ == 5


def test_same_random_state_same_explanation(fitted, data):
    X, y = data
    again = PermGradExplainer(_regressor(), n_repeats=2, random_state=0).fit(X, y)
    np.testing.assert_array_equal(again.importances_, fitted.importances_)
    np.testing.assert_array_equal(
        again.permutation_.importances, fitted.permutation_.importances
    )


def test_selection_threshold_and_max_features(fitted, data):
    X, _ = data
    scores = fitted.feature_importances_
    assert fitted.threshold_ == pytest.approx(scores.mean())
    np.testing.assert_array_equal(fitted.get_support(), scores >= scores.mean())
    top2 = np.sort(np.argsort(-scores)[:2])
    fitted.set_params(max_features=2)
    try:
        np.testing.assert_array_equal(fitted.get_support(indices=True), top2)
        np.testing.assert_array_equal(fitted.transform(X), X[:, top2])
        np.testing.assert_array_equal(
            fitted.get_feature_names_out(), [f"x{i}" for i in top2]
        )
        fitted.set_params(max_features=None, threshold="median")
        assert fitted.threshold_ == pytest.approx(np.median(scores))
        fitted.set_params(threshold="0.5*mean")
        assert fitted.threshold_ == pytest.approx(0.5 * scores.mean())
        fitted.set_params(threshold="twice*mean")
        with pytest.raises(ValueError, match="factor 'twice' is not a number"):
            fitted.transform(X)
        fitted.set_params(threshold="max")
        with pytest.raises(ValueError, match="'mean', 'median'"):
            fitted.transform(X)
    finally:
        fitted.set_params(max_features=None, threshold=None)


def test_selector_in_a_pipeline_and_for_select_from_model(data):
    X, y = data
    pipe = make_pipeline(
        PermGradExplainer(_regressor(), n_repeats=1, max_features=2, random_state=0),
        Ridge(),
    ).fit(X, y)
    assert pipe[-1].coef_.shape == (2,)
    scores = pipe[0].feature_importances_
    top = np.zeros(5, bool)
    top[np.argsort(-scores, kind="mergesort")[:2]] = True
    np.testing.assert_array_equal(pipe[0].get_support(), top)
    # threshold=None means no threshold with max_features here; SelectFromModel
    # applies "mean" then, so its equivalent is threshold=-inf. It ranks by
    # |score|, the explainer by the score (a negative drop is no importance):
    # they agree where no score is negative.
    selector = SelectFromModel(pipe[0], prefit=True, max_features=2, threshold=-np.inf)
    if np.all(scores >= 0):
        np.testing.assert_array_equal(selector.get_support(), pipe[0].get_support())
    else:
        assert selector.get_support().sum() == 2


def test_prefit_explains_a_copy_of_the_fitted_estimator(data):
    X, y = data
    hybrid = _regressor().fit(X[:150], y[:150])
    explainer = PermGradExplainer(hybrid, prefit=True, n_repeats=1, random_state=0)
    explainer.fit(X[150:], y[150:])
    # a deep copy, as SelectFromModel(prefit=True) keeps: same predictions,
    # nothing shared with the user's estimator
    assert explainer.estimator_ is not hybrid
    assert explainer.estimator_.model_ is not hybrid.model_
    np.testing.assert_array_equal(explainer.predict(X[:5]), hybrid.predict(X[:5]))
    with pytest.raises(NotFittedError):
        PermGradExplainer(_regressor(), prefit=True).fit(X, y)


@pytest.mark.slow
def test_classifier_is_stratified_and_delegates_proba():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(120, 5))
    y = np.where(X[:, 0] > 0, "pos", "neg")
    explainer = PermGradExplainer(
        HybridClassifier(TintoImager(pixels=4), **FAST),
        n_repeats=1,
        random_state=0,
        fusion="branch_weights",
        cnn_importance="gradcam",  # per class
    )
    assert is_classifier(explainer)
    assert isinstance(
        check_cv(3, y, classifier=is_classifier(explainer)), StratifiedKFold
    )
    explainer.fit(X, y)
    np.testing.assert_array_equal(explainer.classes_, ["neg", "pos"])
    assert explainer.importances_.shape == (2, 5)
    np.testing.assert_allclose(
        explainer.feature_importances_, explainer.importances_.mean(axis=0)
    )
    assert explainer.predict_proba(X[:4]).shape == (4, 2)
    scores = cross_val_score(explainer, X, y, cv=2, scoring="roc_auc")
    assert np.all(np.isfinite(scores))
    # the image permutation is one score for all classes
    explainer.set_params(cnn_importance="permutation", max_features=2).fit(X, y)
    assert explainer.explanation_.cnn_importance == "permutation"
    assert explainer.importances_.shape == (5,)
    np.testing.assert_array_equal(
        explainer.feature_importances_, explainer.importances_
    )
    assert explainer.transform(X).shape == (120, 2)


def test_selection_of_the_users_columns_through_an_encoder():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"a": rng.normal(size=60), "b": rng.normal(size=60), "c": ["u", "v"] * 30}
    )
    y = frame["a"].to_numpy()
    pipe = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(sparse_output=False), ["c"]), remainder="passthrough"
        ),
        HybridRegressor(TintoImager(pixels=4), **FAST),
    )
    # the one-hot columns of c are one group: the explanation is per column of X
    explainer = PermGradExplainer(pipe, n_repeats=1, random_state=0).fit(frame, y)
    assert list(explainer.explanation_.feature_names) == ["c", "a", "b"]
    np.testing.assert_array_equal(
        explainer.feature_importances_,
        np.atleast_2d(explainer.importances_).mean(axis=0)[[1, 2, 0]],
    )
    assert explainer.transform(frame).shape[0] == 60
    assert explainer.predict(frame).shape == (60,)
    # without groups it covers the encoder's columns: no selection of X's
    ungrouped = PermGradExplainer(
        pipe, n_repeats=1, random_state=0, feature_groups=None
    ).fit(frame, y)
    assert list(ungrouped.explanation_.feature_names) == [
        "onehotencoder__c_u",
        "onehotencoder__c_v",
        "remainder__a",
        "remainder__b",
    ]
    with pytest.raises(ValueError, match="covers the 4 features .* X has 3 columns"):
        ungrouped.transform(frame)


def test_errors(data):
    X, y = data
    with pytest.raises(ValueError, match="leaves none to fit on"):
        PermGradExplainer(_regressor(), validation_fraction=0.99).fit(X[:2], y[:2])
    with pytest.raises(ValueError, match="'n_repeats' parameter"):
        PermGradExplainer(_regressor(), n_repeats=0).fit(X, y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        PermGradExplainer(_regressor()).fit(X, y[:-1])
    with pytest.raises(TypeError, match="sparse input"):
        from scipy.sparse import csr_matrix

        PermGradExplainer(_regressor()).fit(csr_matrix(X), y)


def test_sample_weight_on_one_class_only_is_refused():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(40, 5))
    y = np.where(X[:, 0] > 0, "pos", "neg")
    explainer = PermGradExplainer(
        HybridClassifier(TintoImager(pixels=4), **FAST), n_repeats=1, random_state=0
    )
    with pytest.raises(ValueError, match=r"Only the class\(es\) \['pos'\] have rows"):
        explainer.fit(X, y, sample_weight=(y == "pos").astype(float))


def test_sample_weight_reaches_a_pipelines_hybrid_and_bad_weights_are_refused():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(60, 5))
    y = 2 * X[:, 0] + X[:, 1]
    pipeline = make_pipeline(
        StandardScaler(), HybridRegressor(TintoImager(pixels=4), **FAST)
    )
    explainer = PermGradExplainer(pipeline, n_repeats=1, random_state=0)
    weights = np.linspace(0.5, 1.5, 60)
    assert explainer.fit(X, y, sample_weight=weights).explanation_ is not None
    with pytest.raises(ValueError, match="Negative values .* `sample_weight`"):
        explainer.fit(X, y, sample_weight=-weights)
    with pytest.raises(ValueError, match="sample_weight.shape"):
        explainer.fit(X, y, sample_weight=weights[:-1])
    with pytest.raises(ValueError, match="at least one non-zero"):
        explainer.fit(X, y, sample_weight=np.zeros(60))
