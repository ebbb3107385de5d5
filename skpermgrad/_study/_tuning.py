"""The Optuna study: its storage, its sampler, the tuning run and its errors."""

import os
import signal
import statistics
import sys
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ._base import STUDY_DB, STUDY_JOURNAL, StudyError, clock

DEFAULTS_ATTR = "skpermgrad_defaults"  # the user attribute of the defaults' trial
# a trial's system attribute: the "host:pid" of the process running it
WORKER_ATTR = "skpermgrad_worker"
# the user attribute of a trial pruned before it ran: the budget was reached
OVER_BUDGET_ATTR = "skpermgrad_over_budget"
# seconds between a running trial's heartbeats on a database server, and
# without one before the trial counts as its dead worker's and is failed
HEARTBEAT, GRACE = 10, 30
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


def sqlite_study(storage, out) -> bool:
    """Whether the study is SQLite: an SQLite ``--storage`` URL, or (none
    given) the ``study.db`` an earlier run left in ``out``."""
    if storage is None:
        return (Path(out) / STUDY_DB).exists()
    return storage.startswith("sqlite")


def storage_url(storage, out, workers=1) -> str:
    """The study's storage: ``storage`` as given, or (``None``) a file in
    ``out`` wherever the folder now is, so a copied or moved folder resumes its
    own study and never writes into the original's.

    The file is SQLite (``study.db``) for one worker, an Optuna journal
    (``study.journal``) for several or where one already is: Optuna's FAQ
    rules out SQLite for parallel workers (concurrent writers lock it) and
    recommends its ``JournalStorage`` for processes on one machine. Several
    workers on an SQLite study are refused, in one line saying what to use.
    """
    out = Path(out)
    if storage is None:
        journal, sqlite = out / STUDY_JOURNAL, out / STUDY_DB
        if workers > 1 and sqlite_study(storage, out):
            raise StudyError(
                f"the study in {out} is in SQLite ({STUDY_DB}), which parallel "
                "workers must not share: continue it with --workers 1, or start "
                "the parallel run in a new --out"
            )
        if workers > 1 or journal.exists():
            return str(journal.resolve())
        return f"sqlite:///{sqlite.resolve()}"
    if workers > 1 and sqlite_study(storage, out):
        raise StudyError(
            f"--workers {workers} cannot share the SQLite study {storage} (Optuna "
            "advises against SQLite for parallel workers): leave --storage out "
            "(a journal file in --out), or pass a PostgreSQL or MySQL URL"
        )
    return storage


def shared_by_machines(storage) -> bool:
    """Whether ``storage`` is a database server's URL (PostgreSQL, MySQL...):
    the storage of workers on several machines, which heartbeats watch."""
    return "://" in storage and not storage.startswith("sqlite")


def optuna_storage(storage):
    """What Optuna opens: a ``.journal`` file as a ``JournalStorage`` (its
    file lock lets processes share it); a server's URL as an ``RDBStorage``
    whose running trials beat every ``HEARTBEAT`` seconds, so that a trial
    whose worker died (``kill -9``, a lost machine) is failed after ``GRACE``
    seconds and run again (once or twice) by a worker still alive; an SQLite
    URL as it is."""
    if storage.endswith(".journal") and "://" not in storage:
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        return JournalStorage(JournalFileBackend(storage))
    if shared_by_machines(storage):
        import optuna
        from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

        with warnings.catch_warnings():  # Optuna marks heartbeats experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return RDBStorage(
                storage,
                heartbeat_interval=HEARTBEAT,
                grace_period=GRACE,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(2),
            )
    return storage


def open_study(storage, name, seed, worker=0):
    """Create or load the Optuna study (``maximize`` the CV score).

    The TPE sampler's seed is drawn from ``seed``, the number of trials the
    study already holds and the ``worker``'s number: a run is reproducible,
    yet a continued study, or a second worker joining it (even at the same
    moment), never replays the trials of the first.
    """
    import optuna

    # errors only: a failed trial's warning carries pages of traceback (a
    # Ctrl-C's too), and the run says why a trial failed in one line itself
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        study = optuna.create_study(
            storage=optuna_storage(storage),
            study_name=name,
            direction="maximize",
            load_if_exists=True,
        )
    except Exception as exc:  # Optuna's, or SQLAlchemy's (a bad URL, no permission)
        lines = str(exc).strip().splitlines()
        raise StudyError(
            f"cannot open the study in --storage {storage}: "
            f"{type(exc).__name__}: {lines[0] if lines else ''}"
        ) from None
    entropy = [seed, len(study.trials)] + ([worker] if worker else [])
    sampler_seed = np.random.SeedSequence(entropy).generate_state(1)
    study.sampler = optuna.samplers.TPESampler(seed=int(sampler_seed[0]))
    return study


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


def _over_budget(trial):
    return bool(trial.user_attrs.get(OVER_BUDGET_ATTR))


