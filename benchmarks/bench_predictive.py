"""Predictive benchmark: the hybrids against standard tabular models, 5-fold CV.

Usage: python benchmarks/bench_predictive.py [--quick] [--only NAME,...]
       [--models NAME,...] [--folds K] [--max-rows N] [--epochs N]
       [--data-dir DIR] [--out FILE] [--scheduler ADDRESS]

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
  ``skpermgrad run --images`` tunes it (its search space: the notebook's,
  ``base_filters`` up to 32, the image among ``SELECT_AMONG``; its 8 trials,
  the first the hybrid's defaults), each trial scored on the same one 80/20
  split as ``hybrid_selected`` (the run's 3-fold CV would triple the cost),
  then refitted on all the training rows; each fold's image and parameters
  are recorded;
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
import math
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _results import (
    RESULTS,
    _commit,
    cpu,
    describe_machine,
    merge_dataset,
    parse_names,
)
from sklearn.base import BaseEstimator

DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "datasets"
DATASETS = {
    # name: (file, target, task)
    "puma8NH": ("permgrad/puma8NH.csv", "values", "regression"),
    "houses": ("pmlb/537_houses.tsv.gz", "target", "regression"),
    "cpu_act": ("pmlb/197_cpu_act.tsv.gz", "target", "regression"),
    "adult": ("pmlb/adult.tsv.gz", "target", "classification"),
    "spambase": ("pmlb/spambase.tsv.gz", "target", "classification"),
    "phoneme": ("pmlb/phoneme.tsv.gz", "target", "classification"),
    "satimage": ("pmlb/satimage.tsv.gz", "target", "classification"),
    "pendigits": ("pmlb/pendigits.tsv.gz", "target", "classification"),
    "wine_quality_white": (
        "pmlb/wine_quality_white.tsv.gz",
        "target",
        "classification",
    ),
}
QUICK_DATASETS = ("puma8NH", "phoneme")
# the models the summary compares the hybrid with, and their column labels
_RIVALS = {
    "mlp_only": "MLP-only",
    "cnn_only": "CNN-only",
    "hist_gradient_boosting": "HistGB",
    "sklearn_mlp": "sklearn MLP",
}


def _load(data_dir, name, max_rows, seed):
    file, target, task = DATASETS[name]
    path = Path(data_dir) / file
    if path.is_file():
        frame = pd.read_csv(path, sep="\t" if ".tsv" in path.name else ",")
    else:  # only puma8NH gets here (see main): the package bundles it
        from skpermgrad.datasets import load_puma8nh

        frame = load_puma8nh(as_frame=True).frame
    if len(frame) > max_rows:
        frame = frame.sample(max_rows, random_state=seed)
    X = frame.drop(columns=[target]).to_numpy(dtype=np.float64)
    y = frame[target].to_numpy()
    return X, y, task


def _layouts(n_features, seed):
    """The images the hybrid is measured on: TINTO at its default 20x20 (the
    hybrids' default until IGTD replaced it) and sized to the table, and the
    four learned layouts (as ``make_imager`` names them). ``DEFAULT_LAYOUT``
    is the one the hybrids read with ``imager=None``."""
    from skpermgrad import TintoImager
    from skpermgrad.imaging import make_imager

    return {
        "tinto": TintoImager(),
        "tinto_sized": TintoImager(
            max(4, math.ceil(math.sqrt(2 * n_features))), random_state=seed
        ),
        **{
            name: make_imager(name, n_features, random_state=seed)
            for name in ("igtd", "refined", "deepinsight", "fotomics")
        },
    }


def _drawings(n_features, seed):
    """The drawn images the hybrid is measured on, as ``make_imager`` names
    them (the imagers' defaults, sized to the table where a default does not
    fit: the feature wrap's square, SuperTML's cells)."""
    from skpermgrad.imaging import make_imager

    return {name: make_imager(name, n_features, random_state=seed) for name in DRAWINGS}


def _models(task, epochs, seed, n_features):
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skpermgrad import HybridClassifier, HybridRegressor

    regression = task == "regression"
    hybrid = HybridRegressor if regression else HybridClassifier

    def net(branches, imager=None):
        return make_pipeline(
            StandardScaler(),
            hybrid(imager, branches=branches, epochs=epochs, random_state=seed),
        )

    per_layout = {}
    for layout, imager in _layouts(n_features, seed).items():
        if layout != DEFAULT_LAYOUT:  # "hybrid" and "cnn_only" read it
            per_layout[f"hybrid_{layout}"] = net("both", imager)
            per_layout[f"cnn_only_{layout}"] = net("cnn", imager)
    for drawing, imager in _drawings(n_features, seed).items():
        per_layout[f"hybrid_{drawing}"] = net("both", imager)
    per_layout["hybrid_selected"] = _selected(task, net("both"), seed)
    per_layout["hybrid_tuned"] = _tuned(task, net("both"), seed)
    return {
        "hybrid": net("both"),
        "mlp_only": net("mlp"),
        "cnn_only": net("cnn"),
        "hist_gradient_boosting": (
            HistGradientBoostingRegressor
            if regression
            else HistGradientBoostingClassifier
        )(random_state=seed),
        "random_forest": (
            RandomForestRegressor if regression else RandomForestClassifier
        )(n_estimators=200, n_jobs=-1, random_state=seed),
        "sklearn_mlp": make_pipeline(
            StandardScaler(),
            (MLPRegressor if regression else MLPClassifier)(
                hidden_layer_sizes=(64, 64),
                early_stopping=True,
                max_iter=500,
                random_state=seed,
            ),
        ),
        **per_layout,
    }


def _inner_split(task, seed):
    """The searches' one 80/20 split of a training fold (stratified for
    classification) and their scorer, the task's main metric."""
    from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

    split = ShuffleSplit if task == "regression" else StratifiedShuffleSplit
    metric, _ = PRIMARY[task]
    scoring = {"rmse": "neg_root_mean_squared_error"}.get(metric, metric)
    return split(n_splits=1, test_size=0.2, random_state=seed), scoring


