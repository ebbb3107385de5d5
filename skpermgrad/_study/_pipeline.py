"""The study's pipeline, its baselines and its test metrics."""

import math

import numpy as np
import pandas as pd

from ._data import _is_numeric


def make_pipeline(X, task, *, epochs, seed, image="igtd", progress):
    """Imputation and one-hot encoding, then the hybrid network.

    Numeric and boolean columns keep their names (median imputation; a
    boolean is 0/1; numbers first, then booleans); string and categorical
    columns become one 0/1 column per category named
    ``<column>_<category>`` (most-frequent imputation). The image is the
    method named ``image`` (the hybrids' default: an IGTD layout of the
    encoded columns), seeded by ``seed``.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    from ..models import HybridClassifier, HybridRegressor

    booleans = [c for c in X.columns if pd.api.types.is_bool_dtype(X[c])]
    numeric = [c for c in X.columns if _is_numeric(X[c]) and c not in booleans]
    categorical = [c for c in X.columns if not _is_numeric(X[c])]
    encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    # numbers and booleans apart, so that predict can refuse one for the other
    columns = ColumnTransformer(
        [
            ("numeric", SimpleImputer(strategy="median"), numeric),
            ("boolean", SimpleImputer(strategy="median"), booleans),
            (
                "categorical",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="most_frequent")),
                        ("onehot", encoder),
                    ]
                ),
                categorical,
            ),
        ],
        verbose_feature_names_out=False,
    )
    hybrid_class = HybridRegressor if task == "regression" else HybridClassifier
    # epochs None: the hybrid's own default (early stopping ends most fits)
    hybrid = hybrid_class(
        imager=image,
        random_state=seed,
        callbacks=progress,
        **({} if epochs is None else {"epochs": epochs}),
    )
    return Pipeline([("columns", columns), ("hybrid", hybrid)])


def metrics(task, estimator, X, y):
    """Test metrics: MAE, MSE, RMSE, MAPE, R² or accuracy, balanced accuracy,
    macro F1, ROC AUC (one-vs-rest for several classes) and log loss."""
    from sklearn import metrics as m

    if task == "regression":
        pred = estimator.predict(X)
        mse = m.mean_squared_error(y, pred)
        return {
            "mae": m.mean_absolute_error(y, pred),
            "mse": mse,
            "rmse": math.sqrt(mse),
            # undefined (divides by |y|) when a target value is 0
            "mape": m.mean_absolute_percentage_error(y, pred)
            if np.all(np.asarray(y) != 0)
            else None,
            "r2": m.r2_score(y, pred),
        }
    proba = estimator.predict_proba(X)
    classes = estimator.classes_
    pred = classes[np.argmax(proba, axis=1)]
    # one-vs-rest ROC AUC, the macro mean over the classes the rows hold (a
    # rare class may be missing from a test set or fold: its AUC is undefined)
    present = [k for k, c in enumerate(classes) if 0 < np.sum(y == c) < len(y)]
    if len(classes) == 2:
        present = present[1:]
    auc = (
        float(np.mean([m.roc_auc_score(y == classes[k], proba[:, k]) for k in present]))
        if present
        else None
    )
    return {
        "accuracy": m.accuracy_score(y, pred),
        "balanced_accuracy": m.balanced_accuracy_score(y, pred),
        "f1_macro": m.f1_score(y, pred, average="macro"),
        "roc_auc": auc,
        "log_loss": m.log_loss(y, proba, labels=classes),
    }


def baselines(pipeline, task, seed):
    """HistGradientBoosting on the same columns, and the single-branch hybrids."""
    from sklearn.base import clone
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
    )
    from sklearn.pipeline import Pipeline

    hgb = (
        HistGradientBoostingRegressor
        if task == "regression"
        else HistGradientBoostingClassifier
    )(random_state=seed)
    return {
        "hist_gradient_boosting": Pipeline(
            [("columns", clone(pipeline[0])), ("model", hgb)]
        ),
        "mlp_only": clone(pipeline).set_params(hybrid__branches="mlp"),
        "cnn_only": clone(pipeline).set_params(hybrid__branches="cnn"),
    }


# the metric each comparison is made on, and whether lower is better
MAIN_METRIC = {"regression": ("rmse", True), "classification": ("accuracy", False)}
N_BOOTSTRAP = 1000
# below this many test rows no verdict is given: a bootstrap of a handful of
# rows has too few distinct resamples for its percentiles to mean anything
MIN_TEST_ROWS = 30


def compare(task, y, models, X, seed):
    """The hybrid against each other model on the test rows: the difference of
    the main metric (RMSE, accuracy) with a 95% bootstrap interval over the
    rows, and the verdict ``ahead``, ``behind`` or ``tie`` (the interval
    holds 0: the two cannot be told apart on this table), or ``too_few_rows``
    on fewer than ``MIN_TEST_ROWS`` test rows."""
    metric, lower_is_better = MAIN_METRIC[task]
    y = np.asarray(y)
    predictions = {label: np.asarray(m.predict(X)) for label, m in models.items()}
    rows = np.random.default_rng(seed).integers(0, len(y), (N_BOOTSTRAP, len(y)))

    def score(prediction, rows):
        if task == "regression":
            return np.sqrt(np.mean((y[rows] - prediction[rows]) ** 2, axis=-1))
        return np.mean(y[rows] == prediction[rows], axis=-1)

    every_row = np.arange(len(y))
    hybrid = predictions.pop("hybrid")
    hybrid_score, hybrid_draws = score(hybrid, every_row), score(hybrid, rows)
    verdicts = []
    for label, prediction in predictions.items():
        other = score(prediction, every_row)
        low, high = np.percentile(hybrid_draws - score(prediction, rows), [2.5, 97.5])
        better = (high < 0) if lower_is_better else (low > 0)
        worse = (low > 0) if lower_is_better else (high < 0)
        verdict = "ahead" if better else "behind" if worse else "tie"
        if len(y) < MIN_TEST_ROWS:
            verdict = "too_few_rows"
        verdicts.append(
            {
                "model": label,
                "metric": metric,
                "hybrid": float(hybrid_score),
                "other": float(other),
                "difference": float(hybrid_score - other),
                "ci_low": float(low),
                "ci_high": float(high),
                "verdict": verdict,
            }
        )
    return verdicts
