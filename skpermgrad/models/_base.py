"""What HybridRegressor and HybridClassifier share: a thin layer over SciKeras 0.13.

SciKeras's steps, overridden one by one: storing the constructor's parameters,
building the network (with :func:`~skpermgrad.models.build_hybrid_model`),
seeding without leaking TensorFlow's op determinism, training on batches
gathered on demand with the hybrids' own callbacks, scikit-learn's checks of
the input and its repr.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
from numpy.typing import ArrayLike
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
from ._encoders import _Batches, _HybridInputs, _WithTarget
from ._params import (
    _ARCHITECTURE_PARAMS,
    _HYBRID_CONSTRAINTS,
)
from ._training import _tensorflow_seed, training_callbacks

if TYPE_CHECKING:
    from typing_extensions import Self


# the constructor parameters SciKeras's own __init__ stores; the hybrids store
# the others themselves
_SCIKERAS_PARAMS = (
    "optimizer",
    "batch_size",
    "epochs",
    "random_state",
    "verbose",
    "class_weight",
    "callbacks",
    "loss",
    "metrics",
    "shuffle",
    "validation_batch_size",
    "warm_start",
    "run_eagerly",
)
# SciKeras parameters the hybrids refuse (their own network, validation_fraction):
# not parameters of theirs unless given, so that get_params, clone and the repr
# leave them out; fit refuses a given one
_REFUSED_SCIKERAS_PARAMS = ("model", "build_fn", "validation_split")


# train steps in one call of Keras's compiled train function
STEPS_PER_EXECUTION = 8


class _HybridMixin(_VersionedPickleMixin):
    """What the regressor and the classifier share; a thin layer over SciKeras."""

    # a pickled hybrid records these versions (its network is saved by Keras)
    _saved_with = ("skpermgrad", "keras", "tensorflow")

    _parameter_constraints: dict = _HYBRID_CONSTRAINTS
    _loss = None
    _output_activation = None
    # SciKeras's parameters the hybrids refuse, at their SciKeras defaults
    model = None
    build_fn = None
    validation_split = 0.0

    def _store_params(self, params):
        """Store the constructor's parameters as given (scikit-learn's rule).

        ``params`` is the constructor's ``locals()``: SciKeras's own parameters
        and the routed ``**kwargs`` go to its ``__init__``, the rest are set here.
        """
        params = {k: v for k, v in params.items() if k not in ("self", "__class__")}
        kwargs = params.pop("kwargs")
        own = {k: params.pop(k) for k in _SCIKERAS_PARAMS if k in params}
        super().__init__(**own, **kwargs)
        for name in set(_REFUSED_SCIKERAS_PARAMS) - kwargs.keys():
            del self.__dict__[name]  # the class default stands in for SciKeras
        for name, value in params.items():
            setattr(self, name, value)

    @property
    def feature_encoder(self):
        encoder = _HybridInputs(
            imager=self.imager,
            branches=self.branches,
            mlp_input=self.mlp_input,
            random_state=self.random_state,
        )
        target = getattr(self, "_encoder_target", None)  # set while _initialize runs
        return encoder if target is None else _WithTarget(encoder, target)

    def _keras_build_fn(self, meta, compile_kwargs, params=None, **unknown):
        if unknown:  # SciKeras hands unrouted constructor kwargs to the builder
            raise TypeError(
                f"{type(self).__name__} got unexpected parameter(s) "
                f"{sorted(unknown)}; see get_params() for its parameters (SciKeras's "
                "routed ones start with fit__, predict__, compile__, optimizer__, "
                "callbacks__...)."
            )
        encoder = meta["feature_encoder_"]
        model = arch.build_hybrid_model(
            n_features=meta["n_features_in_"],
            **_image_of(encoder.imager_),
            quantile_knots=encoder.quantile_knots_,
            **{name: getattr(self, name) for name in _ARCHITECTURE_PARAMS},
            n_outputs=self._n_model_outputs(meta),
            output_activation=self._output_activation,
            seed=self._network_seed,
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
                "loss": compile_kwargs["loss"] or self._loss,
            }
        )
        return model

    def _initialize(self, X, y=None):
        # SciKeras fits the feature encoder on X alone: it reads y here
        self._encoder_target = y
        try:
            X, y = super()._initialize(X, y)
        finally:
            del self._encoder_target
        if isinstance(self.random_state, np.random.RandomState):
            # SciKeras 0.13 seeds the network with RandomState.randint(low=1),
            # which is always 0: every RandomState gave the same network. A seed
            # drawn from a copy of the state (so it is not advanced) instead.
            copy = np.random.RandomState()
            copy.set_state(self.random_state.get_state())
            self._random_state = int(copy.randint(2**31 - 1))
        return X, y

    @contextmanager
    def _seeded(self):
        # Keep SciKeras's own seeding (which leaks op determinism) out of the way.
        seed, self._random_state = self._random_state, None
        try:
            if seed is None:
                yield seed
            else:
                with _tensorflow_seed(seed):
                    yield seed
        finally:
            self._random_state = seed

    def _build_keras_model(self):
        # the network's layers are seeded from random_state through their own
        # stream (build_hybrid_model's seed), not from Python's global random
        # state, which other threads of the process may draw from meanwhile
        with self._seeded() as seed:
            self._network_seed = seed
            try:
                return super()._build_keras_model()
            finally:
                del self._network_seed

    def _fit_keras_model(
        self, X, y, sample_weight, warm_start, epochs, initial_epoch, **kwargs
    ):
        seed = check_random_state(self._random_state).randint(2**31 - 1)
        train, val = self._split_rows(y, seed)
        if val is not None:
            val_batch = self.validation_batch_size or self.batch_size
            kwargs["validation_data"] = _Batches(
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
        kwargs.update(batch_size=None, validation_batch_size=None, shuffle=False)
        # Keras builds the optimizer's variables inside the first trace of its
        # train step, which TensorFlow then traces a second time: built here,
        # one trace (a 300-row, 3-epoch fit: 4.8 s instead of 7.7)
        optimizer = self.model_.optimizer
        if not optimizer.built:
            optimizer.build(self.model_.trainable_variables)
        user_callbacks = self._fit_callbacks
        self._fit_callbacks = [*user_callbacks, *callbacks]
        try:
            with self._seeded():
                super()._fit_keras_model(
                    batches, None, None, warm_start, epochs, initial_epoch, **kwargs
                )
        finally:
            self._fit_callbacks = user_callbacks

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


def _image_of(imager):
    """The arguments of ``build_hybrid_model`` that draw ``imager``'s image:
    a drawn imager's drawing, or a layout's render weights."""
    if hasattr(imager, "get_drawing"):
        return {"drawing": imager.get_drawing()}
    weights, mode = imager.get_render_weights()
    return {
        "render_weights": weights,
        "render_mode": mode,
        "pixels": imager.image_shape_[0] // imager.zoom,
        "zoom": imager.zoom,
        "channels": imager.channels,
    }