def _selected(task, pipeline, seed):
    """``pipeline`` (the scaled hybrid) with its image chosen among
    ``SELECT_AMONG`` on one 80/20 split of the rows it is fitted on (stratified
    for classification), by the task's main metric, then refitted on all."""
    from sklearn.model_selection import GridSearchCV

    cv, scoring = _inner_split(task, seed)
    return GridSearchCV(
        pipeline,
        {f"{pipeline.steps[-1][0]}__imager": list(SELECT_AMONG)},
        scoring=scoring,
        cv=cv,
        error_score="raise",
    )


def _tuned(task, pipeline, seed):
    """``pipeline`` (the scaled hybrid) tuned as ``skpermgrad run`` tunes it,
    each trial scored on :func:`_inner_split`'s split (:class:`TunedHybrid`).
    """
    from sklearn.pipeline import Pipeline

    # the run's search space names the hybrid's step "hybrid"
    steps = [*pipeline.steps[:-1], ("hybrid", pipeline.steps[-1][1])]
    cv, scoring = _inner_split(task, seed)
    return TunedHybrid(Pipeline(steps), cv=cv, scoring=scoring, seed=seed)


class TunedHybrid(BaseEstimator):
    """A pipeline whose last step ``hybrid`` is tuned as ``skpermgrad run
    --images`` tunes it: the run's search space (the notebook's, with
    ``base_filters`` up to the run's 32, and ``imager`` among
    ``SELECT_AMONG``), ``trials`` trials (``None``: the run's default number)
    of a seeded TPE sampler, the first the pipeline's own values (the
    hybrid's defaults), each scored by ``scoring`` on ``cv``; then the best
    refitted on all the rows. ``best_params_``, ``best_estimator_`` and
    ``study_`` as ``OptunaSearchCV``'s.
    """

    def __init__(self, pipeline, *, cv, scoring, seed, trials=None):
        self.pipeline = pipeline
        self.cv = cv
        self.scoring = scoring
        self.seed = seed
        self.trials = trials

    def fit(self, X, y):
        import warnings

        import optuna
        from optuna_integration import OptunaSearchCV
        from sklearn.base import clone

        from skpermgrad._study._settings import DEFAULT, MAX_BASE_FILTERS
        from skpermgrad._study._tuning import enqueue_defaults, study_space

        space = study_space(
            {"max_base_filters": MAX_BASE_FILTERS, "images": list(SELECT_AMONG)}
        )
        pipeline = clone(self.pipeline).set_params(hybrid__imager=DEFAULT_LAYOUT)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(
            direction="maximize", sampler=optuna.samplers.TPESampler(seed=self.seed)
        )
        enqueue_defaults(pipeline, study, space)
        with warnings.catch_warnings():
            # as the run: OptunaSearchCV is experimental, its module deprecated
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            warnings.filterwarnings("ignore", category=FutureWarning, module="optuna")
            # one split has no spread of scores for Optuna's terminator
            warnings.filterwarnings("ignore", "Failed to report cross validation")
            search = OptunaSearchCV(
                pipeline,
                space,
                cv=self.cv,
                n_trials=DEFAULT["trials"] if self.trials is None else self.trials,
                scoring=self.scoring,
                study=study,
                error_score="raise",
                random_state=self.seed,
            )
            search.fit(X, y)
        self.best_params_ = search.best_params_
        self.best_estimator_ = search.best_estimator_
        self.study_ = study
        return self


