"""What PermGrad's score drops are measured on: the rows explained and the scorer."""

from numbers import Integral

import numpy as np
from sklearn.base import is_classifier
from sklearn.metrics import check_scoring, log_loss, make_scorer


def _explained_rows(n_samples, max_samples, rng):
    """Indices of the rows explained (all, or ``max_samples`` drawn by ``rng``)."""
    n_rows = (
        max_samples
        if isinstance(max_samples, Integral)
        else int(max_samples * n_samples)
    )
    if n_rows > n_samples:
        raise ValueError(
            f"max_samples={max_samples} is more than the {n_samples} rows."
        )
    if n_rows < 1:
        raise ValueError(
            f"max_samples={max_samples} selects no row of the {n_samples} given; "
            "pass a row count (an int >= 1) or a larger fraction."
        )
    if n_rows == n_samples:
        return np.arange(n_samples)
    return rng.choice(n_samples, n_rows, replace=False)


def _explanation_scorer(hybrid, scoring, y):
    """The scorer of the score drops: ``scoring``, or by default R² for a
    regressor and the log loss for a classifier (accuracy rarely moves).

    Refuses a constant ``y`` under R², whose every drop would be undefined.
    """
    r2 = not is_classifier(hybrid) and scoring in (None, "r2")
    if r2 and len(y) > 1 and np.ptp(y.astype(float)) == 0:
        raise ValueError(
            f"y is constant ({y[0]}) on the {len(y)} rows explained: R² and every "
            "score drop are undefined (scikit-learn's R² reports 0 whatever the "
            "predictions). Explain on rows whose targets vary."
        )
    if scoring is None and is_classifier(hybrid):
        scoring = make_scorer(
            log_loss,
            greater_is_better=False,
            response_method="predict_proba",
            labels=hybrid.classes_,
        )
    return check_scoring(hybrid, scoring="r2" if scoring is None else scoring)


def _check_scorer_fits(scorer, scoring, estimator, hybrid, X, y):
    """Refuse a ``scoring`` that cannot score the ``estimator``'s predictions
    of ``y`` on the rows ``X`` (a classification metric for a regressor...):
    it would fail deep in scikit-learn's metrics ("continuous is not
    supported") after every forward pass, so it is scored once first and the
    error said with the scoring's name and the fix."""
    if scoring is None:
        return  # the defaults fit the hybrid's task
    try:
        scorer(estimator, X, y)
    except (ValueError, TypeError, AttributeError) as exc:
        task, example = (
            ("classifier", "'accuracy' or 'neg_log_loss'")
            if is_classifier(hybrid)
            else ("regressor", "'r2' or 'neg_root_mean_squared_error'")
        )
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ValueError(
            f"scoring={scoring!r} cannot score the predictions of this "
            f"{type(hybrid).__name__} ({type(exc).__name__}: {detail}); pass a "
            f"scoring for a {task}, e.g. {example}."
        ) from exc
