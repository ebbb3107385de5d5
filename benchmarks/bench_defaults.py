"""Ablation of the hybrid's training defaults on the shared datasets.

Usage: python benchmarks/bench_defaults.py [--quick] [--only NAME,...]
       [--configs NAME,...] [--seed-check] [--folds K] [--max-rows N]
       [--out FILE]

Each configuration is a set of HybridRegressor/HybridClassifier parameters
(everything else at the library's defaults); every configuration is
cross-validated on the same shuffled (stratified for classification) folds of
each dataset of ``benchmarks/bench_predictive.py``, inputs standardised first.
Results are merged into ``--out`` after every dataset, so a long ablation can
run across sessions with ``--only``; the markdown table ranks the
configurations per dataset and on average. ``--seed-check`` runs instead the
every-seed-trains check of each configuration (the settings of
``tests/test_training.py``). It measures; it never asserts.
"""

import argparse
import statistics
import time
from pathlib import Path

from _predictive_data import DATA_DIR, DATASETS, _load, cv_splits
from _predictive_models import LAYOUTS, PRIMARY, _layouts, _scores
from _results import RESULTS, merge_dataset, parse_names

# The PermGrad notebook's training, and the candidates for the new defaults.
_LARGE_BATCHES = dict(batch_size=256, lr_schedule="warmup_plateau", patience=16)
# what the configurations measured before mlp_input existed read: min-max values
_MINMAX = dict(mlp_input="minmax")
# round 6's default, which round 7 varies
_ROUND6 = dict(
    batch_size=64,
    lr_schedule="one_cycle",
    mlp_input="quantile",
    numeric_embedding="periodic",
    ensemble_size=8,
)
CONFIGS = {
    "notebook": dict(
        **_MINMAX,
        batch_size=32,
        lr_schedule="one_cycle",
        patience=6,
        normalization="batch",
        dropout=0.1,
    ),
    "b256_batchnorm": dict(
        **_MINMAX, **_LARGE_BATCHES, normalization="batch", dropout=0.1
    ),
    "b256_nonorm": dict(**_MINMAX, **_LARGE_BATCHES, normalization=None, dropout=0.1),
    "b256_nonorm_nodropout": dict(
        **_MINMAX, **_LARGE_BATCHES, normalization=None, dropout=0.0
    ),
    # round 2: what the MLP branch reads (issue 12, item 2)
    "quantile": dict(batch_size=32, lr_schedule="one_cycle", mlp_input="quantile"),
    "periodic": dict(
        **_MINMAX,
        batch_size=32,
        lr_schedule="one_cycle",
        numeric_embedding="periodic",
    ),
    "quantile_periodic": dict(
        batch_size=32,
        lr_schedule="one_cycle",
        mlp_input="quantile",
        numeric_embedding="periodic",
    ),
    "b256_quantile_periodic": dict(
        **_LARGE_BATCHES,
        normalization="batch",
        mlp_input="quantile",
        numeric_embedding="periodic",
    ),
    # round 3: the CNN branch's image (issue 12, item 2). Keys of the imager, not
    # of the hybrid: "pixels_per_feature" sizes the side to the table,
    # max(8, ceil(sqrt(k * n_features))), instead of the fixed 20x20 (8
    # features on 400 pixels leave 98% of the image empty); "blur" is TINTO's.
    "quantile_small_image": dict(
        batch_size=32,
        lr_schedule="one_cycle",
        mlp_input="quantile",
        pixels_per_feature=4,
    ),
    "quantile_small_image_blur": dict(
        batch_size=32,
        lr_schedule="one_cycle",
        mlp_input="quantile",
        pixels_per_feature=4,
        blur=True,
    ),
    # round 4: the batch size with the quantile input (the fit-time goal)
    "quantile_b64": dict(batch_size=64, lr_schedule="one_cycle", mlp_input="quantile"),
    # round 5: a parameter-efficient ensemble head (TabM-mini, 8 members)
    "quantile_k8": dict(
        batch_size=32, lr_schedule="one_cycle", mlp_input="quantile", ensemble_size=8
    ),
    "quantile_b64_k8": dict(
        batch_size=64, lr_schedule="one_cycle", mlp_input="quantile", ensemble_size=8
    ),
    # round 6: more members (TabM's default is 32); periodic embeddings with them
    "quantile_b64_k32": dict(
        batch_size=64, lr_schedule="one_cycle", mlp_input="quantile", ensemble_size=32
    ),
    "quantile_periodic_b64_k8": _ROUND6,
    # round 7: batch 128 (the fit-time goal) and more dropout (puma8NH's RMSE goal)
    "quantile_periodic_b128_k8": {**_ROUND6, "batch_size": 128},
    "quantile_periodic_b64_k8_d02": {**_ROUND6, "dropout": 0.2},
    "quantile_periodic_b128_k8_d02": {**_ROUND6, "batch_size": 128, "dropout": 0.2},
    # round 8 (issue 26): the image the CNN branch reads, everything else at the
    # library's defaults; "layout" names an imager of bench_predictive's layouts
    **{f"layout_{name}": {"layout": name} for name in LAYOUTS},
    # round 9 (issue 50): fewer, larger steps and a shorter schedule (the
    # one-cycle spans ``epochs``: its warm-up is their first quarter) for the
    # fit time, against the library's defaults measured in the same run
    "defaults": {},
    "b256": dict(batch_size=256),
    "b512": dict(batch_size=512),
    "e40": dict(epochs=40),
    "b256_e40": dict(batch_size=256, epochs=40),
    # round 10 (issue 50): the larger batches with the learning rate scaled up
    # (round 9's kept 1e-3 and lost accuracy on the regressions)
    "b256_lr2": dict(batch_size=256, learning_rate=2e-3),
    "b512_lr2": dict(batch_size=512, learning_rate=2e-3),
    "b512_lr4": dict(batch_size=512, learning_rate=4e-3),
    "b256_lr15": dict(batch_size=256, learning_rate=1.5e-3),
    "b256_lr3": dict(batch_size=256, learning_rate=3e-3),
    # round 11 (issue 50): a smaller ensemble head (each member costs about
    # 0.035 s an epoch on puma8NH: bench_wrapper.md)
    "k4": dict(ensemble_size=4),
    # round 12 (issue 52): a backbone of the best tabular MLPs, each knob alone
    # against the library's defaults measured in the same run: the members
    # through the whole MLP branch (TabM-mini, TabM) and their number, the
    # piecewise-linear embeddings, RealMLP's robust scaling with smooth
    # clipping, label smoothing (classifiers only), AdamW's weight decay
    "mlp_mini_k8": dict(ensemble_scope="mlp_mini"),
    "mlp_k8": dict(ensemble_scope="mlp"),
    "mlp_k16": dict(ensemble_scope="mlp", ensemble_size=16),
    "mlp_k32": dict(ensemble_scope="mlp", ensemble_size=32),
    "piecewise": dict(numeric_embedding="piecewise"),
    "robust": dict(mlp_input="robust"),
    "smoothing": dict(label_smoothing=0.1),
    "adamw": dict(optimizer="adamw", weight_decay=0.01),
    # round 13 (issue 52): round 12's gains together: the members through the
    # branch (ahead on 6 of 9), the piecewise embeddings (ahead on 4, far ahead
    # on houses, far behind on cpu_act), label smoothing (on 3 of 6
    # classifications), AdamW's decay (cpu_act)
    "piecewise_mlp_k8": dict(numeric_embedding="piecewise", ensemble_scope="mlp"),
    "mlp_k8_smoothing": dict(ensemble_scope="mlp", label_smoothing=0.1),
    "piecewise_mlp_k8_smoothing": dict(
        numeric_embedding="piecewise", ensemble_scope="mlp", label_smoothing=0.1
    ),
    "mlp_k8_adamw": dict(ensemble_scope="mlp", optimizer="adamw", weight_decay=0.01),
    "piecewise_mlp_k8_adamw": dict(
        numeric_embedding="piecewise",
        ensemble_scope="mlp",
        optimizer="adamw",
        weight_decay=0.01,
    ),
}
# parameters only a classifier takes: a configuration of them is measured on
# the classification tables alone
_CLASSIFIER_ONLY = ("label_smoothing",)
_IMAGER_KEYS = ("pixels_per_feature", "blur", "layout")
QUICK_DATASETS = ("puma8NH",)
SEED_CHECK = "seed_check"
PACKAGES = ["tensorflow-cpu", "keras"]


