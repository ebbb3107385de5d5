"""Faithfulness of explanations: a suite of synthetic tables with known truth.

Usage: python benchmarks/bench_faithfulness.py [--quick] [--only NAME,...]
       [--seeds N] [--rows N] [--epochs N] [--shap-rows N] [--layout NAME]
       [--out FILE]

Seven designs (``DESIGNS``), each a table whose features' true importances
are known: the standard deviation of each feature's own share of the target
(``|coef| * std`` for a linear term, half of a two-feature product, a third of
a three-feature mean; for the classifier, of its share of the class scores);
pure-noise features have 0. Per design and seed, one default hybrid (untuned,
early stopping; on the image ``--layout`` names, the default imager unless
given) is fitted and explained on held-out rows by: PermGrad's fused
score with ``fusion="model_split"`` (the whole-model permutation drop, split
by branch) and with ``fusion="branch_weights"`` for each ``cnn_importance`` x
``scale`` (``cnn_importance="gradcam", scale="minmax"`` is PermGrad as
published), its parts, mean |expected gradients| through both branches
(``explain_rows``' default: integrated gradients from 16 held-out rows,
averaged), the whole model's
``sklearn.inspection.permutation_importance`` and mean |SHAP|
(``shap.PermutationExplainer``, ``--shap-rows`` rows against 50 background
rows; its seconds are also given per 1,000 rows, next to PermGrad's on all
held-out rows). Scores: Spearman correlation with the truth, whether a
pure-noise feature scored above a true one, and seconds. The default fused
score's flags (``indistinguishable_from_zero``) are checked against the
truth: the share of noise features flagged and of true ones flagged. Results
are saved per design (``--only`` adds designs to the file), with the commit.
It measures and writes results; it never asserts.
"""

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _faithfulness_designs import DESIGNS, QUICK_DESIGNS
from _predictive_models import DEFAULT_LAYOUT, LAYOUTS, _layouts
from _results import RESULTS, merge_dataset, parse_names

OUT = RESULTS / "bench_faithfulness.json"
SHAP_BACKGROUND = 50  # rows; SHAP's cost grows with rows x background x evals


def make_model(X, task, epochs, seed, layout=DEFAULT_LAYOUT):
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    from skpermgrad import HybridClassifier, HybridRegressor

    imager = None  # the library's default
    if layout != DEFAULT_LAYOUT:
        imager = _layouts(X.shape[1], seed)[layout]
    hybrid = (HybridRegressor if task == "regression" else HybridClassifier)(
        imager, epochs=epochs, random_state=seed
    )
    if not isinstance(X, pd.DataFrame):
        return hybrid
    strings = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    encode = ColumnTransformer(
        [("categories", OneHotEncoder(sparse_output=False), strings)],
        remainder="passthrough",
        verbose_feature_names_out=False,
    )
    return make_pipeline(encode, hybrid)


# ------------------------------------------------------------------ methods

COMBINATIONS = [
    (cnn, scale)
    for cnn in ("permutation", "integrated_gradients", "gradcam")
    for scale in ("share", "minmax")
]


def _global(values):
    """One score per feature: a per-class array is averaged over classes."""
    values = np.asarray(values, dtype=np.float64)
    return values if values.ndim == 1 else values.mean(axis=0)


def _fast_predict(model, task):
    """``predict`` (``predict_proba``) through one traced forward pass.

    SHAP calls it once per row on small batches, where ``keras.Model.predict``'s
    per-call overhead (tens of ms) would dominate. A Pipeline's earlier steps
    transform the rows first.
    """
    import tensorflow as tf
    from sklearn.pipeline import Pipeline

    from skpermgrad import models as arch

    pre, hybrid = (
        (model[:-1], model[-1]) if isinstance(model, Pipeline) else (None, model)
    )
    network = hybrid.model_
    spec = tf.TensorSpec((None, hybrid.n_features_in_), tf.float32)

    @tf.function(input_signature=[spec])
    def forward(v):
        return network({arch.INPUT_TABULAR: v, arch.INPUT_IMAGE: v}, training=False)

    def predict(X):
        X = X if pre is None else pre.transform(X)
        raw = forward(hybrid.feature_encoder_.imager_.transform_values(X)).numpy()
        if task == "regression":
            return hybrid.target_encoder_.inverse_transform(raw)
        return hybrid.target_encoder_.inverse_transform(raw, return_proba=True)

    return predict


