"""Parity of a refactoring: a seeded fit's predictions and explanations, saved
at one commit and compared at another.

    python benchmarks/parity.py --save before.npz
    (change the code)
    python benchmarks/parity.py --against before.npz

On puma8NH (its first 2,000 rows; the hybrid's defaults but 30 epochs, seeded)
and phoneme (a classifier, the same): the test rows' predictions (and
probabilities), ``permgrad_importance`` with each fused score (its defaults,
``branch_weights`` with Grad-CAM and with integrated gradients; 3 repeats, 20
bootstrap draws, 300 rows) and ``explain_rows`` on 5 rows. ``--against``
prints each array's largest absolute difference and exits 1 when one is over
``--atol``. A behaviour-preserving change gives zeros on the same machine.
It measures nothing and writes no result file: a check to run, not a record.
"""

import argparse
import inspect
import sys
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"
ROWS, TEST = 2000, 300


def _table(name):
    if name == "puma8NH":  # the package bundles it
        from skpermgrad.datasets import load_puma8nh

        frame = load_puma8nh(as_frame=True).frame
    else:
        frame = pd.read_csv(DATA / "pmlb" / f"{name}.tsv.gz", sep="\t")
    frame = frame.sample(n=ROWS, random_state=0)
    return frame.drop(columns=frame.columns[-1]), frame[frame.columns[-1]].to_numpy()


def measure():
    """Every array the parity compares, by name."""
    from skpermgrad import (
        HybridClassifier,
        HybridRegressor,
        explain_rows,
        permgrad_importance,
    )

    out = {}
    for name, cls in (("puma8NH", HybridRegressor), ("phoneme", HybridClassifier)):
        X, y = _table(name)
        X_train, y_train, X_test, y_test = X[TEST:], y[TEST:], X[:TEST], y[:TEST]
        model = cls(epochs=30, random_state=0).fit(X_train, y_train)
        out[f"{name}/predict"] = np.asarray(model.predict(X_test), dtype=float)
        if cls is HybridClassifier:
            out[f"{name}/predict_proba"] = model.predict_proba(X_test)
        options = {
            "default": {},
            "gradcam": {"fusion": "branch_weights", "cnn_importance": "gradcam"},
            "integrated_gradients": {
                "fusion": "branch_weights",
                "cnn_importance": "integrated_gradients",
            },
        }
        for label, kw in options.items():
            result = permgrad_importance(
                model, X_test, y_test, n_repeats=3, n_bootstrap=20, random_state=0, **kw
            )
            for key in ("importances", "importances_ci", "gradcam", "heatmap"):
                out[f"{name}/permgrad/{label}/{key}"] = np.asarray(result[key])
            out[f"{name}/permgrad/{label}/branch_weights"] = np.array(
                [result.branch_weights["mlp"]]
            )
        # seeded baselines where explain_rows draws them (after issue 52)
        drawn = inspect.signature(explain_rows).parameters
        seeded = {"random_state": 0} if "random_state" in drawn else {}
        rows = explain_rows(model, X_test[:5], background=X_train[:200], **seeded)
        out[f"{name}/explain_rows/attributions"] = np.asarray(rows.attributions)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--save", type=Path, help="write the arrays to this .npz")
    what.add_argument("--against", type=Path, help="compare with this .npz")
    parser.add_argument("--atol", type=float, default=0.0)
    args = parser.parse_args(argv)
    arrays = measure()
    if args.save:
        np.savez(args.save, **arrays)
        print(f"wrote {len(arrays)} arrays to {args.save}")
        return 0
    before = np.load(args.against)
    worst = 0.0
    for key in sorted(set(before.files) | set(arrays)):
        if key not in before.files or key not in arrays:
            print(f"{key}: only {'after' if key in arrays else 'before'}")
            worst = np.inf
            continue
        diff = np.nanmax(np.abs(before[key] - arrays[key]), initial=0.0)
        worst = max(worst, diff)
        print(f"{key}: max |difference| {diff:.3g}")
    print(f"largest difference {worst:.3g} (atol {args.atol})")
    return int(worst > args.atol)


if __name__ == "__main__":
    sys.exit(main())
