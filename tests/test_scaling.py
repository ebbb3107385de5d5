"""Past one process: tuning workers on a real PostgreSQL server, and
cross-validation on a Dask cluster of worker processes.

The server is the machine's own PostgreSQL (Debian's ``postgresql`` package,
which ``.ci/run`` installs), started by the fixture on a free port in a
folder of its own, or the one ``SKPERMGRAD_TEST_POSTGRES`` names; the tests
skip, saying why, where neither is available.
"""

import functools
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd
import pytest


def _server_program(name):
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return versions[-1] if versions else None


@pytest.fixture(scope="module")
def postgres_url():
    """The URL of a PostgreSQL database the tests may fill (a new server)."""
    if os.environ.get("SKPERMGRAD_TEST_POSTGRES"):
        yield os.environ["SKPERMGRAD_TEST_POSTGRES"]
        return
    pytest.importorskip("psycopg", reason="needs psycopg: pip install -e '.[test]'")
    initdb, pg_ctl = _server_program("initdb"), _server_program("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("no PostgreSQL server (initdb, pg_ctl): apt install postgresql")
    folder = tempfile.mkdtemp(prefix="skpermgrad-pg-")
    as_user = []
    if os.geteuid() == 0:  # the server refuses to run as root
        import pwd

        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and no 'postgres' user to run the server")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data, log = f"{folder}/data", f"{folder}/log"
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    commands = [
        [*as_user, initdb, "-D", data, "-A", "trust", "-U", "skpermgrad", "--no-sync"],
        [*as_user, pg_ctl, "-D", data, "-l", log, "-w", "-o", options, "start"],
    ]
    for command in commands:
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode:
            shutil.rmtree(folder, ignore_errors=True)
            pytest.skip(f"PostgreSQL did not start: {done.stderr.strip()[-300:]}")
    createdb = _server_program("createdb")
    args = ["-h", "127.0.0.1", "-p", str(port), "-U", "skpermgrad", "skpermgrad"]
    subprocess.run([createdb, *args], check=True, capture_output=True)
    try:
        yield f"postgresql://skpermgrad@127.0.0.1:{port}/skpermgrad"
    finally:
        subprocess.run(
            [*as_user, pg_ctl, "-D", data, "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)


@functools.cache
def _storage(url):
    # one storage, so one SQLAlchemy engine, for every look at the server: a
    # storage per look leaves its engine's connections open until the garbage
    # collector finds it, and polling twice a second for minutes went past the
    # server's max_connections (100) in CI
    from optuna.storages import RDBStorage

    return RDBStorage(url)


def _study(url, name):
    import optuna

    return optuna.load_study(study_name=name, storage=_storage(url))


def _table(path, n=120):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.uniform(-1, 1, size=(n, 3)), columns=list("abc"))
    frame.assign(y=frame.a - 2 * frame.b).to_csv(path, index=False)


@pytest.mark.slow
def test_workers_on_postgresql_share_a_study_and_survive_a_kill(postgres_url, tmp_path):
    """Two ``skpermgrad run`` processes, one study on the server: one is killed
    with SIGKILL in the middle of a trial; the other fails that trial once its
    heartbeat stops, runs it again, completes the study's trials (none with
    another's parameters) and writes the only report."""
    from optuna.storages import RetryFailedTrialCallback
    from optuna.trial import TrialState

    path = tmp_path / "table.csv"
    _table(path)
    run = [sys.executable, "-m", "skpermgrad", "run", str(path), "--target", "y"]
    run += ["--storage", postgres_url, "--study-name", "kill", "--trials", "5"]
    # one process each, every trial complete: what a kill does to a trial
    run += ["--epochs", "3", "--cv", "2", "--workers", "1", "--pruner", "none"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}

    def start(name):
        return subprocess.Popen(
            [*run, "--out", str(tmp_path / name)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )

    def states():
        try:
            return [t.state for t in _study(postgres_url, "kill").trials]
        except KeyError:  # the study does not exist yet
            return []

    def wait_for(condition, seconds=300):
        end = time.monotonic() + seconds
        while not condition():
            assert time.monotonic() < end, states()
            time.sleep(0.5)

    first = start("first")
    wait_for(lambda: states().count(TrialState.COMPLETE) >= 1)
    second = start("second")

    def two_fitting():
        # the first runs one trial at a time: of two running, one is the
        # second's; with all its parameters drawn (as many as a complete
        # trial's: they are written one by one), it is fitting (killed before,
        # its retry draws the missing ones anew)
        trials = _study(postgres_url, "kill").trials
        drawn = max(len(t.params) for t in trials if t.state == TrialState.COMPLETE)
        running = [t for t in trials if t.state == TrialState.RUNNING]
        return len(running) == 2 and all(len(t.params) == drawn for t in running)

    wait_for(two_fitting)
    second.send_signal(signal.SIGKILL)
    second.wait()
    output = first.communicate(timeout=600)[0]
    assert first.returncode == 0, output[-3000:]

    trials = _study(postgres_url, "kill").trials
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == 5
    assert len({tuple(sorted(t.params.items())) for t in complete}) == 5
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert len(failed) == 1  # the killed worker's trial, run again by the first
    retried = [
        t
        for t in complete
        if RetryFailedTrialCallback.retried_trial_number(t) == failed[0].number
    ]
    assert len(retried) == 1, [(t.number, t.state, t.params) for t in trials]
    assert retried[0].params == failed[0].params
    assert "Warning" not in output, output
    assert (tmp_path / "first" / "report.md").is_file()
    assert not (tmp_path / "second" / "report.md").exists()


def test_a_worker_killed_before_its_first_heartbeat_does_not_stall_the_others(
    postgres_url, monkeypatch
):
    # Optuna marks a trial RUNNING, then starts its heartbeat thread: a worker
    # killed in between leaves a trial with no heartbeat, which Optuna's
    # fail_stale_trials never fails; the others must not wait for it forever
    import optuna
    from optuna.trial import TrialState

    from skpermgrad._study import _progress, _storage, _tuning

    monkeypatch.setattr(_storage, "HEARTBEAT", 1)
    monkeypatch.setattr(_storage, "GRACE", 2)
    storage = _storage.optuna_storage(postgres_url)
    study = optuna.create_study(storage=storage, study_name="silent")
    silent = storage.create_new_trial(study._study_id)  # RUNNING, never beats
    assert study.trials[0].state == TrialState.RUNNING
    monitor = _progress.Monitor(time_limit=60)
    _tuning.wait_for_other_workers(study, monitor, poll=0.2)
    assert not monitor.expired()
    states = {t._trial_id: t.state for t in study.trials}
    assert states[silent] == TrialState.FAIL
    assert list(states.values()).count(TrialState.WAITING) == 1  # run again


def test_only_the_worker_that_finished_last_reports():
    import optuna

    from skpermgrad._study._trials import finished_last

    study = optuna.create_study()
    for value in (1.0, 2.0, 3.0):
        study.add_trial(optuna.trial.create_trial(value=value))
    assert finished_last(study, ran={2})
    assert not finished_last(study, ran={0, 1})
    assert finished_last(optuna.create_study(), ran={0})  # nothing finished yet


# --- cross-validation on a Dask cluster ------------------------------------------


@pytest.fixture(scope="module")
def dask_client():
    """A client of a LocalCluster of 2 worker processes (1 thread each)."""
    distributed = pytest.importorskip(
        "dask.distributed", reason="needs dask[distributed]: pip install -e '.[test]'"
    )
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.mark.slow
def test_searches_on_a_dask_cluster_score_as_the_sequential_run(dask_client):
    # every estimator pickles to the workers, and a seeded hybrid draws the
    # same network there whatever the worker's other threads draw meanwhile
    import joblib
    from _tiny import TINY
    from optuna.distributions import CategoricalDistribution
    from optuna_integration import OptunaSearchCV
    from sklearn.datasets import make_regression
    from sklearn.model_selection import GridSearchCV, cross_val_score

    from skpermgrad import HybridRegressor

    X, y = make_regression(150, 6, noise=0.1, random_state=0)
    # the default imager (IGTD, seeded by random_state) and validation split
    hybrid = HybridRegressor(**{**TINY, "epochs": 3, "validation_fraction": 0.1})
    grid = GridSearchCV(hybrid, {"dense_units": [4, 8]}, cv=2)
    # OptunaSearchCV runs its trials in threads of one process; the outer folds
    # of a nested cross-validation are what Dask spreads
    tuned = OptunaSearchCV(
        hybrid,
        {"dropout": CategoricalDistribution([0.0, 0.2])},
        cv=2,
        n_trials=2,
        random_state=0,
    )

    def run(n_jobs):
        return (
            cross_val_score(hybrid, X, y, cv=3, n_jobs=n_jobs),
            grid.set_params(n_jobs=n_jobs).fit(X, y).cv_results_["mean_test_score"],
            cross_val_score(tuned, X, y, cv=2, n_jobs=n_jobs),
        )

    sequential = run(None)
    with joblib.parallel_backend("dask"):
        on_dask = run(2)
    # the work ran on the workers
    assert any(dask_client.run(lambda: "keras" in sys.modules).values())
    for expected, got in zip(sequential, on_dask):
        np.testing.assert_array_equal(got, expected)


@pytest.mark.slow
def test_the_predictive_benchmark_runs_its_folds_on_a_dask_cluster(
    dask_client, monkeypatch
):
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "benchmarks"))
    import bench_predictive

    def run(scheduler):
        return bench_predictive.run_dataset(
            "puma8NH",
            "no-such-folder",  # puma8NH is bundled
            folds=2,
            max_rows=300,
            epochs=2,
            seed=0,
            models=("hybrid", "hist_gradient_boosting"),
            scheduler=scheduler,
        )["models"]

    sequential, on_dask = run(None), run(dask_client.scheduler.address)
    for model, entry in sequential.items():
        assert on_dask[model]["rmse"] == entry["rmse"]
        assert on_dask[model]["scheduler"] == dask_client.scheduler.address


@pytest.mark.slow
@pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs a Linux process on 2 cores or more, to hold a worker to one",
)
def test_a_fold_on_a_dask_worker_records_the_workers_cpu(dask_client, monkeypatch):
    # fit seconds compare on one CPU only: a fold on a cluster names its
    # worker's, not the client's (here: a worker held to one core)
    from pathlib import Path

    folder = Path(__file__).parents[1] / "benchmarks"
    monkeypatch.syspath_prepend(str(folder))
    import bench_predictive

    for module in bench_predictive.MODULES:
        dask_client.upload_file(str(folder / module))

    def hold_to_one_core():
        core = min(os.sched_getaffinity(0))
        for thread in os.listdir("/proc/self/task"):  # threads to come inherit it
            os.sched_setaffinity(int(thread), {core})

    dask_client.run(hold_to_one_core)
    X, y, task = bench_predictive._load("no-such-folder", "puma8NH", 200, 0)
    model = bench_predictive._models(task, 2, 0, X.shape[1])["hist_gradient_boosting"]
    train, test = bench_predictive.cv_splits(task, X, y, 2, 0)[0]
    future = dask_client.submit(
        bench_predictive._fold_where, task, model, X, y, train, test, pure=False
    )
    result, where = future.result()
    # the fold's scores, seconds, epochs, a search's parameters and trials
    assert len(result) == 6
    here = bench_predictive.cpu()
    cores = len(os.sched_getaffinity(0))
    assert where == here.replace(f", {cores} cores,", ", 1 cores,") != here
