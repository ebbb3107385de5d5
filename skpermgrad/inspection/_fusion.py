"""How PermGrad's parts are scaled and combined: the scales, the options and
the defaults of the fused score, and the small reductions over rows."""

import numpy as np
from sklearn.utils import Bunch


def _minmax(values):
    """Min-max scale along the last axis; a constant vector maps to zeros."""
    values = np.asarray(values, dtype=np.float64)
    low = values.min(axis=-1, keepdims=True)
    span = values.max(axis=-1, keepdims=True) - low
    return np.where(span > 0, (values - low) / np.where(span > 0, span, 1.0), 0.0)


def _share(values):
    """Each value as a share of the positive total along the last axis.

    Score drops stay in proportion: a nearly flat part stays nearly flat, a
    negative drop stays negative, and a part with no positive value maps to
    zeros.
    """
    values = np.asarray(values, dtype=np.float64)
    total = np.clip(values, 0, None).sum(axis=-1, keepdims=True)
    return np.where(total > 0, values / np.where(total > 0, total, 1.0), 0.0)


SCALES = {"share": _share, "minmax": _minmax}
CNN_IMPORTANCES = ("permutation", "integrated_gradients", "gradcam")
FUSIONS = ("model_split", "branch_weights")
# chosen by benchmarks/bench_faithfulness.py (the docs show the table)
DEFAULT_FUSION, DEFAULT_CNN_IMPORTANCE, DEFAULT_SCALE = (
    "model_split",
    "permutation",
    "share",
)


def _weighted_mean(per_row, weights):
    """(n_outputs, n_rows, n_features) values averaged over weighted rows."""
    return np.einsum("knp,n->kp", per_row, weights) / weights.sum()


def _drops_bunch(drops):
    """Score drops (n_features, n_repeats) as permutation_importance returns them."""
    return Bunch(
        importances_mean=drops.mean(axis=1),
        importances_std=drops.std(axis=1),
        importances=drops,
    )