def _shap_frame_predict(model, X, task):
    """SHAP needs numbers: categories are passed as codes and decoded here."""
    codes = {
        c: pd.Categorical(X[c]).categories
        for c in X.columns
        if not pd.api.types.is_numeric_dtype(X[c])
    }
    fast = _fast_predict(model, task)

    def encode(frame):
        out = frame.copy()
        for c, categories in codes.items():
            out[c] = pd.Categorical(out[c], categories=categories).codes
        return out.to_numpy(dtype=np.float64)

    def predict(array):
        if not codes:
            return fast(array)
        frame = pd.DataFrame(array, columns=X.columns)
        for c, categories in codes.items():
            frame[c] = np.asarray(categories)[frame[c].round().astype(int)]
        return fast(frame)

    return encode, predict


def explain_all(model, X_test, y_test, task, seed, shap_rows):
    """{method: (scores per column, seconds)} and the default result."""
    from sklearn.inspection import permutation_importance

    from skpermgrad import explain_rows, permgrad_importance
    from skpermgrad.inspection import _permgrad

    out = {}
    start = time.perf_counter()
    default = permgrad_importance(
        model, X_test, y_test, random_state=seed, fusion="model_split"
    )
    out["model_split[share]"] = (
        _global(default.importances),
        time.perf_counter() - start,
    )
    out["part:model_permutation"] = (default.model_permutation.importances_mean, None)
    for cnn, scale in COMBINATIONS:
        start = time.perf_counter()
        result = permgrad_importance(
            model,
            X_test,
            y_test,
            random_state=seed,
            fusion="branch_weights",
            cnn_importance=cnn,
            scale=scale,
        )
        seconds = time.perf_counter() - start
        out[f"branch_weights[{cnn},{scale}]"] = (_global(result.importances), seconds)
        if scale == "share":
            out["part:mlp_permutation"] = (result.permutation.importances_mean, None)
            out["part:gradcam"] = (_global(result.gradcam), None)
            if cnn == "permutation":
                out["part:image_permutation"] = (
                    result.image_permutation.importances_mean,
                    None,
                )
            if cnn == "integrated_gradients":
                out["part:image_integrated_gradients"] = (
                    result.integrated_gradients,
                    None,
                )
    if _permgrad.DEFAULT_FUSION != "model_split":
        default = permgrad_importance(model, X_test, y_test, random_state=seed)
    start = time.perf_counter()
    rows = explain_rows(model, X_test, background=X_test, random_state=seed)
    attributions = np.abs(rows.attributions)
    out["integrated_gradients_both_branches"] = (
        attributions.mean(axis=(0, 2))
        if attributions.ndim == 3
        else attributions.mean(axis=0),
        time.perf_counter() - start,
    )
    start = time.perf_counter()
    whole = permutation_importance(
        model,
        X_test,
        y_test,
        n_repeats=5,
        random_state=seed,
        scoring="r2" if task == "regression" else "neg_log_loss",
    )
    out["sklearn_permutation_importance"] = (
        whole.importances_mean,
        time.perf_counter() - start,
    )
    try:
        import shap
    except ImportError:
        return out, default, None
    frame = X_test if isinstance(X_test, pd.DataFrame) else pd.DataFrame(X_test)
    encode, predict = _shap_frame_predict(model, frame, task)
    start = time.perf_counter()
    background = frame.iloc[-SHAP_BACKGROUND:]
    explainer = shap.PermutationExplainer(predict, encode(background))
    signed = explainer(encode(frame.iloc[:shap_rows]), silent=True).values
    values = np.abs(signed)
    out["shap_mean_abs"] = (
        values.mean(axis=(0, 2)) if values.ndim == 3 else values.mean(axis=0),
        time.perf_counter() - start,
    )
    # the same rows explained by explain_rows from SHAP's background
    local = explain_rows(
        model,
        X_test.iloc[:shap_rows] if hasattr(X_test, "iloc") else X_test[:shap_rows],
        background=background if hasattr(X_test, "iloc") else X_test[-SHAP_BACKGROUND:],
        random_state=seed,
    ).attributions
    return out, default, _per_row_agreement(local, signed)


