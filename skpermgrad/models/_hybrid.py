"""HybridRegressor and HybridClassifier: the PermGrad network on SciKeras 0.13.

Everything SciKeras-specific lives here; the network itself is built by the pure
functions of ``_architecture`` (:func:`~skpermgrad.models.build_hybrid_model`).
"""

import os
import random
from contextlib import contextmanager
from numbers import Integral, Real

import keras
import numpy as np
from scikeras.wrappers import KerasClassifier, KerasRegressor
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    RegressorMixin,
    TransformerMixin,
    clone,
    is_classifier,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils._tags import ClassifierTags, RegressorTags
from sklearn.utils.validation import _check_feature_names, column_or_1d

from .._validation import check_numeric_frame, holdout_split
from ..imaging import TintoImager
from . import _architecture as arch
from ._training import LR_SCHEDULES, training_callbacks


@contextmanager
def _tensorflow_seed(seed):
    """Seed Python, NumPy and TensorFlow for one block, then put all three back.

    SciKeras 0.13's ``tensorflow_random_state`` sets ``TF_DETERMINISTIC_OPS=1``
    *before* asking TensorFlow whether op determinism was on, reads "yes", and so
    never switches it off again: every later unseeded fit in the process then
    fails with "Random ops require a seed ... when determinism is enabled". This
    replacement records the state first and restores exactly what it found.
    """
    import tensorflow as tf
    from tensorflow.python.eager import context
    from tensorflow.python.framework import config

    was_deterministic = config.is_op_determinism_enabled()
    saved_env = os.environ.get("TF_DETERMINISTIC_OPS")
    py_state, np_state = random.getstate(), np.random.get_state()
    tf_seed = context.global_seed()
    try:
        random.seed(seed)
        np.random.seed(seed)
        tf.random.set_seed(seed)
        if not was_deterministic:
            config.enable_op_determinism()
        yield
    finally:
        if not was_deterministic:
            config.disable_op_determinism()
        if saved_env is None:
            os.environ.pop("TF_DETERMINISTIC_OPS", None)
        else:
            os.environ["TF_DETERMINISTIC_OPS"] = saved_env
        random.setstate(py_state)
        np.random.set_state(np_state)
        tf.random.set_seed(tf_seed)


_BRANCH_INPUTS = {
    "both": (arch.INPUT_TABULAR, arch.INPUT_IMAGE),
    "mlp": (arch.INPUT_TABULAR,),
    "cnn": (arch.INPUT_IMAGE,),
}


class _HybridInputs(TransformerMixin, BaseEstimator):
    """Feature encoder: fits the imager on the training rows, feeds both branches.

    ``transform`` returns ``{"tabular": values, "image_input": values}`` (the
    keys the model's inputs are named by; one key for a single-branch model),
    where ``values`` are the imager's clipped min-max scaled features. With
    ``mlp_input="quantile"`` it also learns ``quantile_knots_`` of the
    training values, for the MLP branch's in-graph quantile map.
    """

    def __init__(self, imager=None, branches="both", mlp_input="quantile"):
        self.imager = imager
        self.branches = branches
        self.mlp_input = mlp_input

    def fit(self, X, y=None):
        imager = TintoImager() if self.imager is None else self.imager
        self.imager_ = clone(imager).fit(X)
        self.quantile_knots_ = None
        if self.mlp_input == "quantile" and self.branches != "cnn":
            self.quantile_knots_ = arch.quantile_knots(self.imager_.transform_values(X))
        return self

    def transform(self, X):
        values = self.imager_.transform_values(X)
        return {name: values for name in _BRANCH_INPUTS[self.branches]}


