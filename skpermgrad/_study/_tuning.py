"""The tuning: the study's sampler within the trial budget, the pruner, the
run of trials, their counts, Ctrl-C and a trial's errors (the study's storage
is ``_storage.py``'s)."""

import statistics
import sys
import time
import warnings
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from . import _storage
from ._common import StudyError, clock, ctrl_c
from ._storage import (
    WORKER_ATTR,
    _alive,
    _beat_once,
    _worker,
    fail_dead_trials,
    shared_by_machines,
)
from ._trials import (
    DEFAULTS_ATTR,
    OVER_BUDGET_ATTR,
    _over_budget,
    completed_trials,
    enqueue_defaults,
    study_space,
    tried_trials,
)

# what stops a trial after a fold (--pruner), chosen by
# benchmarks/bench_pruning.py: the running mean of its fold scores against the
# other trials' on the same folds
PRUNERS = ("median", "none")
DEFAULT_PRUNER = "median"
# complete trials before the median pruner judges one: the defaults' trial
# (bench_pruning: as good as 2 or 4 in a replay, and with parallel workers it
# judges the trials that start beside the defaults')
PRUNER_STARTUP_TRIALS = 1


def make_pruner(name):
    """The Optuna pruner ``name`` (of ``PRUNERS``) stands for.

    ``"median"``: Optuna's ``MedianPruner``, which stops a trial after a fold
    when the mean of its fold scores so far is below the median of the complete
    trials' means over the same folds, once ``PRUNER_STARTUP_TRIALS`` trial
    (the defaults') is complete; ``"none"``: every trial runs all its folds.
    """
    import optuna

    if name == "none":
        return optuna.pruners.NopPruner()
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=PRUNER_STARTUP_TRIALS)
    raise ValueError(f"unknown pruner {name!r}: choose among {', '.join(PRUNERS)}")


def tuning_scoring(task) -> str:
    """What the study's CV maximises: the RMSE (negated) or the log loss
    (negated)."""
    return "neg_root_mean_squared_error" if task == "regression" else "neg_log_loss"


class _WithinBudget:
    """The study's sampler, letting a new trial run only while fewer than
    ``trials`` trials that count come before it.

    Trials are numbered by the storage in the order they are created, the
    same order for every process sharing the study; a trial counts when it
    is complete, waiting (enqueued) or running in a live process. A trial
    with ``trials`` of them before it is pruned at its first parameter
    (marked ``OVER_BUDGET_ATTR``), before it trains: two runs or workers
    that start trials at the same moment never run more than ``trials``
    (Optuna's ``MaxTrialsCallback`` stops a study only after a trial ends).
    Each trial records the process running it (``WORKER_ATTR``).
    """

    def __init__(self, sampler, trials):
        self.sampler, self.trials = sampler, trials
        self.running = None  # (study, trial id) of the trial begun last
        self._decided = {}

    def __getattr__(self, name):  # the rest of the sampler's interface
        return getattr(self.sampler, name)

    def before_trial(self, study, trial):
        study._storage.set_trial_system_attr(trial._trial_id, WORKER_ATTR, _worker())
        self.running = (study, trial._trial_id)  # what _FoldScorer reports to
        self.sampler.before_trial(study, trial)

    def infer_relative_search_space(self, study, trial):
        self._check(study, trial)
        return self.sampler.infer_relative_search_space(study, trial)

    def sample_relative(self, study, trial, search_space):
        self._check(study, trial)
        return self.sampler.sample_relative(study, trial, search_space)

    def sample_independent(self, study, trial, param_name, param_distribution):
        self._check(study, trial)
        return self.sampler.sample_independent(
            study, trial, param_name, param_distribution
        )

    def _check(self, study, trial):
        import optuna
        from optuna.trial import TrialState

        if trial.number not in self._decided:
            before = [
                t
                for t in study.get_trials(deepcopy=False)
                if t.number < trial.number
                and (
                    t.state in (TrialState.COMPLETE, TrialState.WAITING)
                    or (t.state == TrialState.PRUNED and not _over_budget(t))
                    or (t.state == TrialState.RUNNING and _alive(t))
                )
            ]
            self._decided[trial.number] = len(before) < self.trials
        if not self._decided[trial.number]:
            study._storage.set_trial_user_attr(trial._trial_id, OVER_BUDGET_ATTR, True)
            raise optuna.TrialPruned(
                f"{self.trials} trials are complete or running: the budget is reached"
            )


