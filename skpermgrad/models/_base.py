"""What HybridRegressor and HybridClassifier share: a thin layer over SciKeras 0.13.

SciKeras's steps, overridden one by one: storing the constructor's parameters,
building the network (with :func:`~skpermgrad.models.build_hybrid_model`),
seeding without leaking TensorFlow's op determinism, training on batches
gathered on demand with the hybrids' own callbacks, scikit-learn's checks of
the input and its repr.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
from numpy.typing import ArrayLike
from scikeras._utils import route_params
from scikeras.utils import metric_name
from sklearn.base import BaseEstimator, is_classifier
from sklearn.utils import check_random_state
from sklearn.utils.validation import (
    _check_feature_names,
    _check_sample_weight,
    column_or_1d,
)

from .._persistence import _VersionedPickleMixin
from .._validation import check_fitted_columns, check_numeric_frame, holdout_split
from . import _architecture as arch
from ._encoders import _Batches, _HybridInputs
from ._params import _ARCHITECTURE_PARAMS, _HYBRID_CONSTRAINTS
from ._training import int_seed, seeded, training_callbacks

if TYPE_CHECKING:
    from typing_extensions import Self


# train steps in one call of Keras's compiled train function
STEPS_PER_EXECUTION = 8


class _HybridMixin(_VersionedPickleMixin):
    """What the regressor and the classifier share; a thin layer over SciKeras."""

    # a pickled hybrid records these versions (its network is saved by Keras)
    _saved_with = ("skpermgrad", "keras", "tensorflow")

    _parameter_constraints: dict = _HYBRID_CONSTRAINTS
    _output_activation = None
    # SciKeras's parameters the hybrids refuse, at their SciKeras defaults
    model = None
    build_fn = None
    validation_split = 0.0

    def _store_params(self, params):
        """Store the constructor's parameters as given (scikit-learn's rule).

        ``params`` is the constructor's ``locals()``. SciKeras's routed
        ``**kwargs`` are stored as SciKeras stores them (as attributes, their
        names in ``_user_params``); SciKeras's ``__init__`` itself is not
        called: it would also store the SciKeras parameters the hybrids refuse
        (``model``, ``build_fn``, ``validation_split``), which stay class
        attributes, out of ``get_params`` and the repr, unless given.
        """
        params = {k: v for k, v in params.items() if k not in ("self", "__class__")}
        kwargs = params.pop("kwargs")
        for name, value in {**params, **kwargs}.items():
            setattr(self, name, value)
        if kwargs:
            self._user_params = set(kwargs)

    @property
    def feature_encoder(self):
        return _HybridInputs(
            imager=self.imager,
            branches=self.branches,
            mlp_input=self.mlp_input,
            numeric_embedding=self.numeric_embedding,
            random_state=self.random_state,
        )

    def _build_network(self, meta, compile_kwargs, seed):
        """The compiled network for the fitted encoders (``meta``), its layers
        seeded from ``seed``'s own stream."""
        encoder = meta["feature_encoder_"]
        model = arch.build_hybrid_model(
            n_features=meta["n_features_in_"],
            drawing=encoder.imager_.get_drawing(),
            quantile_knots=encoder.quantile_knots_,
            robust_scaling=encoder.robust_scaling_,
            piecewise_edges=encoder.piecewise_edges_,
            **{name: getattr(self, name) for name in _ARCHITECTURE_PARAMS},
            n_outputs=self._n_model_outputs(meta),
            output_activation=self._output_activation,
            seed=seed,
        )
        if self.optimizer == "adamw":
            optimizer = keras.optimizers.AdamW(
                learning_rate=self.learning_rate, weight_decay=self.weight_decay
            )
        else:
            optimizer = keras.optimizers.Adam(learning_rate=self.learning_rate)
        # SciKeras's other compile arguments (metrics, run_eagerly...) pass
        # through; several train steps run in one call of the compiled
        # function, which saves a quarter of an epoch's time at batch 128 and
        # trains the same weights (benchmarks/bench_profile.py)
        model.compile(
            **{
                "steps_per_execution": STEPS_PER_EXECUTION,
                **compile_kwargs,
                "optimizer": optimizer,
                "loss": compile_kwargs["loss"] or self._default_loss(),
            }
        )
        return model

    # SciKeras's steps, written out so that each passes what the next needs
    # and nothing is set around a call of SciKeras's own: the feature encoder
    # is fitted on the target too (an image may be drawn from it), the network
    # is built with its seed and trained with the hybrid's callbacks, under
    # seeding that leaves TensorFlow's op determinism as it found it
    # (SciKeras's leaves it on).

    def _initialize(self, X, y=None):
        X, y, _ = self._start(X, y)
        return X, y

    def _start(self, X, y):
        """A new fit's first step: X and y validated, the encoders fitted, the
        network built; returns them and the training rows' network inputs."""
        self._random_state = int_seed(self.random_state)
        X, y = self._validate_data(X, y, reset=True)
        self.target_encoder_ = self.target_encoder.fit(y)
        vars(self).update(getattr(self.target_encoder_, "get_metadata", dict)())
        encoder = self.feature_encoder
        inputs = encoder.fit_transform(X, y)
        self.feature_encoder_ = encoder
        self.model_ = self._build_keras_model()
        self._initialize_callbacks()
        return X, y, inputs

    def _fit(self, X, y, sample_weight, warm_start, epochs, initial_epoch, **kwargs):
        # X is read and scaled once: the feature encoder's fit gives the
        # training rows' inputs (SciKeras would transform X again)
        if (self.warm_start or warm_start) and self.initialized_:
            X, y = self._validate_data(X, y)
            inputs = self.feature_encoder_.transform(X)
        else:
            X, y, inputs = self._start(X, y)
        self._ensure_compiled_model()
        if sample_weight is not None:
            # SciKeras's check and rule: the rows of weight 0 are left out
            rows, y, sample_weight = self._validate_sample_weight(
                np.arange(len(y)), y, sample_weight
            )
            inputs = {name: values[rows] for name, values in inputs.items()}
        y = self.target_encoder_.transform(y)
        self._check_model_compatibility(y)
        self._fit_keras_model(
            inputs,
            y,
            sample_weight=sample_weight,
            warm_start=warm_start,
            epochs=epochs,
            initial_epoch=initial_epoch,
            **kwargs,
        )

    def _build_keras_model(self):
        self._refuse_unknown_params()
        seed = self._random_state
        with seeded(seed):
            return self._build_network(
                self._get_metadata(), self._get_compile_kwargs(), seed
            )

    def _refuse_unknown_params(self):
        """Refuse constructor kwargs that no step takes (SciKeras would hand
        them to the network's builder)."""
        unknown = route_params(
            self.get_params(),
            destination="model",
            pass_filter=getattr(self, "_user_params", set()),
            strict=True,
        )
        if unknown:
            raise TypeError(
                f"{type(self).__name__} got unexpected parameter(s) "
                f"{sorted(unknown)}; see get_params() for its parameters (SciKeras's "
                "routed ones start with fit__, predict__, compile__, optimizer__, "
                "callbacks__...)."
            )

    def _fit_keras_model(
        self, X, y, sample_weight, warm_start, epochs, initial_epoch, **kwargs
    ):
        seed = check_random_state(self._random_state).randint(2**31 - 1)
        train, val = self._split_rows(y, seed)
        fit_args = route_params(
            self.get_params(), destination="fit", pass_filter=self._fit_kwargs
        )
        fit_args = {k: v for k, v in fit_args.items() if not k.startswith("callbacks")}
        fit_args.update(kwargs)
        if val is not None:
            val_batch = self.validation_batch_size or self.batch_size
            fit_args["validation_data"] = _Batches(
                X, y, sample_weight, val, val_batch, seed=None
            )
        callbacks = training_callbacks(
            schedule=self.lr_schedule,
            learning_rate=self.learning_rate,
            epochs=initial_epoch + epochs,
            patience=self.patience,
            validation=val is not None,
        )
        # Batches are gathered from the encoded arrays on demand: no copy of the
        # training rows, nothing of size n_samples handed to TensorFlow.
        batches = _Batches(
            X,
            y,
            sample_weight,
            train,
            self.batch_size,
            seed=seed if self.shuffle else None,
        )
        fit_args.update(
            batch_size=None,
            validation_batch_size=None,
            shuffle=False,
            sample_weight=None,
            epochs=initial_epoch + epochs,
            initial_epoch=initial_epoch,
            callbacks=[*self._fit_callbacks, *callbacks],
        )
        # Keras builds the optimizer's variables inside the first trace of its
        # train step, which TensorFlow then traces a second time: built here,
        # one trace (benchmarks/bench_profile.py times a fit's first epoch)
        optimizer = self.model_.optimizer
        if not optimizer.built:
            optimizer.build(self.model_.trainable_variables)
        with seeded(self._random_state):
            history = self.model_.fit(x=batches, y=None, **fit_args)
        if not warm_start or not hasattr(self, "history_") or initial_epoch == 0:
            self.history_ = defaultdict(list)
        for key, values in history.history.items():
            if key != "loss" and not key.startswith("val_"):
                try:
                    key = metric_name(key)  # SciKeras's names of metrics
                except ValueError:
                    pass  # a metric of the user's own
            self.history_[key] += values

    def _split_rows(self, y, seed):
        """Training and validation row indices (``validation_fraction``)."""
        rows = np.arange(len(y))
        if self.validation_fraction is None:
            return rows, None
        n_val = int(np.ceil(self.validation_fraction * len(y)))
        if n_val < 1 or len(y) - n_val < 1:
            return rows, None
        return holdout_split(y, n_val, seed, stratify=is_classifier(self))

    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
        **kwargs: Any,
    ) -> Self:
        """Fit the imager and the network on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric training data.
        y : array-like of shape (n_samples,)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights of the loss.
        **kwargs : dict
            Extra arguments for ``keras.Model.fit``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._validate_params()
        self._check_scikeras_params()
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is "
                "None."
            )
        shape = getattr(y, "shape", None)
        if shape is not None and len(shape) == 2:
            if shape[1] != 1:
                raise ValueError(
                    f"{type(self).__name__} predicts one target; y has shape {shape}. "
                    "Fit one estimator per target (e.g. with MultiOutputRegressor or "
                    "MultiOutputClassifier)."
                )
            y = column_or_1d(y, warn=True)
        warm = self.warm_start and hasattr(self, "model_")
        self._check_fit_inputs(X, y, sample_weight, warm=warm)
        return super().fit(X, y, sample_weight=sample_weight, **kwargs)

    def partial_fit(
        self, X: ArrayLike, y: ArrayLike, *args: Any, **kwargs: Any
    ) -> Self:
        """Train one more epoch on ``(X, y)``, keeping the fitted network.

        SciKeras's ``partial_fit``, after the checks of :meth:`fit`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric training data.
        y : array-like of shape (n_samples,)
            Target values (for a classifier, classes seen in the first fit).
        *args, **kwargs
            SciKeras's (``classes`` for the classifier, ``sample_weight``).

        Returns
        -------
        self : object
            The estimator, trained one more epoch.
        """
        self._check_fit_inputs(
            X, y, kwargs.get("sample_weight"), warm=hasattr(self, "model_")
        )
        return super().partial_fit(X, y, *args, **kwargs)

    def _check_fit_inputs(self, X, y, sample_weight, *, warm):
        """Refuse negative sample weights and a target the estimator cannot
        learn (``warm``: training goes on from a fitted network)."""
        if sample_weight is not None:
            _check_sample_weight(sample_weight, X, ensure_non_negative=True)
        self._check_target(y, warm=warm)

    def predict(self, X: ArrayLike, **kwargs: Any) -> np.ndarray:
        """Predict targets (regressor) or class labels (classifier) for ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric data, with the columns (and names) seen in ``fit``.
        **kwargs : dict
            Extra arguments for ``keras.Model.predict``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted values, in the target's units, or class labels.
        """
        return super().predict(X, **kwargs)

    def _check_target(self, y, *, warm=False):
        """Refuse a target the estimator cannot learn (the classifier's hook)."""

    def _check_scikeras_params(self):
        """Refuse SciKeras parameters that would bypass the hybrid's own."""
        name = type(self).__name__
        for param in ("model", "build_fn"):
            if getattr(self, param, None) is not None:
                raise ValueError(
                    f"{name} builds its own network (explanations look its layers "
                    f"up by name), so {param}= is not supported; use SciKeras's "
                    "KerasRegressor/KerasClassifier for a network of your own."
                )
        if self.validation_split:
            raise ValueError(
                f"validation_split={self.validation_split} is SciKeras's; {name} "
                "holds out validation_fraction of the rows (stratified for a "
                "classifier) for early stopping: pass validation_fraction instead."
            )

    def _validate_data(self, X=None, y=None, reset=False, **kwargs):
        if X is not None:
            check_numeric_frame(X, type(self).__name__)
            # SciKeras 0.13 never sets feature_names_in_: scikit-learn's own
            # check sets it on fit; after fit, the columns are checked with
            # scikit-learn's messages (SciKeras has its own for the width).
            if reset:
                _check_feature_names(self, X, reset=True)
            else:
                check_fitted_columns(self, X)
        return super()._validate_data(X, y, reset=reset, **kwargs)

    def __repr__(self, N_CHAR_MAX: int = 700) -> str:
        # scikit-learn's (only the changed parameters), not SciKeras's (every one)
        return BaseEstimator.__repr__(self, N_CHAR_MAX)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.single_output = True
        tags.target_tags.multi_output = False
        return tags