def _split_params(params, n_features, pixels=None):
    """A configuration's hybrid parameters, with its imager keys as ``imager``."""
    import math

    from skpermgrad import TintoImager

    hybrid = {k: v for k, v in params.items() if k not in _IMAGER_KEYS}
    if "layout" in params:  # an imager of its own: its own side
        hybrid["imager"] = _layouts(n_features, seed=0)[params["layout"]]
        return hybrid
    imager = {"blur": params["blur"]} if "blur" in params else {}
    if "pixels_per_feature" in params:
        pixels = max(8, math.ceil(math.sqrt(params["pixels_per_feature"] * n_features)))
    if pixels is not None:
        imager["pixels"] = pixels
    if imager:
        hybrid["imager"] = TintoImager(**imager)
    return hybrid


def _model(task, params, seed, n_features):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skpermgrad import HybridClassifier, HybridRegressor

    hybrid = HybridRegressor if task == "regression" else HybridClassifier
    params = _split_params(params, n_features)
    return make_pipeline(StandardScaler(), hybrid(random_state=seed, **params))


def run_dataset(name, configs, data_dir, folds, max_rows, seed):
    X, y, task = _load(data_dir, name, max_rows, seed)
    splits = cv_splits(task, X, y, folds, seed)
    metric, _ = PRIMARY[task]
    results = {}
    for label in configs:
        if task == "regression" and set(CONFIGS[label]) & set(_CLASSIFIER_ONLY):
            continue
        model = _model(task, CONFIGS[label], seed, X.shape[1])
        scores, fit_s, epochs = [], [], []
        for train, test in splits:
            start = time.perf_counter()
            model.fit(X[train], y[train])
            fit_s.append(time.perf_counter() - start)
            scores.append(_scores(task, model, X[test], y[test])[0][metric])
            epochs.append(len(model[-1].history_["loss"]))
        results[label] = {
            "params": CONFIGS[label],
            metric: {
                "mean": statistics.fmean(scores),
                "std": statistics.pstdev(scores),
                "folds": scores,
            },
            "fit_seconds": statistics.fmean(fit_s),
            "epochs": statistics.fmean(epochs),
        }
        print(
            f"  {name:20} {label:24} {metric} {statistics.fmean(scores):.4f}"
            f"±{statistics.pstdev(scores):.4f}  min {min(scores):.4f}  "
            f"fit {statistics.fmean(fit_s):.1f}s  "
            f"epochs {statistics.fmean(epochs):.0f}",
            flush=True,
        )
    return {
        "task": task,
        "metric": metric,
        "rows": len(y),
        "features": X.shape[1],
        "configs": results,
    }


