"""Predictive benchmark: the hybrids against standard tabular models, 5-fold CV.

Usage: python benchmarks/bench_predictive.py [--quick] [--only NAME,...]
       [--models NAME,...] [--folds K] [--max-rows N] [--epochs N]
       [--data-dir DIR] [--out FILE] [--scheduler ADDRESS]

This script runs the folds and writes the results; its modules by job are
``_predictive_data.py`` (the tables and folds), ``_predictive_models.py`` (the
models, how a fit is scored) and ``_predictive_report.py`` (the markdown).

Every dataset of ``../shared/datasets`` (see its README), the same shuffled
(stratified for classification) folds for every model:

- ``hybrid``: HybridRegressor/HybridClassifier with its defaults, not tuned
  (budget: 0 trials; at most ``--epochs`` epochs, early stopping on 10% of the
  training rows), inputs standardised first;
- ``mlp_only`` / ``cnn_only``: the same network and training with one branch;
- ``hybrid_<layout>`` / ``cnn_only_<layout>``: the hybrid and its CNN-only
  variant on each other image (``LAYOUTS``: TINTO at 20x20 and sized to the
  table, REFINED, DeepInsight, Fotomics; the default is IGTD);
- ``hybrid_<drawing>``: the hybrid on each drawn image (``DRAWINGS``: the
  distance matrix, the bar graph, the combination, BIE, the feature wrap;
  the imagers' defaults, the feature wrap on the smallest square, 8x8 at
  least, that holds the table's bits, SuperTML with a 6 px font in cells of
  20 px, Clusters' 16 k-means centres);
- ``hybrid_selected``: the hybrid whose image is chosen inside each training
  fold, never by the test fold: ``GridSearchCV`` over the five layouts of
  ``SELECT_AMONG`` (by name: ``imager="tinto"``...) on one 80/20 split of the
  training rows (stratified for classification), by the table's main metric,
  then refitted on all of them; each fold's choice is recorded;
- ``hybrid_tuned``: the hybrid tuned inside each training fold as
  ``skpermgrad run`` tunes it by default (its search space: the hybrid's,
  ``base_filters`` up to 32, the TabM backbone's knobs; the image IGTD's;
  the first trial the hybrid's defaults), within ``TUNED_SECONDS`` a fold
  (a table's 30 minutes over five folds: trials while the time left holds a
  typical trial and the refit), each trial scored on the same one 80/20
  split as ``hybrid_selected`` (the run's 3-fold CV would triple the cost),
  then refitted on all the training rows; measured on ``TUNED_FOLDS`` only
  (the entry's ``fold_indices``; the report compares it with the other
  models on those folds); each fold's parameters are recorded;
- ``hist_gradient_boosting``, ``random_forest`` (200 trees), ``sklearn_mlp``
  (MLPRegressor/MLPClassifier with early stopping, standardised inputs).

Regression: RMSE and R²; classification: accuracy and ROC AUC (one-vs-rest for
several classes); mean and standard deviation over folds, fit and predict
seconds. Rows beyond ``--max-rows`` are subsampled (seeded) before the folds.
``--models`` measures only some models (e.g. the three hybrids after their
defaults change); the others' saved results are kept. Each model's finished
folds are kept (``results/folds/bench_predictive/<dataset>/<model>.json``)
until its last fold ends: a run stopped midway, by a session's end, goes on
from them when run again with the same settings. ``--scheduler ADDRESS``
runs every (model, fold) fit as a task of that Dask cluster (the same seeded
scores; fit seconds timed on the workers, each entry records the address).
It measures and writes results (JSON and a markdown table); it never asserts.
"""

import argparse
import json
import statistics
import time
from pathlib import Path

from _predictive_data import DATA_DIR, DATASETS, QUICK_DATASETS, _load, cv_splits
from _predictive_models import (
    CORE,
    FOLDS_OF,
    MODELS,
    _models,
    _scores,
)
from _predictive_report import (
    markdown,
    provenance,
    readme_table,
)
from _results import (
    RESULTS,
    _commit,
    cpu,
    merge_dataset,
    parse_names,
)

