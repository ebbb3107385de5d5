"""What a study writes: report.md, metrics.json, importances.csv, plots."""

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ._common import resume_changes
from ._pipeline import MIN_TEST_ROWS
from ._text import markdown, printable, safe_csv
from ._trials import completed_trials, defaults_trial, pruned_trials

_NAMES = {
    "hist_gradient_boosting": "HistGradientBoosting",
    "mlp_only": "its MLP-only variant",
    "cnn_only": "its CNN-only variant",
}


# the columns of trials.csv: Optuna's default and each fold's running mean
TRIALS_CSV = (
    "number",
    "value",
    "datetime_start",
    "datetime_complete",
    "duration",
    "params",
    "user_attrs",
    "system_attrs",
    "intermediate_values",
    "state",
)


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


def top_feature(table, quote=printable) -> str:
    """The summary's words on the top feature: named only when it is clearly
    ahead (its interval above the runner-up's) and clearly not zero. Names
    are written by ``quote`` (:func:`markdown` for the report)."""
    first = table.iloc[0]
    if first["indistinguishable_from_zero"]:
        return "no feature's importance is distinguishable from zero"
    if len(table) > 1 and first["ci_low"] <= table.iloc[1]["ci_high"]:
        return (
            f"top features {quote(first['feature'])} and "
            f"{quote(table.iloc[1]['feature'])} "
            "are not clearly apart"
        )
    return f"top feature {quote(first['feature'])}"


def verdict_sentence(v) -> str:
    """The report's sentence on the hybrid against one model."""
    other, metric = _NAMES.get(v["model"], v["model"]), v["metric"].upper()
    numbers = (
        f"{metric} {v['hybrid']:.4g} against {v['other']:.4g} (difference "
        f"{v['difference']:+.3g}, 95% bootstrap interval {v['ci_low']:+.3g} to "
        f"{v['ci_high']:+.3g})"
    )
    if v["verdict"] == "too_few_rows":
        return (
            f"The hybrid and {other} are not compared: the test rows are too few "
            f"to tell them apart (fewer than {MIN_TEST_ROWS}; use a larger "
            f"--test-size or table): {metric} {v['hybrid']:.4g} against "
            f"{v['other']:.4g}."
        )
    if v["verdict"] == "tie":
        return f"The hybrid and {other} cannot be told apart on this table: {numbers}."
    where = "ahead of" if v["verdict"] == "ahead" else "behind"
    return f"The hybrid is {where} {other}: {numbers}."


def verdict_summary(verdicts) -> str:
    """The console's words: the hybrid's main metric and where it stands."""
    words = {
        "ahead": "ahead of",
        "behind": "behind",
        "tie": "not apart from",
        "too_few_rows": "too few test rows to compare with",
    }
    first = verdicts[0]
    return f"hybrid {first['metric']} {first['hybrid']:.4g}, " + ", ".join(
        f"{words[v['verdict']]} {_NAMES.get(v['model'], v['model'])} ({v['other']:.4g})"
        for v in verdicts
    )


def _tuning_lines(settings, study):
    """Which trial won, and by how much over the defaults (trial 0); what a
    resumed run changed of the stored settings."""
    lines = _tuning_result(settings, study)
    if "changed_on_resume" in settings:
        lines.append(
            f"The run was resumed with {resume_changes(settings)} (the stored "
            "settings, changed as given; every other setting as stored)."
        )
    return lines


def _tuning_result(settings, study):
    trials = completed_trials(study)
    if not trials:
        return [
            "No tuning (`--trials 0`, as with `--quick`): the hybrid's defaults, "
            "fitted on the training rows."
        ]
    best, defaults = study.best_trial, defaults_trial(study)
    pruned = len(pruned_trials(study))
    lines = [
        f"OptunaSearchCV, {len(trials)} complete trials and {pruned} pruned "
        f"(pruner {settings['pruner']}: stopped after a fold), "
        f"{settings['cv']}-fold CV on the training rows, scoring "
        f"`{settings['scoring']}`; best CV score {best.value:.4g} (trial "
        f"{best.number})."
    ]
    images = settings.get("images", [])
    if len(images) > 1:
        chosen = best.params.get("hybrid__imager", images[0])
        lines.append(
            f"The image method was tuned among {', '.join(images)}: `{chosen}` won."
        )
    if defaults is None:
        lines.append("The study holds no trial of the hybrid's defaults.")
    elif best.number == defaults.number:
        lines.append(
            f"The defaults (trial {defaults.number}, the first) are the best: no "
            "trial beat them, so the refit model is the hybrid's defaults."
        )
    else:
        lines.append(
            f"It beats the defaults (trial {defaults.number}, CV score "
            f"{defaults.value:.4g}) by {best.value - defaults.value:+.4g}."
        )
    return lines


