"""bench_predictive's report: the summary against the other models, the
markdown tables (every metric, every image, the image chosen), the README's
table and where each entry was measured."""

import statistics

from _predictive_models import (
    CORE,
    DEFAULT_LAYOUT,
    DRAWINGS,
    LAYOUTS,
    PEERS,
    PRIMARY,
    SELECT_AMONG,
    TUNED_SECONDS,
    layout_model,
)
from _results import describe_machine

# the models the summary compares the hybrid with, and their column labels
_RIVALS = {
    "mlp_only": "MLP-only",
    "cnn_only": "CNN-only",
    "hist_gradient_boosting": "HistGB",
    "sklearn_mlp": "sklearn MLP",
}


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
        + peers_markdown(results)
        + image_choice_markdown(results)
        + tuned_markdown(results)
    )


def _readme_cell(value, metric):
    """A README number: thousands whole, RMSE to 3 decimals, scores to 4."""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3f}" if metric == "rmse" else f"{value:.4f}"


def readme_table(results):
    """The README's table: the default hybrid, its variants, the boosted trees
    and the peers' defaults (the main metric's mean; the best of the row in
    bold; — for a peer not measured)."""
    shown = ("hybrid", "mlp_only", "cnn_only", "hist_gradient_boosting")
    lines = [
        "| dataset | hybrid | MLP-only | CNN-only | HistGradientBoosting "
        "| RealMLP-TD | TabM-D |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, result in results.items():
        metric, sign = PRIMARY[result["task"]]
        models = result["models"]
        if not all(m in models for m in shown):
            continue
        labels = (*shown, *PEERS)
        means = [models[m][metric]["mean"] if m in models else None for m in labels]
        best = min(
            (i for i, v in enumerate(means) if v is not None),
            key=lambda i: sign * means[i],
        )
        cells = ["—" if v is None else _readme_cell(v, metric) for v in means]
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


def peers_markdown(results):
    """The default hybrid next to the best tabular networks' defaults (the
    peers) and HistGradientBoosting, where a peer is measured."""
    labels = ("hybrid", *PEERS, "hist_gradient_boosting")
    lines = [
        "## The hybrid beside RealMLP and TabM",
        "",
        "The default hybrid, pytabkit's RealMLP-TD and TabM-D with their defaults "
        "(CPU, one thread a fit) and HistGradientBoosting on the same folds; main "
        "metric (RMSE or accuracy, mean over folds) with its fold standard "
        "deviation, then fit seconds a fold; the best of the row in bold, — where "
        "not measured. RealMLP's defaults were tuned on wine_quality_white, "
        "spambase, satimage and pendigits (in-sample for it there).",
        "",
        "| dataset | " + " | ".join(labels) + " | fit s |",
        "|---|" + "---:|" * (len(labels) + 1),
    ]
    for name, result in results.items():
        models = result["models"]
        if not any(peer in models for peer in PEERS):
            continue
        metric, sign = PRIMARY[result["task"]]
        measured = [m for m in labels if m in models]
        best = min(measured, key=lambda m: sign * models[m][metric]["mean"])
        cells = []
        for m in labels:
            cell = "—"
            if m in models:
                score = models[m][metric]
                cell = f"{score['mean']:.4f} ± {score['std']:.4f}"
            cells.append(f"**{cell}**" if m == best else cell)
        fits = " / ".join(
            f"{models[m]['fit_seconds']:.1f}" if m in models else "—" for m in labels
        )
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {fits} |")
    return lines + ["", ""]


def image_choice_markdown(results):
    """Issue 28's third goal: per dataset, the hybrid whose image is chosen
    inside each training fold (``hybrid_selected``, where measured) and, as
    an optimistic reference, on the image whose mean over the test folds is
    best (every layout and drawing measured there), each against
    HistGradientBoosting."""
    lines = [
        "## The image chosen per dataset against HistGradientBoosting",
        "",
        "`chosen in each training fold`: `hybrid_selected`, the hybrid whose image "
        f"a grid search chose among {', '.join(SELECT_AMONG)} on an 80/20 split of "
        "each training fold, never seeing the test fold (the images it chose, "
        "fold by fold, in brackets). `best over the test folds`: the image "
        "(layout or drawing) with the best mean over the test folds, an "
        "optimistic reference (the choice sees the test folds; only a rule that "
        "hit each fold's own winner could do better).",
        "",
        "| dataset | chosen in each training fold | ahead | images measured | "
        "best over the test folds | its score | ahead | HistGradientBoosting |",
        "|---|---|:-:|---:|---|---:|:-:|---:|",
    ]
    ahead = {label: 0 for label in ("hybrid_selected", "best")}
    measured = dict(ahead)
    for name, result in results.items():
        models = result["models"]
        images = [
            m
            for m in models
            if (m == "hybrid" or m.startswith("hybrid_"))
            and m not in ("hybrid_selected", "hybrid_tuned")
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

        cells = ["—", "—"]
        if "hybrid_selected" in models:
            entry = models["hybrid_selected"]
            score = entry[metric]["mean"]
            cells = [
                f"{score:.4f} ({', '.join(entry['chosen'])})",
                verdict("hybrid_selected", score),
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
        f"{measured['hybrid_selected']} datasets measured so; on the image "
        f"best over the test folds, on {ahead['best']} of {measured['best']}.",
        "",
        "",
    ]
    return lines


def _on_folds(entry, metric, indices):
    """The mean of ``entry``'s ``metric`` over the folds ``indices``."""
    return statistics.fmean(entry[metric]["folds"][i] for i in indices)


def tuned_markdown(results):
    """Issue 52's tuning goal: per dataset, the hybrid tuned inside each
    training fold within a table's 30 minutes (``hybrid_tuned``, on its
    ``fold_indices``) against its defaults and HistGradientBoosting on the
    same folds."""
    rows = [(name, r) for name, r in results.items() if "hybrid_tuned" in r["models"]]
    if not rows:
        return []
    lines = [
        "## Tuned within a table's 30 minutes",
        "",
        "`hybrid_tuned`: the hybrid tuned inside each training fold as "
        "`skpermgrad run` tunes it by default (the hybrid's search space with the "
        "TabM backbone's knobs, IGTD's image, the defaults first), within "
        f"{TUNED_SECONDS:.0f} s a fold (a table's 30 minutes over five folds), each "
        "trial scored on one 80/20 split of the training fold, then refitted on "
        "all of it; measured on some folds only (`folds`, counted from 1), and "
        "compared with the default hybrid and HistGradientBoosting on the same "
        "folds.",
        "",
        "| dataset | folds | hybrid (defaults) | tuned | HistGradientBoosting | "
        "ahead of HistGB | trials | fit s | chosen scope, embedding |",
        "|---|---|---:|---:|---:|:-:|---:|---:|---|",
    ]
    ahead = 0
    for name, result in rows:
        models = result["models"]
        entry = models["hybrid_tuned"]
        metric, sign = PRIMARY[result["task"]]
        indices = entry.get("fold_indices", range(len(entry[metric]["folds"])))
        tuned = entry[metric]["mean"]
        mine, rival = (
            _cell(result, m, lambda e: _on_folds(e, metric, indices))
            for m in ("hybrid", "hist_gradient_boosting")
        )
        beats = rival != "—" and sign * tuned < sign * rival
        ahead += beats
        chosen = ", ".join(
            f"{p.get('hybrid__ensemble_scope', '?')}/"
            f"{p.get('hybrid__numeric_embedding', '?')}"
            for p in entry.get("params", [])
        )
        cells = [
            ", ".join(str(i + 1) for i in indices),
            *(v if v == "—" else f"{v:.4f}" for v in (mine, tuned, rival)),
            "yes" if beats else "no",
            ", ".join(map(str, entry.get("trials", []))) or "—",
            f"{entry['fit_seconds']:.0f}",
            chosen or "—",
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Tuned, the hybrid is ahead of HistGradientBoosting on {ahead} of "
        f"{len(rows)} datasets measured so (on the same folds).",
        "",
        "",
    ]
    return lines
