"""Past one process, timed: tuning workers, and cross-validation on Dask.

Usage: python benchmarks/bench_scaling.py [--quick] [--trials N] [--rows N]
       [--epochs N] [--storage URL] [--out FILE]

1. **Tuning workers**: ``skpermgrad run`` on the first ``--rows`` rows of the
   bundled puma8NH, ``--trials`` short trials (``--epochs``), once with one
   worker and once with ``--workers 2`` on the same settings. The study is a
   file in a scratch ``--out`` (SQLite for one worker, an Optuna journal for
   two), or, with ``--storage``, a server (a PostgreSQL URL; each run gets a
   study of its own). Recorded per run: the tuning's wall seconds (first trial
   started to last trial finished, from the study), the whole command's, the
   complete trials and how many of them repeat another's parameters. On a
   server, also two ``skpermgrad run`` processes on one study with the second
   killed (SIGKILL) while both run a trial: trials complete, failed, repeated
   and lost.
2. **Dask**: ``cross_val_score`` of a seeded default hybrid (5 folds of the same
   rows, ``--epochs``), sequential and then on a ``LocalCluster`` of 2 worker
   processes (1 thread each) through ``joblib.parallel_backend("dask")``: wall
   seconds (the cluster's start and the workers' import of TensorFlow not
   counted) and whether the scores are identical.

It measures and writes results (JSON and markdown); it never asserts.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _results import RESULTS, write_result

NOTE = ""  # what the run shared the machine with, said by hand when it did


def _command(table, trials, epochs, name, storage, out):
    command = [sys.executable, "-m", "skpermgrad", "run", str(table)]
    command += ["--target", "values", "--trials", str(trials), "--cv", "2"]
    command += ["--epochs", str(epochs), "--out", str(out)]
    command += ["--study-name", name, "--time-limit", "2h"]
    return command + (["--storage", storage] if storage else [])


def _table(rows, scratch):
    from skpermgrad.datasets import load_puma8nh

    table = Path(scratch) / "puma.csv"
    if not table.is_file():
        load_puma8nh(as_frame=True).frame.head(rows).to_csv(table, index=False)
    return table


def _trials(storage, name):
    """The study's trials, or none before it exists; ``storage`` as
    ``skpermgrad run`` takes it (a URL or a ``.journal`` file)."""
    import optuna

    from skpermgrad._study import optuna_storage

    try:
        return optuna.load_study(
            study_name=name, storage=optuna_storage(storage)
        ).trials
    except KeyError:
        return []


def _summary(trials):
    """Trials complete and failed, parameter sets repeated, tuning seconds."""
    from optuna.trial import TrialState

    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    params = [tuple(sorted(t.params.items())) for t in complete]
    start = min(t.datetime_start for t in complete)
    end = max(t.datetime_complete for t in complete)
    return {
        "tuning_seconds": round((end - start).total_seconds(), 1),
        "trials_complete": len(complete),
        "trials_failed": sum(t.state == TrialState.FAIL for t in trials),
        "duplicated_parameter_sets": len(params) - len(set(params)),
    }


def tuning(rows, trials, epochs, workers, storage, scratch):
    """One ``skpermgrad run --workers N``: tuning and command seconds, trials."""
    out = Path(scratch) / f"workers{workers}"
    name = f"bench-scaling-{workers}-{int(time.time())}"
    command = _command(_table(rows, scratch), trials, epochs, name, storage, out)
    start = time.perf_counter()
    done = subprocess.run(
        [*command, "--workers", str(workers)], capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"skpermgrad run failed:\n{done.stderr[-3000:]}")
    if storage is None:  # the file in --out the run chose (SQLite or a journal)
        from skpermgrad._study import storage_url

        storage = storage_url(None, out)
    return {
        "workers": workers,
        **_summary(_trials(storage, name)),
        "command_seconds": round(seconds, 1),
    }


def killed_worker(rows, trials, epochs, storage, scratch):
    """Two ``skpermgrad run`` processes on one server study; the second is
    killed (SIGKILL) while both run a trial. Trials complete, failed (the
    killed one's) and repeated, and the trials lost (asked - complete)."""
    from optuna.trial import TrialState

    name = f"bench-scaling-kill-{int(time.time())}"
    table = _table(rows, scratch)

    def start(label):
        out = Path(scratch) / f"kill-{label}"
        command = _command(table, trials, epochs, name, storage, out)
        return subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def wait_for(state, count):
        while [t.state for t in _trials(storage, name)].count(state) < count:
            time.sleep(0.5)

    first = start("first")
    wait_for(TrialState.COMPLETE, 1)
    second = start("second")
    wait_for(TrialState.RUNNING, 2)
    second.kill()
    second.wait()
    if first.wait():
        sys.exit("the surviving skpermgrad run failed")
    summary = _summary(_trials(storage, name))
    return {**summary, "trials_lost": trials - summary["trials_complete"]}


def dask_cv(rows, epochs):
    """Sequential and 2-worker Dask ``cross_val_score``: seconds, same scores."""
    import joblib
    import numpy as np
    from dask.distributed import Client, LocalCluster
    from sklearn.model_selection import cross_val_score

    from skpermgrad import HybridRegressor
    from skpermgrad.datasets import load_puma8nh

    X, y = load_puma8nh(return_X_y=True)
    X, y = X[:rows], y[:rows]
    hybrid = HybridRegressor(epochs=epochs, random_state=0)
    start = time.perf_counter()
    sequential = cross_val_score(hybrid, X, y, cv=5)
    sequential_s = time.perf_counter() - start
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as c,
        Client(c) as client,
        joblib.parallel_backend("dask"),
    ):
        # the workers import TensorFlow before the clock starts, as this
        # process did before the sequential run
        client.run(lambda: __import__("skpermgrad.models"))
        start = time.perf_counter()
        on_dask = cross_val_score(hybrid, X, y, cv=5, n_jobs=-1)
        dask_s = time.perf_counter() - start
    return {
        "folds": 5,
        "sequential_seconds": round(sequential_s, 1),
        "dask_seconds": round(dask_s, 1),
        "speedup": round(sequential_s / dask_s, 2),
        "identical_scores": bool(np.array_equal(sequential, on_dask)),
        "scores": [float(s) for s in sequential],
    }


