"""PermGrad: permutation importance through the MLP branch, Grad-CAM of the CNN
branch, fused by branch weights from ablating each branch at the concatenation."""

import sys
import warnings
from functools import partial
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import is_classifier
from sklearn.metrics import check_scoring, log_loss, make_scorer
from sklearn.pipeline import Pipeline
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_params,
)
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_consistent_length,
    check_is_fitted,
)

from .. import models as arch  # the public layer names
from ._groups import auto_groups, resolve_groups

_NEEDED_LAYERS = (
    arch.INPUT_TABULAR,
    arch.INPUT_IMAGE,
    arch.IMAGE,
    arch.MLP_OUTPUT,
    arch.LAST_CONV,
    arch.CNN_OUTPUT,
    arch.CONCATENATE,
    arch.OUTPUT,
)


class _Responses:
    """Stands in for the hybrid in a scorer, answering with precomputed outputs.

    Scorers call ``predict``/``predict_proba`` on an estimator; here the network's
    raw outputs were computed beforehand (from permuted or ablated inputs) and are
    only decoded, exactly as the hybrid's own ``predict`` would.
    """

    def __init__(self, estimator, raw):
        self.estimator, self.raw = estimator, raw
        if is_classifier(estimator):
            self.classes_ = estimator.classes_

    def __sklearn_tags__(self):
        return self.estimator.__sklearn_tags__()

    def predict(self, X):
        return self.estimator.target_encoder_.inverse_transform(self.raw)

    def predict_proba(self, X):
        return self.estimator.target_encoder_.inverse_transform(
            self.raw, return_proba=True
        )


def _split_pipeline(estimator, X):
    """The fitted hybrid at the end of ``estimator``, X as that step sees it,
    the names of that step's input columns (None when unknown) and the steps
    before it (None for a bare hybrid)."""
    if not isinstance(estimator, Pipeline):
        return estimator, X, None, None
    Xt = X
    for _, step in estimator.steps[:-1]:
        if step is not None and step != "passthrough":
            Xt = step.transform(Xt)
    names = None
    if len(estimator.steps) > 1:
        try:
            names = list(estimator[:-1].get_feature_names_out())
        except (AttributeError, ValueError):
            names = None
    pre = estimator[:-1] if len(estimator.steps) > 1 else None
    return estimator.steps[-1][1], Xt, names, pre


def _check_hybrid(model_owner):
    check_is_fitted(model_owner)
    model = getattr(model_owner, "model_", None)
    if model is None or not hasattr(model_owner, "feature_encoder_"):
        raise TypeError(
            "permgrad_importance explains a fitted HybridRegressor or HybridClassifier "
            f"(or a Pipeline ending in one), got {type(model_owner).__name__}."
        )
    have = {layer.name for layer in model.layers}
    missing = [name for name in _NEEDED_LAYERS if name not in have]
    if missing:
        raise ValueError(
            f"The model has no layer(s) {missing}: PermGrad needs the hybrid network "
            "with both branches (branches='both'), whose layers carry the names "
            f"{list(_NEEDED_LAYERS)}."
        )
    return model


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