def _worker():
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(trial):
    """Whether the process running ``trial`` lives: unknown (True) for a
    trial of another machine or one that did not say which process runs it."""
    import socket

    host, _, pid = trial.system_attrs.get(WORKER_ATTR, "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def fail_dead_trials(study):
    """Fail the running trials whose process on this machine is gone (killed,
    or the machine restarted): a file storage has no heartbeat to find them,
    and they would stand as running for ever. A storage with heartbeats (a
    database server's, see ``optuna_storage``) is left to Optuna's
    ``fail_stale_trials``, which also runs such a trial again."""
    from optuna.trial import TrialState

    if getattr(study._storage, "get_heartbeat_interval", lambda: None)():
        return
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if not _alive(trial):
            study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)


def completed_trials(study):
    from optuna.trial import TrialState

    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


def pruned_trials(study):
    """The trials the pruner stopped after a fold (not those stopped before
    they ran because the budget was reached)."""
    from optuna.trial import TrialState

    return [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.PRUNED,))
        if not _over_budget(t)
    ]


def tried_trials(study):
    """The trials that count towards ``--trials``: complete or pruned."""
    return completed_trials(study) + pruned_trials(study)


def defaults_of(pipeline, space):
    """The pipeline's own values of the tuned parameters (trial 0's)."""
    params = pipeline.get_params()
    return {name: params[name] for name in space}


def study_space(settings):
    """The study's search space: the hybrid's (the notebook's, up to
    ``max_base_filters``), and the image method among the run's ``images``
    when it names several (chosen, as the rest, by the training split's CV)."""
    from optuna.distributions import CategoricalDistribution

    from ..model_selection import hybrid_search_space

    space = hybrid_search_space(
        "hybrid__", max_base_filters=settings["max_base_filters"]
    )
    if len(settings["images"]) > 1:
        space["hybrid__imager"] = CategoricalDistribution(settings["images"])
    return space


def enqueue_defaults(pipeline, study, space):
    """Make the hybrid's defaults the study's next trial, unless it has them
    (so the tuned model's CV score is never below theirs)."""
    study.enqueue_trial(
        defaults_of(pipeline, space),
        user_attrs={DEFAULTS_ATTR: True},
        skip_if_exists=True,
    )


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


def tune_run(settings, storage, pipeline, X, y, study, monitor, **options):
    """:func:`tune` with what a run's ``settings`` say (trials, folds, scoring,
    seed, search space), counting other workers' running trials on a server."""
    tune(
        pipeline,
        X,
        y,
        study,
        trials=settings["trials"],
        cv=settings["cv"],
        scoring=settings["scoring"],
        seed=settings["seed"],
        space=study_space(settings),
        monitor=monitor,
        count_running=shared_by_machines(storage),
        pruner=settings["pruner"],
        **options,
    )


def wait_for_other_workers(study, monitor, poll=2.0):
    """Wait until no trial of the study runs (those of other workers: this
    process has none running), failing on the way those whose worker stopped
    beating (see ``optuna_storage``); stops waiting at the tuning deadline.

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
            if since is not None and now - since > GRACE:
                _beat_once(study, trial)
                watched[trial.number] = None
        time.sleep(poll)


def _beat_once(study, trial):
    """Record one heartbeat of another worker's running ``trial`` (the
    storage's public ``record_heartbeat``; Optuna's own ``fail_stale_trials``
    reads the study's storage the same way)."""
    storage = study._storage
    if getattr(storage, "get_heartbeat_interval", lambda: None)():
        storage.record_heartbeat(trial._trial_id)


def finished_last(study, ran) -> bool:
    """Whether the study's last trial to finish (complete, pruned after a fold
    or failed) is one of ``ran``: the worker that ran it refits and reports,
    the others stop."""
    from optuna.trial import TrialState

    failed = study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
    done = [t for t in tried_trials(study) + failed if t.datetime_complete]
    if not done:
        return True
    last = max(done, key=lambda t: (t.datetime_complete, t.number))
    return last.number in ran


@contextmanager
def ctrl_c(stopping=None, last_words=None):
    """How Ctrl-C (SIGINT) stops the run while the block runs.

    With a list ``stopping`` (tuning), a first Ctrl-C lets the running trial
    finish and be recorded (``stopping`` gets an item; the tuning stops
    after it); without one, a first Ctrl-C raises ``KeyboardInterrupt`` as
    usual. A second Ctrl-C stops the process at once, from the handler
    (``os._exit(130)``), after printing ``last_words()`` (a line saying what
    is kept, or nothing): a ``KeyboardInterrupt`` raised inside a trial
    could be swallowed by a finaliser ("Exception ignored") and the trial
    run on, or unwind through pages of Optuna and TensorFlow frames. The
    trial it leaves running is failed when the study is next opened (its
    process is gone: :func:`fail_dead_trials`).
    """
    pressed = []

    def handler(signum, frame):
        if pressed:
            if last_words is not None:
                print(f"\n{last_words()}", file=sys.stderr)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)
        pressed.append(True)
        if stopping is None:
            raise KeyboardInterrupt
        stopping.append(True)
        print(
            "\nCtrl-C: stopping after the running trial is recorded (Ctrl-C "
            "again to stop now and lose it)",
            file=sys.stderr,
            flush=True,
        )

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: Ctrl-C keeps its default
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def defaults_trial(study):
    """The study's trial of the hybrid's defaults, if complete (else None)."""
    for trial in completed_trials(study):
        if trial.user_attrs.get(DEFAULTS_ATTR):
            return trial
    return None


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