def seed_check(configs, seeds=6):
    """Every seed trains? The settings of ``tests/test_training.py``, per config.

    A linear target (R²) and a linear class boundary (accuracy), 1,000 training
    and 500 test rows, 6 features, ``TintoImager(pixels=8)`` (a ``layout``
    configuration's own imager instead), 60 epochs (a configuration's own
    ``epochs`` where it sets them).
    """
    import numpy as np

    from skpermgrad import HybridClassifier, HybridRegressor

    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(1500, 6))
    targets = {
        "regression_r2": (
            HybridRegressor,
            4 * X[:, 0] + 2 * X[:, 1] + 0.05 * rng.normal(size=1500),
        ),
        "classification_accuracy": (
            HybridClassifier,
            np.where(X[:, 0] + 0.5 * X[:, 1] > 0, "pos", "neg"),
        ),
    }
    results = {}
    for label in configs:
        results[label] = {}
        for task, (estimator, y) in targets.items():
            scores = []
            for seed in range(seeds):
                # 60 epochs, or the configuration's own schedule length
                params = {"epochs": 60, **CONFIGS[label]}
                if estimator is HybridRegressor:  # the regressor's own defaults
                    params = {
                        k: v for k, v in params.items() if k not in _CLASSIFIER_ONLY
                    }
                params = _split_params(params, X.shape[1], pixels=8)
                model = estimator(random_state=seed, **params).fit(X[:1000], y[:1000])
                scores.append(float(model.score(X[1000:], y[1000:])))
            results[label][task] = {"min": min(scores), "seeds": scores}
            print(f"  seed check {label:24} {task:24} min {min(scores):.4f}")
    return results


