"""Tuning on several processes of one machine (``skpermgrad run --workers N``).

The run's process checks the table, opens the study and enqueues the
hybrid's defaults; ``N`` worker processes then share the study's trials
(each its share of those still missing, so that they add up to
``--trials``), each with its TensorFlow limited to its share of the cores;
the run's process waits for them, then refits, explains and reports once.
Workers are started with ``spawn`` (a fresh interpreter: no TensorFlow state
copied from the parent) and get the training rows through its pipe.
"""

import multiprocessing
import os
import sys

from ._common import StudyError, ctrl_c, quiet_tensorflow
from ._storage import sqlite_study
from ._trials import completed_trials, enqueue_defaults, study_space, tried_trials


def cores() -> int:
    """The CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


# the most tuning processes a run starts when --workers is not given
MAX_DEFAULT_WORKERS = 4


def default_workers(trials, storage, out) -> int:
    """``--workers`` when not given: one tuning process a core, at most
    ``MAX_DEFAULT_WORKERS`` and at most ``trials``; one where there is no
    tuning, or where the study is SQLite (given as ``--storage``, or the
    ``study.db`` of an earlier run in ``out``), which parallel workers must
    not share.

    One process a core because the hybrid's train steps are hundreds of small
    operations that a second thread does not speed up: two workers of one
    thread each tune 1.89 times as fast as one process on both cores
    (``benchmarks/results/bench_scaling.md``).
    """
    if not trials or sqlite_study(storage, out):
        return 1
    return max(1, min(cores(), trials, MAX_DEFAULT_WORKERS))


def threads_per_worker(workers) -> int:
    """TensorFlow threads (intra- and inter-op) for each of ``workers``: its
    share of the cores, at least one, so that they do not oversubscribe them."""
    return max(1, cores() // workers)


def shares(missing, workers) -> list[int]:
    """``missing`` trials split as evenly as can be over ``workers`` (the
    first ones get one more); workers with none are left out."""
    base, extra = divmod(missing, workers)
    return [n for n in (base + (i < extra) for i in range(workers)) if n]


def tune_in_workers(tuning, last_words=None):
    """Run the study's missing trials on the settings' ``workers`` processes
    and wait for them (``tuning``: a :class:`~._tuning.Tuning`); raises
    :class:`StudyError` when one fails and ``KeyboardInterrupt`` after a
    Ctrl-C (each worker records the trial it is running first; a second
    Ctrl-C stops at once, printing ``last_words()``)."""
    settings, storage, study, monitor = (
        dict(tuning.settings),  # a worker process is handed a plain dict
        tuning.storage,
        tuning.study,
        tuning.monitor,
    )
    X, y = tuning.X, tuning.y
    missing = settings["trials"] - len(tried_trials(study))
    if missing <= 0:
        return
    enqueue_defaults(tuning.pipeline, study, study_space(settings))
    split = shares(missing, settings["workers"])
    threads = threads_per_worker(len(split))
    left = monitor.left() if monitor.limited() else None
    print(
        f"tuning on {len(split)} worker processes ({threads} TensorFlow "
        f"thread(s) each): {', '.join(map(str, split))} trial(s)",
        file=sys.stderr,
        flush=True,
    )
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(
            target=_worker,
            args=(settings, storage, X, y, k + 1, len(split), n, threads, left),
            name=f"skpermgrad worker {k + 1}",
        )
        for k, n in enumerate(split)
    ]
    stopping = []
    with ctrl_c(stopping, last_words):
        for process in processes:
            process.start()
        for process in processes:
            while process.is_alive():
                process.join(0.5)
    codes = [process.exitcode for process in processes]
    if stopping or 130 in codes:
        raise KeyboardInterrupt
    failed = [f"worker {k + 1} (exit {c})" for k, c in enumerate(codes) if c]
    if failed:
        raise StudyError(
            f"{', '.join(failed)} of {len(split)} failed (see above); "
            f"{len(completed_trials(study))} complete trial(s) are kept in "
            f"{storage}: fix the cause and run the same command again"
        )


def _worker(settings, storage, X, y, number, workers, n_trials, threads, left):
    """One worker process: its share of the trials, then exit (0; 2 with a
    one-line error; 130 after Ctrl-C)."""
    quiet_tensorflow()
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    from ._pipeline import make_pipeline
    from ._progress import FitMonitor, Monitor
    from ._storage import open_study
    from ._tuning import Tuning, tune_run

    name = f"worker {number}/{workers}"
    monitor = Monitor(left, worker=name)
    pipeline = make_pipeline(
        X,
        settings["task"],
        epochs=settings["epochs"],
        seed=settings["seed"],
        image=settings["images"][0],
        progress=[FitMonitor(monitor)],
    )
    try:
        study = open_study(
            storage, settings["study_name"], settings["seed"], worker=number
        )
        tuning = Tuning(settings, storage, pipeline, X, y, study, monitor)
        tune_run(tuning, n_trials=n_trials)
    except StudyError as exc:
        print(f"skpermgrad run: {name}: error: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
