"""The study from start to end, and predictions from its model."""

import json
import os
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import numpy as np

from ._base import (
    CHECKSUM_SUFFIX,
    MODEL_FILE,
    REPORT_FILES,
    SETTINGS_FILE,
    STUDY_DB,
    STUDY_JOURNAL,
    StudyError,
    clock,
    elapsed,
    file_sha256,
    interrupted,
    resume_changes,
    settings_conflicts,
)
from ._data import (
    _is_numeric,
    bundled_table,
    check_before_tuning,
    check_prediction_rows,
    fingerprint,
    read_table,
    split_target,
)
from ._models import MIN_TEST_ROWS, baselines, compare, make_pipeline, metrics
from ._report import (
    importance_table,
    top_feature,
    verdict_summary,
    write_plots,
    write_report,
)
from ._text import printable, safe_csv
from ._tuning import (
    completed_trials,
    ctrl_c,
    finished_last,
    open_study,
    shared_by_machines,
    storage_url,
    tried_trials,
    tune_run,
    tuning_scoring,
    wait_for_other_workers,
)
from ._workers import tune_in_workers


def run_study(settings, stored, out, *, start=None):
    """The whole ``skpermgrad run``: read, split, check, tune, refit, test next
    to the baselines, explain, and write the report to ``out``.

    ``settings`` are resolved (see the CLI), ``stored`` the settings of the
    run already in ``out`` (None for a new one); ``start``, the
    ``time.perf_counter()`` the ``--time-limit`` counts from (default: now).
    Returns the exit status: 0,
    or 130 when interrupted during tuning (the complete trials are kept).
    Raises :class:`StudyError` for the user's input, before anything is
    written, or after taking back what a failed new run wrote.
    """
    from sklearn.base import clone
    from sklearn.model_selection import train_test_split

    from ..inspection import permgrad_importance
    from ._progress import STEP_COST, FitMonitor, Monitor

    start = time.perf_counter() if start is None else start
    monitor = Monitor(settings["time_limit"], start)
    out = Path(out)
    if settings["data"] is None:
        frame, _ = bundled_table()
        name = "puma8NH (bundled)"
    else:
        frame = read_table(settings["data"])
        name = printable(Path(settings["data"]).name)
    X, y, task = split_target(frame, settings["target"], settings["task"])
    settings["task"] = task
    settings["fingerprint"] = fingerprint(frame)
    settings["scoring"] = tuning_scoring(task)
    if stored is not None:
        clash = settings_conflicts(stored, settings)
        if clash:
            raise StudyError(
                f"--out {out} holds another study's files (different "
                f"{', '.join(clash)}). Run again with --resume to continue that "
                "study with its stored settings, or choose another --out."
            )
    X_train, X_test, y_train, y_test = train_test_split(
        X,
        y,
        test_size=settings["test_size"],
        random_state=settings["seed"],
        stratify=y if task == "classification" else None,
    )
    pipeline = make_pipeline(
        X_train,
        task,
        epochs=settings["epochs"],
        seed=settings["seed"],
        image=settings["images"][0],
        progress=[FitMonitor(monitor)],
    )
    check_before_tuning(pipeline, X_train, y_train, y_test, task, settings["cv"])
    # Everything is checked: from here on the study's state is written, and
    # taken back if this new run fails before its first complete trial.
    workers = settings["workers"]
    storage = storage_url(settings["storage"], out, workers)
    created = [] if out.exists() else [out]
    if stored is None:
        created[:0] = [out / SETTINGS_FILE]
        if settings["storage"] is None:
            created[:0] = [out / STUDY_DB, out / STUDY_JOURNAL]
    out.mkdir(parents=True, exist_ok=True)
    study = None
    words = partial(interrupted, out)  # a second Ctrl-C's line (no count)
    try:
        with _locked(out):  # two runs starting on one new --out create it once
            study = open_study(storage, settings["study_name"], settings["seed"])
        (out / SETTINGS_FILE).write_text(json.dumps(settings, indent=2))
        limit = settings["time_limit"]
        print(
            f"{name}: {len(X)} rows, {X.shape[1]} features, {task} on "
            f"{printable(repr(settings['target']))}; "
            + (
                f"study {settings['study_name']!r} in {storage} "
                f"({len(tried_trials(study))} of {settings['trials']} trials "
                f"tried, the first the hybrid's defaults; pruner {settings['pruner']})"
                if settings["trials"]
                else "no tuning: the hybrid's defaults"
            )
            + ("" if limit is None else f"; time limit {clock(limit)}")
            + (
                f"; resumed with {resume_changes(settings)}"
                if "changed_on_resume" in settings
                else ""
            ),
            file=sys.stderr,
        )
        if len(X_test) < MIN_TEST_ROWS:
            print(
                f"warning: {len(X_test)} test rows are too few to tell the hybrid "
                f"from the other models (fewer than {MIN_TEST_ROWS}): the report "
                "gives no verdict; use a larger --test-size or table",
                file=sys.stderr,
            )
        ran = set()  # the trials this process runs
        if workers > 1 and settings["trials"]:
            tune_in_workers(
                settings, storage, pipeline, X_train, y_train, study, monitor, words
            )
        else:
            _tune_until_done(
                settings,
                storage,
                pipeline,
                X_train,
                y_train,
                study,
                monitor,
                ran,
                words,
            )
    except KeyboardInterrupt:
        if study is None:
            _remove(created)
            return 130
        print(f"\n{interrupted(out, len(completed_trials(study)))}", file=sys.stderr)
        return 130
    except StudyError:
        if study is None or not completed_trials(study):
            _remove(created)
        raise
    if settings["trials"] and not completed_trials(study):
        raise StudyError("no trial completed; see the errors above.")
    if ran and shared_by_machines(storage) and not finished_last(study, ran):
        print(
            f"{len(tried_trials(study))} of {settings['trials']} trials "
            "tried; the worker that finished the last one refits, explains "
            "and writes the report",
            file=sys.stderr,
        )
        return 0

    # After tuning, a failure writes no report file (they are staged, then
    # moved in together) and keeps the study: the same command refits.
    # Each step gets its share of the time left (--time-limit): a fit stops
    # after the epoch in which its step's deadline passes.
    stage = "the refit"
    try:
        with ctrl_c(None, words):  # a second Ctrl-C stops at once
            tuned = study.best_params if completed_trials(study) else {}
            monitor.start_step("refit")
            monitor.begin("refit")
            fit_start = time.perf_counter()
            best = clone(pipeline).set_params(**tuned).fit(X_train, y_train)
            monitor.fit_seconds = time.perf_counter() - fit_start
            models = {"hybrid": best}
            stage = "the baselines"
            for label, model in baselines(best, task, settings["seed"]).items():
                if label in STEP_COST:  # the hybrid's variants
                    monitor.start_step(label)
                    monitor.begin(label.replace("_", "-"))
                models[label] = model.fit(X_train, y_train)
            scores = {
                label: metrics(task, model, X_test, y_test)
                for label, model in models.items()
            }
            verdicts = compare(task, y_test, models, X_test, settings["seed"])
            stage = "the explanation"
            monitor.start_step("explanation")
            result = permgrad_importance(
                best,
                X_test,
                y_test,
                scoring="r2" if task == "regression" else "neg_log_loss",
                n_repeats=settings["n_repeats"],
                random_state=settings["seed"],
                fusion=settings["fusion"],
                cnn_importance=settings["cnn_importance"],
            )
            importances = importance_table(result)
            summary = {
                "name": name,
                "rows": len(X),
                "columns": X.shape[1],
                "numeric": sum(_is_numeric(X[c]) for c in X.columns),
                "categorical": sum(not _is_numeric(X[c]) for c in X.columns),
                "missing": int(X.isna().sum().sum()),
                "train_rows": len(X_train),
                "test_rows": len(X_test),
                "encoded": len(result.encoded_feature_names),
            }
            stage = "writing the report"
            best.set_params(hybrid__callbacks=None)  # no progress bars for later users
            with _staging(out) as staging:
                write_report(
                    staging,
                    settings=settings,
                    summary=summary,
                    scores=scores,
                    verdicts=verdicts,
                    importances=importances,
                    result=result,
                    study=study,
                )
                write_plots(result, staging)
                import joblib

                joblib.dump(best, staging / MODEL_FILE)
                model_checksum = staging / (MODEL_FILE + CHECKSUM_SUFFIX)
                digest = file_sha256(staging / MODEL_FILE)
                model_checksum.write_text(f"{digest}  {MODEL_FILE}\n")
    except KeyboardInterrupt:
        print(f"\n{interrupted(out, len(completed_trials(study)))}", file=sys.stderr)
        return 130
    except StudyError:
        raise
    except Exception as exc:  # noqa: BLE001 - said in one line, the study kept
        detail = (str(exc).strip().splitlines() or [""])[0]
        raise StudyError(
            f"{stage} failed after tuning ({type(exc).__name__}: {detail}); the "
            f"{len(completed_trials(study))} complete trial(s) are kept in {storage} "
            "and no report file was written: fix the cause and run the same "
            "command again (it refits without new trials)."
        ) from exc

    print(
        f"{name}: {verdict_summary(verdicts)}; {top_feature(importances)}; "
        f"report {out / 'report.md'} ({elapsed(start)})"
    )
    return 0