class _FoldScorer:
    """The run's scorer, reporting each fold of a trial to the study's pruner.

    After fold ``i`` (from 0) of the trial that ``sampler``
    (:class:`_WithinBudget`) began last, the mean of its fold scores so far
    is the trial's intermediate value at step ``i``: every trial
    cross-validates on the same folds, so trials compare fold for fold. When
    the study's pruner says so, the trial stops there (``optuna.TrialPruned``,
    recorded as pruned, its folds' mean as its last value); the last fold is
    never pruned, the trial is complete.
    """

    def __init__(self, scorer, sampler, folds):
        self.scorer, self.sampler, self.folds = scorer, sampler, folds
        self._trial, self._scores = None, []

    def __call__(self, estimator, X, y, **kwargs):
        import optuna

        score = self.scorer(estimator, X, y, **kwargs)
        if self.sampler.running != self._trial:
            self._trial, self._scores = self.sampler.running, []
        if self._trial is None:
            return score
        study, trial_id = self._trial
        self._scores.append(float(score))
        step, mean = len(self._scores) - 1, float(np.mean(self._scores))
        study._storage.set_trial_intermediate_value(trial_id, step, mean)
        if step < self.folds - 1 and study.pruner.prune(
            study, study._storage.get_trial(trial_id)
        ):
            raise optuna.TrialPruned(
                f"pruned after fold {step + 1}/{self.folds}: mean score {mean:.4g}"
            )
        return score


def tune(
    pipeline,
    X,
    y,
    study,
    *,
    trials,
    cv,
    scoring,
    seed,
    space,
    monitor,
    n_trials=None,
    ran=None,
    count_running=False,
    last_words=None,
    pruner=DEFAULT_PRUNER,
):
    """Run trials until ``trials`` are tried in the study (shared or not):
    complete, or stopped after a fold by ``pruner`` (of ``PRUNERS``: see
    :class:`_FoldScorer`).

    ``space`` is the search space (:func:`study_space`). The study's first
    trial is the hybrid's defaults (enqueued once, whoever opens the study
    first). Each process runs at most the trials still
    missing, or ``n_trials`` (a worker's share of them); with
    ``count_running`` (a database server, whose heartbeats fail the trials of
    dead workers) the trials other workers are running count as done, so
    that no process starts one past the total; ``monitor`` (the run's time budget) stops
    starting trials when another would eat into the time the later steps
    need. The numbers of the trials this process ran are added to ``ran``.
    Ctrl-C stops as :func:`ctrl_c` says (``last_words``: the line a second
    one prints). On a terminal a bar shows the trials with the best score and the time
    left; elsewhere (a log file, a pipe) each finished trial is one plain line.
    """
    import optuna
    from optuna.trial import TrialState
    from optuna_integration import OptunaSearchCV
    from sklearn.metrics import check_scoring
    from tqdm.auto import tqdm

    def running():
        if not count_running:
            return 0
        return len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))

    fail_dead_trials(study)
    missing = trials - len(tried_trials(study)) - running()
    if missing <= 0:
        return
    enqueue_defaults(pipeline, study, space)
    if not isinstance(study.sampler, _WithinBudget):
        study.sampler = _WithinBudget(study.sampler, trials)
    study.pruner = make_pruner(pruner)
    scorer = _FoldScorer(check_scoring(pipeline, scoring), study.sampler, cv)
    runs = missing if n_trials is None else min(n_trials, missing)
    worker = f"{monitor.worker}: " if monitor.worker else ""
    bar = tqdm(
        total=trials,
        initial=trials - missing,
        desc="trials",
        unit="trial",
        disable=None if monitor.worker is None else True,
        file=sys.stderr,
    )
    durations = []

    def label():
        return f"trial {min(len(tried_trials(study)) + 1, trials)}/{trials}"

    def progress(study, trial):
        if ran is not None:
            ran.add(trial.number)
        over_budget = _over_budget(trial)
        if stopping or over_budget or len(tried_trials(study)) + running() >= trials:
            study.stop()
        pruned = trial.state == TrialState.PRUNED and not over_budget
        if not pruned and trial.state != TrialState.COMPLETE:
            return
        durations.append(trial.duration.total_seconds())
        left = f", {clock(monitor.left())} left" if monitor.limited() else ""
        # the best trial, perhaps another worker's (None: none complete yet)
        best = study.best_trial if completed_trials(study) else None
        if best is not None:
            monitor.trial_done(best.duration.total_seconds(), cv)
        if pruned:
            line = (
                f"pruned after fold {trial.last_step + 1}/{cv}, mean cv score "
                f"{trial.value:.4g} in {clock(durations[-1])}{left}"
            )
        else:
            which = " (the defaults)" if best.user_attrs.get(DEFAULTS_ATTR) else ""
            line = (
                f"cv score {trial.value:.4g} in {clock(durations[-1])}; best "
                f"{best.value:.4g} (trial {best.number}{which}){left}"
            )
            bar.set_postfix_str(f"best {best.value:.4g}{which}{left}")
        if bar.disable:
            print(
                f"{worker}trial {len(tried_trials(study))}/{trials}: {line}",
                file=sys.stderr,
                flush=True,
            )
        bar.update(1)
        # the next trial is expected to take what a typical one has (the
        # search space's trials differ in cost by 5x and more; the fits of a
        # trial that runs past the deadline stop there)
        typical = statistics.median(durations)
        if monitor.limited() and not monitor.room_for_trial(typical):
            study.stop()
            print(
                f"{worker}time limit: no new trial ({len(tried_trials(study))} of "
                f"{trials} tried); the next would leave too little for the "
                "refit, the variants and the explanation",
                file=sys.stderr,
            )
        monitor.begin(label(), cv)

    with warnings.catch_warnings():  # OptunaSearchCV is marked experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        search = OptunaSearchCV(
            pipeline,
            space,
            cv=cv,
            n_trials=runs,
            scoring=scorer,
            study=study,
            refit=False,
            random_state=seed,
            error_score="raise",
            callbacks=[progress],
        )
    monitor.start_tuning()
    monitor.begin(label(), cv)
    stopping = []
    try:
        with ctrl_c(stopping, last_words):
            with warnings.catch_warnings():  # optuna_integration's deprecations
                warnings.filterwarnings(
                    "ignore", category=FutureWarning, module="optuna"
                )
                search.fit(X, y)
    except (ValueError, TypeError) as exc:
        message = _trial_error(pipeline, X, y, study, cv, scoring, exc)
        raise StudyError(message) from None
    finally:
        bar.close()
    if stopping:
        raise KeyboardInterrupt  # the running trial is recorded: stop the run