# the modules a Dask worker imports this script's functions from, dependencies
# first (each is uploaded to the cluster)
MODULES = (
    "_results.py",
    "_predictive_data.py",
    "_predictive_models.py",
    "_predictive_report.py",
    "bench_predictive.py",
)


def _fold(task, model, X, y, train, test):
    """Fit a fresh copy of ``model`` on one fold and score it: the scores, the
    fit and predict seconds, the epochs a network trained (or None), the
    parameters a search chose and the trials it ran (or None each)."""
    from sklearn.base import clone

    model = clone(model)
    start = time.perf_counter()
    model.fit(X[train], y[train])
    fit_s = time.perf_counter() - start
    chosen = trials = None
    if hasattr(model, "best_params_"):  # a search's: its refitted pipeline
        chosen = dict(model.best_params_)
        trials = len(model.study_.trials) if hasattr(model, "study_") else None
        model = model.best_estimator_
    final = model[-1] if hasattr(model, "steps") else model
    history = getattr(final, "history_", None)  # the networks'
    scores, predict_s = _scores(task, model, X[test], y[test])
    epochs = len(history["loss"]) if history else None
    return scores, fit_s, predict_s, epochs, chosen, trials


def _fold_where(task, model, X, y, train, test):
    """:func:`_fold`'s result and the CPU it ran on (on a cluster, its
    worker's): fit seconds compare on one CPU only."""
    return _fold(task, model, X, y, train, test), cpu()


def run_dataset(
    name,
    data_dir,
    folds,
    max_rows,
    epochs,
    seed,
    models=MODELS,
    scheduler=None,
    measured=None,
    kept=None,
):
    """Every model of ``models`` on the dataset's folds. With ``scheduler`` (a
    Dask scheduler's address) every (model, fold) fit is a task of that
    cluster, timed on its worker, which records its CPU; the dataset's wall
    time is printed.
    ``measured(result)``, where given, receives each model's result as soon as
    its folds are done (run here, one model at a time; on a cluster, all at
    the end): a long run stopped midway keeps the models it finished.
    ``kept`` (a :class:`KeptFolds`, run here only) keeps each fold as it ends
    and hands a model's kept folds back, so that a model of more hours than a
    session goes on where a stopped run left it."""
    X, y, task = _load(data_dir, name, max_rows, seed)
    splits = cv_splits(task, X, y, folds, seed)
    chosen = {
        label: model
        for label, model in _models(task, epochs, seed, X.shape[1]).items()
        if label in models
    }
    absent = [label for label, model in chosen.items() if model is None]
    if absent:
        print(
            f"  {name:20} skipped {', '.join(absent)}: the peers extra (pytabkit, "
            "with PyTorch) is not installed: pip install -e '.[peers]'",
            flush=True,
        )
        chosen = {k: m for k, m in chosen.items() if m is not None}
    results = {}

    def folds_of(label):
        """The indices of the splits ``label`` is measured on."""
        return FOLDS_OF.get(label, tuple(range(len(splits))))

    def done(label, per_fold, commits=None, cpus=None):
        results[label] = _summary(
            name, label, per_fold, scheduler, commits, cpus, FOLDS_OF.get(label)
        )
        if measured is not None:
            measured(_result(task, X, {label: results[label]}))

    wall = time.perf_counter()
    if scheduler is None:
        for label, model in chosen.items():
            per_fold, commits, cpus = kept.load(label) if kept else ([], [], [])
            indices = folds_of(label)
            for i in indices[len(per_fold) :]:  # a line a fold: hours a model
                result, where = _fold_where(task, model, X, y, *splits[i])
                per_fold.append(result)
                commits.append(_commit())
                cpus.append(where)
                if kept:
                    kept.save(label, per_fold, commits, cpus)
                print(
                    f"  {name:20} {label:24} fold {len(per_fold)}/{len(indices)} "
                    f"fitted in {per_fold[-1][1]:.1f}s",
                    flush=True,
                )
            done(label, per_fold, commits, cpus)
            if kept:
                kept.clear(label)
    else:
        from dask.distributed import Client

        with Client(scheduler) as client:
            # the workers import this script's functions: send them the files
            for module in MODULES:
                client.upload_file(str(Path(__file__).parent / module))
            data = client.scatter([X, y], broadcast=True)
            futures = {
                label: [
                    client.submit(
                        _fold_where, task, model, *data, *splits[i], pure=False
                    )
                    for i in folds_of(label)
                ]
                for label, model in chosen.items()
            }
            for label, pending in futures.items():
                per_fold, cpus = zip(*client.gather(pending))
                done(label, list(per_fold), cpus=list(cpus))
    wall = time.perf_counter() - wall
    print(f"  {name:20} wall time {wall:.1f}s", flush=True)
    return _result(task, X, results)