def markdown(results, settings, note=None):
    lines = [
        "# Ablation of the hybrid's training defaults",
        "",
        f"{settings['folds']}-fold CV (same folds for every configuration), at most "
        f"{settings['max_rows']} rows per dataset, inputs standardised, no tuning. "
        "Main metric (RMSE, lower is better; accuracy, higher is better), mean ± "
        "standard deviation over folds; fit seconds per fold and epochs trained.",
        "",
        *([note, ""] if note else []),
    ]
    # the configurations measured in these results (a file may hold a round)
    measured = {c for r in results.values() for c in r.get("configs", {})}
    configs = [c for c in CONFIGS if c in measured]
    lines.append("| configuration | " + " | ".join(f"`{c}`" for c in configs) + " |")
    lines.append("|---|" + "---|" * len(configs))
    keys = sorted({k for c in configs for k in CONFIGS[c]})
    for key in keys:
        cells = [repr(CONFIGS[c].get(key, "default")) for c in configs]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    lines += ["", "| dataset | metric | " + " | ".join(configs) + " |"]
    lines.append("|---|---|" + "---:|" * len(configs))
    ranks = {c: [] for c in configs}
    fits = {c: [] for c in configs}
    for name, result in results.items():
        if name == SEED_CHECK:
            continue
        metric, sign = PRIMARY[result["task"]]
        done = [c for c in configs if c in result["configs"]]
        order = sorted(done, key=lambda c: sign * result["configs"][c][metric]["mean"])
        for c in done:
            ranks[c].append(order.index(c) + 1)
            fits[c].append(result["configs"][c]["fit_seconds"])
        cells = []
        for c in configs:
            r = result["configs"].get(c)
            cells.append(
                "—"
                if r is None
                else f"{r[metric]['mean']:.5g} ± {r[metric]['std']:.2g} "
                f"({r['fit_seconds']:.0f} s, {r['epochs']:.0f} ep)"
            )
        lines.append(f"| {name} | {metric} | " + " | ".join(cells) + " |")
    lines += ["", "| | " + " | ".join(configs) + " |", "|---|" + "---:|" * len(configs)]
    lines.append(
        "| mean rank | "
        + " | ".join(
            f"{statistics.fmean(ranks[c]):.2f}" if ranks[c] else "—" for c in configs
        )
        + " |"
    )
    # a classifier-only configuration is ranked on the classification tables
    tables = max((len(r) for r in ranks.values()), default=0)
    lines.append("| tables | " + " | ".join(str(len(ranks[c])) for c in configs) + " |")
    checks = results.get(SEED_CHECK, {}).get("configs", {})
    if checks:
        lines += [
            "",
            "Every seed trains? (`seed_check`: 6 seeds; linear target, test R² "
            "must reach 0.97; linear class boundary, test accuracy 0.95; the "
            "settings of `tests/test_training.py`). Lowest score over the seeds:",
            "",
            "| check | " + " | ".join(configs) + " |",
            "|---|" + "---:|" * len(configs),
        ]
        for task in ("regression_r2", "classification_accuracy"):
            cells = [
                f"{checks[c][task]['min']:.4f}" if c in checks else "—" for c in configs
            ]
            lines.append(f"| {task} | " + " | ".join(cells) + " |")
        passing = [
            c
            for c in configs
            if c in checks
            and checks[c]["regression_r2"]["min"] >= 0.97
            and checks[c]["classification_accuracy"]["min"] >= 0.95
            and len(ranks[c]) == tables
        ]
        if passing:
            best = min(
                passing,
                key=lambda c: (statistics.fmean(ranks[c]), statistics.fmean(fits[c])),
            )
            lines += [
                "",
                "Rule: the default is the configuration with the best mean rank "
                "among those measured on every table where every seed trains, a "
                "tie going to the lower "
                f"mean fit time: **`{best}`** (of "
                f"{', '.join(f'`{c}`' for c in passing)}).",
            ]
    lines.append("")
    return "\n".join(lines)


def _saved_note(path):
    """The ``note`` written into a results file by hand, or None."""
    import json

    return json.loads(path.read_text()).get("note") if path.is_file() else None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 set, 600 rows")
    parser.add_argument("--only", help="comma-separated dataset names")
    parser.add_argument("--configs", help=f"comma-separated, from {list(CONFIGS)}")
    parser.add_argument(
        "--seed-check",
        action="store_true",
        help="only the every-seed-trains check of each configuration",
    )
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--max-rows", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=str(DATA_DIR))
    parser.add_argument("--out", default=str(RESULTS / "bench_defaults.json"))
    args = parser.parse_args(argv)
    names = list(DATASETS)
    configs = list(CONFIGS)
    if args.quick:
        names, args.folds, args.max_rows = list(QUICK_DATASETS), 2, 600
        configs = ["notebook", "b256_nonorm"]
    if args.only:
        names = parse_names(parser, args.only, DATASETS, "dataset")
    if args.configs:
        configs = parse_names(parser, args.configs, CONFIGS, "config")
    settings = {"folds": args.folds, "max_rows": args.max_rows, "seed": args.seed}
    out = Path(args.out)
    results = {}
    if args.seed_check:
        names = []
        results = merge_dataset(
            out,
            "bench_defaults",
            PACKAGES,
            settings,
            SEED_CHECK,
            {"configs": seed_check(configs)},
        )
        out.with_suffix(".md").write_text(
            markdown(results, settings, _saved_note(out)) + "\n"
        )
    for name in names:
        file = Path(args.data_dir) / DATASETS[name][0]
        if name != "puma8NH" and not file.is_file():
            print(f"skipping {name}: no file under {args.data_dir}", flush=True)
            continue
        measured = run_dataset(
            name, configs, args.data_dir, args.folds, args.max_rows, args.seed
        )
        results = merge_dataset(
            out, "bench_defaults", PACKAGES, settings, name, measured
        )
        out.with_suffix(".md").write_text(
            markdown(results, settings, _saved_note(out)) + "\n"
        )
    print(markdown(results, settings, _saved_note(out)))


if __name__ == "__main__":
    main()
