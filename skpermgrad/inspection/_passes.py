"""The passes over row blocks that every explanation of a fitted hybrid is
computed from: PermGrad's forward passes and integrated gradients through both
inputs, each run on a :class:`~skpermgrad.models.NetworkView`.

The scikit-learn-facing functions (:func:`~skpermgrad.permgrad_importance`,
:func:`~skpermgrad.explain_rows`) live in ``_permgrad.py`` and ``_local.py``.
"""

import sys

import numpy as np
from joblib import Parallel, delayed
from sklearn.utils import Bunch

IG_STEPS = 64  # Gauss-Legendre nodes of the integrated-gradients path


def _forward_passes(
    net,
    values,
    weights,
    groups,
    *,
    n_repeats,
    seed,
    permutation,
    image_permutation,
    batch_size,
    n_jobs,
    verbose,
):
    """Every network output PermGrad scores, in two passes over row blocks.

    Each of ``groups`` (index arrays over the columns) is permuted jointly:
    the same row order for all its columns.

    Pass 1 runs both branches once per block, the head on them (baseline) and
    the head on each permuted copy's MLP output next to the block's fixed CNN
    output (``permutation="branch"``; the whole network on permuted copies for
    ``"model"``); with ``image_permutation``, both branches run on each
    permuted copy and the head also on the copy's CNN output next to the
    block's fixed MLP output (``image_permuted``) and on both copies' outputs
    (``joint``: the whole network on the copy). Pass 2
    runs Grad-CAM (one tape per block) and, from the same forward pass, the
    head with the MLP silenced. The CNN-silenced head needs only stored MLP
    outputs. Means over rows (the ablation fills, heatmap, image) are weighted
    by ``weights``; Grad-CAM at the feature pixels is kept per row, shaped
    (n_outputs, n_samples, n_features). Blocks run in ``n_jobs`` threads; results are
    combined in block order, so they do not depend on ``n_jobs``.
    """
    n_samples, n_groups = len(values), len(groups)
    shuffler = np.random.RandomState(seed)
    order = np.array(
        [
            [shuffler.permutation(n_samples) for _ in range(n_repeats)]
            for _ in range(n_groups)
        ],
        dtype=np.intp,
    ).reshape(n_groups, n_repeats, n_samples)
    blocks = [slice(s, s + batch_size) for s in range(0, n_samples, batch_size)]
    parallel = Parallel(n_jobs=n_jobs, prefer="threads")

    def log(message):
        if verbose:
            print(f"[permgrad] {message}", file=sys.stderr, flush=True)

    def first(i, block):
        v = values[block]
        mlp, cnn = net.branches(v)
        shape = (n_groups, n_repeats, len(v), net.n_outputs)
        permuted = np.empty(shape, "float32")
        image_permuted = np.empty(shape if image_permutation else 0, "float32")
        joint = np.empty(shape if image_permutation else 0, "float32")
        copy = v.copy()
        for j, columns in enumerate(groups):
            for r in range(n_repeats):
                copy[:, columns] = values[order[j, r, block]][:, columns]
                if image_permutation:  # both branches on the copy, then 3 heads
                    mlp_copy, cnn_copy = net.branches(copy)
                    joint[j, r] = net.head(mlp_copy, cnn_copy)
                    image_permuted[j, r] = net.head(mlp, cnn_copy)
                    permuted[j, r] = (
                        net.head(mlp_copy, cnn)
                        if permutation == "branch"
                        else joint[j, r]
                    )
                else:
                    permuted[j, r] = (
                        net.permuted_head(copy, cnn)
                        if permutation == "branch"
                        else net.full(copy, copy)
                    )
            copy[:, columns] = v[:, columns]
        log(f"permutations: block {i + 1}/{len(blocks)}")
        return (
            mlp.numpy(),
            (weights[block, None] * cnn.numpy()).sum(axis=0),
            net.head(mlp, cnn).numpy(),
            permuted,
            image_permuted,
            joint,
        )

    mlp, cnn_sums, baseline, permuted, image_permuted, joint = zip(
        *parallel(delayed(first)(i, b) for i, b in enumerate(blocks))
    )
    mlp = np.concatenate(mlp)
    total = weights.sum(dtype=np.float64)
    # the MLP's outputs may be one per member, (n_samples, k, units)
    mlp_mean = (np.tensordot(weights, mlp, axes=1) / total)[None].astype("float32")
    cnn_mean = (np.sum(cnn_sums, axis=0) / total)[None].astype("float32")
    no_cnn = np.concatenate(
        [net.head(mlp[b], np.repeat(cnn_mean, len(mlp[b]), 0)) for b in blocks]
    )

    def second(i, block):
        cam, heat, image, no_mlp = (
            t.numpy() for t in net.gradcam(values[block], mlp_mean)
        )
        w = weights[block]
        log(f"Grad-CAM: block {i + 1}/{len(blocks)}")
        return (
            cam,
            np.einsum("kbs,b->ks", heat, w),
            np.einsum("bhw,b->hw", image, w),
            no_mlp,
        )

    cam, heat, image, no_mlp = zip(
        *parallel(delayed(second)(i, b) for i, b in enumerate(blocks))
    )
    return Bunch(
        baseline=np.concatenate(baseline),
        permuted=np.concatenate(permuted, axis=2),
        image_permuted=np.concatenate(image_permuted, axis=2)
        if image_permutation
        else None,
        joint=np.concatenate(joint, axis=2) if image_permutation else None,
        no_mlp=np.concatenate(no_mlp),
        no_cnn=no_cnn,
        gradcam=np.concatenate(cam, axis=1).astype(np.float64),
        heatmap=np.sum(heat, axis=0, dtype=np.float64) / total,
        mean_image=np.sum(image, axis=0, dtype=np.float64) / total,
    )


