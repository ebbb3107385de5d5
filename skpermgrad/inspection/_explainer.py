"""PermGradExplainer: fit a hybrid, explain it on held-out rows, select features."""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from numbers import Integral, Real

import numpy as np
from numpy.typing import ArrayLike
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, MetaEstimatorMixin, _fit_context, clone
from sklearn.feature_selection import SelectorMixin
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing, check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import (
    _check_sample_weight,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)

from .._persistence import _VersionedPickleMixin
from .._validation import DEFAULT_CNN_IMPORTANCE, DEFAULT_FUSION, holdout_split
from ._fusion import (
    DEFAULT_SCALE,
    EXPLANATION_CONSTRAINTS,
)
from ._permgrad import permgrad_importance


def _estimator_has(method):
    """The fitted inner estimator if there is one, else the given one, has it."""

    def check(self):
        return hasattr(getattr(self, "estimator_", self.estimator), method)

    return check


def _threshold_value(threshold, importances):
    """A number from ``threshold``: a float, "mean", "median" or "<k>*mean"."""
    if not isinstance(threshold, str):
        return float(threshold)
    scale, _, reference = threshold.rpartition("*")
    references = {"mean": np.mean, "median": np.median}
    if reference.strip() not in references:
        raise ValueError(
            f"threshold={threshold!r} is not understood: use a number, 'mean', "
            "'median' or a scaled one such as '1.25*mean'."
        )
    try:
        factor = float(scale) if scale.strip() else 1.0
    except ValueError:
        raise ValueError(
            f"threshold={threshold!r}: the factor {scale.strip()!r} is not a number."
        ) from None
    return factor * float(references[reference.strip()](importances))