class Tuning(NamedTuple):
    """What every tuning step of a run reads: its settings, the study's
    storage and the study, the pipeline tuned on the training rows ``X``,
    ``y``, and the run's time budget (``monitor``)."""

    settings: Mapping
    storage: str
    pipeline: Any
    X: Any
    y: Any
    study: Any
    monitor: Any


def tune_run(tuning, **options):
    """:func:`tune` with what a run's settings say (trials, folds, scoring,
    seed, search space), counting other workers' running trials on a server."""
    settings = tuning.settings
    tune(
        tuning.pipeline,
        tuning.X,
        tuning.y,
        tuning.study,
        trials=settings["trials"],
        cv=settings["cv"],
        scoring=settings["scoring"],
        seed=settings["seed"],
        space=study_space(settings),
        monitor=tuning.monitor,
        count_running=shared_by_machines(tuning.storage),
        pruner=settings["pruner"],
        **options,
    )


def wait_for_other_workers(study, monitor, poll=2.0):
    """Wait until no trial of the study runs (those of other workers: this
    process has none running), failing on the way those whose worker stopped
    beating (see ``_storage.optuna_storage``); stops waiting at the tuning deadline.

    Optuna marks a trial running, then starts its heartbeat: a worker killed
    in between leaves a running trial with no heartbeat, which Optuna never
    finds stale. A trial this worker has watched running for ``GRACE``
    seconds gets one heartbeat from it, so that it goes stale ``GRACE``
    seconds later unless its own worker beats (a live one has by then, and
    one more beat does not change its state).
    """
    import optuna
    from optuna.storages import fail_stale_trials
    from optuna.trial import TrialState

    said, watched = False, {}
    while True:
        with warnings.catch_warnings():  # Optuna marks it experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            fail_stale_trials(study)
        fail_dead_trials(study)  # a file storage's: no heartbeat finds them
        running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        if not running or monitor.expired():
            return
        if not said:
            numbers = ", ".join(str(t.number) for t in running)
            print(
                f"waiting for trial(s) {numbers} of another worker to finish",
                file=sys.stderr,
                flush=True,
            )
            said = True
        now = time.monotonic()
        for trial in running:
            since = watched.setdefault(trial.number, now)
            if since is not None and now - since > _storage.GRACE:
                _beat_once(study, trial)
                watched[trial.number] = None
        time.sleep(poll)


def _trial_error(pipeline, X, y, study, cv, scoring, exc):
    """One line on why tuning failed, with the error a trial really raised.

    optuna-integration's OptunaSearchCV swallows a ValueError from inside a
    trial and fails later on its own (``TypeError ... add.reduce``): the
    failed trial's parameters are cross-validated again here with the error
    raised, to name the cause.
    """
    from optuna.trial import TrialState
    from sklearn.base import clone
    from sklearn.model_selection import cross_validate

    failed = study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
    cause = exc
    if failed:
        try:
            cross_validate(
                clone(pipeline).set_params(**failed[-1].params),
                X,
                y,
                cv=cv,
                scoring=scoring,
                error_score="raise",
            )
        except Exception as raised:  # noqa: BLE001 - reported, not handled
            cause = raised
    message = str(cause).strip().splitlines()
    return (
        f"tuning failed: {type(cause).__name__}: "
        f"{message[0] if message else 'no message'}"
    )
