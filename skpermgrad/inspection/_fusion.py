"""How PermGrad's parts are scaled and combined: the scales, the options and
the defaults of the fused score, the small reductions over rows, and one rule
per fused score (the passes it needs, its CNN part, how it fuses)."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import Interval, StrOptions

from .._validation import CNN_IMPORTANCES, FUSIONS
from ._passes import IG_STEPS, _integrated_gradients


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


def _mlp_weight(branch_drops):
    """The MLP branch's weight: its share of the positive score drops of
    ablating each branch (0.5 where neither is positive)."""
    d_mlp, d_cnn = (max(d, 0.0) for d in branch_drops)
    return d_mlp / (d_mlp + d_cnn) if d_mlp + d_cnn > 0 else 0.5


class _Fusion:
    """One way of fusing PermGrad's parts: which passes it needs, its CNN part
    on a sample of rows, how it fuses the parts, and what it adds to the
    result. The subclasses are the fused scores of ``FUSIONS`` x
    ``CNN_IMPORTANCES`` (``_fusion_rule`` picks one)."""

    # the forward passes also permute each feature in the image input
    image_permutation = False
    # the CNN part that asks something of the image (None: nothing)
    image_need = None
    # the CNN part has one value per output (else one per feature)
    per_output = False

    def per_row(self, view, values, weights, gradcam_rows, membership, **passes):
        """The CNN part per output, row and feature, where it is a mean over
        rows (None: it is a score drop)."""
        return None

    def cnn_part(self, drops, outputs, per_row, rows, row_weights):
        """The CNN part on ``rows``; ``drops(raw)`` scores network outputs."""
        raise NotImplementedError

    def fuse(self, mlp, cnn, branch_drops, scale):
        """The fused score, the MLP branch's weight and each branch's
        contribution, from the MLP branch's (n_features, n_repeats) score
        drops, the CNN part and the score drops of ablating each branch."""
        w_mlp, to_scale = _mlp_weight(branch_drops), SCALES[scale]
        cnn = self._cnn_to_fuse(cnn)
        contributions = Bunch(
            mlp=w_mlp * to_scale(mlp.mean(axis=1)), cnn=(1 - w_mlp) * to_scale(cnn)
        )
        return contributions.mlp + contributions.cnn, w_mlp, contributions

    def _cnn_to_fuse(self, cnn):
        return cnn

    def store(self, result, cnn):
        """Add the CNN part to ``result``, as computed on every row."""


class _ModelSplit(_Fusion):
    """The whole-model permutation drop, split between the branches by the
    feature's own positive drops through each (``fusion="model_split"``)."""

    image_permutation = True

    def cnn_part(self, drops, outputs, per_row, rows, row_weights):
        return np.stack([drops(outputs.image_permuted), drops(outputs.joint)])

    def fuse(self, mlp, cnn, branch_drops, scale):
        image, whole = cnn.mean(axis=2)
        via_mlp, via_cnn = np.clip(mlp.mean(axis=1), 0, None), np.clip(image, 0, None)
        both = via_mlp + via_cnn
        to_mlp = np.where(both > 0, via_mlp / np.where(both > 0, both, 1.0), 0.5)
        total = SCALES[scale](whole)[None]
        contributions = Bunch(mlp=total * to_mlp, cnn=total * (1 - to_mlp))
        return total, _mlp_weight(branch_drops), contributions

    def store(self, result, cnn):
        result.image_permutation = _drops_bunch(cnn[0])
        result.model_permutation = _drops_bunch(cnn[1])


class _ImagePermutation(_Fusion):
    """Branch weights over the MLP's and the image input's permutation drops."""

    image_permutation = True

    def cnn_part(self, drops, outputs, per_row, rows, row_weights):
        return drops(outputs.image_permuted)

    def _cnn_to_fuse(self, cnn):
        return cnn.mean(axis=1)[None]  # one row, like one output

    def store(self, result, cnn):
        result.image_permutation = _drops_bunch(cnn)


class _GradCAM(_Fusion):
    """Branch weights over the MLP's permutation drops and Grad-CAM at the
    feature pixels, per output (PermGrad as published)."""

    image_need = "gradcam"
    per_output = True

    def per_row(self, view, values, weights, gradcam_rows, membership, **passes):
        return gradcam_rows

    def cnn_part(self, drops, outputs, per_row, rows, row_weights):
        return _weighted_mean(per_row[:, rows], row_weights)


class _IntegratedGradients(_GradCAM):
    """Branch weights over the MLP's permutation drops and the mean absolute
    integrated gradient through the image input."""

    image_need = "integrated_gradients"
    per_output = False

    def per_row(self, view, values, weights, gradcam_rows, membership, **passes):
        mean = weights @ values / weights.sum()
        _, image = _integrated_gradients(view, values, mean, IG_STEPS, **passes)
        return np.abs(image @ membership).mean(axis=0, keepdims=True)

    def store(self, result, cnn):
        result.integrated_gradients = cnn[0]


def _fusion_rule(fusion, cnn_importance):
    """The rule of the fused score ``fusion`` with the CNN part
    ``cnn_importance`` (which ``"model_split"`` does not read)."""
    if fusion == "model_split":
        return _ModelSplit()
    return {
        "permutation": _ImagePermutation,
        "gradcam": _GradCAM,
        "integrated_gradients": _IntegratedGradients,
    }[cnn_importance]()
