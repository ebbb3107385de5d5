"""How PermGrad's parts are scaled and combined: the scales, the options and
the defaults of the fused score, and the small reductions over rows."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import Interval, StrOptions

from .._validation import CNN_IMPORTANCES, FUSIONS


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
# chosen by benchmarks/bench_faithfulness.py (the docs show the table), as the
# fusion and the CNN part's defaults (skpermgrad/_validation.py) were
DEFAULT_SCALE = "share"


# The options permgrad_importance and PermGradExplainer share, constrained once.
EXPLANATION_CONSTRAINTS = {
    "scoring": [str, callable, None],
    "n_repeats": [Interval(Integral, 1, None, closed="left")],
    "n_bootstrap": [Interval(Integral, 2, None, closed="left")],
    "max_samples": [
        Interval(Integral, 1, None, closed="left"),
        Interval(Real, 0, 1, closed="right"),
    ],
    "permutation": [StrOptions({"branch", "model"})],
    "fusion": [StrOptions(set(FUSIONS))],
    "cnn_importance": [StrOptions(set(CNN_IMPORTANCES))],
    "scale": [StrOptions(set(SCALES))],
    "feature_groups": [dict, StrOptions({"auto"}), None],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "n_jobs": [Integral, None],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}


def _fuse(mlp, cnn, branch_drops, *, fusion, cnn_importance, scale):
    """The fused score, the MLP branch's weight and each branch's contribution.

    ``mlp``: (n_features, n_repeats) score drops of the MLP-branch
    permutation; ``cnn``: the CNN part, per ``fusion`` and ``cnn_importance``
    (for ``"model_split"``, the stacked image-permutation and whole-model
    drops); ``branch_drops``: the score drops of ablating each branch.
    """
    d_mlp, d_cnn = (max(d, 0.0) for d in branch_drops)
    w_mlp = d_mlp / (d_mlp + d_cnn) if d_mlp + d_cnn > 0 else 0.5
    to_scale = SCALES[scale]
    if fusion == "model_split":
        # the whole-model drop, split by the feature's own branch drops
        image, whole = cnn.mean(axis=2)
        via_mlp, via_cnn = np.clip(mlp.mean(axis=1), 0, None), np.clip(image, 0, None)
        both = via_mlp + via_cnn
        to_mlp = np.where(both > 0, via_mlp / np.where(both > 0, both, 1.0), 0.5)
        total = to_scale(whole)[None]
        contributions = Bunch(mlp=total * to_mlp, cnn=total * (1 - to_mlp))
        return total, w_mlp, contributions
    if cnn_importance == "permutation":  # one row, like one output
        cnn = cnn.mean(axis=1)[None]
    contributions = Bunch(
        mlp=w_mlp * to_scale(mlp.mean(axis=1)), cnn=(1 - w_mlp) * to_scale(cnn)
    )
    return contributions.mlp + contributions.cnn, w_mlp, contributions


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
