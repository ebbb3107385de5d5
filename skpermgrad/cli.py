"""Command-line entry point: ``skpermgrad`` / ``python -m skpermgrad``.

``skpermgrad run`` tunes, fits, explains and reports on a table;
``skpermgrad predict`` reloads the fitted pipeline; ``skpermgrad demo`` draws
puma8NH as TINTO images. Errors in the user's input print one line and exit
with status 2, before anything is written.
"""

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from ._study import STUDY_SETTINGS, StudyError

MAX_BASE_FILTERS = 32
QUICK = {"trials": 2, "epochs": 3, "cv": 2, "n_repeats": 2, "timeout": None}
DEFAULT = {"trials": 8, "epochs": 30, "cv": 3, "n_repeats": 5, "timeout": 900}


def _demo(args):
    """Image puma8NH with TintoImager and save a labelled picture."""
    import numpy as np
    from matplotlib.figure import Figure

    from .datasets import load_puma8nh
    from .imaging import TintoImager

    out = Path(args.out)
    figure_path = out / "puma8nh_tinto.png"
    layout_path = out / "puma8nh_layout.csv"
    if not args.overwrite and (figure_path.exists() or layout_path.exists()):
        raise SystemExit(
            f"error: {out} already holds demo output; pass --overwrite or another "
            "--out."
        )
    data = load_puma8nh(as_frame=True)
    imager = TintoImager(
        pixels=args.pixels, blur=args.blur, random_state=args.seed
    ).fit(data.data)
    images = imager.transform_images(data.data.iloc[: args.n_images])[..., 0]
    layout = imager.get_feature_layout()

    fig = Figure(figsize=(3 * args.n_images, 3.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, args.n_images))
    for k, (ax, image) in enumerate(zip(axes, images)):
        ax.imshow(image, cmap="viridis", vmin=0, vmax=1)
        ax.set_title(f"row {k}: y = {data.target.iloc[k]:.2f}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        for name, row, col in layout.itertuples(index=False):
            ax.annotate(name, (col, row), color="white", fontsize=6, ha="center")
    fig.suptitle(f"puma8NH rows as {imager.pixels}x{imager.pixels} TINTO images")
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(figure_path, dpi=120)
    layout.to_csv(layout_path, index=False)
    print(f"wrote {figure_path} and {layout_path}")
    return 0


def _resolve_settings(args, out):
    """Settings of this run, from the command line or from ``out``'s run.json."""
    from . import _study

    stored_path = out / _study.SETTINGS_FILE
    if out.exists() and not out.is_dir():
        raise StudyError(f"--out {out} is a file; choose a folder.")
    stored = None
    if stored_path.is_file():
        try:
            stored = json.loads(stored_path.read_text())
        except (ValueError, UnicodeDecodeError) as exc:
            raise StudyError(
                f"{stored_path} is not a readable run ({exc}); restore it, or "
                "choose another --out."
            ) from None
        if not isinstance(stored, dict):
            raise StudyError(f"{stored_path} is not a run; choose another --out.")
    if out.exists() and any(out.iterdir()) and stored is None:
        raise StudyError(
            f"--out {out} exists and holds files that are not a skpermgrad run; "
            "choose another --out."
        )
    given = {
        "data": None if args.data is None else str(Path(args.data).resolve()),
        "target": args.target,
        "task": args.task,
        "test_size": args.test_size,
        "seed": args.seed,
        "study_name": args.study_name,
        "epochs": args.epochs,
        "cv": args.cv,
        "max_base_filters": args.max_base_filters,
    }
    if args.resume:
        if stored is None:
            raise StudyError(f"--resume: there is no run to resume in {out}.")
        clash = [k for k, v in given.items() if v is not None and v != stored.get(k)]
        if clash:
            raise StudyError(
                f"--resume continues the run stored in {out}, but "
                + ", ".join(
                    f"{k}={given[k]!r} (stored {stored.get(k)!r})" for k in clash
                )
                + " differ; drop them or choose another --out."
            )
        settings = {k: stored[k] for k in STUDY_SETTINGS if k in stored}
    else:
        settings = {
            "data": given["data"],
            "target": args.target,
            "task": args.task or "auto",
            "test_size": 0.2 if args.test_size is None else args.test_size,
            "seed": 0 if args.seed is None else args.seed,
            "study_name": args.study_name or "skpermgrad",
        }
    if settings["data"] is None and settings["target"] is None:
        settings["target"] = "values"
    if settings["target"] is None:
        raise StudyError("--target is required with DATA: name the column to predict.")
    if not 0 < settings["test_size"] < 1:
        raise StudyError(f"--test-size {settings['test_size']} must be in (0, 1).")
    budget = QUICK if args.quick else DEFAULT
    # cv, epochs and the search space define the study's trials: a resumed run
    # keeps the stored ones (a clash with given ones was refused above)
    for key in ("trials", "epochs", "cv", "max_base_filters"):
        value = getattr(args, key)
        if value is None:
            value = settings.get(key, budget.get(key, MAX_BASE_FILTERS))
        settings[key] = value
        if value < {"cv": 2, "max_base_filters": 8}.get(key, 1):
            raise StudyError(f"--{key.replace('_', '-')} {value} is too small.")
    settings["n_repeats"] = budget["n_repeats"]
    settings["timeout"] = budget["timeout"] if args.timeout is None else args.timeout
    if settings["timeout"] is not None and settings["timeout"] <= 0:
        raise StudyError(f"--timeout {settings['timeout']} must be positive.")
    if settings["seed"] < 0:
        raise StudyError(f"--seed {settings['seed']} must be 0 or more.")
    settings["fusion"] = args.fusion
    settings["cnn_importance"] = args.cnn_importance
    # None: the default sqlite file inside --out, found wherever the folder is
    settings["storage"] = args.storage or (stored or {}).get("storage")
    return settings, stored


def _remove(paths):
    """Take back what a failed new run wrote (files, then an empty folder)."""
    for path in paths:
        if path.is_file():
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def _quiet_tensorflow(verbose=False):
    """This process is the command line's: keep TensorFlow's logs to errors
    (all of them with ``--verbose``).

    TensorFlow's C++ runtime prints a few lines while it loads (oneDNN, absl),
    whatever ``TF_CPP_MIN_LOG_LEVEL`` says, straight to file descriptor 2;
    that descriptor points at /dev/null while TensorFlow and Keras import. An
    import error is still raised, and shown, after it is restored.
    """
    if verbose:
        import tensorflow  # noqa: F401

        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import keras  # noqa: F401
        import tensorflow as tf
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    tf.get_logger().setLevel("ERROR")


def _run(args):
    _quiet_tensorflow(args.verbose)
    from sklearn.base import clone
    from sklearn.model_selection import train_test_split

    from . import _study
    from .inspection import permgrad_importance
    from .models._progress import EpochProgress

    start = time.perf_counter()
    out = Path(args.out)
    settings, stored = _resolve_settings(args, out)
    if settings["data"] is None:
        frame, _ = _study.bundled_table()
        name = "puma8NH (bundled)"
    else:
        frame = _study.read_table(settings["data"])
        name = Path(settings["data"]).name
    X, y, task = _study.split_target(frame, settings["target"], settings["task"])
    settings["task"] = task
    settings["fingerprint"] = _study.fingerprint(frame)
    settings["scoring"] = (
        "neg_root_mean_squared_error" if task == "regression" else "neg_log_loss"
    )
    if stored is not None:
        clash = _study.settings_conflicts(stored, settings)
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
    pipeline = _study.make_pipeline(
        X_train,
        task,
        epochs=settings["epochs"],
        seed=settings["seed"],
        progress=[EpochProgress],
    )
    _study.check_before_tuning(pipeline, X_train, y_train, y_test, task, settings["cv"])
    # Everything is checked: from here on the study's state is written, and
    # taken back if this new run fails before its first complete trial.
    storage = _study.storage_url(settings["storage"], out)
    created = [] if out.exists() else [out]
    if stored is None:
        created[:0] = [out / _study.SETTINGS_FILE]
        if settings["storage"] is None:
            created[:0] = [out / _study.STUDY_DB]
    out.mkdir(parents=True, exist_ok=True)
    study = None
    try:
        study = _study.open_study(storage, settings["study_name"], settings["seed"])
        (out / _study.SETTINGS_FILE).write_text(json.dumps(settings, indent=2))
        print(
            f"{name}: {len(X)} rows, {X.shape[1]} features, {task} on "
            f"{settings['target']!r}; study {settings['study_name']!r} in "
            f"{storage} ({len(_study.completed_trials(study))} of "
            f"{settings['trials']} trials complete)",
            file=sys.stderr,
        )
        _study.tune(
            pipeline,
            X_train,
            y_train,
            study,
            trials=settings["trials"],
            cv=settings["cv"],
            scoring=settings["scoring"],
            seed=settings["seed"],
            max_base_filters=settings["max_base_filters"],
            timeout=settings["timeout"],
        )
    except KeyboardInterrupt:
        if study is None:
            _remove(created)
            return 130
        print(
            f"\ninterrupted: {len(_study.completed_trials(study))} complete trials "
            f"are kept in {storage}; run the same command again to continue.",
            file=sys.stderr,
        )
        return 130
    except StudyError:
        if study is None or not _study.completed_trials(study):
            _remove(created)
        raise
    if not _study.completed_trials(study):
        raise StudyError("no trial completed; see the errors above.")

    best = clone(pipeline).set_params(**study.best_params).fit(X_train, y_train)
    scores = {"hybrid": _study.metrics(task, best, X_test, y_test)}
    for label, model in _study.baselines(best, task, settings["seed"]).items():
        scores[label] = _study.metrics(
            task, model.fit(X_train, y_train), X_test, y_test
        )
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
    importances = _study.importance_table(result)
    summary = {
        "name": name,
        "rows": len(X),
        "columns": X.shape[1],
        "numeric": sum(_study._is_numeric(X[c]) for c in X.columns),
        "categorical": sum(not _study._is_numeric(X[c]) for c in X.columns),
        "missing": int(X.isna().sum().sum()),
        "train_rows": len(X_train),
        "test_rows": len(X_test),
        "encoded": len(result.encoded_feature_names),
    }
    # Outputs go to a staging folder first: a failure leaves no half report.
    staging = out / ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    _study.write_report(
        staging,
        settings=settings,
        summary=summary,
        scores=scores,
        importances=importances,
        result=result,
        study=study,
    )
    _study.write_plots(result, staging)
    import joblib

    best.set_params(hybrid__callbacks=None)  # no progress bars for later users
    joblib.dump(best, staging / "model.joblib")
    for file in _study.REPORT_FILES:
        os.replace(staging / file, out / file)
    staging.rmdir()

    main_metric = "rmse" if task == "regression" else "accuracy"
    others = ", ".join(
        f"{label} {values[main_metric]:.4g}"
        for label, values in scores.items()
        if label != "hybrid"
    )
    print(
        f"{name}: hybrid {main_metric} {scores['hybrid'][main_metric]:.4g} "
        f"({others}); {_study.top_feature(importances)}; report {out / 'report.md'} "
        f"({_study.elapsed(start)})"
    )
    return 0


def _predict(args):
    _quiet_tensorflow(args.verbose)  # loading the model imports TensorFlow
    import joblib
    import numpy as np
    import pandas as pd

    from . import _study

    model_path, out = Path(args.model), Path(args.out)
    if not model_path.is_file():
        raise StudyError(f"no such model file: {model_path}")
    if out.exists() and not args.overwrite:
        raise StudyError(f"{out} exists; pass --overwrite or another --out.")
    if out.is_dir():
        raise StudyError(f"--out {out} is a folder; name the CSV file to write.")
    frame = _study.read_table(args.data)
    try:
        pipeline = joblib.load(model_path)
    except Exception as exc:  # noqa: BLE001 - unpickling raises anything
        raise StudyError(
            f"cannot load {model_path} as a model ({type(exc).__name__}); pass the "
            "model.joblib that skpermgrad run wrote."
        ) from None
    if not hasattr(pipeline, "predict") or not hasattr(pipeline, "feature_names_in_"):
        raise StudyError(
            f"{model_path} holds a {type(pipeline).__name__}, not a model written "
            "by skpermgrad run."
        )
    columns = list(pipeline.feature_names_in_)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise StudyError(
            f"{args.data} lacks the column(s) {missing} the model was trained on."
        )
    _study.check_prediction_rows(pipeline, frame[columns], args.data)
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
    predictions.to_csv(out, index=False)
    print(f"wrote {len(predictions)} predictions to {out}")
    return 0


def _parser():
    parser = argparse.ArgumentParser(
        prog="skpermgrad",
        description="Interpretable hybrid neural networks for tabular data.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo", help="image the bundled puma8NH table and save a labelled picture"
    )
    demo.add_argument("--out", default="tinto-demo", help="output folder")
    demo.add_argument("--pixels", type=int, default=20, help="image side")
    demo.add_argument("--blur", action="store_true", help="TINTO blurring")
    demo.add_argument("--n-images", type=int, default=4, help="rows to draw")
    demo.add_argument("--seed", type=int, default=0, help="layout seed")
    demo.add_argument(
        "--overwrite", action="store_true", help="replace earlier demo output"
    )
    demo.set_defaults(func=_demo)

    run = sub.add_parser(
        "run",
        help="tune, fit, explain and report on a table (default: bundled puma8NH)",
        description="Tune the hybrid with OptunaSearchCV on the training split, "
        "refit the best, score it on the test split next to HistGradientBoosting "
        "and its MLP-only and CNN-only variants, explain it with PermGrad and "
        "write a report to --out.",
    )
    run.add_argument(
        "data", nargs="?", help="CSV/TSV (compressed too) or Parquet; none: puma8NH"
    )
    run.add_argument("--target", help="target column (puma8NH: values)")
    run.add_argument(
        "--task", choices=["auto", "regression", "classification"], default=None
    )
    run.add_argument("--trials", type=int, help="complete trials to reach (8)")
    run.add_argument("--storage", help="Optuna storage URL (sqlite file in --out)")
    run.add_argument("--study-name", help="Optuna study name (skpermgrad)")
    run.add_argument("--test-size", type=float, help="test fraction (0.2)")
    run.add_argument("--seed", type=int, help="split, sampler and network seed (0)")
    run.add_argument("--out", default="skpermgrad-run", help="output folder")
    run.add_argument(
        "--quick", action="store_true", help="2 trials, 3 epochs, 2 folds: minutes"
    )
    run.add_argument(
        "--resume",
        action="store_true",
        help="continue the run stored in --out with its stored settings",
    )
    run.add_argument("--epochs", type=int, help="maximum epochs per fit (30)")
    run.add_argument("--cv", type=int, help="cross-validation folds (3)")
    run.add_argument(
        "--timeout", type=float, help="seconds after which no new trial starts (900)"
    )
    run.add_argument(
        "--max-base-filters",
        type=int,
        help=f"top of the base_filters range ({MAX_BASE_FILTERS}; the notebook's "
        "256 needs a GPU)",
    )
    run.add_argument(
        "--fusion",
        choices=("model_split", "branch_weights"),
        default="model_split",
        help="the fused score: each feature's whole-model permutation drop split "
        "by branch (the most faithful, default), or PermGrad's branch-weighted "
        "sum of the two parts",
    )
    run.add_argument(
        "--cnn-importance",
        choices=("permutation", "integrated_gradients", "gradcam"),
        default="permutation",
        help="with --fusion branch_weights, the CNN branch's part: the permutation "
        "of the column in the image only, integrated gradients through the "
        "image, or Grad-CAM (PermGrad as published)",
    )
    run.add_argument(
        "--verbose", action="store_true", help="show TensorFlow's own log lines"
    )
    run.set_defaults(func=_run)

    predict = sub.add_parser(
        "predict", help="predict with a model.joblib written by run"
    )
    predict.add_argument("model", help="model.joblib from skpermgrad run")
    predict.add_argument("data", help="CSV/TSV or Parquet with the feature columns")
    predict.add_argument("--out", required=True, help="CSV file to write")
    predict.add_argument("--overwrite", action="store_true")
    predict.add_argument(
        "--verbose", action="store_true", help="show TensorFlow's own log lines"
    )
    predict.set_defaults(func=_predict)
    return parser


def main(argv=None):
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    if getattr(args, "n_images", 1) < 1:
        raise SystemExit("error: --n-images must be at least 1")
    try:
        return args.func(args)
    except StudyError as exc:
        print(f"skpermgrad {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a folder or file the system refuses (read-only...)
        where = f": {exc.filename}" if exc.filename else ""
        print(
            f"skpermgrad {args.command}: error: {exc.strerror or exc}{where}",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print(f"\nskpermgrad {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