def _tune_until_done(settings, storage, pipeline, X, y, study, monitor, ran, words):
    """Tune, then wait for the trials other processes are running on the
    study (another run on the same --out); on a database server shared with
    workers elsewhere, run those they could not finish (a worker
    killed mid-trial: its trial is failed and enqueued again), until the
    study holds ``--trials`` complete ones (or three rounds in a row add
    none)."""
    idle = 0
    while True:
        before = len(tried_trials(study))
        tune_run(
            settings, storage, pipeline, X, y, study, monitor, ran=ran, last_words=words
        )
        if not settings["trials"]:
            return
        # another run on this --out may still be running a trial of the budget
        wait_for_other_workers(study, monitor)
        if not shared_by_machines(storage):
            return
        done = len(tried_trials(study))
        idle = 0 if done > before else idle + 1
        if done >= settings["trials"] or monitor.expired() or idle == 3:
            return


def predict_table(model, data, out, *, overwrite=False, trust_model=False):
    """``skpermgrad predict``: the model.joblib of a run on the table ``data``,
    predictions (and class probabilities) written to the CSV file ``out``.

    A model file is a pickle, which runs code when loaded: unless
    ``trust_model``, it is loaded only if its SHA-256 matches the one ``run``
    wrote beside it (``model.joblib.sha256``), checked before loading.
    """
    import joblib
    import pandas as pd

    model_path, out = Path(model), Path(out)
    if not model_path.is_file():
        raise StudyError(f"no such model file: {model_path}")
    if out.is_dir():
        raise StudyError(f"--out {out} is a folder; name the CSV file to write.")
    if out.exists() and not overwrite:
        raise StudyError(f"{out} exists; pass --overwrite or another --out.")
    if not trust_model:
        check_model_checksum(model_path)
    frame = read_table(data)
    try:
        pipeline = joblib.load(model_path)
    except Exception as exc:  # noqa: BLE001 - unpickling raises anything
        raise StudyError(
            f"cannot load {model_path} as a model ({type(exc).__name__}); pass the "
            "model.joblib that skpermgrad run wrote."
        ) from None
    check_study_model(pipeline, model_path)
    columns = list(pipeline.feature_names_in_)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise StudyError(
            f"{data} lacks the column(s) {missing} the model was trained on."
        )
    check_prediction_rows(pipeline, frame[columns], data)
    ignored = [c for c in frame.columns if c not in columns]
    if ignored:
        print(f"ignoring column(s) the model does not use: {ignored}", file=sys.stderr)
    X = frame[columns]
    predictions = pd.DataFrame({"prediction": pipeline.predict(X)})
    if hasattr(pipeline, "predict_proba"):
        proba = pipeline.predict_proba(X)
        for k, label in enumerate(pipeline.classes_):
            predictions[f"proba[{label}]"] = np.asarray(proba)[:, k]
    out.parent.mkdir(parents=True, exist_ok=True)
    safe_csv(predictions).to_csv(out, index=False)
    print(f"wrote {len(predictions)} predictions to {out}")
    return 0