def _per_row_agreement(local, shap_values):
    """Median over rows of the Spearman correlation between a row's
    ``explain_rows`` attributions and its SHAP values (signed; a classifier's
    averaged over classes); rows whose attributions are all equal are left
    out."""
    from scipy.stats import spearmanr

    local, shap_values = np.asarray(local), np.asarray(shap_values)
    if local.shape != shap_values.shape:
        raise ValueError(
            f"explain_rows gave {local.shape}, SHAP {shap_values.shape}: the "
            "per-row agreement needs one attribution per column and class."
        )
    if local.ndim == 2:
        local, shap_values = local[..., None], shap_values[..., None]
    per_row = []
    for a, b in zip(local, shap_values):
        with np.errstate(invalid="ignore"):
            rhos = [spearmanr(a[:, k], b[:, k]).statistic for k in range(a.shape[1])]
        if np.isfinite(rhos).any():
            per_row.append(float(np.nanmean(rhos)))
    return {
        "median_spearman": float(np.median(per_row)),
        "rows": len(per_row),
    }


def run_design(name, seed, args):
    from scipy.stats import spearmanr
    from sklearn.model_selection import train_test_split

    rng = np.random.default_rng(seed)
    X, y, truth, task = DESIGNS[name](args.rows, rng)
    X_train, X_test, y_train, y_test = train_test_split(
        X,
        y,
        test_size=0.25,
        random_state=seed,
        stratify=y if task == "classification" else None,
    )
    start = time.perf_counter()
    model = make_model(X, task, args.epochs, seed, args.layout).fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start
    scores, default, agreement = explain_all(
        model, X_test, y_test, task, seed, args.shap_rows
    )
    noise, real = truth == 0, truth > 0
    measured = {}
    for method, (values, seconds) in scores.items():
        values = np.asarray(values, dtype=np.float64)
        rows = (
            min(args.shap_rows, len(y_test))
            if method == "shap_mean_abs"
            else len(y_test)
        )
        measured[method] = {
            "spearman": float(spearmanr(values, truth).statistic),
            "noise_above_true": bool(values[noise].max() > values[real].min()),
            "seconds": seconds,
            "rows": rows,
        }
    flags = np.asarray(default.indistinguishable_from_zero)
    flags = flags if flags.ndim == 1 else flags.all(axis=0)
    return {
        "score": float(model.score(X_test, y_test)),
        "fit_seconds": fit_seconds,
        "branch_weight_mlp": default.branch_weights["mlp"],
        "noise_flagged": float(flags[noise].mean()),
        "true_flagged": float(flags[real].mean()),
        "methods": measured,
        "explain_rows_vs_shap": agreement,
    }


def summarise(designs):
    """Per method: mean Spearman per design and overall, noise-above-true rate,
    mean seconds."""
    methods = sorted(
        {m for d in designs.values() for s in d["seeds"] for m in s["methods"]}
    )
    table = {}
    for method in methods:
        per_design, above, seconds = {}, [], []
        for name, design in designs.items():
            runs = [
                s["methods"][method] for s in design["seeds"] if method in s["methods"]
            ]
            if not runs:
                continue
            per_design[name] = statistics.fmean(r["spearman"] for r in runs)
            above += [r["noise_above_true"] for r in runs]
            seconds += [
                1000 * r["seconds"] / r["rows"]
                for r in runs
                if r["seconds"] is not None
            ]
        table[method] = {
            "per_design": per_design,
            "mean": statistics.fmean(per_design.values()),
            "noise_above_true_rate": statistics.fmean(above),
            "seconds": statistics.fmean(seconds) if seconds else None,
        }
    return table