class _Batches(keras.utils.PyDataset):
    """Mini-batches of encoded inputs, targets and weights, gathered per step.

    Reshuffles ``rows`` every epoch with its own seeded generator when ``seed``
    is given (training); keeps them in order otherwise (validation).
    """

    def __init__(self, X, y, sample_weight, rows, batch_size, seed):
        super().__init__()
        self.X, self.y, self.sample_weight = X, y, sample_weight
        self.rows, self.batch_size = rows, batch_size
        self._rng = None if seed is None else np.random.default_rng(seed)
        self._order = self._shuffled()

    def _shuffled(self):
        return self.rows if self._rng is None else self._rng.permutation(self.rows)

    def __len__(self):
        return -(-len(self.rows) // self.batch_size)

    def __getitem__(self, index):
        rows = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        # inputs that share one array are gathered once
        gathered = {id(values): values[rows] for values in self.X.values()}
        batch = ({name: gathered[id(v)] for name, v in self.X.items()}, self.y[rows])
        if self.sample_weight is not None:
            batch += (self.sample_weight[rows],)
        return batch

    def on_epoch_end(self):
        self._order = self._shuffled()


class _StandardTarget(TransformerMixin, BaseEstimator):
    """Target encoder of the regressor: standardise y for training, undo it after."""

    def __init__(self, scale=True):
        self.scale = scale

    def fit(self, y):
        y = np.asarray(y, dtype=np.float64).reshape(-1)  # fit() allows one target
        self.mean_ = float(y.mean()) if self.scale else 0.0
        std = float(y.std()) if self.scale else 1.0
        self.std_ = std if std > 0 else 1.0
        return self

    def transform(self, y):
        y = np.asarray(y, dtype=np.float64).reshape(-1, 1)
        return ((y - self.mean_) / self.std_).astype(np.float32)

    def inverse_transform(self, y):
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        return y * self.std_ + self.mean_

    def get_metadata(self):
        return {"n_outputs_expected_": 1}


_HYBRID_CONSTRAINTS = {
    "imager": [HasMethods(["fit", "transform_values", "get_render_weights"]), None],
    "branches": [StrOptions({"both", "mlp", "cnn"})],
    "mlp_input": [StrOptions(set(arch.MLP_INPUTS))],
    "numeric_embedding": [StrOptions(set(arch.NUMERIC_EMBEDDINGS) - {None}), None],
    "n_dense_layers": [Interval(Integral, 1, None, closed="left")],
    "dense_units": [Interval(Integral, 1, None, closed="left")],
    "n_conv_layers": [Interval(Integral, 1, None, closed="left")],
    "base_filters": [Interval(Integral, 1, None, closed="left")],
    "n_head_layers": [Interval(Integral, 0, None, closed="left")],
    "head_units": [Interval(Integral, 1, None, closed="left")],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "normalization": [StrOptions(set(arch.NORMALIZATIONS) - {None}), None],
    "activation": [str],
    "kernel_initializer": [str],
    "optimizer": [StrOptions({"adam", "adamw"})],
    "learning_rate": [Interval(Real, 0, None, closed="neither")],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "epochs": [Interval(Integral, 1, None, closed="left")],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
    "patience": [Interval(Integral, 1, None, closed="left")],
    "lr_schedule": [StrOptions(set(LR_SCHEDULES))],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}


# the constructor parameters that are build_hybrid_model's, passed as they are
_ARCHITECTURE_PARAMS = (
    "branches",
    "numeric_embedding",
    "n_dense_layers",
    "dense_units",
    "n_conv_layers",
    "base_filters",
    "n_head_layers",
    "head_units",
    "dropout",
    "normalization",
    "activation",
    "kernel_initializer",
)


class _HybridMixin:
    """What the regressor and the classifier share; a thin layer over SciKeras."""

    _parameter_constraints: dict = _HYBRID_CONSTRAINTS
    _loss = None
    _output_activation = None

    @property
    def feature_encoder(self):
        return _HybridInputs(
            imager=self.imager, branches=self.branches, mlp_input=self.mlp_input
        )

    def _keras_build_fn(self, meta, compile_kwargs, params=None, **unknown):
        if unknown:  # SciKeras hands unrouted constructor kwargs to the builder
            raise TypeError(
                f"{type(self).__name__} got unexpected parameter(s) "
                f"{sorted(unknown)}; see get_params() for its parameters (SciKeras's "
                "routed ones start with fit__, predict__, compile__, optimizer__, "
                "callbacks__...)."
            )
        encoder = meta["feature_encoder_"]
        imager = encoder.imager_
        weights, mode = imager.get_render_weights()
        model = arch.build_hybrid_model(
            n_features=meta["n_features_in_"],
            render_weights=weights,
            render_mode=mode,
            pixels=imager.pixels,
            zoom=imager.zoom,
            channels=imager.channels,
            quantile_knots=encoder.quantile_knots_,
            **{name: getattr(self, name) for name in _ARCHITECTURE_PARAMS},
            n_outputs=self._n_model_outputs(meta),
            output_activation=self._output_activation,
        )
        if self.optimizer == "adamw":
            optimizer = keras.optimizers.AdamW(
                learning_rate=self.learning_rate, weight_decay=self.weight_decay
            )
        else:
            optimizer = keras.optimizers.Adam(learning_rate=self.learning_rate)
        # SciKeras's other compile arguments (metrics, run_eagerly...) pass through
        model.compile(
            **{
                **compile_kwargs,
                "optimizer": optimizer,
                "loss": compile_kwargs["loss"] or self._loss,
            }
        )
        return model

    @contextmanager
    def _seeded(self):
        # Keep SciKeras's own seeding (which leaks op determinism) out of the way.
        seed, self._random_state = self._random_state, None
        try:
            if seed is None:
                yield
            else:
                with _tensorflow_seed(seed):
                    yield
        finally:
            self._random_state = seed

    def _build_keras_model(self):
        with self._seeded():
            return super()._build_keras_model()

    def _fit_keras_model(
        self, X, y, sample_weight, warm_start, epochs, initial_epoch, **kwargs
    ):
        seed = check_random_state(self._random_state).randint(2**31 - 1)
        train, val = self._split_rows(y, seed)
        if val is not None:
            kwargs["validation_data"] = _Batches(
                X, y, sample_weight, val, self.batch_size, seed=None
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
        batches = _Batches(X, y, sample_weight, train, self.batch_size, seed=seed)
        kwargs.update(batch_size=None, validation_batch_size=None, shuffle=False)
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

    def fit(self, X, y, sample_weight=None, **kwargs):
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
        self._check_target(y)
        return super().fit(X, y, sample_weight=sample_weight, **kwargs)

    def predict(self, X, **kwargs):
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

    def _check_target(self, y):
        """Refuse a target the estimator cannot learn (the classifier's hook)."""

    def _validate_data(self, X=None, y=None, reset=False, **kwargs):
        if X is not None:
            check_numeric_frame(X, type(self).__name__)
            # SciKeras 0.13 never sets feature_names_in_: scikit-learn's own
            # check sets it on fit, refuses renamed or reordered columns and
            # warns on an array after a DataFrame.
            _check_feature_names(self, X, reset=reset)
        # scikit-learn's wording for a wrong number of features (SciKeras has its own).
        if not reset and X is not None and hasattr(self, "n_features_in_"):
            shape = getattr(X, "shape", ())
            if len(shape) == 2 and shape[1] != self.n_features_in_:
                raise ValueError(
                    f"X has {shape[1]} features, but {type(self).__name__} is "
                    f"expecting {self.n_features_in_} features as input."
                )
        return super()._validate_data(X, y, reset=reset, **kwargs)

    def __repr__(self, N_CHAR_MAX=700):
        # scikit-learn's convention (print_changed_only): the parameters that
        # differ from a default instance's, where SciKeras prints every one.
        defaults = type(self)().get_params(deep=False)
        changed = ", ".join(
            f"{name}={value!r}"
            for name, value in self.get_params(deep=False).items()
            if name not in defaults or repr(value) != repr(defaults[name])
        )
        text = f"{type(self).__name__}({changed})"
        if len(text) > N_CHAR_MAX:
            text = text[: N_CHAR_MAX // 2] + "..." + text[-N_CHAR_MAX // 2 :]
        return text

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.single_output = True
        tags.target_tags.multi_output = False
        return tags


_SHARED_DOC = """
    Parameters
    ----------
    imager : TintoImager or None, default=None
        How rows become images; ``None`` means ``TintoImager()``. It is cloned and
        fitted inside ``fit`` on the training rows only; tune it through
        ``imager__<param>`` (e.g. ``imager__pixels``) after passing an instance.
    branches : {"both", "mlp", "cnn"}, default="both"
        ``"both"`` is the hybrid; ``"mlp"`` and ``"cnn"`` keep one branch (the
        baselines of the PermGrad paper) with the same head and training.
    mlp_input : {"quantile", "minmax"}, default="quantile"
        What the MLP branch reads. ``"quantile"``: the imager's min-max scaled
        values mapped to normal scores by a quantile transform learned on the
        training rows (64 knots a feature), held inside the network (the
        ``mlp_quantile`` layer) so explanations still permute the same input;
        it spreads heavy-tailed columns (counts, prices) out. ``"minmax"``:
        the min-max scaled values themselves, as the image holds them (the
        PermGrad notebook's). The default was chosen by the ablation in
        ``benchmarks/results/bench_defaults.md`` (mean rank 4.11 of 8 against
        4.67 for ``"minmax"``, every seed trains).
    numeric_embedding : {"periodic"} or None, default=None
        ``"periodic"``: each MLP-branch input becomes periodic embeddings
        (16 trainable frequencies, cos and sin, a shared Dense of 8 units and
        ReLU: "PLR lite", Gorishniy et al. 2022) before the Dense blocks (the
        ``mlp_embedding`` layer). ``None``: the values go in as they are.
    n_dense_layers : int, default=2
        MLP branch depth: Dense + BatchNorm + Dropout blocks.
    dense_units : int, default=64
        Units of each MLP Dense layer.
    n_conv_layers : int, default=2
        CNN branch depth: Conv2D 3x3 + BatchNorm + MaxPool 2x2 + Dropout blocks;
        at most ``log2(image side)``.
    base_filters : int, default=16
        Filters of the first conv layer; layer ``i`` has ``base_filters * 2**i``.
    n_head_layers : int, default=1
        Dense + BatchNorm + Dropout blocks after the concatenation.
    head_units : int, default=64
        Units of each head Dense layer.
    dropout : float, default=0.1
        Dropout rate of every block.
    normalization : {"batch", "layer"} or None, default="batch"
        The normalisation layer of every block: batch normalisation (the
        PermGrad notebook's, with a moving-average momentum of 0.9), layer
        normalisation, or none.
    activation : str, default="relu"
        Keras activation of the hidden layers.
    kernel_initializer : str, default="he_normal"
        Keras initializer of every Dense and Conv2D layer.
    optimizer : {"adam", "adamw"}, default="adam"
        Keras optimizer.
    learning_rate : float, default=1e-3
        Peak learning rate (of the one-cycle schedule when it is on).
    weight_decay : float, default=1e-4
        AdamW's decoupled weight decay (ignored by Adam).
    batch_size : int, default=32
        Rows per gradient step.
    epochs : int, default=100
        Maximum number of epochs.
    validation_fraction : float or None, default=0.1
        Fraction of the training rows held out (shuffled with ``random_state``,
        stratified for a classifier) for early stopping on the validation
        loss, best weights restored; ``None`` trains all ``epochs`` on every
        row.
    patience : int, default=6
        Early stopping patience, in epochs. Epochs of the schedule's warm-up
        do not count: early stopping watches the validation loss only from
        the end of the warm-up, so it never stops a network whose learning
        rate is still rising.
    lr_schedule : {"one_cycle", "warmup_plateau", "constant"}, \
default="one_cycle"
        ``"one_cycle"``: the PermGrad notebook's schedule, linear warm-up over
        the first quarter of ``epochs`` then cosine decay
        (:func:`~skpermgrad.models.one_cycle_learning_rate`).
        ``"warmup_plateau"``: a 2-epoch warm-up, then flat, cut by 5 when the
        validation loss stalls for ``patience // 3`` epochs
        (:class:`~skpermgrad.models.WarmupPlateau`); suits larger
        ``batch_size`` and ``patience``. ``"constant"``: ``learning_rate``
        throughout. The defaults were chosen by an ablation on nine datasets
        (``benchmarks/results/bench_defaults.md``).
    random_state : int, RandomState instance or None, default=None
        Seeds weights, dropout, shuffling and the validation split; the same
        int gives identical predictions on CPU. Global random states are
        restored after each fit.
    verbose : int, default=0
        Keras progress output (0 silent, 1 progress bar, 2 one line per epoch).
    **kwargs
        Further SciKeras parameters (``callbacks``, ``fit__*``, ``predict__*``...).
"""

_REFERENCES_DOC = """
    See Also
    --------
    skpermgrad.TintoImager : How rows become images.
    skpermgrad.permgrad_importance : Explain a fitted hybrid.
    skpermgrad.PermGradExplainer : Fit and explain in one estimator.

    References
    ----------
    .. [1] F. Escalera-González, M. Castillo-Cara, M. Rincón-Zamorano and
       L. Orozco-Barbosa, "PermGrad: A Hybrid Neural Network Framework for
       Global Feature Attribution Using Synthetic Image Representations",
       code: https://github.com/felescgon/PermGrad,
       :doi:`10.5281/zenodo.17613159` (the hybrid network).
    .. [2] M. Castillo-Cara et al., "TINTO: Converting Tidy Data into Image for
       Classification with 2-Dimensional Convolutional Neural Networks",
       SoftwareX 22, 101391, 2023. :doi:`10.1016/j.softx.2023.101391`
    .. [3] Y. Gorishniy, I. Rubachev and A. Babenko, "On Embeddings for
       Numerical Features in Tabular Deep Learning", NeurIPS 2022
       (``numeric_embedding="periodic"``).
"""

_ATTRIBUTES_DOC = """
    Attributes
    ----------
    model_ : keras.Model
        The fitted network; layer names are listed in
        :func:`~skpermgrad.models.build_hybrid_model` (``tabular``, ``image_input``,
        ``image``, ``mlp_output``, ``last_conv``, ``cnn_output``,
        ``concatenate``, ``output``).
    feature_encoder_ : object
        Holds the fitted imager as ``feature_encoder_.imager_``.
    history_ : dict
        Keras training history (``loss``, ``val_loss`` ...).
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of str
        Names of features seen during ``fit``, when ``X`` has string column names.
"""


class HybridRegressor(_HybridMixin, KerasRegressor):
    __doc__ = (
        """Hybrid MLP + CNN regressor on TINTO images (the PermGrad network).

    The MLP branch reads the scaled numeric values; the CNN branch reads the
    same row drawn as a TINTO image, rendered inside the Keras graph batch by
    batch (training memory is O(batch), not O(n_samples * height * width)).
    The target is standardised for training (mean 0, variance 1, learned on the
    training rows) and predictions are mapped back; ``scale_target=False``
    trains on the raw target.
"""
        + _SHARED_DOC
        + """    scale_target : bool, default=True
        Standardise ``y`` internally.
"""
        + _ATTRIBUTES_DOC
        + _REFERENCES_DOC
        + """
    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skpermgrad import HybridRegressor, TintoImager
    >>> X, y = make_regression(60, 9, random_state=0)
    >>> reg = HybridRegressor(TintoImager(pixels=4), n_conv_layers=1, epochs=2,
    ...                       random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
"""
    )

    _parameter_constraints = {**_HYBRID_CONSTRAINTS, "scale_target": ["boolean"]}
    _loss = "mse"
    _output_activation = "linear"

    def __init__(
        self,
        imager=None,
        *,
        branches="both",
        mlp_input="quantile",
        numeric_embedding=None,
        n_dense_layers=2,
        dense_units=64,
        n_conv_layers=2,
        base_filters=16,
        n_head_layers=1,
        head_units=64,
        dropout=0.1,
        normalization="batch",
        activation="relu",
        kernel_initializer="he_normal",
        optimizer="adam",
        learning_rate=1e-3,
        weight_decay=1e-4,
        batch_size=32,
        epochs=100,
        validation_fraction=0.1,
        patience=6,
        lr_schedule="one_cycle",
        scale_target=True,
        random_state=None,
        verbose=0,
        **kwargs,
    ):
        super().__init__(
            optimizer=optimizer,
            batch_size=batch_size,
            epochs=epochs,
            random_state=random_state,
            verbose=verbose,
            **kwargs,
        )
        self.imager = imager
        self.branches = branches
        self.mlp_input = mlp_input
        self.numeric_embedding = numeric_embedding
        self.n_dense_layers = n_dense_layers
        self.dense_units = dense_units
        self.n_conv_layers = n_conv_layers
        self.base_filters = base_filters
        self.n_head_layers = n_head_layers
        self.head_units = head_units
        self.dropout = dropout
        self.normalization = normalization
        self.activation = activation
        self.kernel_initializer = kernel_initializer
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.lr_schedule = lr_schedule
        self.scale_target = scale_target

    @property
    def target_encoder(self):
        return _StandardTarget(scale=self.scale_target)

    def score(self, X, y, sample_weight=None):
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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "regressor"
        tags.regressor_tags = RegressorTags(poor_score=True)
        return tags


class HybridClassifier(_HybridMixin, KerasClassifier):
    __doc__ = (
        """Hybrid MLP + CNN classifier on TINTO images (the PermGrad network).

    Binary and multiclass, with string or integer labels: the network ends in a
    softmax over ``classes_`` trained with sparse categorical cross-entropy;
    ``predict_proba`` returns one column per class.
"""
        + _SHARED_DOC
        + """    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss (as in scikit-learn classifiers).
"""
        + _ATTRIBUTES_DOC
        + """    classes_ : ndarray of shape (n_classes,)
        The class labels.
"""
        + _REFERENCES_DOC
        + """
    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from skpermgrad import HybridClassifier, TintoImager
    >>> X, y = make_classification(60, 9, random_state=0)
    >>> clf = HybridClassifier(TintoImager(pixels=4), n_conv_layers=1, epochs=2,
    ...                        random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:3]).shape
    (3, 2)
"""
    )

    _parameter_constraints = {
        **_HYBRID_CONSTRAINTS,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }
    _loss = "sparse_categorical_crossentropy"
    _output_activation = "softmax"

    def __init__(
        self,
        imager=None,
        *,
        branches="both",
        mlp_input="quantile",
        numeric_embedding=None,
        n_dense_layers=2,
        dense_units=64,
        n_conv_layers=2,
        base_filters=16,
        n_head_layers=1,
        head_units=64,
        dropout=0.1,
        normalization="batch",
        activation="relu",
        kernel_initializer="he_normal",
        optimizer="adam",
        learning_rate=1e-3,
        weight_decay=1e-4,
        batch_size=32,
        epochs=100,
        validation_fraction=0.1,
        patience=6,
        lr_schedule="one_cycle",
        class_weight=None,
        random_state=None,
        verbose=0,
        **kwargs,
    ):
        super().__init__(
            optimizer=optimizer,
            batch_size=batch_size,
            epochs=epochs,
            random_state=random_state,
            verbose=verbose,
            class_weight=class_weight,
            loss=kwargs.pop("loss", self._loss),
            **kwargs,
        )
        self.imager = imager
        self.branches = branches
        self.mlp_input = mlp_input
        self.numeric_embedding = numeric_embedding
        self.n_dense_layers = n_dense_layers
        self.dense_units = dense_units
        self.n_conv_layers = n_conv_layers
        self.base_filters = base_filters
        self.n_head_layers = n_head_layers
        self.head_units = head_units
        self.dropout = dropout
        self.normalization = normalization
        self.activation = activation
        self.kernel_initializer = kernel_initializer
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.lr_schedule = lr_schedule

    def _n_model_outputs(self, meta):
        return meta["n_classes_"]

    def predict_proba(self, X, **kwargs):
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

    def score(self, X, y, sample_weight=None):
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

    def _check_target(self, y):
        classes = list(dict.fromkeys(np.asarray(y).ravel().tolist()))
        if len(classes) == 1:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the "
                f"data, but the data contains only one class: {classes[0]!r}."
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags(poor_score=True)
        return tags
