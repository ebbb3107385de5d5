"""Every bad input to the library gets a clear one-line error naming it.

One table, each case named: what is called, the error type and a fragment of
its message. (The command line's cases are tables in ``test_cli.py``.)
"""

import warnings

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("keras")

from _tiny import FAST  # noqa: E402

from skpermgrad import (  # noqa: E402
    GradCAMDisplay,
    HybridClassifier,
    HybridRegressor,
    PermGradDisplay,
    PermGradExplainer,
    RowExplanationDisplay,
    TintoImager,
    explain_rows,
    permgrad_importance,
)

RNG = np.random.default_rng(0)
X = RNG.uniform(-1, 1, size=(60, 5))
Y = 2 * X[:, 0] + X[:, 1]
LABELS = np.where(X[:, 0] > 0, "pos", "neg")
FRAME = pd.DataFrame(X, columns=list("abcde"))
# the columns of FRAME reordered (b before a), renamed and one missing
REORDERED = FRAME[list("bacde")]
RENAMED = FRAME.set_axis(list("vwxyz"), axis=1)
MISSING = FRAME[list("abcd")]
NAMES_DIFFER = "X: The feature names should match those that were passed during fit"


def _reg(**params):
    return HybridRegressor(TintoImager(pixels=4), **{**FAST, **params})


@pytest.fixture(scope="module")
def fitted():
    return _reg().fit(FRAME, Y)