class _Network:
    """Compiled pieces of a fitted hybrid network, looked up by layer name.

    ``branches(v)`` gives both branch outputs; ``head(m, c)`` the network output
    from branch outputs; ``permuted_head(v, c)`` the output for MLP input ``v``
    next to given CNN outputs ``c`` (permutations with the image held fixed);
    ``full(t, i)`` the whole network with separate tabular/image inputs;
    ``gradcam(v, m)`` per output and row: Grad-CAM at the feature pixels
    (the mean over each feature's ``zoom x zoom`` block) and the whole
    upsampled map, and per row the image (mean over channels) and the head's
    output with MLP outputs ``m`` next to the CNN's own; ``gradients(t, i)``
    each output's gradient with respect to the tabular and the image input.
    Each is one
    ``tf.function`` traced once for any batch size.
    """

    def __init__(self, model, positions, image_side, n_outputs, zoom=1):
        import keras
        import tensorflow as tf

        layer = model.get_layer
        tabular = layer(arch.INPUT_TABULAR).output
        image_values = layer(arch.INPUT_IMAGE).output
        mlp_out, cnn_out = layer(arch.MLP_OUTPUT).output, layer(arch.CNN_OUTPUT).output
        concat = layer(arch.CONCATENATE)
        if concat.input[0] is not mlp_out or concat.input[1] is not cnn_out:
            raise ValueError(
                f"The {arch.CONCATENATE!r} layer must join [{arch.MLP_OUTPUT!r}, "
                f"{arch.CNN_OUTPUT!r}] in that order, as build_hybrid_model does."
            )
        mlp = keras.Model(tabular, mlp_out)
        cnn = keras.Model(image_values, cnn_out)
        head = keras.Model(concat.output, model.output)
        # Grad-CAM targets the class score before a softmax/sigmoid (Selvaraju
        # et al.): the output layer's logits, when it is a Dense with one.
        output = layer(arch.OUTPUT)
        squashed = getattr(getattr(output, "activation", None), "__name__", "") in (
            "softmax",
            "sigmoid",
        )
        logits_from = output.input if squashed else model.output
        conv = keras.Model(
            image_values,
            [layer(arch.IMAGE).output, layer(arch.LAST_CONV).output, cnn_out],
        )
        to_logits = keras.Model(concat.output, logits_from)

        def logits(h):
            h = to_logits(h, training=False)
            if squashed:
                h = tf.matmul(h, output.kernel)
                if output.bias is not None:
                    h = h + output.bias
            return h

        n_features = len(positions)
        # each feature's pixel is a zoom x zoom block from its top-left corner:
        # Grad-CAM is read as the mean over the block (its centre for zoom 2+)
        offsets = np.arange(zoom)
        rows = positions[:, 0, None, None] + offsets[None, :, None]
        cols = positions[:, 1, None, None] + offsets[None, None, :]
        block = tf.constant((rows * image_side + cols).reshape(n_features, -1))
        values = tf.TensorSpec((None, n_features), tf.float32)
        width = tf.TensorSpec((None, None), tf.float32)

        def branches(v):
            return mlp(v, training=False), cnn(v, training=False)

        def head_fn(m, c):
            return head(tf.concat([m, c], axis=1), training=False)

        def permuted_head(v, c):
            return head(tf.concat([mlp(v, training=False), c], axis=1), training=False)

        def full(t, i):
            return model({arch.INPUT_TABULAR: t, arch.INPUT_IMAGE: i}, training=False)

        def gradcam(v, mlp_fill):
            with tf.GradientTape(persistent=True) as tape:
                image, fmap, c = conv(v, training=False)
                m = mlp(v, training=False)
                scores = logits(tf.concat([m, c], axis=1))
                targets = [scores[:, k] for k in range(n_outputs)]
            rows, maps = [], []
            for target in targets:
                alpha = tf.reduce_mean(tape.gradient(target, fmap), axis=(1, 2))
                cam = tf.nn.relu(tf.einsum("bhwc,bc->bhw", fmap, alpha))
                cam = tf.image.resize(cam[..., None], (image_side, image_side))
                cam = tf.reshape(cam, (-1, image_side * image_side))
                rows.append(tf.reduce_mean(tf.gather(cam, block, axis=1), axis=2))
                maps.append(cam)
            del tape
            fill = tf.broadcast_to(mlp_fill, tf.shape(m))
            no_mlp = head(tf.concat([fill, c], axis=1), training=False)
            image = tf.reduce_mean(image, axis=-1)
            return tf.stack(rows), tf.stack(maps), image, no_mlp

        def gradients(t, i):
            with tf.GradientTape(persistent=True) as tape:
                tape.watch(t)
                tape.watch(i)
                out = full(t, i)
                targets = [out[:, k] for k in range(n_outputs)]
            grads = [tape.gradient(target, [t, i]) for target in targets]
            del tape
            return tf.stack([g[0] for g in grads]), tf.stack([g[1] for g in grads])

        def compiled(fn, *specs):
            # tf.function counts traces per code object, so the same closures
            # made anew for each explained model would warn of "retracing in a
            # loop"; a partial is counted by itself: one trace per network.
            return tf.function(partial(fn), input_signature=list(specs))

        self.branches = compiled(branches, values)
        self.head = compiled(head_fn, width, width)
        self.permuted_head = compiled(permuted_head, values, width)
        self.full = compiled(full, values, values)
        self.gradcam = compiled(gradcam, values, width)
        self.gradients = compiled(gradients, values, values)
        self.n_outputs = n_outputs