def _integrated_gradients(net, values, baselines, n_steps, batch_size, n_jobs):
    """Integrated gradients of every network output through both inputs.

    The path runs straight from a baseline row to each row, the same point fed
    to the tabular and the image input, and is integrated by Gauss-Legendre
    quadrature with ``n_steps`` nodes (all of a row's nodes in one batch, at
    most ``batch_size`` points a pass, a row's paths split over passes where
    they hold more). ``baselines``, one row or ``(n_baselines, n_features)``:
    each row's attributions are the mean over its paths from each of them
    (expected gradients, Erion et al. 2021; with one baseline, integrated
    gradients). Returns ``(mlp, cnn)``, each
    (n_outputs, n_samples, n_features): the attributions through the tabular
    input (the MLP branch) and through the image input (the CNN branch, via
    the in-graph drawing of the image, TINTO's blur included). Summed over
    features and both branches they give the output at the row minus the
    mean output at the baselines (completeness; Sundararajan et al. 2017), up
    to the quadrature error.
    """
    nodes, node_weights = np.polynomial.legendre.leggauss(n_steps)
    alphas = ((nodes + 1) / 2).astype("float32")
    node_weights = (node_weights / 2)[None, :, None, None, None]
    baselines = np.asarray(baselines, dtype="float32").reshape(-1, values.shape[1])
    n_baselines = len(baselines)
    rows_per_pass = max(1, batch_size // (n_steps * n_baselines))
    # a row's paths in passes of at most batch_size points (one path at least)
    per_pass = max(1, batch_size // n_steps)
    chunks = [baselines[s : s + per_pass] for s in range(0, n_baselines, per_pass)]

    def paths(block, starts):
        """Each row's attributions summed over its paths from ``starts``."""
        # (rows, starts, features): each row's step from each start
        diff = values[block][:, None, :] - starts[None]
        points = starts[None, None] + alphas[:, None, None, None] * diff[None]
        points = points.reshape(-1, values.shape[1])
        shape = (net.n_outputs, n_steps, *diff.shape)
        g_mlp, g_cnn = (g.numpy().reshape(shape) for g in net.gradients(points, points))
        return [
            ((node_weights * g).sum(axis=1) * diff).sum(axis=2) for g in (g_mlp, g_cnn)
        ]

    def one(block):
        sums = [paths(block, starts) for starts in chunks]
        return tuple(sum(parts) / n_baselines for parts in zip(*sums))

    blocks = [slice(s, s + rows_per_pass) for s in range(0, len(values), rows_per_pass)]
    mlp, cnn = zip(
        *Parallel(n_jobs=n_jobs, prefer="threads")(delayed(one)(b) for b in blocks)
    )
    return (
        np.concatenate(mlp, axis=1).astype(np.float64),
        np.concatenate(cnn, axis=1).astype(np.float64),
    )