def write_plots(result, folder):
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    from ..inspection import GradCAMDisplay, PermGradDisplay

    for name, draw in (
        ("importance.png", lambda: PermGradDisplay.from_result(result, top_n=20)),
        ("gradcam.png", lambda: GradCAMDisplay.from_result(result)),
    ):
        display = draw()
        display.figure_.savefig(Path(folder) / name, dpi=120, bbox_inches="tight")
        plt.close(display.figure_)


def _markdown_table(frame, floatfmt=".4g"):
    header = "| " + " | ".join(map(markdown, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = [
        "| "
        + " | ".join(
            "—"
            if v is None or (isinstance(v, (float, np.floating)) and np.isnan(v))
            else f"{v:{floatfmt}}"
            if isinstance(v, (float, np.floating))
            else markdown(v)
            for v in row
        )
        + " |"
        for row in frame.itertuples(index=False)
    ]
    return "\n".join([header, rule, *rows])


def _capitalized(text):
    return text[:1].upper() + text[1:]  # str.capitalize lowers a name's capitals


def write_report(
    folder, *, settings, summary, scores, verdicts, importances, result, study
):
    """report.md, metrics.json, importances.csv and trials.csv in ``folder``."""
    folder = Path(folder)
    safe_csv(importances).to_csv(folder / "importances.csv", index=False)
    safe_csv(study.trials_dataframe(attrs=TRIALS_CSV)).to_csv(
        folder / "trials.csv", index=False
    )
    tuned = bool(completed_trials(study))
    best = dict(study.best_params) if tuned else {}
    defaults = defaults_trial(study)
    document = {
        "settings": dict(settings),
        "data": summary,
        "verdicts": verdicts,
        "best_params": best,
        "best_cv_score": study.best_value if tuned else None,
        "best_trial": study.best_trial.number if tuned else None,
        "defaults_trial": None if defaults is None else defaults.number,
        "defaults_cv_score": None if defaults is None else defaults.value,
        "n_trials_complete": len(completed_trials(study)),
        "n_trials_pruned": len(pruned_trials(study)),
        "branch_weights": result.branch_weights,
        "branch_weights_defined": result.branch_weights_defined,
        "models": scores,
    }
    (folder / "metrics.json").write_text(json.dumps(document, indent=2, default=float))
    metric_table = pd.DataFrame(scores).T.reset_index(names="model")
    lines = [
        f"# skpermgrad run: {markdown(summary['name'])}",
        "",
        *(f"- {verdict_sentence(v)}" for v in verdicts),
        "",
        "On the test rows; the interval is over bootstraps of those rows, and "
        "a difference whose interval holds 0 is within noise.",
        "",
        "## Data",
        "",
        f"- table: {markdown(summary['name'])}, {summary['rows']} rows, "
        f"{summary['columns']} feature columns ({summary['numeric']} numeric, "
        f"{summary['categorical']} categorical), {summary['missing']} missing "
        "values (imputed: median for numbers, most frequent for categories)",
        f"- target: {markdown(settings['target'])}, task: {settings['task']}",
        f"- split: {summary['train_rows']} training rows, {summary['test_rows']} test "
        f"rows (test size {settings['test_size']}, seed {settings['seed']})",
        f"- the hybrid reads {summary['encoded']} columns: numeric columns keep "
        "their names; each category of a categorical column is its own 0/1 "
        "column, and the explanation permutes a column's categories together "
        "and reports it once, under its own name",
        "",
        "## Tuning",
        "",
        " ".join(_tuning_lines(settings, study)),
        "",
        *(
            [
                _markdown_table(
                    pd.DataFrame(
                        {"parameter": list(best), "value": list(best.values())}
                    )
                ),
                "",
            ]
            if best
            else []
        ),
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
        f"{_capitalized(top_feature(importances, markdown))}.",
        "",
        _markdown_table(importances),
        "",
        "![PermGrad importance](importance.png)",
        "",
        "![Grad-CAM](gradcam.png)",
        "",
        "## Model",
        "",
        "`model.joblib` holds the fitted pipeline (`skpermgrad predict` reloads "
        "it). It is a pickle, which runs code when it is loaded: load only a "
        "model file from a source you trust. `model.joblib.sha256` holds its "
        "SHA-256, which `skpermgrad predict` checks before loading it.",
        "",
    ]
    (folder / "report.md").write_text("\n".join(lines))
