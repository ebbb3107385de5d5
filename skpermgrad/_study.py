"""The ``skpermgrad run`` study: read a table, tune, fit, explain, report.

Each step is a function the CLI calls in order; everything a step can refuse is
checked before anything is written (see :class:`StudyError`).
"""

import hashlib
import json
import math
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

REPORT_FILES = (
    "report.md",
    "metrics.json",
    "importances.csv",
    "importance.png",
    "gradcam.png",
    "trials.csv",
    "model.joblib",
)
SETTINGS_FILE = "run.json"
STUDY_DB = "study.db"
# settings that define a study: a run in --out continues only if they agree
STUDY_SETTINGS = (
    "data",
    "target",
    "task",
    "test_size",
    "seed",
    "study_name",
    "epochs",
    "cv",
    "max_base_filters",
)
TARGET_CLASSES_MAX = 10  # an integer target with at most this many values is a class


class StudyError(Exception):
    """A problem with the user's input; the CLI prints it and exits with 2."""


# ---------------------------------------------------------------- reading data


def read_table(path) -> pd.DataFrame:
    """A CSV/TSV (compressed too) or Parquet file as a DataFrame."""
    path = Path(path)
    if path.is_dir():
        raise StudyError(f"{path} is a folder; pass a table file (CSV/TSV, Parquet).")
    if not path.is_file():
        raise StudyError(f"no such file: {path}")
    suffixes = [s.lower() for s in path.suffixes]
    try:
        if ".parquet" in suffixes or ".pq" in suffixes:
            frame = pd.read_parquet(path)
        else:
            sep = "\t" if ".tsv" in suffixes or ".tab" in suffixes else ","
            frame = pd.read_csv(path, sep=sep)
            if not isinstance(frame.index, pd.RangeIndex):
                # pandas turns the extra leading fields into an index
                raise ValueError(
                    f"rows have more fields than the header's {frame.shape[1]} "
                    "column names"
                )
    except ImportError as exc:
        raise StudyError(
            f"cannot read {path} as Parquet: {exc} (install pyarrow, or save the "
            "table as CSV)"
        ) from None
    except (ValueError, UnicodeDecodeError, OSError, EOFError) as exc:
        # pandas' ParserError and EmptyDataError are ValueErrors
        kind = "Parquet" if ".parquet" in suffixes else "CSV/TSV"
        raise StudyError(
            f"cannot read {path} as {kind}: {str(exc).strip() or type(exc).__name__}"
        ) from None
    if frame.empty or frame.shape[1] == 0:
        raise StudyError(f"{path} holds an empty table ({frame.shape[0]} rows).")
    return frame


def bundled_table():
    """puma8NH from the package, with its target column ``values``."""
    from .datasets import load_puma8nh

    return load_puma8nh(as_frame=True).frame, "values"