CASES = {
    "imager: text column": (
        lambda f: TintoImager(pixels=4).fit(FRAME.assign(c="x")),
        ValueError,
        "these columns are not numeric: {'c'",
    ),
    "imager: one feature": (
        lambda f: TintoImager(pixels=4).fit(X[:, :1]),
        ValueError,
        "minimum of 2 is required",
    ),
    "imager: a range float64 cannot hold": (
        lambda f: TintoImager(pixels=4).fit(np.c_[X[:, :2], [-1.7e308, 1.7e308] * 30]),
        ValueError,
        "column(s) ['x2'] span more than float64 can hold",
    ),
    "imager: an image larger than the memory": (
        lambda f: TintoImager(pixels=10**6).fit(X),
        ValueError,
        "features needs 8.38e+03 GiB to fit, more than this machine's",
    ),
    "imager: unknown option": (
        lambda f: TintoImager(algorithm="umap").fit(X),
        ValueError,
        "'algorithm' parameter",
    ),
    "hybrid: SciKeras's model=": (
        lambda f: _reg(model=object()).fit(X, Y),
        ValueError,
        "builds its own network (explanations look its layers up by name), so model=",
    ),
    "hybrid: SciKeras's build_fn=": (
        lambda f: _reg(build_fn=lambda: None).fit(X, Y),
        ValueError,
        "so build_fn= is not supported",
    ),
    "hybrid: SciKeras's validation_split": (
        lambda f: _reg(validation_split=0.2).fit(X, Y),
        ValueError,
        "pass validation_fraction instead",
    ),
    "hybrid: text column": (
        lambda f: _reg().fit(FRAME.assign(c="x"), Y),
        ValueError,
        "needs numeric columns",
    ),
    "hybrid: unknown keyword": (
        lambda f: _reg(colour="red").fit(X, Y),
        TypeError,
        "unexpected parameter(s) ['colour']",
    ),
    "hybrid: 2-column target": (
        lambda f: _reg().fit(X, np.c_[Y, Y]),
        ValueError,
        "predicts one target",
    ),
    "hybrid: no target": (
        lambda f: _reg().fit(X, None),
        ValueError,
        "requires y to be passed",
    ),
    "hybrid: unknown MLP input": (
        lambda f: _reg(mlp_input="rank").fit(X, Y),
        ValueError,
        "'mlp_input' parameter",
    ),
    "classifier: one class": (
        lambda f: HybridClassifier(TintoImager(pixels=4), **FAST).fit(
            X, np.full(60, "a")
        ),
        ValueError,
        "only one class",
    ),
    "hybrid: negative sample weights": (
        lambda f: _reg().fit(X, Y, sample_weight=-np.ones(60)),
        ValueError,
        "Negative values in data passed to `sample_weight`",
    ),
    "classifier: continuous target": (
        lambda f: HybridClassifier(TintoImager(pixels=4), **FAST).fit(X, Y),
        ValueError,
        "Unknown label type: continuous (e.g. ",
    ),
    "classifier: a new class on a warm start": (
        lambda f: (
            HybridClassifier(TintoImager(pixels=4), **FAST, warm_start=True)
            .fit(X, LABELS)
            .fit(X, np.where(X[:, 1] > 0, "new", LABELS))
        ),
        ValueError,
        "y holds class(es) ['new'] that the fitted HybridClassifier has not seen",
    ),
    "classifier: a new class in partial_fit": (
        lambda f: (
            HybridClassifier(TintoImager(pixels=4), **FAST)
            .fit(X, LABELS)
            .partial_fit(X, np.where(X[:, 1] > 0, "new", LABELS))
        ),
        ValueError,
        "a warm start or partial_fit keeps the classes of the first fit",
    ),
    "hybrid: reordered columns": (
        lambda f: f.predict(FRAME[list("edcba")]),
        ValueError,
        "feature names",
    ),
    "hybrid: wrong number of features": (
        lambda f: f.predict(X[:, :4]),
        ValueError,
        "X has 4 features, but HybridRegressor is expecting 5",
    ),
    "explanation: one row": (
        lambda f: permgrad_importance(f, FRAME[:1], Y[:1]),
        ValueError,
        "score on the 1 row(s) explained is nan",
    ),
    "explanation: constant y under R²": (
        lambda f: permgrad_importance(f, FRAME, np.zeros(60)),
        ValueError,
        "constant",
    ),
    "explanation: max_samples selects no row": (
        lambda f: permgrad_importance(f, FRAME, Y, max_samples=1e-9),
        ValueError,
        "selects no row",
    ),
    "explanation: not a hybrid": (
        lambda f: permgrad_importance(
            __import__("sklearn.linear_model").linear_model.Ridge().fit(X, Y), X, Y
        ),
        TypeError,
        "explains a fitted HybridRegressor or HybridClassifier",
    ),
    "explanation: unknown fusion": (
        lambda f: permgrad_importance(f, FRAME, Y, fusion="mean"),
        ValueError,
        "'fusion' parameter",
    ),
    # an explanation checks the columns as predict does: never a number under
    # the wrong column's name
    "explanation: reordered columns": (
        lambda f: permgrad_importance(f, REORDERED, Y),
        ValueError,
        NAMES_DIFFER,
    ),
    "explanation: renamed columns": (
        lambda f: permgrad_importance(f, RENAMED, Y),
        ValueError,
        NAMES_DIFFER,
    ),
    "explanation: missing column": (
        lambda f: permgrad_importance(f, MISSING, Y),
        ValueError,
        "Feature names seen at fit time, yet now missing",
    ),
    "explanation: too few columns": (
        lambda f: permgrad_importance(f, X[:, :4], Y),
        ValueError,
        "X has 4 features, but HybridRegressor is expecting 5",
    ),
    "explanation in a Pipeline: reordered columns": (
        lambda f: permgrad_importance(
            __import__("sklearn.pipeline")
            .pipeline.make_pipeline(
                __import__("sklearn.preprocessing").preprocessing.StandardScaler(),
                _reg(),
            )
            .fit(FRAME, Y),
            REORDERED,
            Y,
        ),
        ValueError,
        "The feature names should match those that were passed during fit",
    ),
    "explain_rows: reordered columns": (
        lambda f: explain_rows(f, REORDERED),
        ValueError,
        NAMES_DIFFER,
    ),
    "explain_rows: reordered background": (
        lambda f: explain_rows(f, FRAME[:3], background=REORDERED),
        ValueError,
        "background: The feature names should match",
    ),
    "explain_rows: background of another width": (
        lambda f: explain_rows(f, X[:3], background=X[:, :4]),
        ValueError,
        "background has 4 features, but HybridRegressor is expecting 5",
    ),
    "explainer (prefit): reordered columns": (
        lambda f: PermGradExplainer(f, prefit=True, n_repeats=1).fit(REORDERED, Y),
        ValueError,
        NAMES_DIFFER,
    ),
    "PermGradDisplay: renamed columns": (
        lambda f: PermGradDisplay.from_estimator(f, RENAMED, Y),
        ValueError,
        NAMES_DIFFER,
    ),
    "GradCAMDisplay: reordered columns": (
        lambda f: GradCAMDisplay.from_estimator(f, REORDERED, Y),
        ValueError,
        NAMES_DIFFER,
    ),
    "RowExplanationDisplay: reordered columns": (
        lambda f: RowExplanationDisplay.from_estimator(f, REORDERED),
        ValueError,
        NAMES_DIFFER,
    ),
    "explain_rows: one row, no background": (
        lambda f: explain_rows(f, FRAME[:1]),
        ValueError,
        "needs baselines",
    ),
    "explainer: negative sample weights": (
        lambda f: PermGradExplainer(_reg(), n_repeats=1).fit(
            X, Y, sample_weight=-np.ones(60)
        ),
        ValueError,
        "Negative values",
    ),
    "explainer: weights on one class": (
        lambda f: PermGradExplainer(
            HybridClassifier(TintoImager(pixels=4), **FAST), n_repeats=1
        ).fit(X, LABELS, sample_weight=(LABELS == "pos").astype(float)),
        ValueError,
        "Only the class(es) ['pos']",
    ),
    "classifier: a missing label": (
        lambda f: HybridClassifier(TintoImager(pixels=4), **FAST).fit(
            X, np.where(np.arange(60) == 3, None, LABELS)
        ),
        ValueError,
        "y has 1 missing value(s) (the first in row 3)",
    ),
    "regressor: a target whose squares overflow": (
        lambda f: _reg().fit(X, Y * 1e300),
        ValueError,
        "y holds values up to 2.",
    ),
    "regressor: an unscaled target beyond float32": (
        lambda f: _reg(scale_target=False).fit(X, Y * 1e40),
        ValueError,
        "too large for float32",
    ),
    "explanation: a classification scoring for a regressor": (
        lambda f: permgrad_importance(f, FRAME, Y, scoring="accuracy"),
        ValueError,
        "scoring='accuracy' cannot score the predictions of this HybridRegressor",
    ),
    "explanation: a probability scoring for a regressor": (
        lambda f: permgrad_importance(f, FRAME, Y, scoring="neg_log_loss"),
        ValueError,
        "pass a scoring for a regressor",
    ),
    "explanation: a regression scoring for string classes": (
        lambda f: permgrad_importance(
            HybridClassifier(TintoImager(pixels=4), **FAST).fit(X, LABELS),
            X,
            LABELS,
            scoring="r2",
        ),
        ValueError,
        "pass a scoring for a classifier",
    ),
    # names that are not strings are refused (scikit-learn ignores them, so a
    # reordered frame would be read by position); 0..n-1 in order is an array
    "hybrid: integer column names": (
        lambda f: _reg().fit(FRAME.set_axis([4, 3, 2, 1, 0], axis=1), Y),
        ValueError,
        "which must be strings; these are not: [4, 3, 2, 1, 0]",
    ),
    "imager: a MultiIndex header": (
        lambda f: TintoImager(pixels=4).fit(
            FRAME.set_axis(pd.MultiIndex.from_product([["g"], list("abcde")]), axis=1)
        ),
        ValueError,
        "join the levels",
    ),
    "hybrid on default names: reordered columns": (
        lambda f: (
            _reg().fit(pd.DataFrame(X), Y).predict(pd.DataFrame(X)[[1, 0, 2, 3, 4]])
        ),
        ValueError,
        "these are not: [1, 0, 2, 3, 4]",
    ),
    "explanation on default names: reordered columns": (
        lambda f: permgrad_importance(
            _reg().fit(pd.DataFrame(X), Y), pd.DataFrame(X)[[1, 0, 2, 3, 4]], Y
        ),
        ValueError,
        "Name the columns with strings",
    ),
    "explainer: nothing left to fit on": (
        lambda f: PermGradExplainer(_reg(), validation_fraction=0.99).fit(X[:2], Y[:2]),
        ValueError,
        "leaves none to fit on",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_gets_a_clear_error(case, fitted):
    call, error, fragment = CASES[case]
    with pytest.raises(error) as info:
        call(fitted)
    message = str(info.value)
    assert fragment in message, message


@pytest.mark.parametrize("factor", [1e-20, 1e-50, 1e-300])
def test_a_column_of_tiny_values_is_scaled_by_its_own_range(factor):
    # MinMaxScaler scales a range below 10 epsilons by 1: the column was flat
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "few float64 steps" warning either
        imager = TintoImager(pixels=4).fit(X * factor)
    np.testing.assert_allclose(
        imager.transform_values(X * factor),
        TintoImager(pixels=4).fit(X).transform_values(X),
        atol=1e-6,
    )


def test_a_range_too_small_to_invert_is_refused():
    column = np.arange(60) * 1e-320  # subnormal: 1 / range overflows
    with pytest.raises(ValueError, match=r"column\(s\) \['x2'\] vary by less than"):
        TintoImager(pixels=4).fit(np.c_[X[:, :2], column])


def test_default_column_positions_read_as_an_array(fitted):
    frame = pd.DataFrame(X)  # columns 0..4, as from an array
    reg = _reg().fit(frame, Y)
    np.testing.assert_allclose(reg.predict(frame), reg.predict(X))
    assert not hasattr(reg, "feature_names_in_")


def test_a_column_varying_below_float_resolution_warns_once():
    column = 1.0 + np.arange(60) % 3 * np.finfo(float).eps
    frame = FRAME.assign(c=column)
    with pytest.warns(UserWarning, match=r"column\(s\) \['c'\] vary by fewer than"):
        TintoImager(pixels=4).fit(frame)
