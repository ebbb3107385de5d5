"""How a hybrid trains: learning-rate schedules and the early-stopping rule.

One rule, written once: early stopping only counts epochs after the schedule's
warm-up. While the learning rate is still rising the validation loss is not a
fair judge (it often rises while the network leaves its initialisation), and a
patience that runs out inside the warm-up stops training there and restores
the weights of a nearly untrained network.
"""

from __future__ import annotations

import math
import os
import random
from contextlib import contextmanager, nullcontext
from typing import Any

import keras
import numpy as np

LR_SCHEDULES = ("warmup_plateau", "one_cycle", "constant")
ONE_CYCLE_WARMUP = 0.25  # the share of the epochs the one-cycle warm-up spans


def one_cycle_learning_rate(
    epoch: int, total_epochs: int, max_lr: float, min_lr: float = 1e-5
) -> float:
    """The PermGrad notebook's one-cycle schedule.

    Linear warm-up from ``min_lr`` to ``max_lr`` over the first quarter of the
    epochs, then cosine decay towards 0 over the rest.

    Parameters
    ----------
    epoch : int
        The epoch (from 0).
    total_epochs : int
        The epochs the schedule spans.
    max_lr : float
        The learning rate at the end of the warm-up.
    min_lr : float, default=1e-5
        The learning rate of the first epoch.

    Returns
    -------
    learning_rate : float

    See Also
    --------
    WarmupPlateau : The alternative schedule (``lr_schedule="warmup_plateau"``).

    References
    ----------
    .. [1] L. N. Smith and N. Topin, "Super-Convergence: Very Fast Training of
       Neural Networks Using Large Learning Rates", 2019 (the one-cycle
       policy).

    Examples
    --------
    >>> from skpermgrad.models import one_cycle_learning_rate
    >>> [round(one_cycle_learning_rate(e, 8, 1e-3), 5) for e in range(0, 8, 2)]
    [1e-05, 0.001, 0.00075, 0.00025]
    """
    warmup = total_epochs * ONE_CYCLE_WARMUP
    if epoch < warmup:
        return float(min_lr + (max_lr - min_lr) * (epoch / warmup))
    progress = (epoch - warmup) / (total_epochs - warmup)
    return float(max_lr * 0.5 * (1 + math.cos(math.pi * progress)))


def warmup_epochs(schedule: str, total_epochs: int) -> int:
    """Epochs in which ``schedule`` is still warming the learning rate up.

    Early stopping neither counts nor keeps weights before this epoch.
    ``"warmup_plateau"`` warms up for 2 epochs (1 when ``total_epochs`` < 4),
    ``"one_cycle"`` for its first quarter, ``"constant"`` not at all.
    """
    if schedule == "one_cycle":
        return math.ceil(total_epochs * ONE_CYCLE_WARMUP)
    if schedule == "warmup_plateau":
        return 2 if total_epochs >= 4 else min(1, total_epochs - 1)
    return 0