def _forward_passes(
    net,
    values,
    weights,
    groups,
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
    mlp_mean = (weights @ mlp / total)[None].astype("float32")
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


def _network_rows(estimator, X):
    """The checked hybrid at the end of ``estimator``, ``X`` as its network
    reads it (scaled values), the names of its input columns (None when
    unknown) and the Pipeline steps before it (None for a bare hybrid)."""
    hybrid, Xt, names, pre = _split_pipeline(estimator, X)
    _check_hybrid(hybrid)
    # SciKeras hands its encoder plain arrays (it checks column names itself)
    values = hybrid.feature_encoder_.imager_.transform_values(
        check_array(Xt, dtype=np.float64)
    )
    return hybrid, values, names, pre


def _prepare(estimator, X, feature_groups):
    """What every explanation of a fitted hybrid starts from.

    The hybrid (checked), the rows as its network reads them (scaled values,
    ``rows``), the names of its input columns, the groups (``feature_groups``
    resolved) with a (n_columns, n_groups) 0/1 ``membership`` matrix that sums
    a per-column attribution over each group, and the compiled network.
    """
    hybrid, values, names, pre = _network_rows(estimator, X)
    imager = hybrid.feature_encoder_.imager_
    if names is None:
        names = (
            list(hybrid.feature_names_in_)
            if hasattr(hybrid, "feature_names_in_")
            else [f"x{i}" for i in range(values.shape[1])]
        )
    if isinstance(feature_groups, str):  # "auto"
        feature_groups = (
            None
            if pre is None
            else auto_groups(
                pre,
                list(estimator.feature_names_in_)
                if hasattr(estimator, "feature_names_in_")
                else [f"x{i}" for i in range(np.shape(X)[1])],
            )
        )
    group_names, groups = resolve_groups(feature_groups, names)
    membership = np.zeros((values.shape[1], len(groups)))
    for g, columns in enumerate(groups):
        membership[columns, g] = 1.0
    n_outputs = len(hybrid.classes_) if is_classifier(hybrid) else 1
    side = imager.image_shape_[0]
    return Bunch(
        hybrid=hybrid,
        imager=imager,
        rows=values,
        groups=groups,
        membership=membership,
        feature_names=np.asarray(group_names, dtype=object),
        feature_groups=dict(zip(group_names, (np.asarray(names)[c] for c in groups))),
        encoded_feature_names=np.asarray(names, dtype=object),
        image_side=side,
        network=_Network(
            hybrid.model_, imager.feature_positions_, side, n_outputs, zoom=imager.zoom
        ),
    )


IG_STEPS = 64  # Gauss-Legendre nodes of the integrated-gradients path


def _integrated_gradients(net, values, baseline, n_steps, batch_size, n_jobs):
    """Integrated gradients of every network output through both inputs.

    The path runs straight from ``baseline`` to each row, the same point fed
    to the tabular and the image input, and is integrated by Gauss-Legendre
    quadrature with ``n_steps`` nodes (all of a row's nodes in one batch, at
    most ``batch_size`` points a pass). Returns ``(mlp, cnn)``, each
    (n_outputs, n_samples, n_features): the attributions through the tabular
    input (the MLP branch) and through the image input (the CNN branch, via
    the in-graph TINTO rendering, blur included). Summed over features and
    both branches they give the output at the row minus the output at the
    baseline (completeness; Sundararajan et al. 2017), up to the quadrature
    error.
    """
    nodes, node_weights = np.polynomial.legendre.leggauss(n_steps)
    alphas = ((nodes + 1) / 2).astype("float32")
    node_weights = (node_weights / 2)[None, :, None, None]
    baseline = np.asarray(baseline, dtype="float32").reshape(1, -1)
    rows_per_pass = max(1, batch_size // n_steps)

    def one(block):
        diff = values[block] - baseline
        points = baseline[None] + alphas[:, None, None] * diff[None]
        points = points.reshape(-1, diff.shape[1])
        shape = (net.n_outputs, n_steps, *diff.shape)
        g_mlp, g_cnn = (g.numpy().reshape(shape) for g in net.gradients(points, points))
        return (
            (node_weights * g_mlp).sum(axis=1) * diff,
            (node_weights * g_cnn).sum(axis=1) * diff,
        )

    blocks = [slice(s, s + rows_per_pass) for s in range(0, len(values), rows_per_pass)]
    mlp, cnn = zip(
        *Parallel(n_jobs=n_jobs, prefer="threads")(delayed(one)(b) for b in blocks)
    )
    return (
        np.concatenate(mlp, axis=1).astype(np.float64),
        np.concatenate(cnn, axis=1).astype(np.float64),
    )


@validate_params(
    {
        "estimator": [HasMethods(["fit", "predict"])],
        "X": ["array-like"],
        "y": ["array-like"],
        "scoring": [callable, str, None],
        "n_repeats": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "sample_weight": ["array-like", None],
        "max_samples": [
            Interval(Integral, 1, None, closed="left"),
            Interval(Real, 0, 1, closed="right"),
        ],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "permutation": [StrOptions({"branch", "model"})],
        "fusion": [StrOptions(set(FUSIONS))],
        "cnn_importance": [StrOptions(set(CNN_IMPORTANCES))],
        "scale": [StrOptions(set(SCALES))],
        "n_bootstrap": [Interval(Integral, 2, None, closed="left")],
        "confidence_level": [Interval(Real, 0, 1, closed="neither")],
        "zero_tolerance": [Interval(Real, 0, 1, closed="left")],
        "feature_groups": [dict, StrOptions({"auto"}), None],
        "verbose": ["verbose"],
    },
    prefer_skip_nested_validation=True,
)
def permgrad_importance(
    estimator,
    X,
    y,
    *,
    scoring=None,
    n_repeats: int = 5,
    n_jobs: int | None = None,
    random_state=None,
    sample_weight=None,
    max_samples: float = 1.0,
    batch_size: int = 1024,
    permutation: str = "branch",
    fusion: str = DEFAULT_FUSION,
    cnn_importance: str = DEFAULT_CNN_IMPORTANCE,
    scale: str = DEFAULT_SCALE,
    n_bootstrap: int = 100,
    confidence_level: float = 0.95,
    zero_tolerance: float = 0.01,
    feature_groups: dict | str | None = "auto",
    verbose: int = 0,
) -> Bunch:
    """PermGrad feature importance of a fitted hybrid network.

    Four parts, each computed once over the rows given:

    1. **Permutation** through the MLP branch: one column of the ``tabular``
       input is permuted while the image input stays fixed; the importance is
       the drop of the score, over ``n_repeats`` permutations. The CNN branch
       runs once per row: only the MLP and the head see the permuted copies.
    2. **The CNN branch's part** (``cnn_importance``): by default the mirror
       of the first, the score drop when the column is permuted in the image
       input only, the MLP's input held fixed. ``"integrated_gradients"``:
       the mean absolute integrated gradient of the output through the image
       input, whose TINTO rendering is part of the graph, so each feature's
       value is attributed exactly. ``"gradcam"`` (PermGrad as published):
       Grad-CAM of the ``last_conv`` layer per output (per class for a
       classifier, from that class's score before the softmax), upsampled
       bilinearly to the image size and read at each feature's pixel (the
       mean over its ``zoom x zoom`` block), averaged over rows. Grad-CAM is
       computed whichever part is fused (``result.gradcam``).
    3. **Branch weights** from ablation at the concatenation: each branch's
       output is replaced by its mean over the rows and the score drop
       ``d_mlp``, ``d_cnn`` is measured;
       ``w_mlp = max(d_mlp, 0) / (max(d_mlp, 0) + max(d_cnn, 0))`` and
       ``w_cnn = 1 - w_mlp``. The ratio does not depend on the scale of the
       score. When neither drop is positive the weights are undefined: they
       are set to 0.5 with a warning, and ``branch_weights_defined`` is False.
    4. **Fused score** (``fusion``). ``"model_split"`` (default): the score
       drop when the column is permuted in both inputs at once (the feature's
       importance to the whole network, what
       :func:`sklearn.inspection.permutation_importance` measures), on the
       ``scale``, split between the branches in proportion to the feature's
       positive drops through each branch alone (parts 1 and 2 with
       ``cnn_importance="permutation"``). The two branches of a trained hybrid
       often model a feature in opposite directions that cancel; a score built
       from each branch alone then credits a feature the whole network hardly
       uses. ``"branch_weights"`` (PermGrad's formula):
       ``w_mlp * scale(mlp part) + w_cnn * scale(cnn part)``.
       ``scale="share"`` divides a vector by the sum of its positive values,
       so it keeps its proportions: a nearly flat part adds nearly the same to
       every feature, and a feature whose permutation does not lower the score
       gets about 0. ``scale="minmax"`` maps it to [0, 1], which stretches a
       nearly flat part to the full range. The defaults are the most faithful
       in the faithfulness benchmark (``benchmarks/bench_faithfulness.py``);
       ``fusion="branch_weights", cnn_importance="gradcam", scale="minmax"``
       reproduces PermGrad as published.

    **Uncertainty**: ``n_bootstrap`` draws resample the rows (with
    replacement; only rows of positive weight) and pick one of the
    ``n_repeats`` permutations per feature, and recompute every part, the
    branch weights and the fused score from the stored network outputs (no
    network pass). Their standard deviation and
    percentile interval are returned. A feature whose interval reaches below
    ``zero_tolerance`` times the fused total (the sum of the positive fused
    scores; 1 with ``scale="share"``) is flagged as indistinguishable from
    zero: a network also leans a little on noise columns, and with enough
    rows even a 0.1% share is statistically above 0, but it is not a finding.

    Parameters
    ----------
    estimator : HybridRegressor, HybridClassifier or Pipeline
        Fitted, with ``branches="both"``; a Pipeline's earlier steps transform
        ``X`` first.
    X : array-like of shape (n_samples, n_features)
        Rows to explain on (held-out rows are best).
    y : array-like of shape (n_samples,)
        Their targets.
    scoring : str, callable or None, default=None
        A scikit-learn scorer (higher is better). ``None``: R² for a regressor;
        the negative log loss over the classifier's ``classes_`` for a
        classifier (accuracy changes only when a prediction flips, so its drops
        are often 0 on every feature and for both branches).
    n_repeats : int, default=5
        Permutations per feature.
    n_jobs : int or None, default=None
        Threads running row blocks side by side (``-1``: all cores). TensorFlow
        already spreads each forward pass over the cores, so this helps most
        with small networks, whose passes are short. Results do not depend on
        it.
    random_state : int, RandomState instance or None, default=None
        Seeds the permutations, the row subsample and the bootstrap.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative row weights: of the scores, and of every mean over rows
        (the branch ablation's fills, Grad-CAM, integrated gradients and their
        baseline, the heatmap and mean image).
    max_samples : int or float, default=1.0
        Rows used: a count, or a fraction of ``n_samples``.
    batch_size : int, default=1024
        Rows per block: every forward pass and every gradient tape sees at
        most this many rows (integrated gradients: path points).
    permutation : {"branch", "model"}, default="branch"
        ``"branch"`` (PermGrad) permutes the column in the MLP's input only.
        ``"model"`` permutes it in both inputs, so the image is re-drawn from the
        permuted value too: the importance of the feature to the whole network,
        which is what :func:`sklearn.inspection.permutation_importance` measures
        (computed here in the same batched way, and with the CNN run on every
        permuted copy, so it is slower).
    fusion : {"model_split", "branch_weights"}, default="model_split"
        How the parts make the fused score (see above).
    cnn_importance : {"permutation", "integrated_gradients", "gradcam"}, \
default="permutation"
        The CNN branch's part of the fused score with
        ``fusion="branch_weights"`` (see above; ``"model_split"`` always uses
        the permutation). The first two are one score for all classes;
        ``"gradcam"`` gives one per class.
    scale : {"share", "minmax"}, default="share"
        How each part is put on the common scale before the branch weights
        apply (see above).
    n_bootstrap : int, default=100
        Bootstrap draws for the standard deviations and intervals.
    confidence_level : float, default=0.95
        Coverage of the percentile intervals.
    zero_tolerance : float, default=0.01
        Share of the fused total below which an importance counts as zero for
        ``indistinguishable_from_zero`` (0: the interval must reach 0 itself).
    feature_groups : "auto", dict or None, default="auto"
        Columns explained together: each group's columns are permuted jointly
        (one row order for all), its integrated gradients and Grad-CAM values
        summed, and it is reported once under its name. A dict maps a name to
        the hybrid's input columns (names or indices); columns in no group
        stand alone. ``"auto"``: when ``estimator`` is a Pipeline whose
        earlier steps (a :class:`~sklearn.preprocessing.OneHotEncoder`, a
        :class:`~sklearn.compose.ColumnTransformer`, Pipelines of them, and
        one-column-in, one-column-out steps such as scalers and imputers)
        turned one of the user's columns into several, one group per user
        column, named like it; otherwise no groups. ``None``: every input
        column of the hybrid alone.
    verbose : int, default=0
        Print progress per block of rows to stderr when > 0.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        - ``importances``: the fused score, (n_features,), or
          (n_classes, n_features) for a classifier with
          ``fusion="branch_weights", cnn_importance="gradcam"``;
        - ``importances_std``, ``importances_ci``: its bootstrap standard
          deviation (shaped like ``importances``) and interval (that shape
          plus a last axis of 2: low, high);
        - ``indistinguishable_from_zero``: bool, shaped like ``importances``:
          the interval reaches below ``zero_tolerance`` of the fused total;
        - ``branch_contributions``: ``{"mlp": ..., "cnn": ...}``, the two
          weighted, scaled parts that sum to ``importances``;
        - ``permutation``: Bunch of ``importances_mean``, ``importances_std``
          (n_features,) and ``importances`` (n_features, n_repeats);
        - ``image_permutation``: the same for the column permuted in the
          image input only (``fusion="model_split"`` or
          ``cnn_importance="permutation"``);
        - ``model_permutation``: the same for the column permuted in both
          inputs (``fusion="model_split"``);
        - ``integrated_gradients``: the mean absolute attribution through the
          image input (n_features,), over rows and a classifier's classes
          (``cnn_importance="integrated_gradients"`` only);
        - ``gradcam``: (n_features,) for a regressor, (n_classes, n_features)
          for a classifier;
        - ``branch_weights``: ``{"mlp": w, "cnn": 1 - w}``;
        - ``branch_score_drops``: ``{"mlp": d_mlp, "cnn": d_cnn}``;
        - ``branch_weights_defined``: False when neither drop was positive
          (the weights are then 0.5 each, with a warning);
        - ``fusion``, ``cnn_importance``, ``scale``, ``confidence_level``,
          ``zero_tolerance``: as used;
        - ``feature_names``: ndarray of str, one per group (per column
          without groups); ``classes`` for a classifier;
        - ``feature_groups``: each name's input columns of the hybrid;
        - ``encoded_feature_names``: the hybrid's input columns, in the order
          of ``feature_positions``;
        - ``heatmap``: the mean upsampled Grad-CAM map, (height, width) for a
          regressor, (n_classes, height, width) for a classifier;
        - ``mean_image``: the mean TINTO image (height, width);
        - ``feature_positions``: each input column's pixel (row, col),
          (n_encoded_features, 2).

    See Also
    --------
    sklearn.inspection.permutation_importance : Permutation importance of any
        model, re-running its whole ``predict``.
    explain_rows : Each row's attribution, through both branches.

    References
    ----------
    .. [1] Sundararajan, Taly and Yan, "Axiomatic Attribution for Deep
       Networks", ICML 2017 (integrated gradients).
    .. [2] Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks
       via Gradient-based Localization", ICCV 2017.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skpermgrad import HybridRegressor, TintoImager, permgrad_importance
    >>> X, y = make_regression(80, 5, random_state=0)
    >>> reg = HybridRegressor(TintoImager(pixels=4), n_conv_layers=1, epochs=3,
    ...                       random_state=0).fit(X, y)
    >>> result = permgrad_importance(reg, X, y, n_repeats=2, random_state=0)
    >>> result.importances.shape, result.importances_ci.shape
    ((5,), (5, 2))
    >>> round(sum(result.branch_weights.values()), 6)
    1.0
    """
    check_consistent_length(X, y, *([] if sample_weight is None else [sample_weight]))
    setup = _prepare(estimator, X, feature_groups)
    hybrid, values, groups = setup.hybrid, setup.rows, setup.groups
    membership = setup.membership
    y = np.asarray(y)
    if sample_weight is not None:
        sample_weight = _check_sample_weight(
            sample_weight, values, dtype=np.float64, ensure_non_negative=True
        )

    rng = check_random_state(random_state)
    n_samples = len(values)
    n_rows = (
        max_samples
        if isinstance(max_samples, Integral)
        else int(max_samples * n_samples)
    )
    if n_rows > n_samples:
        raise ValueError(
            f"max_samples={max_samples} is more than the {n_samples} rows."
        )
    if n_rows < 1:
        raise ValueError(
            f"max_samples={max_samples} selects no row of the {n_samples} given; "
            "pass a row count (an int >= 1) or a larger fraction."
        )
    if n_rows < n_samples:
        rows = rng.choice(n_samples, n_rows, replace=False)
        values, y = values[rows], y[rows]
        sample_weight = None if sample_weight is None else sample_weight[rows]
    seed = rng.randint(2**31 - 1)
    weights = (np.ones(len(values)) if sample_weight is None else sample_weight).astype(
        np.float64
    )

    r2 = not is_classifier(hybrid) and scoring in (None, "r2")
    if scoring is None:  # R², or the log loss: accuracy rarely moves
        scoring = (
            make_scorer(
                log_loss,
                greater_is_better=False,
                response_method="predict_proba",
                labels=hybrid.classes_,
            )
            if is_classifier(hybrid)
            else "r2"
        )
    scorer = check_scoring(hybrid, scoring=scoring)
    if r2 and len(y) > 1 and np.ptp(y.astype(float)) == 0:
        raise ValueError(
            f"y is constant ({y[0]}) on the {len(y)} rows explained: R² and every "
            "score drop are undefined (scikit-learn's R² reports 0 whatever the "
            "predictions). Explain on rows whose targets vary."
        )

    net, side = setup.network, setup.image_side
    outputs = _forward_passes(
        net,
        values,
        weights.astype("float32"),
        groups,
        n_repeats,
        seed,
        permutation,
        fusion == "model_split" or cnn_importance == "permutation",
        batch_size,
        n_jobs,
        verbose,
    )
    gradcam_rows = outputs.gradcam @ membership  # per output, row and group
    if fusion == "branch_weights" and cnn_importance == "integrated_gradients":
        _, image_attributions = _integrated_gradients(
            net, values, weights @ values / weights.sum(), IG_STEPS, batch_size, n_jobs
        )
        per_row = np.abs(image_attributions @ membership).mean(axis=0, keepdims=True)
    elif fusion == "branch_weights" and cnn_importance == "gradcam":
        per_row = gradcam_rows

    def parts(rows, repeats):
        """Every part on ``rows``: all repeats' drops, or one per feature."""
        row_weights = weights[rows]
        fit = {} if sample_weight is None else {"sample_weight": row_weights}

        def score(raw):
            return scorer(
                _Responses(hybrid, raw[..., rows, :]), values[rows], y[rows], **fit
            )

        baseline = score(outputs.baseline)
        if repeats is None and not np.isfinite(baseline):
            raise ValueError(
                f"The model's score on the {len(rows)} row(s) explained is "
                f"{baseline} (undefined: e.g. R² of fewer than 2 rows), so no "
                "score drop can be measured. Explain on more rows, or pass a "
                "scoring defined on them."
            )

        def drops(permuted):
            if repeats is None:
                return np.array(
                    [[baseline - score(raw) for raw in f] for f in permuted]
                )
            return np.array(
                [baseline - score(permuted[j, r]) for j, r in enumerate(repeats)]
            )[:, None]

        mlp = drops(outputs.permuted)
        if fusion == "model_split":  # (image permutation, whole-model) drops
            cnn = np.stack([drops(outputs.image_permuted), drops(outputs.joint)])
        elif cnn_importance == "permutation":
            cnn = drops(outputs.image_permuted)
        else:
            cnn = _weighted_mean(per_row[:, rows], row_weights)
        branch_drops = (
            baseline - score(outputs.no_mlp),
            baseline - score(outputs.no_cnn),
        )
        return mlp, cnn, branch_drops

    def fuse(mlp, cnn, branch_drops):
        d_mlp, d_cnn = (max(d, 0.0) for d in branch_drops)
        w_mlp = d_mlp / (d_mlp + d_cnn) if d_mlp + d_cnn > 0 else 0.5
        to_scale = SCALES[scale]
        if fusion == "model_split":
            # the whole-model drop, split by the feature's own branch drops
            image, whole = cnn.mean(axis=2)
            via_mlp, via_cnn = (
                np.clip(mlp.mean(axis=1), 0, None),
                np.clip(image, 0, None),
            )
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

    mlp_drops, cnn_values, branch_drops = parts(np.arange(len(values)), None)
    fused, w_mlp, contributions = fuse(mlp_drops, cnn_values, branch_drops)
    weights_defined = bool(max(branch_drops[0], 0) + max(branch_drops[1], 0) > 0)
    if not weights_defined:
        warnings.warn(
            f"Neither branch's ablation lowered the score (drops: MLP "
            f"{branch_drops[0]:.4g}, CNN {branch_drops[1]:.4g}), so the branch "
            "weights are undefined and set to 0.5/0.5 "
            "(result.branch_weights_defined is False). Explain on more rows, or "
            "with a scoring that the model's outputs move (e.g. the log loss).",
            UserWarning,
            stacklevel=3,  # the caller of permgrad_importance's validation wrapper
        )

    boot = np.random.RandomState(seed)
    weighted = np.flatnonzero(weights > 0)  # a zero-weight row changes nothing
    draws = np.array(
        [
            fuse(
                *parts(
                    boot.choice(weighted, size=len(weighted)),
                    boot.randint(n_repeats, size=len(groups)),
                )
            )[0]
            for _ in range(n_bootstrap)
        ]
    )
    tail = 100 * (1 - confidence_level) / 2
    interval = np.moveaxis(np.percentile(draws, [tail, 100 - tail], axis=0), 0, -1)

    per_class = (
        is_classifier(hybrid)
        and fusion == "branch_weights"
        and cnn_importance == "gradcam"
    )
    floor = zero_tolerance * np.clip(fused, 0, None).sum(axis=-1, keepdims=True)

    def squeezed(a, per_output=per_class):  # drop a one-output axis
        return np.asarray(a) if per_output else np.asarray(a)[0]

    gradcam = squeezed(_weighted_mean(gradcam_rows, weights), is_classifier(hybrid))
    heatmap = outputs.heatmap.reshape(-1, side, side)
    result = Bunch(
        importances=squeezed(fused),
        importances_std=squeezed(draws.std(axis=0)),
        importances_ci=squeezed(interval),
        indistinguishable_from_zero=squeezed(interval[..., 0] <= floor),
        branch_contributions=Bunch(
            mlp=squeezed(np.broadcast_to(contributions.mlp, fused.shape)),
            cnn=squeezed(contributions.cnn),
        ),
        permutation=_drops_bunch(mlp_drops),
        gradcam=gradcam,
        branch_weights={"mlp": float(w_mlp), "cnn": float(1 - w_mlp)},
        branch_score_drops={
            "mlp": float(branch_drops[0]),
            "cnn": float(branch_drops[1]),
        },
        branch_weights_defined=weights_defined,
        fusion=fusion,
        cnn_importance=cnn_importance,
        scale=scale,
        confidence_level=confidence_level,
        zero_tolerance=zero_tolerance,
        feature_names=setup.feature_names,
        feature_groups=setup.feature_groups,
        encoded_feature_names=setup.encoded_feature_names,
        heatmap=squeezed(heatmap, is_classifier(hybrid)),
        mean_image=outputs.mean_image.reshape(side, side),
        feature_positions=setup.imager.feature_positions_.copy(),
    )
    if fusion == "model_split":
        result.image_permutation = _drops_bunch(cnn_values[0])
        result.model_permutation = _drops_bunch(cnn_values[1])
    elif cnn_importance == "permutation":
        result.image_permutation = _drops_bunch(cnn_values)
    elif cnn_importance == "integrated_gradients":
        result.integrated_gradients = cnn_values[0]
    if is_classifier(hybrid):
        result.classes = hybrid.classes_
    return result


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