def _scores(task, model, X, y):
    """The main metrics (the study's own, one home for both) and the seconds
    the predictions took."""
    from skpermgrad._study import metrics

    start = time.perf_counter()
    scores = metrics(task, model, X, y)
    seconds = time.perf_counter() - start
    keys = ("rmse", "r2") if task == "regression" else ("accuracy", "roc_auc")
    return {k: float(scores[k]) for k in keys}, seconds


def cv_splits(task, X, y, folds, seed):
    """The shuffled folds every model of a dataset is scored on (stratified
    for classification)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    splitter = (KFold if task == "regression" else StratifiedKFold)(
        folds, shuffle=True, random_state=seed
    )
    return list(splitter.split(X, y))


CORE = (
    "hybrid",
    "mlp_only",
    "cnn_only",
    "hist_gradient_boosting",
    "random_forest",
    "sklearn_mlp",
)
LAYOUTS = ("tinto", "tinto_sized", "igtd", "refined", "deepinsight", "fotomics")
# the image of the hybrids' imager=None; "hybrid" and "cnn_only" read it
DEFAULT_LAYOUT = "igtd"
DRAWINGS = (
    "distance_matrix",
    "bar_graph",
    "combination",
    "bie",
    "feature_wrap",
    "supertml",
    "clusters",
)
# the images "hybrid_selected" chooses among inside each training fold: the
# layouts measured on every table (by make_imager's names)
SELECT_AMONG = ("igtd", "tinto", "refined", "deepinsight", "fotomics")
MODELS = (
    CORE
    + tuple(
        f"{kind}_{layout}"
        for layout in LAYOUTS
        if layout != DEFAULT_LAYOUT
        for kind in ("hybrid", "cnn_only")
    )
    + tuple(f"hybrid_{drawing}" for drawing in DRAWINGS)
    + ("hybrid_selected", "hybrid_tuned")
)


def layout_model(kind, layout):
    """The model name of ``kind`` ("hybrid", "cnn_only") on ``layout``."""
    return kind if layout == DEFAULT_LAYOUT else f"{kind}_{layout}"


def _fold(task, model, X, y, train, test):
    """Fit a fresh copy of ``model`` on one fold and score it: the scores, the
    fit and predict seconds, the epochs a network trained (or None) and the
    parameters a search chose (or None)."""
    from sklearn.base import clone

    model = clone(model)
    start = time.perf_counter()
    model.fit(X[train], y[train])
    fit_s = time.perf_counter() - start
    chosen = None
    if hasattr(model, "best_params_"):  # a search's: its refitted pipeline
        chosen = dict(model.best_params_)
        model = model.best_estimator_
    final = model[-1] if hasattr(model, "steps") else model
    history = getattr(final, "history_", None)  # the networks'
    scores, predict_s = _scores(task, model, X[test], y[test])
    epochs = len(history["loss"]) if history else None
    return scores, fit_s, predict_s, epochs, chosen


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
    results = {}

    def done(label, per_fold, commits=None, cpus=None):
        results[label] = _summary(name, label, per_fold, scheduler, commits, cpus)
        if measured is not None:
            measured(_result(task, X, {label: results[label]}))

    wall = time.perf_counter()
    if scheduler is None:
        for label, model in chosen.items():
            per_fold, commits, cpus = kept.load(label) if kept else ([], [], [])
            for split in splits[len(per_fold) :]:  # a line a fold: hours a model
                result, where = _fold_where(task, model, X, y, *split)
                per_fold.append(result)
                commits.append(_commit())
                cpus.append(where)
                if kept:
                    kept.save(label, per_fold, commits, cpus)
                print(
                    f"  {name:20} {label:24} fold {len(per_fold)}/{len(splits)} "
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
            for module in ("_results.py", "bench_predictive.py"):
                client.upload_file(str(Path(__file__).parent / module))
            data = client.scatter([X, y], broadcast=True)
            futures = {
                label: [
                    client.submit(_fold_where, task, model, *data, *split, pure=False)
                    for split in splits
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


def _summary(name, label, per_fold, scheduler, commits=None, cpus=None):
    """One model's entry from its folds' ``(scores, fit s, predict s, epochs,
    chosen parameters)``: each metric's mean, standard deviation and folds;
    ``commits`` and ``cpus``, each fold's commit and CPU, recorded where they
    are not all one (with each fold's fit seconds where the CPUs differ)."""
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
        entry["chosen"] = [
            next(v for k, v in fold[4].items() if k.endswith("__imager"))
            for fold in per_fold
        ]
        if len(per_fold[0][4]) > 1:  # a tuning's: every parameter it chose
            entry["params"] = [fold[4] for fold in per_fold]
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
PRIMARY = {"regression": ("rmse", 1), "classification": ("accuracy", -1)}


def summary(results):
    """Per dataset: the hybrid's main metric, its rank and whom it beats."""
    rows = []
    for name, result in results.items():
        if not set(CORE) <= set(result["models"]):
            continue  # ranked once all six are measured (a run may stop midway)
        metric, sign = PRIMARY[result["task"]]
        loss = {
            m: sign * r[metric]["mean"]
            for m, r in result["models"].items()
            if m in CORE
        }
        ordered = sorted(loss, key=loss.get)
        rows.append(
            dict(
                dataset=name,
                metric=metric,
                hybrid=sign * loss["hybrid"],
                rank=ordered.index("hybrid") + 1,
                best_model=ordered[0],
                best=sign * loss[ordered[0]],
                **{f"beats_{other}": loss["hybrid"] < loss[other] for other in _RIVALS},
            )
        )
    return rows


def provenance(saved):
    """Where and on which commit each dataset was measured, from a results file."""
    lines = [
        "## Measured",
        "",
        f"Last written {saved.get('date', '?')}, on "
        f"{describe_machine(saved.get('machine', {}))}; "
        "commit per dataset: "
        + ", ".join(f"{k} {str(v)[:7]}" for k, v in saved.get("commits", {}).items())
        + " (the entries without a commit of their own).",
    ]
    later, machines = {}, []
    for name, result in saved.get("datasets", {}).items():
        for model, entry in result["models"].items():
            if "commit" in entry:
                later.setdefault(str(entry["commit"])[:7], {}).setdefault(
                    name, []
                ).append(model)
            if "fold_cpus" in entry:
                machines.append(
                    f"{name} {model}: "
                    + ", ".join(
                        f"fold {i} {s:.0f} s on {c or 'a CPU not recorded'}"
                        for i, (c, s) in enumerate(
                            zip(entry["fold_cpus"], entry["fold_fit_seconds"]), 1
                        )
                    )
                )
    for commit, datasets in later.items():
        lines += [
            "",
            f"Entries measured at {commit} (each records its commit): "
            + "; ".join(f"{n}: {', '.join(m)}" for n, m in datasets.items())
            + ".",
        ]
    if machines:
        lines += [
            "",
            "Entries whose folds ran on different CPUs (fit seconds compare on one "
            "CPU only): " + "; ".join(machines) + ".",
        ]
    if saved.get("note"):
        lines += ["", saved["note"]]
    return "\n".join(lines + [""])


def _measured(models, results):
    """The ``models`` measured on at least one of ``results``' datasets."""
    results = list(results)
    return [m for m in models if any(m in r["models"] for r in results)]


def _cell(result, model, text):
    """``text(entry)`` of ``model``'s entry on a dataset, or "—" where the
    model (or the figure ``text`` reads) was not measured there."""
    try:
        return text(result["models"][model])
    except KeyError:
        return "—"


def markdown(results, settings):
    lines = [
        "# Predictive benchmark",
        "",
        f"{settings['folds']}-fold CV (same folds for every model), at most "
        f"{settings['max_rows']} rows per dataset, hybrids untuned (defaults, at "
        f"most {settings['epochs']} epochs with early stopping) but "
        "`hybrid_tuned`, tuned inside each training fold.",
        "",
        "## Summary: the hybrid (RMSE or accuracy, mean over folds)",
        "",
        "| dataset | metric | hybrid | rank of 6 | best model | best | "
        + " | ".join(f"beats {label}" for label in _RIVALS.values())
        + " |",
        "|---|---|---:|---:|---|---:|" + ":-:|" * len(_RIVALS),
    ]
    rows = summary(results)
    for row in rows:
        marks = ["yes" if row[f"beats_{other}"] else "no" for other in _RIVALS]
        lines.append(
            f"| {row['dataset']} | {row['metric']} | {row['hybrid']:.5g} | "
            f"{row['rank']} | {row['best_model']} | {row['best']:.5g} | "
            + " | ".join(marks)
            + " |"
        )
    both = sum(r["beats_mlp_only"] and r["beats_cnn_only"] for r in rows)
    counts = {o: sum(r[f"beats_{o}"] for r in rows) for o in _RIVALS}
    lines += [
        "",
        f"The hybrid beats both its MLP-only and CNN-only variants on {both} of "
        f"{len(rows)} datasets, scikit-learn's MLP on {counts['sklearn_mlp']} and "
        f"HistGradientBoosting on {counts['hist_gradient_boosting']}.",
        "",
    ]
    for task, metrics in (
        ("regression", ("rmse", "r2")),
        ("classification", ("accuracy", "roc_auc")),
    ):
        names = [n for n, r in results.items() if r["task"] == task]
        if not names:
            continue
        models = _measured(CORE, (results[n] for n in names))
        for metric in metrics:
            lines += [f"## {task}: {metric}", ""]
            lines.append("| dataset | " + " | ".join(models) + " |")
            lines.append("|---|" + "---:|" * len(models))
            for name in names:
                cells = [
                    _cell(
                        results[name],
                        m,
                        lambda e: f"{e[metric]['mean']:.4f} ± {e[metric]['std']:.4f}",
                    )
                    for m in models
                ]
                lines.append(f"| {name} | " + " | ".join(cells) + " |")
            lines.append("")
    models = _measured(CORE, results.values())
    for key, title in (("fit_seconds", "fit"), ("predict_seconds", "predict")):
        lines += [f"## {title} seconds per fold (mean)", ""]
        lines.append("| dataset | " + " | ".join(models) + " |")
        lines.append("|---|" + "---:|" * len(models))
        for name, result in results.items():
            cells = [_cell(result, m, lambda e: f"{e[key]:.2f}") for m in models]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(
        lines
        + layout_markdown(results)
        + drawing_markdown(results)
        + image_choice_markdown(results)
    )


def _readme_cell(value, metric):
    """A README number: thousands whole, RMSE to 3 decimals, scores to 4."""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3f}" if metric == "rmse" else f"{value:.4f}"