def training_callbacks(
    *,
    schedule: str,
    learning_rate: float,
    epochs: int,
    patience: int,
    validation: bool,
) -> list:
    """The Keras callbacks of one fit: schedule, plateau decay, early stopping.

    - ``"warmup_plateau"``: the learning rate rises linearly over the warm-up
      epochs, then stays flat; with validation rows it is divided by 5 whenever
      the validation loss has not improved for ``max(1, patience // 3)``
      epochs, down to 1/100 of ``learning_rate`` (:class:`WarmupPlateau`).
    - ``"one_cycle"``: :func:`one_cycle_learning_rate` over ``epochs``.
    - ``"constant"``: ``learning_rate`` throughout.

    With validation rows, early stopping watches the validation loss from the
    end of the warm-up (:func:`warmup_epochs`), stops after ``patience``
    epochs without improvement and restores the best weights seen since.
    """
    warmup = warmup_epochs(schedule, epochs)
    callbacks = []
    if schedule == "one_cycle":

        def rate(epoch, lr):
            return one_cycle_learning_rate(epoch, epochs, learning_rate)

        callbacks.append(keras.callbacks.LearningRateScheduler(rate))
    elif schedule == "warmup_plateau":
        callbacks.append(
            WarmupPlateau(
                learning_rate,
                warmup=warmup,
                patience=max(1, patience // 3) if validation else None,
            )
        )
    if not validation:
        return callbacks
    callbacks.append(
        keras.callbacks.EarlyStopping(
            monitor="val_loss",
            patience=patience,
            restore_best_weights=True,
            start_from_epoch=warmup,
        )
    )
    return callbacks


class WarmupPlateau(keras.callbacks.Callback):
    """Linear warm-up, then a flat learning rate cut by ``factor`` on plateaus.

    Epoch ``e < warmup`` trains at ``learning_rate * (e + 1) / (warmup + 1)``;
    from then on at ``learning_rate``, multiplied by ``factor`` whenever the
    validation loss has not improved for ``patience`` epochs (counted only
    after the warm-up; ``None``: never), down to ``min_factor * learning_rate``.
    The rate of each epoch is logged as ``learning_rate`` in the history.
    This is what ``lr_schedule="warmup_plateau"`` of the hybrids uses, with
    ``patience=max(1, patience // 3)`` of the early stopping's.

    Parameters
    ----------
    learning_rate : float
        The rate after the warm-up.
    warmup : int
        Epochs of linear warm-up.
    patience : int or None
        Epochs without a better validation loss before the rate is cut.
    factor : float, default=0.2
        What each cut multiplies the rate by.
    min_factor : float, default=0.01
        The lowest rate, as a fraction of ``learning_rate``.

    See Also
    --------
    keras.callbacks.ReduceLROnPlateau : The plateau cut alone; it counts
        epochs from the first, so a warm-up's early losses can trigger it.

    References
    ----------
    .. [1] P. Goyal et al., "Accurate, Large Minibatch SGD: Training ImageNet
       in 1 Hour", 2017 (linear warm-up).

    Examples
    --------
    >>> import keras
    >>> from skpermgrad.models import WarmupPlateau
    >>> schedule = WarmupPlateau(1e-3, warmup=2, patience=4)
    >>> callbacks = [schedule, keras.callbacks.EarlyStopping(start_from_epoch=2)]
    """

    def __init__(
        self,
        learning_rate: float,
        *,
        warmup: int,
        patience: int,
        factor: float = 0.2,
        min_factor: float = 0.01,
    ) -> None:
        super().__init__()
        self.learning_rate = learning_rate
        self.warmup = warmup
        self.patience = patience
        self.factor = factor
        self.min_factor = min_factor

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Start at ``learning_rate`` with no best validation loss yet."""
        self._rate = self.learning_rate
        self._best = math.inf
        self._wait = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """Set this epoch's rate: the warm-up's, then the plateau-cut one."""
        if epoch < self.warmup:
            rate = self.learning_rate * (epoch + 1) / (self.warmup + 1)
        else:
            rate = self._rate
        self.model.optimizer.learning_rate.assign(rate)
        self._current = float(rate)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Log the rate; cut it after ``patience`` epochs without a better loss."""
        logs = logs if logs is not None else {}
        logs["learning_rate"] = self._current
        loss = logs.get("val_loss")
        if self.patience is None or epoch < self.warmup or loss is None:
            return
        if loss < self._best:
            self._best, self._wait = loss, 0
            return
        self._wait += 1
        if self._wait >= self.patience:
            floor = self.min_factor * self.learning_rate
            self._rate = max(self._rate * self.factor, floor)
            self._wait = 0


@keras.saving.register_keras_serializable(package="skpermgrad")
class SmoothedCrossentropy(keras.losses.Loss):
    """Cross-entropy of integer class labels with label smoothing.

    Keras's sparse categorical cross-entropy has no label smoothing: the
    labels are one-hot encoded over the prediction's classes, then
    ``(1 - label_smoothing) * one_hot + label_smoothing / n_classes`` is the
    target of the categorical cross-entropy.

    Parameters
    ----------
    label_smoothing : float, default=0.1
        The share of each target spread evenly over all classes.
    **kwargs
        Keras loss arguments (``name``, ``reduction``...).

    See Also
    --------
    skpermgrad.HybridClassifier : Trains with it when ``label_smoothing > 0``.

    References
    ----------
    .. [1] C. Szegedy et al., "Rethinking the Inception Architecture for
       Computer Vision", CVPR 2016.

    Examples
    --------
    >>> import numpy as np
    >>> from skpermgrad.models import SmoothedCrossentropy
    >>> loss = SmoothedCrossentropy(0.0)
    >>> round(float(loss(np.array([1]), np.array([[0.5, 0.5]]))), 4)
    0.6931
    """

    def __init__(
        self,
        label_smoothing: float = 0.1,
        name: str = "smoothed_crossentropy",
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, **kwargs)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        n_classes = y_pred.shape[-1]
        labels = keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "int32")
        one_hot = keras.ops.one_hot(labels, n_classes, dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(
            one_hot, y_pred, label_smoothing=self.label_smoothing
        )

    def get_config(self) -> dict:
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


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


def seeded(seed):
    """A block seeded by ``seed`` (:func:`_tensorflow_seed`), or left as it
    is for ``None``."""
    return nullcontext() if seed is None else _tensorflow_seed(seed)


def int_seed(random_state):
    """The integer seed of a fit: ``random_state`` itself (an int or None),
    or, for a RandomState, one drawn from a copy of its state (so it is not
    advanced; SciKeras 0.13 seeds with ``randint(low=1)``, always 0, so that
    every RandomState gave the same network)."""
    if not isinstance(random_state, np.random.RandomState):
        return random_state
    copy = np.random.RandomState()
    copy.set_state(random_state.get_state())
    return int(copy.randint(2**31 - 1))
