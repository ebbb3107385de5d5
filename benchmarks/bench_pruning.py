"""Which pruner stops the study's hopeless trials: per-fold scores, replayed.

Usage: python benchmarks/bench_pruning.py [--quick] [--only NAME,...]
       [--trials N] [--max-rows N] [--out FILE]

For each dataset, the study of ``skpermgrad run`` (its pipeline, search space,
sampler and 3-fold CV; the defaults first) tunes ``--trials`` trials on at most
``--max-rows`` rows with no pruner, every trial running all its folds; each
trial's fold scores and fit time are kept. Each candidate pruner is then
replayed on those trials in their order: after fold ``i`` a trial reports the
mean of its fold scores so far (as the run's ``_FoldScorer`` does) and stops
where the pruner says. Recorded per pruner: the trials pruned, the share of
the fold fits (and of their seconds) saved, and the best complete trial's CV
score against the unpruned study's best. A replay keeps the sampler's
proposals as they were: a study pruned for real would have proposed later
trials knowing the pruned ones' partial scores. It measures; it never asserts.
"""

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _predictive_data import DATA_DIR, DATASETS, _load
from _results import RESULTS, merge_dataset, parse_names

# name: what the Optuna pruner is. The run's default is "median_startup1"
# (skpermgrad run --pruner median).
CANDIDATES = {
    "median_startup1": "MedianPruner(n_startup_trials=1): against the defaults' trial "
    "until a second is complete",
    "median": "MedianPruner(n_startup_trials=2)",
    "median_startup4": "MedianPruner(n_startup_trials=4)",
    "percentile_75": "PercentilePruner(75, n_startup_trials=2): keeps the top 75%",
    "percentile_25": "PercentilePruner(25, n_startup_trials=2): keeps the top 25%",
    "successive_halving": "SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)",
    "hyperband": "HyperbandPruner(min_resource=1, max_resource=3, reduction_factor=3)",
}
QUICK_DATASETS = ("puma8NH",)
PACKAGES = ["optuna", "optuna-integration", "tensorflow-cpu", "keras"]
FOLDS = 3


def make_candidate(name):
    import optuna

    pruners = optuna.pruners
    return {
        "median_startup1": lambda: pruners.MedianPruner(n_startup_trials=1),
        "median": lambda: pruners.MedianPruner(n_startup_trials=2),
        "median_startup4": lambda: pruners.MedianPruner(n_startup_trials=4),
        "percentile_75": lambda: pruners.PercentilePruner(75.0, n_startup_trials=2),
        "percentile_25": lambda: pruners.PercentilePruner(25.0, n_startup_trials=2),
        "successive_halving": lambda: pruners.SuccessiveHalvingPruner(
            min_resource=1, reduction_factor=3
        ),
        "hyperband": lambda: pruners.HyperbandPruner(
            min_resource=1, max_resource=FOLDS, reduction_factor=3
        ),
    }[name]()


def record_trials(name, trials, max_rows, seed):
    """Tune as ``skpermgrad run`` does, unpruned; each complete trial's fold
    scores, fit seconds and parameters, in trial order."""
    import optuna

    from skpermgrad._study._pipeline import make_pipeline
    from skpermgrad._study._progress import Monitor
    from skpermgrad._study._settings import DEFAULT
    from skpermgrad._study._trials import study_space
    from skpermgrad._study._tuning import tune, tuning_scoring

    X, y, task = _load(DATA_DIR, name, max_rows, seed)
    X = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    scoring = tuning_scoring(task)
    monitor = Monitor(worker=name)  # plain lines, no bars
    pipeline = make_pipeline(X, task, epochs=None, seed=seed, progress=[])
    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed)
    )
    space = study_space(
        {
            "max_base_filters": DEFAULT["max_base_filters"],
            "images": ["igtd"],
            "task": task,
        }
    )
    start = time.perf_counter()
    tune(
        pipeline,
        X,
        y,
        study,
        trials=trials,
        cv=FOLDS,
        scoring=scoring,
        seed=seed,
        space=space,
        monitor=monitor,
        pruner="none",
    )
    seconds = time.perf_counter() - start
    records = []
    for trial in study.trials:
        if trial.state.name != "COMPLETE":
            continue
        records.append(
            {
                "number": trial.number,
                "folds": [
                    trial.user_attrs[f"split{i}_test_score"] for i in range(FOLDS)
                ],
                "fit_seconds": trial.user_attrs["mean_fit_time"],
                "params": {k: repr(v) for k, v in trial.params.items()},
            }
        )
    return task, len(y), X.shape[1], scoring, seconds, records


def replay(records, pruner_name):
    """The trials as ``pruner_name`` would have stopped them."""
    import optuna

    study = optuna.create_study(
        direction="maximize", pruner=make_candidate(pruner_name)
    )
    folds_run, seconds_run, pruned = [], [], []
    for record in records:
        trial = study.ask()
        for step in range(FOLDS):
            trial.report(float(np.mean(record["folds"][: step + 1])), step)
            if step < FOLDS - 1 and trial.should_prune():
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                pruned.append(record["number"])
                break
        else:
            study.tell(trial, float(np.mean(record["folds"])))
        folds_run.append(step + 1)
        seconds_run.append((step + 1) * record["fit_seconds"])
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    best = max(complete, key=lambda t: t.value)
    all_folds = FOLDS * len(records)
    all_seconds = FOLDS * sum(r["fit_seconds"] for r in records)
    return {
        "pruned": len(pruned),
        "pruned_trials": pruned,
        "fold_fits_saved": 1 - sum(folds_run) / all_folds,
        "seconds_saved": 1 - sum(seconds_run) / all_seconds,
        "best_cv_score": best.value,
        "best_trial": records[best.number]["number"],
    }


