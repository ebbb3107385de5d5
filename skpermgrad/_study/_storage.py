"""Where the Optuna study lives: its storage (a file in ``--out``, a journal
for parallel workers, a database server's URL with heartbeats), opening it
with its seeded sampler, and the trials of processes that died."""

import os
import warnings
from pathlib import Path

import numpy as np

from ._common import STUDY_DB, STUDY_JOURNAL, StudyError

# a trial's system attribute: the "host:pid" of the process running it
WORKER_ATTR = "skpermgrad_worker"
# seconds between a running trial's heartbeats on a database server, and
# without one before the trial counts as its dead worker's and is failed
HEARTBEAT, GRACE = 10, 30


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


def _beat_once(study, trial):
    """Record one heartbeat of another worker's running ``trial`` (the
    storage's public ``record_heartbeat``; Optuna's own ``fail_stale_trials``
    reads the study's storage the same way)."""
    storage = study._storage
    if getattr(storage, "get_heartbeat_interval", lambda: None)():
        storage.record_heartbeat(trial._trial_id)