class KeptFolds:
    """Each finished fold of a dataset's models, kept in ``folder`` (a file a
    model) until the model's last fold ends, for a later run with the same
    ``settings`` to go on from. Folds kept under other settings are never
    mixed in: a line says so, and they are replaced as the new folds end."""

    def __init__(self, folder, settings):
        self.folder, self.settings = Path(folder), settings

    def _path(self, label):
        return self.folder / f"{label}.json"

    def load(self, label):
        """The folds kept for ``label`` (results as :func:`_fold` returns
        them), their commits and CPUs (None where a fold kept before CPUs were
        recorded); none where nothing, or other settings, are kept."""
        path = self._path(label)
        if not path.is_file():
            return [], [], []
        kept = json.loads(path.read_text())
        if kept["settings"] != self.settings:
            print(
                f"  not going on from the {len(kept['folds'])} fold(s) of {label} "
                f"in {path}: measured with other settings ({kept['settings']}); "
                "starting over, the file replaced when the first fold ends",
                flush=True,
            )
            return [], [], []
        folds = [tuple(fold["result"]) for fold in kept["folds"]]
        print(f"  {label}: going on after {len(folds)} fold(s) kept in {path}")
        return (
            folds,
            [fold["commit"] for fold in kept["folds"]],
            [fold.get("cpu") for fold in kept["folds"]],
        )

    def save(self, label, per_fold, commits, cpus):
        folds = [
            {"result": list(result), "commit": commit, "cpu": processor}
            for result, commit, processor in zip(per_fold, commits, cpus)
        ]
        path = self._path(label)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"settings": self.settings, "folds": folds}, indent=2)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(text + "\n")
        temporary.replace(path)  # never a half-written file

    def clear(self, label):
        self._path(label).unlink(missing_ok=True)
        if self.folder.is_dir() and not any(self.folder.iterdir()):
            self.folder.rmdir()


def _result(task, X, models):
    return {"task": task, "rows": len(X), "features": X.shape[1], "models": models}


def _summary(name, label, per_fold, scheduler, commits=None, cpus=None, indices=None):
    """One model's entry from its folds' ``(scores, fit s, predict s, epochs,
    chosen parameters)``: each metric's mean, standard deviation and folds;
    ``commits`` and ``cpus``, each fold's commit and CPU, recorded where they
    are not all one (with each fold's fit seconds where the CPUs differ);
    ``indices``, the splits the folds are where not all were run, recorded
    (``fold_indices``: compare with other models on those folds only)."""
    summary = {}
    for metric in per_fold[0][0]:
        values = [fold[0][metric] for fold in per_fold]
        summary[metric] = {
            "mean": statistics.fmean(values),
            "std": statistics.pstdev(values),
            "folds": values,
        }
    entry = {
        **summary,
        "fit_seconds": statistics.fmean(fold[1] for fold in per_fold),
        "predict_seconds": statistics.fmean(fold[2] for fold in per_fold),
        "commit": _commit(),
    }
    epochs_run = [fold[3] for fold in per_fold if fold[3] is not None]
    if epochs_run:  # epochs trained (early stopping), mean over folds
        entry["epochs"] = statistics.fmean(epochs_run)
    if per_fold[0][4] is not None:  # what the search chose in each training fold
        images = [
            next((v for k, v in fold[4].items() if k.endswith("__imager")), None)
            for fold in per_fold
        ]
        if any(images):  # a search among images
            entry["chosen"] = images
        if len(per_fold[0][4]) > 1:  # a tuning's: every parameter it chose
            entry["params"] = [fold[4] for fold in per_fold]
    trials = [fold[5] if len(fold) > 5 else None for fold in per_fold]
    if any(t is not None for t in trials):  # a tuning's trials, fold by fold
        entry["trials"] = trials
    if indices is not None:
        entry["fold_indices"] = list(indices)
    if scheduler is not None:  # fit seconds on a worker, maybe sharing cores
        entry["scheduler"] = scheduler
    if commits and len(set(commits)) > 1:  # folds kept across runs
        entry["fold_commits"] = list(commits)
    if cpus and len(set(cpus)) > 1:  # ... and machines: fit seconds differ
        entry["fold_cpus"] = list(cpus)
        entry["fold_fit_seconds"] = [fold[1] for fold in per_fold]
    print(
        f"  {name:20} {label:24} "
        + ", ".join(f"{m} {v['mean']:.4f}±{v['std']:.4f}" for m, v in summary.items())
        + f"  fit {entry['fit_seconds']:.1f}s"
        + (f", {entry['epochs']:.0f} epochs" if epochs_run else ""),
        flush=True,
    )
    return entry