def markdown(result):
    runs = result["tuning"]
    lines = [
        "# Past one process",
        "",
        f"Tuning: `skpermgrad run` on {result['rows']} puma8NH rows, "
        f"{result['trials']} trials of at most {result['epochs']} epochs, 2-fold CV; "
        f"study on {result['storage']}.",
        "",
        "| workers | tuning s | command s | trials complete | duplicated |",
        "|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        lines.append(
            f"| {run['workers']} | {run['tuning_seconds']} | {run['command_seconds']} "
            f"| {run['trials_complete']} | {run['duplicated_parameter_sets']} |"
        )
    if len(runs) == 2:
        ratio = runs[0]["tuning_seconds"] / runs[1]["tuning_seconds"]
        lines += ["", f"Two workers tune {ratio:.2f}x as fast as one."]
    killed = result.get("killed_worker")
    if killed:
        lines += [
            "",
            "Two processes on the study, the second killed (SIGKILL) while both ran "
            f"a trial: {killed['trials_complete']} trials complete, "
            f"{killed['trials_failed']} failed (the killed one's), "
            f"{killed['duplicated_parameter_sets']} parameter sets repeated, "
            f"{killed['trials_lost']} lost.",
        ]
    dask = result["dask"]
    lines += [
        "",
        f"Dask: `cross_val_score`, {dask['folds']} folds of the seeded default hybrid "
        f"on the same rows: sequential {dask['sequential_seconds']} s, on a "
        f"LocalCluster of 2 worker processes {dask['dask_seconds']} s "
        f"({dask['speedup']}x); scores identical: "
        f"{'yes' if dask['identical_scores'] else 'no'}.",
    ]
    if result.get("note"):
        lines += ["", result["note"]]
    return "\n".join(lines + [""])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 trials, 300 rows")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--storage", help="a server's URL (default: files)")
    parser.add_argument("--note", default=NOTE, help="conditions of the run")
    parser.add_argument("--out", default=str(RESULTS / "bench_scaling.json"))
    args = parser.parse_args(argv)
    if args.quick:
        args.trials, args.rows, args.epochs = 3, 300, 2
    with tempfile.TemporaryDirectory() as scratch:
        runs = []
        for workers in (1, 2):
            runs.append(
                tuning(
                    args.rows, args.trials, args.epochs, workers, args.storage, scratch
                )
            )
            print(runs[-1], flush=True)
        killed = None
        if args.storage:  # a worker killed mid-trial: only on a server's study
            killed = killed_worker(
                args.rows, args.trials, args.epochs, args.storage, scratch
            )
            print(killed, flush=True)
    dask = dask_cv(args.rows, args.epochs)
    print(dask, flush=True)
    storage = "PostgreSQL" if args.storage else "files (SQLite, a journal for 2)"
    result = {
        "rows": args.rows,
        "trials": args.trials,
        "epochs": args.epochs,
        "storage": storage,
        "tuning": runs,
        "killed_worker": killed,
        "dask": dask,
        "note": args.note,
    }
    write_result(
        args.out, "bench_scaling", ("keras", "tensorflow", "optuna", "dask"), **result
    )
    table = markdown(result)
    Path(args.out).with_suffix(".md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
