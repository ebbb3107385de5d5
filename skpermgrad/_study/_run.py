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
from types import MappingProxyType

from ._common import (
    CHECKSUM_SUFFIX,
    MODEL_FILE,
    REPORT_FILES,
    SETTINGS_FILE,
    STUDY_DB,
    STUDY_JOURNAL,
    StudyError,
    clock,
    ctrl_c,
    elapsed,
    file_sha256,
    interrupted,
    locked,
    resume_changes,
    settings_conflicts,
)
from ._data import (
    _is_numeric,
    bundled_table,
    check_before_tuning,
    fingerprint,
    read_table,
    split_target,
)
from ._pipeline import MIN_TEST_ROWS, baselines, compare, make_pipeline, metrics
from ._report import (
    importance_table,
    top_feature,
    verdict_summary,
    write_plots,
    write_report,
)
from ._storage import open_study, shared_by_machines, storage_url
from ._text import printable
from ._trials import completed_trials, finished_last, tried_trials
from ._tuning import Tuning, tune_run, tuning_scoring, wait_for_other_workers
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
    return _Study(settings, stored, out, start).run()


class _Study:
    """One ``skpermgrad run``: its settings, frozen once the table has said
    what it adds (task, fingerprint, scoring), and its context, a method per
    step. Each step reads what the steps before it set; none changes the
    settings."""

    def __init__(self, settings, stored, out, start=None):
        from ._progress import Monitor

        self.given, self.stored, self.out = settings, stored, Path(out)
        self.start = time.perf_counter() if start is None else start
        self.monitor = Monitor(settings["time_limit"], self.start)
        self.words = partial(interrupted, self.out)  # a second Ctrl-C's line
        self.study = None

    def run(self):
        self.read()
        self.split()
        code = self.tune()
        if code is not None:
            return code
        return self.finish()

    def read(self):
        """The table, its target and task; the settings, frozen."""
        given = self.given
        if given["data"] is None:
            frame, _ = bundled_table()
            self.name = "puma8NH (bundled)"
        else:
            frame = read_table(given["data"])
            self.name = printable(Path(given["data"]).name)
        self.X, self.y, task = split_target(frame, given["target"], given["task"])
        self.settings = MappingProxyType(
            {
                **given,
                "task": task,
                "fingerprint": fingerprint(frame),
                "scoring": tuning_scoring(task),
            }
        )
        if self.stored is not None:
            clash = settings_conflicts(self.stored, self.settings)
            if clash:
                raise StudyError(
                    f"--out {self.out} holds another study's files (different "
                    f"{', '.join(clash)}). Run again with --resume to continue "
                    "that study with its stored settings, or choose another --out."
                )

    def split(self):
        """The training and test rows, the pipeline, and every check that
        would otherwise fail in each trial or after the tuning."""
        from sklearn.model_selection import train_test_split

        from ._progress import FitMonitor

        settings, task = self.settings, self.settings["task"]
        self.X_train, self.X_test, self.y_train, self.y_test = train_test_split(
            self.X,
            self.y,
            test_size=settings["test_size"],
            random_state=settings["seed"],
            stratify=self.y if task == "classification" else None,
        )
        self.pipeline = make_pipeline(
            self.X_train,
            task,
            epochs=settings["epochs"],
            seed=settings["seed"],
            image=settings["images"][0],
            progress=[FitMonitor(self.monitor)],
        )
        check_before_tuning(
            self.pipeline, self.X_train, self.y_train, self.y_test, task, settings["cv"]
        )

    def tune(self):
        """Open the study and run its trials (here or on worker processes).
        Returns an exit status where the run ends here (130 after Ctrl-C, 0
        where another worker reports), None to go on. Everything is checked
        by now: from here on the study's state is written, and taken back if
        this new run fails before its first complete trial."""
        settings, out = self.settings, self.out
        workers = settings["workers"]
        storage = storage_url(settings["storage"], out, workers)
        created = [] if out.exists() else [out]
        if self.stored is None:
            created[:0] = [out / SETTINGS_FILE]
            if settings["storage"] is None:
                created[:0] = [out / STUDY_DB, out / STUDY_JOURNAL]
        out.mkdir(parents=True, exist_ok=True)
        ran = set()  # the trials this process runs
        try:
            # two runs starting on one new --out create it once, and another
            # run reading --out sees the study with its settings or neither
            with locked(out):
                self.study = open_study(
                    storage, settings["study_name"], settings["seed"]
                )
                settings_text = json.dumps(dict(settings), indent=2)
                (out / SETTINGS_FILE).write_text(settings_text)
            self._say_start(storage)
            tuning = Tuning(
                settings,
                storage,
                self.pipeline,
                self.X_train,
                self.y_train,
                self.study,
                self.monitor,
            )
            if workers > 1 and settings["trials"]:
                tune_in_workers(tuning, self.words)
            else:
                _tune_until_done(tuning, ran, self.words)
        except KeyboardInterrupt:
            if self.study is None:
                _remove(created)
                return 130
            kept = len(completed_trials(self.study))
            print(f"\n{interrupted(out, kept)}", file=sys.stderr)
            return 130
        except StudyError:
            if self.study is None or not completed_trials(self.study):
                _remove(created)
            raise
        if settings["trials"] and not completed_trials(self.study):
            raise StudyError("no trial completed; see the errors above.")
        if ran and shared_by_machines(storage) and not finished_last(self.study, ran):
            print(
                f"{len(tried_trials(self.study))} of {settings['trials']} trials "
                "tried; the worker that finished the last one refits, explains "
                "and writes the report",
                file=sys.stderr,
            )
            return 0
        self.storage = storage
        return None

    def _say_start(self, storage):
        settings, X = self.settings, self.X
        limit = settings["time_limit"]
        print(
            f"{self.name}: {len(X)} rows, {X.shape[1]} features, "
            f"{settings['task']} on {printable(repr(settings['target']))}; "
            + (
                f"study {settings['study_name']!r} in {storage} "
                f"({len(tried_trials(self.study))} of {settings['trials']} trials "
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
        if len(self.X_test) < MIN_TEST_ROWS:
            print(
                f"warning: {len(self.X_test)} test rows are too few to tell the "
                f"hybrid from the other models (fewer than {MIN_TEST_ROWS}): the "
                "report gives no verdict; use a larger --test-size or table",
                file=sys.stderr,
            )

    def finish(self):
        """Refit, the baselines, the explanation and the report, each with its
        share of the time left (a fit stops after the epoch in which its
        step's deadline passes). A failure writes no report file (they are
        staged, then moved in together) and keeps the study: the same command
        refits."""
        steps = (
            ("the refit", self.refit),
            ("the baselines", self.baselines),
            ("the explanation", self.explain),
            ("writing the report", self.report),
        )
        stage = steps[0][0]
        try:
            with ctrl_c(None, self.words):  # a second Ctrl-C stops at once
                for stage, step in steps:
                    step()
        except KeyboardInterrupt:
            kept = len(completed_trials(self.study))
            print(f"\n{interrupted(self.out, kept)}", file=sys.stderr)
            return 130
        except StudyError:
            raise
        except Exception as exc:  # noqa: BLE001 - said in one line, the study kept
            detail = (str(exc).strip().splitlines() or [""])[0]
            raise StudyError(
                f"{stage} failed after tuning ({type(exc).__name__}: {detail}); the "
                f"{len(completed_trials(self.study))} complete trial(s) are kept in "
                f"{self.storage} and no report file was written: fix the cause "
                "and run the same command again (it refits without new trials)."
            ) from exc
        print(
            f"{self.name}: {verdict_summary(self.verdicts)}; "
            f"{top_feature(self.importances)}; "
            f"report {self.out / 'report.md'} ({elapsed(self.start)})"
        )
        return 0

    def refit(self):
        """The pipeline with the best trial's parameters on the training rows."""
        from sklearn.base import clone

        study, monitor = self.study, self.monitor
        tuned = study.best_params if completed_trials(study) else {}
        monitor.start_step("refit")
        monitor.begin("refit")
        fit_start = time.perf_counter()
        self.best = clone(self.pipeline).set_params(**tuned)
        self.best.fit(self.X_train, self.y_train)
        monitor.fit_seconds = time.perf_counter() - fit_start

    def baselines(self):
        """The other models on the same rows, every model's test scores and
        the verdicts against the hybrid."""
        from ._progress import STEP_COST

        task, monitor = self.settings["task"], self.monitor
        models = {"hybrid": self.best}
        for label, model in baselines(self.best, task, self.settings["seed"]).items():
            if label in STEP_COST:  # the hybrid's variants
                monitor.start_step(label)
                monitor.begin(label.replace("_", "-"))
            models[label] = model.fit(self.X_train, self.y_train)
        self.scores = {
            label: metrics(task, model, self.X_test, self.y_test)
            for label, model in models.items()
        }
        self.verdicts = compare(
            task, self.y_test, models, self.X_test, self.settings["seed"]
        )

    def explain(self):
        """PermGrad on the test rows."""
        from ..inspection import permgrad_importance

        settings, X = self.settings, self.X
        self.monitor.start_step("explanation")
        self.result = permgrad_importance(
            self.best,
            self.X_test,
            self.y_test,
            scoring="r2" if settings["task"] == "regression" else "neg_log_loss",
            n_repeats=settings["n_repeats"],
            random_state=settings["seed"],
            fusion=settings["fusion"],
            cnn_importance=settings["cnn_importance"],
        )
        self.importances = importance_table(self.result)
        self.summary = {
            "name": self.name,
            "rows": len(X),
            "columns": X.shape[1],
            "numeric": sum(_is_numeric(X[c]) for c in X.columns),
            "categorical": sum(not _is_numeric(X[c]) for c in X.columns),
            "missing": int(X.isna().sum().sum()),
            "train_rows": len(self.X_train),
            "test_rows": len(self.X_test),
            "encoded": len(self.result.encoded_feature_names),
        }

    def report(self):
        """The report's files, staged and moved into ``out`` together, and
        the model with its checksum."""
        import joblib

        best = self.best
        best.set_params(hybrid__callbacks=None)  # no progress bars for later users
        with _staging(self.out) as staging:
            write_report(
                staging,
                settings=self.settings,
                summary=self.summary,
                scores=self.scores,
                verdicts=self.verdicts,
                importances=self.importances,
                result=self.result,
                study=self.study,
            )
            write_plots(self.result, staging)
            joblib.dump(best, staging / MODEL_FILE)
            digest = file_sha256(staging / MODEL_FILE)
            (staging / (MODEL_FILE + CHECKSUM_SUFFIX)).write_text(
                f"{digest}  {MODEL_FILE}\n"
            )


def _tune_until_done(tuning, ran, words):
    """Tune, then wait for the trials other processes are running on the
    study (another run on the same --out); on a database server shared with
    workers elsewhere, run those they could not finish (a worker
    killed mid-trial: its trial is failed and enqueued again), until the
    study holds ``--trials`` complete ones (or three rounds in a row add
    none)."""
    study, monitor, trials = tuning.study, tuning.monitor, tuning.settings["trials"]
    idle = 0
    while True:
        before = len(tried_trials(study))
        tune_run(tuning, ran=ran, last_words=words)
        if not trials:
            return
        # another run on this --out may still be running a trial of the budget
        wait_for_other_workers(study, monitor)
        if not shared_by_machines(tuning.storage):
            return
        done = len(tried_trials(study))
        idle = 0 if done > before else idle + 1
        if done >= trials or monitor.expired() or idle == 3:
            return


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
        with locked(out):
            for file in REPORT_FILES:
                os.replace(staging / file, out / file)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _remove(paths):
    """Take back what a failed new run wrote (files, then an empty folder)."""
    for path in paths:
        if path.is_file():
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