# the main metric of a task, and its sign: +1 when lower is better


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="2 sets, 1000 rows, 2 folds; the core models, two layouts and the "
        "image chosen in each training fold",
    )
    parser.add_argument("--only", help="comma-separated dataset names")
    parser.add_argument("--models", help=f"comma-separated, from {list(MODELS)}")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--max-rows", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=str(DATA_DIR))
    parser.add_argument("--out", default=str(RESULTS / "bench_predictive.json"))
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the folds on the Dask cluster of this scheduler "
        "(e.g. tcp://host:8786; needs dask[distributed])",
    )
    parser.add_argument(
        "--render",
        metavar="JSON",
        help="only rewrite the markdown table next to a results file (and print "
        "the README's)",
    )
    args = parser.parse_args(argv)
    if args.render:
        saved = json.loads(Path(args.render).read_text())
        table = markdown(saved["datasets"], saved["settings"]) + provenance(saved)
        Path(args.render).with_suffix(".md").write_text(table + "\n")
        print(table)
        print("\nThe README's table:\n\n" + readme_table(saved["datasets"]))
        return
    names = list(DATASETS)
    if args.quick:
        names = list(QUICK_DATASETS)
        args.folds, args.max_rows, args.epochs = 2, 1000, 3
    if args.only:
        names = parse_names(parser, args.only, DATASETS, "dataset")
    # quick: the core models, two layouts and the chosen image (the others run
    # the same code)
    models = (
        CORE + ("hybrid_tinto", "cnn_only_fotomics", "hybrid_selected")
        if args.quick
        else MODELS
    )
    if args.models:
        models = parse_names(parser, args.models, MODELS, "model")
    missing = [
        n
        for n in names
        if n != "puma8NH" and not (Path(args.data_dir) / DATASETS[n][0]).is_file()
    ]
    if missing and not args.quick:
        parser.error(f"no data for {missing} under {args.data_dir}; pass --data-dir")
    for name in missing:
        print(f"skipping {name}: no file under {args.data_dir}", flush=True)
    names = [n for n in names if n not in missing]
    settings = {
        "folds": args.folds,
        "max_rows": args.max_rows,
        "epochs": args.epochs,
        "seed": args.seed,
        "tuning": "none (defaults)",
    }
    out = Path(args.out)

    def written(name):
        """Merge one model's result into ``out`` and rewrite the table: after
        every model, so a long run may span sessions (--only) and a run
        stopped midway keeps the models it finished."""

        def write(result):
            saved = merge_dataset(
                out,
                "bench_predictive",
                ["tensorflow-cpu", "keras"],
                settings,
                name,
                result,
                own_commits=True,
            )
            table = markdown(saved, settings)
            table += provenance(json.loads(out.read_text()))
            out.with_suffix(".md").write_text(table + "\n")

        return write

    for name in names:
        run_dataset(
            name,
            args.data_dir,
            args.folds,
            args.max_rows,
            args.epochs,
            args.seed,
            models,
            args.scheduler,
            measured=written(name),
            kept=KeptFolds(out.parent / "folds" / out.stem / name, settings),
        )
    if out.with_suffix(".md").is_file():
        print(out.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
