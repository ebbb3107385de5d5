"""HybridRegressor and HybridClassifier: the PermGrad network as scikit-learn
estimators (their shared SciKeras layer is ``_base._HybridMixin``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import keras
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scikeras.wrappers import KerasClassifier, KerasRegressor
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils._tags import ClassifierTags, RegressorTags
from sklearn.utils.multiclass import type_of_target

from .._validation import check_target_scale
from ._base import _HybridMixin
from ._docs import _CLASSIFIER_DOC, _REGRESSOR_DOC
from ._encoders import _StandardTarget
from ._params import _CLASSIFIER_CONSTRAINTS, _REGRESSOR_CONSTRAINTS
from ._training import SmoothedCrossentropy

if TYPE_CHECKING:
    from sklearn.base import TransformerMixin


class HybridRegressor(_HybridMixin, KerasRegressor):
    __doc__ = _REGRESSOR_DOC

    _parameter_constraints = _REGRESSOR_CONSTRAINTS
    _output_activation = "linear"

    def __init__(
        self,
        imager: TransformerMixin | None = None,
        *,
        branches: str = "both",
        mlp_input: str = "quantile",
        numeric_embedding: str | None = "periodic",
        n_dense_layers: int = 2,
        dense_units: int = 64,
        n_conv_layers: int = 2,
        base_filters: int = 16,
        n_head_layers: int = 1,
        head_units: int = 64,
        ensemble_size: int = 8,
        ensemble_scope: str = "mlp",
        dropout: float = 0.1,
        normalization: str | None = "batch",
        activation: str = "relu",
        kernel_initializer: str = "he_normal",
        optimizer: str = "adamw",
        learning_rate: float = 1e-3,
        weight_decay: float = 0.01,
        batch_size: int = 128,
        epochs: int = 100,
        validation_fraction: float | None = 0.1,
        patience: int = 6,
        lr_schedule: str = "one_cycle",
        scale_target: bool = True,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
        callbacks: list | None = None,
        loss: str | keras.losses.Loss | None = None,
        metrics: list | None = None,
        shuffle: bool = True,
        validation_batch_size: int | None = None,
        warm_start: bool = False,
        run_eagerly: bool = False,
        **kwargs: Any,
    ) -> None:
        self._store_params(locals())

    def _default_loss(self):
        return "mse"

    @property
    def target_encoder(self):
        return _StandardTarget(scale=self.scale_target)

    def score(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> float:
        """Coefficient of determination R² of ``self.predict(X)`` on ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,)
            True values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            R², as :meth:`sklearn.base.RegressorMixin.score` defines it.
        """
        # scikit-learn's own definition, as the classifier's
        return float(RegressorMixin.score(self, X, y, sample_weight=sample_weight))

    def _n_model_outputs(self, meta):
        return 1

    def _check_target(self, y, *, warm=False):
        check_target_scale(y, standardised=self.scale_target)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "regressor"
        tags.regressor_tags = RegressorTags(poor_score=True)
        return tags


class HybridClassifier(_HybridMixin, KerasClassifier):
    __doc__ = _CLASSIFIER_DOC

    _parameter_constraints = _CLASSIFIER_CONSTRAINTS
    _output_activation = "softmax"

    def __init__(
        self,
        imager: TransformerMixin | None = None,
        *,
        branches: str = "both",
        mlp_input: str = "quantile",
        numeric_embedding: str | None = "periodic",
        n_dense_layers: int = 2,
        dense_units: int = 64,
        n_conv_layers: int = 2,
        base_filters: int = 16,
        n_head_layers: int = 1,
        head_units: int = 64,
        ensemble_size: int = 8,
        ensemble_scope: str = "mlp",
        dropout: float = 0.1,
        normalization: str | None = "batch",
        activation: str = "relu",
        kernel_initializer: str = "he_normal",
        optimizer: str = "adamw",
        learning_rate: float = 1e-3,
        weight_decay: float = 0.01,
        batch_size: int = 128,
        epochs: int = 100,
        validation_fraction: float | None = 0.1,
        patience: int = 6,
        lr_schedule: str = "one_cycle",
        label_smoothing: float = 0.0,
        class_weight: dict | str | None = None,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
        callbacks: list | None = None,
        loss: str | keras.losses.Loss | None = None,
        metrics: list | None = None,
        shuffle: bool = True,
        validation_batch_size: int | None = None,
        warm_start: bool = False,
        run_eagerly: bool = False,
        **kwargs: Any,
    ) -> None:
        self._store_params(locals())

    def _n_model_outputs(self, meta):
        return meta["n_classes_"]

    def _default_loss(self):
        if self.label_smoothing > 0:
            return SmoothedCrossentropy(self.label_smoothing)
        return "sparse_categorical_crossentropy"

    def predict_proba(self, X: ArrayLike, **kwargs: Any) -> np.ndarray:
        """Class probabilities for ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric data, with the columns (and names) seen in ``fit``.
        **kwargs : dict
            Extra arguments for ``keras.Model.predict``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            The softmax output, one column per class of ``classes_``.
        """
        return super().predict_proba(X, **kwargs)

    def score(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> float:
        """Mean accuracy on ``(X, y)``, as scikit-learn classifiers define it.

        Labels never seen in training simply count as errors (SciKeras would
        refuse a label longer than the training ones).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Mean accuracy of ``self.predict(X)`` with respect to ``y``.
        """
        # scikit-learn's own, past SciKeras's (which refuses unseen labels)
        return float(ClassifierMixin.score(self, X, y, sample_weight=sample_weight))

    def _check_target(self, y, *, warm=False):
        name = type(self).__name__
        missing = np.flatnonzero(pd.isna(np.asarray(y, dtype=object).ravel()))
        if len(missing):
            raise ValueError(
                f"y has {len(missing)} missing value(s) (the first in row "
                f"{missing[0]}); a class label cannot be missing: drop those rows, "
                "or fill them with a class of their own."
            )
        kind = type_of_target(y)
        if kind == "continuous":
            example = np.asarray(y).ravel()[np.mod(np.asarray(y, float), 1) != 0][0]
            raise ValueError(
                f"Unknown label type: continuous (e.g. {example!r}). {name} predicts "
                "classes: use HybridRegressor for a continuous target, or bin it "
                "into classes first."
            )
        classes = list(dict.fromkeys(np.asarray(y).ravel().tolist()))
        if warm and hasattr(self, "classes_"):
            unseen = [c for c in classes if c not in set(self.classes_.tolist())]
            if unseen:
                raise ValueError(
                    f"y holds class(es) {unseen} that the fitted {name} has not "
                    f"seen (classes_ {self.classes_.tolist()}); a warm start or "
                    "partial_fit keeps the classes of the first fit: fit anew "
                    "(warm_start=False) to learn new classes, or pass every class "
                    "to the first partial_fit (classes=)."
                )
        elif len(classes) == 1:
            raise ValueError(
                f"{name} needs samples of at least 2 classes in the "
                f"data, but the data contains only one class: {classes[0]!r}."
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags(poor_score=True)
        return tags