def fingerprint(frame) -> str:
    """A short hash of the table's contents and column names."""
    digest = hashlib.sha256()
    digest.update(",".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def split_target(frame, target, task):
    """Features, target and the task (``auto`` resolved), or a StudyError."""
    if target not in frame.columns:
        raise StudyError(
            f"the target column {target!r} is not in the table; its columns are "
            f"{list(frame.columns)}. Pass --target with one of them."
        )
    y = frame[target]
    X = frame.drop(columns=[target])
    if X.shape[1] == 0:
        raise StudyError("the table has no column besides the target.")
    if y.isna().any():
        raise StudyError(
            f"the target column {target!r} has {int(y.isna().sum())} missing "
            "value(s); drop or fill those rows first."
        )
    if _has_infinity(y):
        raise StudyError(
            f"the target column {target!r} holds infinite values; drop those rows "
            "first."
        )
    infinite = [c for c in X.columns if _has_infinity(X[c])]
    if infinite:
        raise StudyError(
            f"column(s) {infinite} hold infinite values; replace them (a missing "
            "feature value is imputed) or drop those rows first."
        )
    if task == "auto":
        numeric = _is_numeric(y)
        integer = numeric and np.all(np.mod(y.to_numpy(dtype=float), 1) == 0)
        task = (
            "regression"
            if numeric and not (integer and y.nunique() <= TARGET_CLASSES_MAX)
            else "classification"
        )
    if task == "classification":
        counts = y.value_counts()
        if len(counts) < 2:
            raise StudyError(
                f"the target column {target!r} has a single class "
                f"({counts.index[0]}); classification needs at least two."
            )
        if counts.min() < 2:
            raise StudyError(
                f"class {counts.idxmin()} of {target!r} has a single row; the "
                "stratified train/test split needs at least two per class."
            )
    elif not pd.api.types.is_numeric_dtype(y):
        raise StudyError(
            f"--task regression needs a numeric target, but {target!r} holds "
            f"{y.dtype} values such as {y.iloc[0]!r}."
        )
    elif y.nunique() < 2:
        raise StudyError(f"the target column {target!r} is constant.")
    return X, y, task


# ------------------------------------------------------------------- pipeline


def make_pipeline(X, task, *, epochs, seed, progress):
    """Imputation and one-hot encoding, then the hybrid network.

    Numeric and boolean columns keep their names (median imputation; a
    boolean is 0/1); string and categorical columns become one 0/1 column per
    category named
    ``<column>_<category>`` (most-frequent imputation). The image has at least
    20 pixels a side and room for every encoded column.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    from .imaging import TintoImager
    from .models import HybridClassifier, HybridRegressor

    numeric = [c for c in X.columns if _is_numeric(X[c])]
    categorical = [c for c in X.columns if c not in numeric]
    encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    n_encoded = len(numeric) + sum(X[c].nunique() for c in categorical)
    pixels = max(20, math.ceil(math.sqrt(n_encoded)))
    columns = ColumnTransformer(
        [
            ("numeric", SimpleImputer(strategy="median"), numeric),
            (
                "categorical",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="most_frequent")),
                        ("onehot", encoder),
                    ]
                ),
                categorical,
            ),
        ],
        verbose_feature_names_out=False,
    )
    hybrid_class = HybridRegressor if task == "regression" else HybridClassifier
    hybrid = hybrid_class(
        TintoImager(pixels=pixels, random_state=seed),
        epochs=epochs,
        random_state=seed,
        callbacks=progress,
    )
    return Pipeline([("columns", columns), ("hybrid", hybrid)])


def _is_numeric(column):
    """Numbers and booleans (read as 0/1) are numeric; the rest is categorical."""
    return pd.api.types.is_numeric_dtype(column)


def _has_infinity(column):
    return _is_numeric(column) and bool(np.isinf(column.to_numpy(float)).any())


def check_prediction_rows(pipeline, X, source):
    """Refuse rows a fitted study pipeline cannot predict, in one line: text
    in a column that was numeric in training, or infinite values."""
    numeric = [c for c in X.columns if c in _numeric_columns(pipeline)]
    for column in numeric:
        if not _is_numeric(X[column]):
            values = pd.to_numeric(X[column], errors="coerce")
            bad = X[column][values.isna() & X[column].notna()]
            raise StudyError(
                f"column {column!r} of {source} held numbers in training but holds "
                f"{bad.iloc[0]!r}; fix or blank those values."
            )
    infinite = [c for c in numeric if _has_infinity(X[c])]
    if infinite:
        raise StudyError(
            f"column(s) {infinite} of {source} hold infinite values; replace them "
            "(a missing value is imputed)."
        )


def _numeric_columns(pipeline):
    """The columns the study pipeline's ``numeric`` step imputes."""
    for name, _, columns in pipeline[0].transformers_:
        if name == "numeric":
            return list(columns)
    return []


def check_before_tuning(pipeline, X_train, y_train, y_test, task, cv):
    """Refuse, before the first trial, what would fail in every trial or after.

    Each fold of the tuning needs rows of every class (a class needs at least
    ``cv`` training rows) and the test metrics need every class among the
    test rows; the encoded table must be imageable.
    """
    from sklearn.base import clone

    if len(X_train) < 2 * cv:
        raise StudyError(
            f"{len(X_train)} training rows are too few for {cv}-fold tuning "
            f"(at least {2 * cv}); use a larger table or a smaller --cv."
        )
    if task == "classification":
        counts = y_train.value_counts()
        if counts.min() < cv:
            raise StudyError(
                f"class {counts.idxmin()!r} has {counts.min()} training row(s), "
                f"fewer than the {cv} folds of the tuning; use a smaller --cv, a "
                "smaller --test-size or more rows of that class."
            )
        missing = sorted(set(counts.index) - set(y_test), key=str)
        if missing:
            raise StudyError(
                f"class(es) {missing} have no test row; use a larger --test-size "
                "or more rows of those classes."
            )
    encoded = clone(pipeline[:-1]).fit_transform(X_train)
    imager = pipeline[-1].imager
    try:
        clone(imager).fit(encoded)
    except ValueError as exc:
        raise StudyError(f"cannot draw the table as images: {exc}") from None


# --------------------------------------------------------------------- tuning


def storage_url(storage, out) -> str:
    """The study's storage: ``storage`` as given, or (``None``) the sqlite file
    in ``out`` wherever the folder now is, so a copied or moved folder resumes
    its own study and never writes into the original's."""
    if storage is not None:
        return storage
    return f"sqlite:///{(Path(out) / STUDY_DB).resolve()}"


def open_study(storage, name, seed):
    """Create or load the Optuna study (``maximize`` the CV score).

    The TPE sampler's seed is drawn from ``seed`` and the number of trials the
    study already holds: a run is reproducible, yet a continued study, or a
    second worker joining it, never replays the trials of the first.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(
            storage=storage,
            study_name=name,
            direction="maximize",
            load_if_exists=True,
        )
    except (ValueError, ImportError, optuna.exceptions.OptunaError) as exc:
        message = f"cannot open the study in --storage {storage}: {exc}"
        raise StudyError(message) from None
    except Exception as exc:  # SQLAlchemy's errors (a bad URL, no permission)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise StudyError(
            f"cannot open the study in --storage {storage}: "
            f"{type(exc).__name__}: {first}"
        ) from None
    sampler_seed = np.random.SeedSequence([seed, len(study.trials)]).generate_state(1)
    study.sampler = optuna.samplers.TPESampler(seed=int(sampler_seed[0]))
    return study


def completed_trials(study):
    from optuna.trial import TrialState

    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


def tune(
    pipeline, X, y, study, *, trials, cv, scoring, seed, max_base_filters, timeout
):
    """Run trials until ``trials`` are complete in the study (shared or not).

    Each process runs at most the trials still missing; ``MaxTrialsCallback``
    stops every process sharing the storage once the total is reached.
    """
    import optuna
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState
    from optuna_integration import OptunaSearchCV
    from tqdm.auto import tqdm

    from .model_selection import hybrid_search_space

    missing = trials - len(completed_trials(study))
    if missing <= 0:
        return
    bar = tqdm(
        total=trials,
        initial=trials - missing,
        desc="trials",
        unit="trial",
        disable=None,
    )

    def progress(study, trial):
        bar.update(1)
        if len(completed_trials(study)):
            bar.set_postfix(best=f"{study.best_value:.4g}")

    with warnings.catch_warnings():  # OptunaSearchCV is marked experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        search = OptunaSearchCV(
            pipeline,
            hybrid_search_space("hybrid__", max_base_filters=max_base_filters),
            cv=cv,
            n_trials=missing,
            timeout=timeout,
            scoring=scoring,
            study=study,
            refit=False,
            random_state=seed,
            error_score="raise",
            callbacks=[
                progress,
                MaxTrialsCallback(trials, states=(TrialState.COMPLETE,)),
            ],
        )
    try:
        with warnings.catch_warnings():  # optuna_integration's own deprecations
            warnings.filterwarnings("ignore", category=FutureWarning, module="optuna")
            search.fit(X, y)
    except (ValueError, TypeError) as exc:
        message = _trial_error(pipeline, X, y, study, cv, scoring, exc)
        raise StudyError(message) from None
    finally:
        bar.close()


def _trial_error(pipeline, X, y, study, cv, scoring, exc):
    """One line on why tuning failed, with the error a trial really raised.

    optuna-integration's OptunaSearchCV swallows a ValueError from inside a
    trial and fails later on its own (``TypeError ... add.reduce``): the
    failed trial's parameters are cross-validated again here with the error
    raised, to name the cause.
    """
    from optuna.trial import TrialState
    from sklearn.base import clone
    from sklearn.model_selection import cross_validate

    failed = study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
    cause = exc
    if failed:
        try:
            cross_validate(
                clone(pipeline).set_params(**failed[-1].params),
                X,
                y,
                cv=cv,
                scoring=scoring,
                error_score="raise",
            )
        except Exception as raised:  # noqa: BLE001 - reported, not handled
            cause = raised
    message = str(cause).strip().splitlines()
    return (
        f"tuning failed: {type(cause).__name__}: "
        f"{message[0] if message else 'no message'}"
    )


# ----------------------------------------------------------------- evaluation


def metrics(task, estimator, X, y):
    """Test metrics: MAE, MSE, RMSE, MAPE, R² or accuracy, balanced accuracy,
    macro F1, ROC AUC (one-vs-rest for several classes) and log loss."""
    from sklearn import metrics as m

    if task == "regression":
        pred = estimator.predict(X)
        mse = m.mean_squared_error(y, pred)
        return {
            "mae": m.mean_absolute_error(y, pred),
            "mse": mse,
            "rmse": math.sqrt(mse),
            # undefined (divides by |y|) when a target value is 0
            "mape": m.mean_absolute_percentage_error(y, pred)
            if np.all(np.asarray(y) != 0)
            else None,
            "r2": m.r2_score(y, pred),
        }
    proba = estimator.predict_proba(X)
    classes = estimator.classes_
    pred = classes[np.argmax(proba, axis=1)]
    if len(classes) == 2:
        auc = m.roc_auc_score(y == classes[1], proba[:, 1])
    else:
        auc = m.roc_auc_score(y, proba, multi_class="ovr", labels=classes)
    return {
        "accuracy": m.accuracy_score(y, pred),
        "balanced_accuracy": m.balanced_accuracy_score(y, pred),
        "f1_macro": m.f1_score(y, pred, average="macro"),
        "roc_auc": auc,
        "log_loss": m.log_loss(y, proba, labels=classes),
    }


def baselines(pipeline, task, seed):
    """HistGradientBoosting on the same columns, and the single-branch hybrids."""
    from sklearn.base import clone
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
    )
    from sklearn.pipeline import Pipeline

    hgb = (
        HistGradientBoostingRegressor
        if task == "regression"
        else HistGradientBoostingClassifier
    )(random_state=seed)
    return {
        "hist_gradient_boosting": Pipeline(
            [("columns", clone(pipeline[0])), ("model", hgb)]
        ),
        "mlp_only": clone(pipeline).set_params(hybrid__branches="mlp"),
        "cnn_only": clone(pipeline).set_params(hybrid__branches="cnn"),
    }


# -------------------------------------------------------------------- outputs


def importance_table(result) -> pd.DataFrame:
    """One row per explained feature (a column of the user's table), the most
    important first, with the interval and the zero flag of the fused score."""
    interval = np.asarray(result.importances_ci)
    if interval.ndim == 3:  # per class: the class-mean's interval, roughly
        interval = interval.mean(axis=0)
    flags = np.asarray(result.indistinguishable_from_zero)
    table = pd.DataFrame(
        {
            "feature": result.feature_names,
            "importance": np.atleast_2d(result.importances).mean(axis=0),
            "importance_std": np.atleast_2d(result.importances_std).mean(axis=0),
            "ci_low": interval[:, 0],
            "ci_high": interval[:, 1],
            "indistinguishable_from_zero": flags if flags.ndim == 1 else flags.all(0),
            "permutation_mean": result.permutation.importances_mean,
            "permutation_std": result.permutation.importances_std,
            "gradcam": np.atleast_2d(result.gradcam).mean(axis=0),
        }
    )
    for part in ("image_permutation", "model_permutation"):
        if part in result:
            table[f"{part}_mean"] = result[part].importances_mean
            table[f"{part}_std"] = result[part].importances_std
    if "integrated_gradients" in result:
        table["integrated_gradients"] = result.integrated_gradients
    for k, label in enumerate(result.get("classes", [])):
        if result.importances.ndim == 2:
            table[f"importance[{label}]"] = result.importances[k]
        table[f"gradcam[{label}]"] = result.gradcam[k]
    return table.sort_values("importance", ascending=False, kind="mergesort")


def top_feature(table) -> str:
    """The summary's words on the top feature: named only when it is clearly
    ahead (its interval above the runner-up's) and clearly not zero."""
    first = table.iloc[0]
    if first["indistinguishable_from_zero"]:
        return "no feature's importance is distinguishable from zero"
    if len(table) > 1 and first["ci_low"] <= table.iloc[1]["ci_high"]:
        return (
            f"top features {first['feature']} and {table.iloc[1]['feature']} "
            "are not clearly apart"
        )
    return f"top feature {first['feature']}"


def write_plots(result, folder):
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    from .inspection import GradCAMDisplay, PermGradDisplay

    for name, draw in (
        ("importance.png", lambda: PermGradDisplay.from_result(result, top_n=20)),
        ("gradcam.png", lambda: GradCAMDisplay.from_result(result)),
    ):
        display = draw()
        display.figure_.savefig(Path(folder) / name, dpi=120, bbox_inches="tight")
        plt.close(display.figure_)


def _markdown_table(frame, floatfmt=".4g"):
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = [
        "| "
        + " | ".join(
            "—"
            if v is None or (isinstance(v, (float, np.floating)) and np.isnan(v))
            else f"{v:{floatfmt}}"
            if isinstance(v, (float, np.floating))
            else str(v)
            for v in row
        )
        + " |"
        for row in frame.itertuples(index=False)
    ]
    return "\n".join([header, rule, *rows])


def write_report(folder, *, settings, summary, scores, importances, result, study):
    """report.md, metrics.json, importances.csv and trials.csv in ``folder``."""
    folder = Path(folder)
    importances.to_csv(folder / "importances.csv", index=False)
    study.trials_dataframe().to_csv(folder / "trials.csv", index=False)
    best = dict(study.best_params)
    document = {
        "settings": settings,
        "data": summary,
        "best_params": best,
        "best_cv_score": study.best_value,
        "n_trials_complete": len(completed_trials(study)),
        "branch_weights": result.branch_weights,
        "branch_weights_defined": result.branch_weights_defined,
        "models": scores,
    }
    (folder / "metrics.json").write_text(json.dumps(document, indent=2, default=float))
    metric_table = pd.DataFrame(scores).T.reset_index(names="model")
    lines = [
        f"# skpermgrad run: {summary['name']}",
        "",
        "## Data",
        "",
        f"- table: `{summary['name']}`, {summary['rows']} rows, "
        f"{summary['columns']} feature columns ({summary['numeric']} numeric, "
        f"{summary['categorical']} categorical), {summary['missing']} missing "
        "values (imputed: median for numbers, most frequent for categories)",
        f"- target: `{settings['target']}`, task: {settings['task']}",
        f"- split: {summary['train_rows']} training rows, {summary['test_rows']} test "
        f"rows (test size {settings['test_size']}, seed {settings['seed']})",
        f"- the hybrid reads {summary['encoded']} columns: numeric columns keep "
        "their names; each category of a categorical column is its own 0/1 "
        "column, and the explanation permutes a column's categories together "
        "and reports it once, under its own name",
        "",
        "## Tuning",
        "",
        f"OptunaSearchCV, {len(completed_trials(study))} complete trials, "
        f"{settings['cv']}-fold CV on the training rows, scoring "
        f"`{settings['scoring']}`; best CV score {study.best_value:.4g}.",
        "",
        _markdown_table(
            pd.DataFrame({"parameter": list(best), "value": list(best.values())})
        ),
        "",
        "## Test metrics",
        "",
        _markdown_table(metric_table),
        "",
        *(
            ["MAPE is not defined (—): the test target has zeros.", ""]
            if scores["hybrid"].get("mape", 0) is None
            else []
        ),
        "## PermGrad explanation",
        "",
        (
            f"Branch weights: MLP {result.branch_weights['mlp']:.3f}, "
            f"CNN {result.branch_weights['cnn']:.3f} (from the score drop when "
            "each branch is silenced at the concatenation). "
            if result.branch_weights_defined
            else "Branch weights: **undefined** — silencing neither branch lowered "
            "the test score, so both parts of the fused importance count 0.5. "
        )
        + (
            "The fused importance is each feature's whole-model permutation drop "
            "(the column permuted in both inputs), split between the branches by "
            "its drops through each branch alone."
            if result.fusion == "model_split"
            else "The fused importance weights the MLP branch's permutation drops "
            "and the CNN branch's "
            + {
                "gradcam": "Grad-CAM at each feature's pixel (PermGrad as published)",
                "permutation": "drops when the column is permuted in the image only",
                "integrated_gradients": "mean absolute integrated gradients "
                "through the image",
            }[result.cnn_importance]
            + " by the branch weights."
        )
        + f" Scale: {result.scale}. Intervals: "
        f"{result.confidence_level:.0%} bootstrap over the test rows and the "
        "permutations; `indistinguishable_from_zero` marks features whose "
        f"interval reaches below {result.zero_tolerance:.0%} of the total (their "
        "importance cannot be told from zero). "
        f"{top_feature(importances).capitalize()}.",
        "",
        _markdown_table(importances),
        "",
        "![PermGrad importance](importance.png)",
        "",
        "![Grad-CAM](gradcam.png)",
        "",
    ]
    (folder / "report.md").write_text("\n".join(lines))


def settings_conflicts(stored, wanted):
    """Names of settings that differ between a stored run and this one."""
    keys = (*STUDY_SETTINGS, "fingerprint")
    return [k for k in keys if stored.get(k) != wanted.get(k)]


def elapsed(start):
    seconds = int(time.perf_counter() - start)
    return f"{seconds // 60}m {seconds % 60:02d}s"