def run_dataset(name, trials, max_rows, seed, recorded=None):
    """Tune ``name`` unpruned (or take the trials ``recorded`` in an earlier
    run's result), then replay every candidate pruner on its trials."""
    if recorded is None:
        task, rows, features, scoring, seconds, records = record_trials(
            name, trials, max_rows, seed
        )
    else:
        task, rows, features = recorded["task"], recorded["rows"], recorded["features"]
        scoring, seconds = recorded["scoring"], recorded["tuning_seconds"]
        records = recorded["trials"]
    unpruned = max(records, key=lambda r: np.mean(r["folds"]))
    pruners = {}
    for candidate in CANDIDATES:
        pruners[candidate] = replay(records, candidate)
        pruners[candidate]["regret"] = float(
            np.mean(unpruned["folds"]) - pruners[candidate]["best_cv_score"]
        )
        p = pruners[candidate]
        print(
            f"  {name:20} {candidate:20} pruned {p['pruned']:2}/{len(records)}, "
            f"{p['seconds_saved']:.0%} of the fit time saved, regret {p['regret']:.4g}",
            flush=True,
        )
    return {
        "task": task,
        "rows": rows,
        "features": features,
        "scoring": scoring,
        "tuning_seconds": seconds,
        "best_cv_score": float(np.mean(unpruned["folds"])),
        "best_trial": unpruned["number"],
        "trials": records,
        "pruners": pruners,
    }


def markdown(results, settings):
    lines = [
        "# Pruning the study's trials after a fold (replayed)",
        "",
        f"The study of `skpermgrad run` ({settings['trials']} trials, the defaults "
        f"first, {FOLDS}-fold CV, at most {settings['max_rows']} rows), tuned "
        "unpruned; each pruner replayed on its trials in their order. A replay "
        "keeps the sampler's proposals: a study pruned for real would have "
        "proposed later trials knowing the pruned ones' partial scores.",
        "",
        "| dataset | pruner | pruned | fold fits saved | fit time saved | "
        "best CV score | regret |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, result in results.items():
        for candidate, p in result["pruners"].items():
            lines.append(
                f"| {name} | `{candidate}` | {p['pruned']}/{len(result['trials'])} | "
                f"{p['fold_fits_saved']:.0%} | {p['seconds_saved']:.0%} | "
                f"{p['best_cv_score']:.4g} | {p['regret']:.3g} |"
            )
    lines += ["", "Pruners:", ""]
    lines += [f"- `{name}`: {what}" for name, what in CANDIDATES.items()]
    # the candidates replayed on every dataset
    everywhere = [
        c for c in CANDIDATES if all(c in r["pruners"] for r in results.values())
    ]
    saved = {
        c: statistics.fmean(r["pruners"][c]["seconds_saved"] for r in results.values())
        for c in everywhere
    }
    lossless = [
        c
        for c in everywhere
        if all(r["pruners"][c]["regret"] <= 0 for r in results.values())
    ]
    if lossless:
        best = max(lossless, key=saved.get)
        lines += [
            "",
            f"Of the pruners that keep every dataset's best trial, `{best}` saves "
            f"the most fit time ({saved[best]:.0%} on average; ties go to the "
            "first listed).",
            "",
            "Hyperband assigns trials to brackets by a hash of the study's name, "
            "which Optuna draws anew for every study: its line varies between "
            "replays of the same trials.",
        ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="puma8NH, 4 trials")
    parser.add_argument("--only", help="comma-separated dataset names")
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--max-rows", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(RESULTS / "bench_pruning.json"))
    parser.add_argument(
        "--replay",
        action="store_true",
        help="replay the pruners on the trials already in --out (no tuning)",
    )
    args = parser.parse_args(argv)
    names = ["puma8NH", "phoneme"]
    if args.quick:
        names, args.trials, args.max_rows = list(QUICK_DATASETS), 4, 600
    if args.only:
        names = parse_names(parser, args.only, DATASETS, "dataset")
    settings = {"trials": args.trials, "max_rows": args.max_rows, "seed": args.seed}
    results = {}
    saved = {}
    if args.replay:
        saved = json.loads(Path(args.out).read_text())
        settings, names = saved["settings"], list(saved["datasets"])
    for name in names:
        measured = run_dataset(
            name,
            args.trials,
            args.max_rows,
            args.seed,
            recorded=saved["datasets"][name] if args.replay else None,
        )
        results = merge_dataset(
            args.out, "bench_pruning", PACKAGES, settings, name, measured
        )
        Path(args.out).with_suffix(".md").write_text(markdown(results, settings) + "\n")
    print(markdown(results, settings))


if __name__ == "__main__":
    main()
