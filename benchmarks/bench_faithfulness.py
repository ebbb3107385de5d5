"""Faithfulness of explanations on synthetic tables with known feature effects.

Usage: python benchmarks/bench_faithfulness.py [--quick] [--seeds N] [--rows N]
       [--out FILE]

Ten standard-normal features, y = 3·x0 + 1.5·x1 (linear) + 2·x2·x3
(interaction) + 1.5·mean(x4, x5, x6) (a block of correlated features, x5 and x6
being x4 plus noise, which TINTO places side by side) + noise; x7, x8, x9 are
pure noise. The true importance of a feature is the standard deviation of its
own share of y: |coef|·std for a linear term, half of the interaction term's,
a third of the block term's, 0 for noise.

One HybridRegressor (defaults, early stopping) per seed, explained on held-out
rows by: PermGrad's fused score, its permutation and Grad-CAM parts, the
fused score with ``cnn_importance="permutation"`` and that image permutation,
``sklearn.inspection.permutation_importance`` of the whole model, and mean |SHAP|
(``shap.PermutationExplainer``, when the ``bench`` extra's shap is installed).
SHAP explains ``--shap-rows`` held-out rows against 100 background rows.
Score: Spearman rank correlation with the truth, mean and std over seeds. It
measures and writes results; it never asserts.
"""

import argparse
import statistics
from pathlib import Path

import numpy as np
from _results import RESULTS, write_result

N_FEATURES = 10


def make_table(n, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, N_FEATURES))
    X[:, 5] = X[:, 4] + 0.3 * rng.normal(size=n)
    X[:, 6] = X[:, 4] + 0.3 * rng.normal(size=n)
    block = X[:, 4:7].mean(axis=1)
    y = (
        3 * X[:, 0]
        + 1.5 * X[:, 1]
        + 2 * X[:, 2] * X[:, 3]
        + 1.5 * block
        + 0.1 * rng.normal(size=n)
    )
    std = X.std(axis=0)
    interaction = np.std(2 * X[:, 2] * X[:, 3]) / 2
    truth = np.array(
        [
            3 * std[0],
            1.5 * std[1],
            interaction,
            interaction,
            *(1.5 / 3 * std[4:7]),
            0.0,
            0.0,
            0.0,
        ]
    )
    return X, y, truth


def _fast_predict(model):
    """``model.predict`` through one traced forward pass.

    SHAP calls predict once per permutation step on small batches, where
    ``keras.Model.predict``'s per-call overhead (tens of ms) would dominate.
    """
    import tensorflow as tf

    from skpermgrad.models import _architecture as arch

    network = model.model_
    spec = tf.TensorSpec((None, model.n_features_in_), tf.float32)

    @tf.function(input_signature=[spec])
    def forward(v):
        return network({arch.INPUT_TABULAR: v, arch.INPUT_IMAGE: v}, training=False)

    def predict(X):
        values = model.feature_encoder_.imager_.transform_values(X)
        return model.target_encoder_.inverse_transform(forward(values).numpy())

    return predict


def explain_all(model, X_test, y_test, seed, shap_rows):
    from sklearn.inspection import permutation_importance

    from skpermgrad import permgrad_importance

    result = permgrad_importance(model, X_test, y_test, n_repeats=5, random_state=seed)
    image = permgrad_importance(
        model,
        X_test,
        y_test,
        n_repeats=5,
        random_state=seed,
        cnn_importance="permutation",
    )
    scores = {
        "permgrad_fused": result.importances,
        "permgrad_permutation": result.permutation.importances_mean,
        "permgrad_gradcam": result.gradcam,
        "permgrad_fused_image_permutation": image.importances,
        "permgrad_image_permutation": image.image_permutation.importances_mean,
        "sklearn_permutation_importance": permutation_importance(
            model, X_test, y_test, n_repeats=5, random_state=seed
        ).importances_mean,
    }
    try:
        import shap
    except ImportError:
        return scores, result.branch_weights
    explainer = shap.PermutationExplainer(_fast_predict(model), X_test[-100:])
    values = explainer(X_test[:shap_rows], silent=True).values
    scores["shap_mean_abs"] = np.abs(values).mean(axis=0)
    return scores, result.branch_weights


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 seed, 1500 rows")
    parser.add_argument("--shap-rows", type=int, default=300)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--out", default=str(RESULTS / "bench_faithfulness.json"))
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.rows, args.epochs, args.shap_rows = 1, 1500, 10, 50

    from scipy.stats import spearmanr
    from sklearn.model_selection import train_test_split

    from skpermgrad import HybridRegressor

    correlations, weights = {}, []
    for seed in range(args.seeds):
        X, y, truth = make_table(args.rows, seed)
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.25, random_state=seed
        )
        model = HybridRegressor(epochs=args.epochs, random_state=seed)
        model.fit(X_train, y_train)
        r2 = model.score(X_test, y_test)
        scores, branch = explain_all(model, X_test, y_test, seed, args.shap_rows)
        weights.append(branch["mlp"])
        for method, values in scores.items():
            rho = spearmanr(values, truth).statistic
            correlations.setdefault(method, []).append(float(rho))
        print(
            f"seed {seed}: R² {r2:.3f}, w_mlp {branch['mlp']:.3f}, "
            + ", ".join(f"{m} {v[-1]:.3f}" for m, v in correlations.items()),
            flush=True,
        )
    summary = {
        method: {
            "mean": statistics.fmean(values),
            "std": statistics.pstdev(values),
            "per_seed": values,
        }
        for method, values in correlations.items()
    }
    lines = [
        "# Faithfulness of explanations",
        "",
        f"Spearman correlation with the true importances, {args.seeds} seed(s), "
        f"{args.rows} rows (25% held out for the explanations).",
        "",
        "| method | Spearman ρ (mean ± std) |",
        "|---|---:|",
    ]
    for method, s in sorted(summary.items(), key=lambda kv: -kv[1]["mean"]):
        lines.append(f"| {method} | {s['mean']:.3f} ± {s['std']:.3f} |")
    if "shap_mean_abs" not in summary:
        lines += ["", 'SHAP: not installed (`pip install -e ".[bench]"`).']
    table = "\n".join(lines)
    print(table)
    out = Path(args.out)
    write_result(
        out,
        "bench_faithfulness",
        ["tensorflow-cpu", "keras", "shap"],
        rows=args.rows,
        seeds=args.seeds,
        epochs=args.epochs,
        spearman=summary,
        mlp_branch_weights=weights,
    )
    out.with_suffix(".md").write_text(table + "\n")


if __name__ == "__main__":
    main()