class PermGradExplainer(
    _VersionedPickleMixin, SelectorMixin, MetaEstimatorMixin, BaseEstimator
):
    """Fit a hybrid network, explain it with PermGrad, keep its important features.

    ``fit`` fits a clone of ``estimator`` on part of the rows (or takes it as
    already fitted with ``prefit=True``) and computes
    :func:`~skpermgrad.permgrad_importance` on the rows it did not see. The
    fitted explainer predicts with that estimator and, like
    :class:`~sklearn.feature_selection.SelectFromModel`, ``transform`` keeps the
    features whose fused PermGrad score passes ``threshold``, so it can sit in
    a Pipeline before another model.

    Parameters
    ----------
    estimator : HybridRegressor, HybridClassifier or Pipeline ending in one
        The model to explain (``branches="both"``).
    n_repeats : int, default=5
        Permutations per feature.
    n_bootstrap : int, default=100
        Bootstrap draws for the explanation's standard deviations and
        intervals (``explanation_``); each draw re-scores every permutation,
        so fewer draws explain faster.
    scoring : str, callable or None, default=None
        Scorer of the explanation; ``None`` uses R² or the log loss (see
        :func:`~skpermgrad.permgrad_importance`).
    threshold : float, str or None, default=None
        Features with ``feature_importances_ >= threshold`` are kept: a number,
        ``"mean"``, ``"median"`` or a scaled one like ``"1.25*mean"``. ``None``
        means ``"mean"``, or no threshold when ``max_features`` is set.
    max_features : int or None, default=None
        Keep at most this many features, the most important first.
    prefit : bool, default=False
        ``True``: ``estimator`` is already fitted; ``estimator_`` is a deep
        copy of it (as in :class:`~sklearn.feature_selection.SelectFromModel`:
        the user's estimator is never changed or shared) and every row given
        to ``fit`` is used for the explanation.
    validation_fraction : float or None, default=0.2
        Share of the rows held out from fitting (stratified for a classifier
        when every class has two rows) to explain on. ``None`` fits and
        explains on every row, which rewards memorised features.
    max_samples : int or float, default=1.0
        Rows of the explanation set used: a count or a fraction.
    permutation : {"branch", "model"}, default="branch"
        See :func:`~skpermgrad.permgrad_importance`.
    fusion : {"model_split", "branch_weights"}, default="model_split"
        How the parts make the fused score; see
        :func:`~skpermgrad.permgrad_importance`.
    cnn_importance : {"permutation", "integrated_gradients", "gradcam"}, \
default="permutation"
        The CNN branch's part of the fused score with
        ``fusion="branch_weights"``; see
        :func:`~skpermgrad.permgrad_importance`.
    scale : {"share", "minmax"}, default="share"
        How the parts are put on a common scale; see
        :func:`~skpermgrad.permgrad_importance`.
    feature_groups : "auto", dict or None, default="auto"
        Columns explained together; with ``"auto"`` a Pipeline that one-hot
        encodes a column is explained per column of ``X``, so ``transform``
        can select ``X``'s columns. See
        :func:`~skpermgrad.permgrad_importance`.
    batch_size : int, default=1024
        Rows per block of the explanation.
    n_jobs : int or None, default=None
        Threads of the explanation; results do not depend on it.
    random_state : int, RandomState instance or None, default=None
        Seeds the split, the permutations and the row subsample (the
        estimator keeps its own ``random_state``).
    verbose : int, default=0
        Progress of the explanation on stderr.

    Attributes
    ----------
    estimator_ : estimator
        The fitted estimator that predicts and was explained.
    explanation_ : :class:`~sklearn.utils.Bunch`
        Everything :func:`~skpermgrad.permgrad_importance` returned; pass it to
        :meth:`PermGradDisplay.from_result` or :meth:`GradCAMDisplay.from_result`.
    importances_ : ndarray of shape (n_features,) or (n_classes, n_features)
        The fused PermGrad score (per class for a classifier with
        ``fusion="branch_weights", cnn_importance="gradcam"``), in the order of
        ``explanation_.feature_names``.
    feature_importances_ : ndarray of shape (n_features,)
        ``importances_``, averaged over classes for a classifier, in the order
        of ``X``'s columns when the explained features are those columns;
        what the selection and
        :class:`~sklearn.feature_selection.SelectFromModel` read.
    permutation_ : :class:`~sklearn.utils.Bunch`
        ``importances_mean``, ``importances_std``, ``importances`` of the
        permutation through the MLP branch.
    gradcam_ : ndarray of shape (n_features,) or (n_classes, n_features)
        Grad-CAM read at each feature's pixel.
    branch_weights_ : dict
        ``{"mlp": w, "cnn": 1 - w}`` from ablating each branch.
    threshold_ : float
        The threshold the selection used.
    classes_ : ndarray of shape (n_classes,)
        The classes, for a classifier.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of str
        Their names, when ``X`` has string column names.

    See Also
    --------
    permgrad_importance : The explanation as a function.
    sklearn.feature_selection.SelectFromModel : Selection from any model's
        importances.

    References
    ----------
    .. [1] F. Escalera-González et al., "PermGrad" (cited in full in
       :class:`~skpermgrad.HybridRegressor`), :doi:`10.5281/zenodo.17613159`.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skpermgrad import HybridRegressor, PermGradExplainer, TintoImager
    >>> X, y = make_regression(100, 5, n_informative=2, random_state=0)
    >>> hybrid = HybridRegressor(TintoImager(pixels=4), n_conv_layers=1,
    ...                          epochs=3, random_state=0)
    >>> explainer = PermGradExplainer(hybrid, n_repeats=2, max_features=2,
    ...                               random_state=0).fit(X, y)
    >>> explainer.importances_.shape, explainer.transform(X).shape
    ((5,), (100, 2))
    >>> explainer.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"])],
        **EXPLANATION_CONSTRAINTS,
        "threshold": [Interval(Real, None, None, closed="neither"), str, None],
        "max_features": [Interval(Integral, 0, None, closed="left"), None],
        "prefit": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
    }

    def __init__(
        self,
        estimator: BaseEstimator,
        *,
        n_repeats: int = 5,
        n_bootstrap: int = 100,
        scoring: str | Callable | None = None,
        threshold: float | str | None = None,
        max_features: int | None = None,
        prefit: bool = False,
        validation_fraction: float | None = 0.2,
        max_samples: int | float = 1.0,
        permutation: str = "branch",
        fusion: str = DEFAULT_FUSION,
        cnn_importance: str = DEFAULT_CNN_IMPORTANCE,
        scale: str = DEFAULT_SCALE,
        feature_groups: dict | str | None = "auto",
        batch_size: int = 1024,
        n_jobs: int | None = None,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
    ) -> None:
        self.estimator = estimator
        self.n_repeats = n_repeats
        self.n_bootstrap = n_bootstrap
        self.scoring = scoring
        self.threshold = threshold
        self.max_features = max_features
        self.prefit = prefit
        self.validation_fraction = validation_fraction
        self.max_samples = max_samples
        self.permutation = permutation
        self.fusion = fusion
        self.cnn_importance = cnn_importance
        self.scale = scale
        self.feature_groups = feature_groups
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> PermGradExplainer:
        """Fit (unless ``prefit``) and explain the estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; a Pipeline estimator takes whatever its first step
            takes.
        y : array-like of shape (n_samples,)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to the estimator's ``fit`` (unless ``prefit``) and to the
            explanation's scores.

        Returns
        -------
        self : object
            The fitted explainer.
        """
        if issparse(X):
            raise TypeError(
                "PermGradExplainer does not support sparse input: the hybrid "
                "network reads dense rows. Convert X with X.toarray()."
            )
        # The estimator checks X itself (a Pipeline may take strings or NaN).
        validate_data(self, X, skip_check_array=True)
        if not hasattr(X, "iloc"):
            X = np.asarray(X)
        if y is None:
            raise ValueError(
                "PermGradExplainer requires y to be passed, but the target y is None."
            )
        check_consistent_length(X, y)
        y = np.asarray(y)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, ensure_non_negative=True
            )
            weighted = np.unique(y[sample_weight > 0])
            if get_tags(self.estimator).estimator_type == "classifier" and (
                len(weighted) < 2
            ):
                raise ValueError(
                    f"Only the class(es) {weighted.tolist()} have rows with a "
                    "positive sample_weight: a classifier is fitted and explained "
                    "on at least 2 classes. Give weight to rows of another class."
                )
        rng = check_random_state(self.random_state)
        if self.prefit:
            check_is_fitted(self.estimator)
            self.estimator_ = deepcopy(self.estimator)
            explain = np.arange(len(y))
        else:
            train, explain = self._split(y, rng.randint(2**31 - 1))
            # a Pipeline routes the weights to its last step, the hybrid
            key = (
                f"{self.estimator.steps[-1][0]}__sample_weight"
                if isinstance(self.estimator, Pipeline)
                else "sample_weight"
            )
            fit_weight = {} if sample_weight is None else {key: sample_weight[train]}
            self.estimator_ = clone(self.estimator).fit(
                _safe_indexing(X, train), _safe_indexing(y, train), **fit_weight
            )
        # the explanation's options are the explainer's parameters of the same
        # names (their constraint table is shared), the seed drawn above
        options = {name: getattr(self, name) for name in EXPLANATION_CONSTRAINTS}
        self.explanation_ = permgrad_importance(
            self.estimator_,
            _safe_indexing(X, explain),
            _safe_indexing(y, explain),
            sample_weight=None if sample_weight is None else sample_weight[explain],
            **{**options, "random_state": rng},
        )
        result = self.explanation_
        self.importances_ = result.importances
        scores = np.atleast_2d(result.importances).mean(axis=0)
        names = list(result.feature_names)
        columns = list(
            getattr(self, "feature_names_in_", [f"x{i}" for i in range(len(names))])
        )
        if len(names) == len(columns) and set(names) == set(columns):
            scores = scores[[names.index(column) for column in columns]]
        self.feature_importances_ = scores
        self.permutation_ = result.permutation
        self.gradcam_ = result.gradcam
        self.branch_weights_ = result.branch_weights
        return self

    def _split(self, y, seed):
        """Rows to fit on and rows to explain on."""
        rows = np.arange(len(y))
        if self.validation_fraction is None:
            return rows, rows
        n_explain = int(np.ceil(self.validation_fraction * len(y)))
        if len(y) - n_explain < 1:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} of {len(y)} "
                "sample(s) leaves none to fit on: give more rows or a smaller "
                "fraction."
            )
        classifier = get_tags(self.estimator).estimator_type == "classifier"
        return holdout_split(y, n_explain, seed, stratify=classifier)

    @property
    def threshold_(self):
        """The importance a feature needs to be kept."""
        check_is_fitted(self)
        if self.threshold is None:
            if self.max_features is not None:
                return -np.inf
            return _threshold_value("mean", self.feature_importances_)
        return _threshold_value(self.threshold, self.feature_importances_)

    @property
    def classes_(self):
        """The classes of the fitted classifier."""
        return self.estimator_.classes_

    def _get_support_mask(self):
        check_is_fitted(self)
        scores = self.feature_importances_
        if len(scores) != self.n_features_in_:
            raise ValueError(
                f"The explanation covers the {len(scores)} features the hybrid "
                f"network reads, but X has {self.n_features_in_} columns: the "
                "Pipeline's earlier steps change the columns, so there is no "
                "selection of X's columns. Explain a Pipeline whose steps keep "
                "one column per feature, or put the encoding before the explainer."
            )
        mask = scores >= self.threshold_
        if self.max_features is not None:
            top = np.zeros_like(mask)
            top[np.argsort(-scores, kind="mergesort")[: self.max_features]] = True
            mask &= top
        return mask

    @available_if(_estimator_has("predict"))
    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predict with the fitted estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predictions.
        """
        check_is_fitted(self)
        return self.estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities from the fitted classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities, columns in the order of ``classes_``.
        """
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    @available_if(_estimator_has("score"))
    def score(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> float:
        """The fitted estimator's ``score`` (R² or accuracy).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.
        y : array-like of shape (n_samples,)
            True targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        return self.estimator_.score(X, y, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = deepcopy(inner.classifier_tags)
        tags.regressor_tags = deepcopy(inner.regressor_tags)
        tags.input_tags = deepcopy(inner.input_tags)
        tags.target_tags.required = True
        tags.non_deterministic = inner.non_deterministic
        return tags