def check_model_checksum(model_path):
    """Refuse, before it is loaded, a model file whose SHA-256 is not the one
    ``run`` wrote beside it (or that has none)."""
    checksum = model_path.with_name(model_path.name + CHECKSUM_SUFFIX)
    trust = (
        "a model file runs code when loaded: load only one from a source you "
        "trust, and then pass --trust-model to load it anyway"
    )
    if not checksum.is_file():
        raise StudyError(
            f"{model_path} has no {checksum.name} beside it (skpermgrad run "
            f"writes one) to check it against; {trust}."
        )
    fields = checksum.read_text(errors="replace").split()
    if not fields or fields[0].lower() != file_sha256(model_path):
        raise StudyError(
            f"{model_path} does not match the SHA-256 in {checksum.name}: it was "
            f"changed after skpermgrad run wrote it; {trust}."
        )


def check_study_model(pipeline, model_path):
    """Refuse a loaded object that is not a model ``run`` wrote: a Pipeline of
    the study's column encoding, fitted, then a hybrid."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    from ..models import HybridClassifier, HybridRegressor

    if not (
        isinstance(pipeline, Pipeline)
        and [name for name, _ in pipeline.steps] == ["columns", "hybrid"]
        and isinstance(pipeline[0], ColumnTransformer)
        and hasattr(pipeline[0], "transformers_")
        and isinstance(pipeline[-1], (HybridRegressor, HybridClassifier))
        and hasattr(pipeline[-1], "model_")
    ):
        raise StudyError(
            f"{model_path} holds a {type(pipeline).__name__}, not a model written "
            "by skpermgrad run; predict with it in Python instead."
        )


@contextmanager
def _staging(out):
    """A folder of this run's own inside ``out`` for the report's files, moved
    into ``out`` together when the block ends (removed if it fails).

    Two runs finishing on one ``out`` never mix their files: each stages
    apart, and the moves hold an exclusive lock on ``out`` (``flock``, where
    the system has it), so the last run's complete set stands.
    """
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))
    try:
        yield staging
        with _locked(out):
            for file in REPORT_FILES:
                os.replace(staging / file, out / file)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextmanager
def _locked(folder):
    try:
        import fcntl
    except ImportError:  # Windows: no flock; the moves are not serialised
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _remove(paths):
    """Take back what a failed new run wrote (files, then an empty folder)."""
    for path in paths:
        if path.is_file():
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
