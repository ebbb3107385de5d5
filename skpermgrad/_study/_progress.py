"""What a run's user watches, and its time budget (``--time-limit``).

:class:`Monitor` holds the budget: the end of the run, the deadline of the step
now running (each step gets its share of the time left, by what it is
expected to cost), and what has been measured. :class:`FitMonitor` is the
Keras callback that every fit of the run carries: an epoch bar on a terminal,
and a stop after the epoch in which its step's deadline passes.
"""

import math
import sys
import time

import keras

from ._common import clock

# What each step after tuning costs, in fits of the hybrid on the training
# rows: the refit is one, the MLP-only and CNN-only variants the median of
# their fit times over the default's on bench_predictive's nine tables, the
# explanation about a quarter (measured on the bundled run).
STEP_COST = {"refit": 1.0, "mlp_only": 0.93, "cnn_only": 0.64, "explanation": 0.25}
AFTER_TUNING = ("refit", "mlp_only", "cnn_only", "explanation")
# before any trial has been timed, tuning may take this share of the time left
TUNING_SHARE = 0.6


class Monitor:
    """A run's clock: its time limit, the current step's deadline, and the
    time one fit of the hybrid on the training rows takes (measured)."""

    def __init__(self, time_limit=None, start=None, worker=None):
        self.start = time.perf_counter() if start is None else start
        # a tuning worker's name ("worker 2/3"): its lines say it, and it draws
        # no bars (several processes share the terminal)
        self.worker = worker
        self.end = math.inf if time_limit is None else self.start + time_limit
        self.deadline = self.end
        self.fit_seconds = None  # one hybrid fit on the training rows
        self.step = "fit"  # what the fits now running are for ("trial 3", "refit")
        self.cv = None  # the folds of a trial, while trials run
        self.fits = 0  # fits begun in this step

    def begin(self, step, cv=None):
        """Name the step whose fits follow (shown with each fit's epoch bar)."""
        self.step, self.cv, self.fits = step, cv, 0

    def describe_fit(self) -> str:
        """``trial 3, fold 2/3`` or ``refit``, counting this fit."""
        self.fits += 1
        return f"{self.step}, fold {self.fits}/{self.cv}" if self.cv else self.step

    def left(self) -> float:
        return self.end - time.perf_counter()

    def limited(self) -> bool:
        return math.isfinite(self.end)

    def expired(self) -> bool:
        return time.perf_counter() > self.deadline

    def reserve(self) -> float:
        """Seconds the steps after tuning are expected to take."""
        if self.fit_seconds is None:
            return (1 - TUNING_SHARE) * max(self.left(), 0.0)
        return self.fit_seconds * sum(STEP_COST[s] for s in AFTER_TUNING)

    def start_tuning(self):
        """The trials may run until the reserve for the later steps."""
        self.deadline = self.end - self.reserve()

    def start_step(self, step):
        """``step`` (of ``AFTER_TUNING``) gets its share of the time left."""
        rest = AFTER_TUNING[AFTER_TUNING.index(step) :]
        share = STEP_COST[step] / sum(STEP_COST[s] for s in rest)
        self.deadline = time.perf_counter() + share * max(self.left(), 0.0)

    def trial_done(self, seconds, cv):
        """The best trial so far, of ``cv`` fits on ``(cv - 1) / cv`` of the
        rows, took ``seconds``: one fit of it on all of them, what the refit and
        the variants will cost, takes about ``seconds / (cv - 1)``. (Not the
        slowest trial's: a search space's trials differ in cost by 5x and more,
        and only the best one is fitted after tuning.)"""
        self.fit_seconds = seconds / (cv - 1)
        self.start_tuning()

    def room_for_trial(self, seconds) -> bool:
        """Whether another trial of about ``seconds`` ends before the reserve
        (the tuning deadline, which :meth:`trial_done` has just set)."""
        return time.perf_counter() + seconds <= self.deadline


class FitMonitor(keras.callbacks.Callback):
    """Every fit's callback in a run: an epoch bar on a terminal (the fold and
    the time left with it), and a stop once the step's deadline has passed.

    Copies (scikit-learn's ``clone`` deep-copies a hybrid's callbacks) share
    the run's :class:`Monitor`.
    """

    def __init__(self, monitor):
        super().__init__()
        self.monitor = monitor
        self._bar = None

    def __deepcopy__(self, memo):
        return FitMonitor(self.monitor)

    def on_train_begin(self, logs=None):
        from tqdm.auto import tqdm

        self._bar = tqdm(
            total=self.params.get("epochs"),
            desc=self.monitor.describe_fit(),
            unit="epoch",
            leave=False,
            disable=None if self.monitor.worker is None else True,
            file=sys.stderr,
        )

    def on_epoch_end(self, epoch, logs=None):
        if self._bar is not None:
            self._bar.update(1)
            postfix = {"loss": f"{logs['loss']:.4g}"} if logs and "loss" in logs else {}
            if self.monitor.limited():
                postfix["left"] = clock(self.monitor.left())
            self._bar.set_postfix(postfix)
        if self.monitor.expired():
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
