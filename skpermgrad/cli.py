"""Command-line entry point: ``skpermgrad`` / ``python -m skpermgrad``.

``skpermgrad run`` tunes, fits, explains and reports on a table;
``skpermgrad predict`` reloads the fitted pipeline; ``skpermgrad demo`` draws
puma8NH as TINTO images. Errors in the user's input print one line and exit
with status 2, before anything is written.
"""

import argparse
import sys
import time
from pathlib import Path

from ._study import (
    DEFAULT,
    DEFAULT_PRUNER,
    MAX_BASE_FILTERS,
    PRUNERS,
    StudyError,
    clock,
    parse_duration,
    parse_images,
    quiet_tensorflow,
    resolve_settings,
)
from ._validation import (
    CNN_IMPORTANCES,
    DEFAULT_CNN_IMPORTANCE,
    DEFAULT_FUSION,
    FUSIONS,
)
from .imaging import get_imager_names


def _demo(args):
    from ._demo import demo

    return demo(args)


def _run(args):
    start = time.perf_counter()  # --time-limit counts TensorFlow's import too
    quiet_tensorflow(args.verbose)
    from ._study import run_study

    out = Path(args.out)
    return run_study(*resolve_settings(args, out), out, start=start)


def _predict(args):
    quiet_tensorflow(args.verbose)  # loading the model imports TensorFlow
    from ._study import predict_table

    return predict_table(
        args.model,
        args.data,
        args.out,
        overwrite=args.overwrite,
        trust_model=args.trust_model,
    )


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
    run.add_argument(
        "--trials",
        type=int,
        help=f"trials to try (complete, or pruned after a fold), the first the "
        "hybrid's defaults "
        f"({DEFAULT['trials']}; 0: no tuning, the defaults)",
    )
    run.add_argument(
        "--storage",
        help="Optuna storage: a database URL (postgresql://..., mysql://...) or "
        "a .journal file (default: a file in --out, SQLite for one worker, an "
        "Optuna journal for several)",
    )
    run.add_argument(
        "--workers",
        type=int,
        help="tuning processes on this machine sharing the study, each with its "
        "share of the cores (one a core, at most 4 and at most --trials; 1 with "
        "an SQLite study)",
    )
    run.add_argument("--study-name", help="Optuna study name (skpermgrad)")
    run.add_argument("--test-size", type=float, help="test fraction (0.2)")
    run.add_argument("--seed", type=int, help="split, sampler and network seed (0)")
    run.add_argument("--out", default="skpermgrad-run", help="output folder")
    run.add_argument(
        "--quick",
        action="store_true",
        help="no tuning: the hybrid's defaults, fitted, tested and explained "
        "(about 3 min on the bundled table with 2 cores)",
    )
    run.add_argument(
        "--resume",
        action="store_true",
        help="continue the run stored in --out with its stored settings",
    )
    run.add_argument(
        "--epochs",
        type=int,
        help="maximum epochs per fit (the hybrid's 100, with early stopping)",
    )
    run.add_argument("--cv", type=int, help=f"cross-validation folds ({DEFAULT['cv']})")
    run.add_argument(
        "--time-limit",
        type=parse_duration,
        metavar="DURATION",
        help="bound on the whole run: tuning, refit, variants and explanation "
        f"(e.g. 90s, 10m, 1h; {clock(DEFAULT['time_limit'])} without --quick, "
        "none with it)",
    )
    run.add_argument(
        "--pruner",
        choices=PRUNERS,
        help="what stops a trial after a fold: the median rule (the mean of its "
        "fold scores so far below the complete trials' median on the same "
        f"folds; {DEFAULT_PRUNER}), or none (every trial runs all its folds)",
    )
    run.add_argument(
        "--max-base-filters",
        type=int,
        help=f"top of the base_filters range ({MAX_BASE_FILTERS}; the notebook's "
        "256 needs a GPU)",
    )
    run.add_argument(
        "--images",
        type=parse_images,
        metavar="NAMES",
        help="image methods the tuning chooses among, comma-separated, the "
        "first the defaults' trial's (igtd; any of "
        + ", ".join(get_imager_names())
        + ")",
    )
    run.add_argument(
        "--fusion",
        choices=FUSIONS,
        help="the fused score: each feature's whole-model permutation drop split "
        f"by branch (the most faithful, {DEFAULT_FUSION}), or PermGrad's "
        "branch-weighted sum of the two parts",
    )
    run.add_argument(
        "--cnn-importance",
        choices=CNN_IMPORTANCES,
        help="with --fusion branch_weights, the CNN branch's part: the permutation "
        f"of the column in the image only ({DEFAULT_CNN_IMPORTANCE}), integrated "
        "gradients through the image, or Grad-CAM (PermGrad as published)",
    )
    run.add_argument(
        "--verbose", action="store_true", help="show TensorFlow's own log lines"
    )
    run.set_defaults(func=_run)

    predict = sub.add_parser(
        "predict",
        help="predict with a model.joblib written by run",
        description="Predict with the model.joblib that skpermgrad run wrote. "
        "A model file is a pickle, which runs code when it is loaded: load only "
        "one from a source you trust. Its SHA-256 is checked against the "
        "model.joblib.sha256 that run wrote beside it before it is loaded; a "
        "file that does not match (or has none) is refused unless --trust-model.",
    )
    predict.add_argument("model", help="model.joblib from skpermgrad run")
    predict.add_argument("data", help="CSV/TSV or Parquet with the feature columns")
    predict.add_argument("--out", required=True, help="CSV file to write")
    predict.add_argument("--overwrite", action="store_true")
    predict.add_argument(
        "--trust-model",
        action="store_true",
        help="load the model file even without a matching model.joblib.sha256 "
        "(it runs code when loaded: only for a file from a source you trust)",
    )
    predict.add_argument(
        "--verbose", action="store_true", help="show TensorFlow's own log lines"
    )
    predict.set_defaults(func=_predict)
    return parser


def main(argv=None):
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
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