def readme_table(results):
    """The README's table: the default hybrid, its variants, the boosted trees
    (the main metric's mean; the best of the four in bold)."""
    shown = ("hybrid", "mlp_only", "cnn_only", "hist_gradient_boosting")
    lines = [
        "| dataset | hybrid | MLP-only | CNN-only | HistGradientBoosting |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, result in results.items():
        metric, sign = PRIMARY[result["task"]]
        if not all(m in result["models"] for m in shown):
            continue
        means = [result["models"][m][metric]["mean"] for m in shown]
        best = min(range(len(means)), key=lambda i: sign * means[i])
        cells = [_readme_cell(v, metric) for v in means]
        cells[best] = f"**{cells[best]}**"
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def layout_ranks(results):
    """Per dataset with every layout measured: each layout's rank (1: best) by
    the default hybrid's main metric, and its fit seconds a fold."""
    ranks = {}
    for name, result in results.items():
        models = result["models"]
        labels = {lay: layout_model("hybrid", lay) for lay in LAYOUTS}
        if not all(label in models for label in labels.values()):
            continue
        metric, sign = PRIMARY[result["task"]]
        loss = {lay: sign * models[m][metric]["mean"] for lay, m in labels.items()}
        fit = {lay: models[m]["fit_seconds"] for lay, m in labels.items()}
        ordered = sorted(loss, key=lambda lay: (loss[lay], fit[lay]))
        ranks[name] = {lay: ordered.index(lay) + 1 for lay in labels}
    return ranks


def layout_markdown(results):
    """The hybrid and its CNN-only variant on each image layout."""
    lines = [
        "## The hybrid on each image layout",
        "",
        f"`{DEFAULT_LAYOUT}` is the hybrids' default image (`imager=None`); "
        "`tinto`: `TintoImager()` (20x20, the default before); `tinto_sized`: "
        "TINTO on ceil(sqrt(2 n)) pixels a side (at least 4); the learned layouts "
        "with their imagers' defaults. Main metric (RMSE or accuracy, mean over "
        "folds), then the CNN-only variant's, then the hybrid's fit seconds a fold.",
        "",
        "| dataset | layout | hybrid | CNN-only | ahead of MLP-only and CNN-only | "
        "fit s |",
        "|---|---|---:|---:|:-:|---:|",
    ]
    for name, result in results.items():
        models = result["models"]
        metric, sign = PRIMARY[result["task"]]
        for layout in LAYOUTS:
            hybrid = models.get(layout_model("hybrid", layout))
            cnn = models.get(layout_model("cnn_only", layout))
            if hybrid is None:
                continue
            cnn_cell = f"{cnn[metric]['mean']:.4f}" if cnn else "—"
            ahead = "—"
            if cnn and "mlp_only" in models:
                rivals = (cnn, models["mlp_only"])
                own = sign * hybrid[metric]["mean"]
                beaten = all(own < sign * r[metric]["mean"] for r in rivals)
                ahead = "yes" if beaten else "no"
            lines.append(
                f"| {name} | {layout} | {hybrid[metric]['mean']:.4f} | {cnn_cell} | "
                f"{ahead} | {hybrid['fit_seconds']:.1f} |"
            )
    ranks = layout_ranks(results)
    lines += ["", "### Mean rank of each layout (the hybrid's main metric)", ""]
    if not ranks:
        return lines + ["No dataset has every layout measured yet.", ""]
    layouts = list(next(iter(ranks.values())))
    mean = {lay: statistics.fmean(r[lay] for r in ranks.values()) for lay in layouts}
    lines += [
        f"Over {len(ranks)} dataset(s) with every layout measured "
        f"({', '.join(ranks)}); ties go to the faster fit.",
        "",
        "| layout | mean rank |",
        "|---|---:|",
    ]
    lines += [f"| {lay} | {mean[lay]:.2f} |" for lay in sorted(mean, key=mean.get)]
    return lines + ["", ""]


def drawing_markdown(results):
    """The hybrid on each drawn image, next to it on the default image."""
    lines = [
        "## The hybrid on each drawn image",
        "",
        f"The default hybrid on its default image (`{DEFAULT_LAYOUT}`) and on each "
        "drawing (the imagers' defaults); main metric (RMSE or accuracy, mean over "
        "folds), then fit seconds a fold; the best of the row in bold.",
        "",
        "| dataset | " + " | ".join([DEFAULT_LAYOUT, *DRAWINGS]) + " | fit s |",
        "|---|" + "---:|" * (len(DRAWINGS) + 2),
    ]
    for name, result in results.items():
        models = result["models"]
        labels = ["hybrid", *(f"hybrid_{d}" for d in DRAWINGS)]
        if not any(f"hybrid_{d}" in models for d in DRAWINGS):
            continue
        metric, sign = PRIMARY[result["task"]]
        means = [models[m][metric]["mean"] if m in models else None for m in labels]
        known = [i for i, v in enumerate(means) if v is not None]
        best = min(known, key=lambda i: sign * means[i])
        cells = ["—" if v is None else f"{v:.4f}" for v in means]
        cells[best] = f"**{cells[best]}**"
        fits = " / ".join(
            f"{models[m]['fit_seconds']:.0f}" if m in models else "—" for m in labels
        )
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {fits} |")
    return lines + ["", ""]


# the hybrids whose image a search chooses inside each training fold, and
# their columns in the image-choice table
SEARCHED = {
    "hybrid_selected": "chosen in each training fold",
    "hybrid_tuned": "tuned in each training fold",
}


def image_choice_markdown(results):
    """Issue 28's third goal: per dataset, the hybrid whose image is chosen
    inside each training fold (``hybrid_selected``; ``hybrid_tuned``, which
    tunes the rest too; where measured) and, as an optimistic reference, on
    the image whose mean over the test folds is best (every layout and
    drawing measured there), each against HistGradientBoosting."""
    lines = [
        "## The image chosen per dataset against HistGradientBoosting",
        "",
        "`chosen in each training fold`: `hybrid_selected`, the hybrid whose image "
        f"a grid search chose among {', '.join(SELECT_AMONG)} on an 80/20 split of "
        "each training fold, never seeing the test fold (the images it chose, "
        "fold by fold, in brackets). `tuned in each training fold`: "
        "`hybrid_tuned`, the hybrid tuned there as `skpermgrad run --images` "
        "tunes it (the image among the same five and the notebook's search "
        "space, 8 trials, the defaults first), each trial scored on the same "
        "split. `best over the test folds`: the image "
        "(layout or drawing) with the best mean over the test folds, an "
        "optimistic reference (the choice sees the test folds; only a rule that "
        "hit each fold's own winner could do better).",
        "",
        "| dataset | "
        + " | ".join(f"{title} | ahead" for title in SEARCHED.values())
        + " | images measured | best over the test folds | its score | ahead | "
        "HistGradientBoosting |",
        "|---|" + "---|:-:|" * len(SEARCHED) + "---:|---|---:|:-:|---:|",
    ]
    ahead = {label: 0 for label in (*SEARCHED, "best")}
    measured = {label: 0 for label in (*SEARCHED, "best")}
    for name, result in results.items():
        models = result["models"]
        images = [
            m
            for m in models
            if (m == "hybrid" or m.startswith("hybrid_")) and m not in SEARCHED
        ]
        if "hist_gradient_boosting" not in models or not images:
            continue
        metric, sign = PRIMARY[result["task"]]
        rival = models["hist_gradient_boosting"][metric]["mean"]

        def verdict(label, score):
            beats = sign * score < sign * rival
            measured[label] += 1
            ahead[label] += beats
            return "yes" if beats else "no"

        cells = []
        for label in SEARCHED:
            if label not in models:
                cells += ["—", "—"]
                continue
            entry = models[label]
            score = entry[metric]["mean"]
            cells += [
                f"{score:.4f} ({', '.join(entry['chosen'])})",
                verdict(label, score),
            ]
        best = min(images, key=lambda m: sign * models[m][metric]["mean"])
        own = models[best][metric]["mean"]
        image = DEFAULT_LAYOUT if best == "hybrid" else best.removeprefix("hybrid_")
        cells += [str(len(images)), image, f"{own:.4f}", verdict("best", own)]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {rival:.4f} |")
    lines += [
        "",
        "Ahead of HistGradientBoosting: with its image chosen inside each "
        f"training fold, on {ahead['hybrid_selected']} of the "
        f"{measured['hybrid_selected']} datasets measured so; tuned there, on "
        f"{ahead['hybrid_tuned']} of {measured['hybrid_tuned']}; on the image "
        f"best over the test folds, on {ahead['best']} of {measured['best']}.",
        "",
        "",
    ]
    return lines


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
