"""The network plumbing of the explanations: a fitted hybrid's compiled pieces
(looked up by layer name), the passes over row blocks that every PermGrad
score is computed from, and integrated gradients through both inputs.

The scikit-learn-facing functions (:func:`~skpermgrad.permgrad_importance`,
:func:`~skpermgrad.explain_rows`) live in ``_permgrad.py`` and ``_local.py``.
"""

import sys
from functools import partial

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import is_classifier
from sklearn.pipeline import Pipeline
from sklearn.utils import Bunch
from sklearn.utils.validation import check_array, check_is_fitted

from .. import models as arch  # the public layer names
from .._validation import IMAGE_NEEDS, check_fitted_columns, image_shortfall
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


class _Network:
    """Compiled pieces of a fitted hybrid network, looked up by layer name.

    ``branches(v)`` gives both branch outputs; ``head(m, c)`` the network output
    from branch outputs; ``permuted_head(v, c)`` the output for MLP input ``v``
    next to given CNN outputs ``c`` (permutations with the image held fixed);
    ``full(t, i)`` the whole network with separate tabular/image inputs;
    ``gradcam(v, m)`` per output and row: Grad-CAM at the feature pixels
    (the mean over the pixels of each feature's mask) and the whole
    upsampled map, and per row the image (mean over channels) and the head's
    output with MLP outputs ``m`` next to the CNN's own; ``gradients(t, i)``
    each output's gradient with respect to the tabular and the image input.
    Each is one
    ``tf.function`` traced once for any batch size.
    """

    def __init__(self, model, masks, n_outputs):
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
            if squashed and isinstance(output, arch.EnsembleDense):
                h = output.logits(h)  # the members' mean logits
            elif squashed:
                h = tf.matmul(h, output.kernel)
                if output.bias is not None:
                    h = h + output.bias
            return h

        n_features, *image_size = (int(n) for n in masks.shape)
        # Grad-CAM is read as the mean over the pixels each feature draws (a
        # layout's zoom x zoom block; a drawing's bar, row and column...): NaN
        # for a feature without pixels of its own (a clustering's image)
        flat = masks.reshape(n_features, -1).astype(np.float64)
        with np.errstate(invalid="ignore"):
            mean_over_mask = tf.constant(
                (flat / flat.sum(axis=1, keepdims=True)).T, tf.float32
            )
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
                cam = tf.image.resize(cam[..., None], image_size)
                cam = tf.reshape(cam, (-1, image_size[0] * image_size[1]))
                rows.append(tf.matmul(cam, mean_over_mask))
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


def _network_rows(estimator, X, name="X"):
    """The checked hybrid at the end of ``estimator``, ``X`` as its network
    reads it (scaled values), the names of its input columns (None when
    unknown) and the Pipeline steps before it (None for a bare hybrid).

    ``X``'s columns are checked as ``predict`` checks them: a Pipeline's steps
    check their own input, the hybrid its (reordered, renamed or missing
    columns raise scikit-learn's feature-name error, prefixed by ``name``).
    """
    hybrid, Xt, names, pre = _split_pipeline(estimator, X)
    _check_hybrid(hybrid)
    where = "" if pre is None else " after the Pipeline's steps"
    check_fitted_columns(hybrid, Xt, name, after=where)
    # SciKeras hands its encoder plain arrays (its columns are checked above)
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
    return Bunch(
        hybrid=hybrid,
        imager=imager,
        rows=values,
        groups=groups,
        membership=membership,
        feature_names=np.asarray(group_names, dtype=object),
        feature_groups=dict(zip(group_names, (np.asarray(names)[c] for c in groups))),
        encoded_feature_names=np.asarray(names, dtype=object),
        image_size=imager.image_shape_[:2],
        network=_Network(hybrid.model_, imager.feature_masks_, n_outputs),
    )


IG_STEPS = 64  # Gauss-Legendre nodes of the integrated-gradients path


# where an image cannot give a CNN part, the images that can
_IMAGES_THAT_CAN = {
    "integrated_gradients": "a differentiable image (DistanceMatrixImager, "
    "IGTDImager, TintoImager...)",
    "gradcam": "an image with a pixel per feature (IGTDImager, TintoImager, "
    "DistanceMatrixImager...)",
}


def _require_image_for(setup, cnn_importance, what):
    """Refuse a CNN part the hybrid's image cannot give (integrated gradients
    on a step function of the values, a per-feature Grad-CAM where no pixel is
    a feature's own), naming the CNN parts and the images that can."""
    shortfall = image_shortfall(setup.imager, cnn_importance)
    if shortfall is None:
        return
    # the other CNN part that asks something of the image: no imager lacks both
    other = next(part for part in IMAGE_NEEDS if part != cnn_importance)
    raise ValueError(
        f"{what} cannot be computed: {type(setup.imager).__name__}'s image "
        f"{shortfall}. Use permgrad_importance with cnn_importance='permutation' "
        f"(the default) or '{other}', or a hybrid on "
        f"{_IMAGES_THAT_CAN[cnn_importance]}."
    )


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