def markdown(designs, table, settings, default_key):
    names = list(designs)
    # results written before the key existed read the TINTO image
    image = f"; image: the `{settings.get('layout', 'tinto')}` layout"
    lines = [
        "# Faithfulness of explanations",
        "",
        f"Spearman correlation with the true importances, mean over "
        f"{settings['seeds']} seed(s) per design; {settings['rows']} rows per table "
        f"(25% held out and explained), hybrids with default settings "
        f"({settings['epochs']} epochs at most"
        + image
        + "). `noise>true`: share of runs where a "
        "pure-noise feature scored above a true one. Seconds: mean per 1,000 "
        "explained rows (SHAP explains fewer rows; its time is scaled). "
        f"The library's default is **{default_key}**.",
        "",
        "| method | " + " | ".join(names) + " | mean | noise>true | seconds |",
        "|---|" + "---:|" * (len(names) + 3),
    ]
    for method, row in sorted(table.items(), key=lambda kv: -kv[1]["mean"]):
        label = f"**{method}**" if method == default_key else method
        cells = [f"{row['per_design'].get(n, float('nan')):.3f}" for n in names]
        seconds = "" if row["seconds"] is None else f"{row['seconds']:.1f}"
        lines.append(
            f"| {label} | "
            + " | ".join(cells)
            + f" | {row['mean']:.3f} | {row['noise_above_true_rate']:.2f} | {seconds} |"
        )
    lines += [
        "",
        "| design | model score (R² / accuracy) | MLP branch weight "
        "| noise flagged | true flagged | explain_rows vs SHAP, per row |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, design in designs.items():
        seeds = design["seeds"]
        agreement = [
            s["explain_rows_vs_shap"]["median_spearman"]
            for s in seeds
            if s.get("explain_rows_vs_shap")
        ]
        lines.append(
            f"| {name} | {statistics.fmean(s['score'] for s in seeds):.3f} | "
            f"{statistics.fmean(s['branch_weight_mlp'] for s in seeds):.2f} | "
            f"{statistics.fmean(s['noise_flagged'] for s in seeds):.2f} | "
            f"{statistics.fmean(s['true_flagged'] for s in seeds):.2f} | "
            + (f"{statistics.fmean(agreement):.3f}" if agreement else "—")
            + " |"
        )
    lines += [
        "",
        "explain_rows vs SHAP, per row: the Spearman correlation between a row's "
        "`explain_rows` attributions and its SHAP values (signed; a classifier's "
        "averaged over classes), the median over the SHAP rows, the mean over "
        "seeds; both from SHAP's background rows.",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 designs, 1 seed, small")
    parser.add_argument("--only", help="comma-separated designs (default: all)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--shap-rows", type=int, default=100)
    parser.add_argument(
        "--layout",
        choices=LAYOUTS,
        default=DEFAULT_LAYOUT,
        help="the image the hybrids read (bench_predictive's layouts); "
        f"{DEFAULT_LAYOUT}: the library's default imager",
    )
    parser.add_argument(
        "--report", action="store_true", help="rewrite the markdown from the JSON"
    )
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    names = list(DESIGNS)
    if args.quick:
        args.seeds, args.rows, args.epochs, args.shap_rows = 1, 800, 5, 20
        names = list(QUICK_DESIGNS)
    if args.only:
        names = parse_names(parser, args.only, DESIGNS, "design")

    from skpermgrad.inspection import _permgrad

    default_key = (
        f"model_split[{_permgrad.DEFAULT_SCALE}]"
        if _permgrad.DEFAULT_FUSION == "model_split"
        else f"branch_weights[{_permgrad.DEFAULT_CNN_IMPORTANCE},"
        f"{_permgrad.DEFAULT_SCALE}]"
    )
    settings = {
        "seeds": args.seeds,
        "rows": args.rows,
        "epochs": args.epochs,
        "shap_rows": args.shap_rows,
    }
    # recorded always: the default image changed (TINTO before, results
    # without this key), and results of another image are not comparable
    settings["layout"] = args.layout
    designs = {}
    if args.report:
        names = []
        designs = json.loads(Path(args.out).read_text())["datasets"]
    for name in names:
        seeds = []
        for seed in range(args.seeds):
            seeds.append(run_design(name, seed, args))
            print(
                f"{name} seed {seed}: score {seeds[-1]['score']:.3f}, "
                + ", ".join(
                    f"{m} {v['spearman']:.2f}" for m, v in seeds[-1]["methods"].items()
                ),
                flush=True,
            )
        designs = merge_dataset(
            args.out,
            "bench_faithfulness",
            ["tensorflow-cpu", "keras", "shap"],
            settings,
            name,
            {"seeds": seeds},
        )
    designs = {n: designs[n] for n in DESIGNS if n in designs}
    table = summarise(designs)
    saved = json.loads(Path(args.out).read_text())
    commits = sorted({str(c)[:7] for c in saved.get("commits", {}).values()})
    text = markdown(designs, table, settings, default_key)
    text += f"\nMeasured at commit(s) {', '.join(commits)}.\n"
    if saved.get("note"):  # written into the JSON by hand: how it was measured
        text += f"\n{saved['note']}\n"
    print(text)
    saved.update(designs=list(designs), permgrad_default=default_key, summary=table)
    Path(args.out).write_text(json.dumps(saved, indent=2) + "\n")
    Path(args.out).with_suffix(".md").write_text(text)


if __name__ == "__main__":
    main()
