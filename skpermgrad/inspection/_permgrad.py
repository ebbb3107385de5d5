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

from ..models import _architecture as arch

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
    """The fitted hybrid at the end of ``estimator`` and X as that step sees it."""
    if not isinstance(estimator, Pipeline):
        return estimator, X, None
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
    return estimator.steps[-1][1], Xt, names


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


class _Network:
    """Compiled pieces of a fitted hybrid network, looked up by layer name.

    ``branches(v)`` gives both branch outputs; ``head(m, c)`` the network output
    from branch outputs; ``permuted_head(v, c)`` the output for MLP input ``v``
    next to given CNN outputs ``c`` (permutations with the image held fixed);
    ``image_permuted_head(m, v)`` its mirror, the image drawn from ``v`` next
    to given MLP outputs ``m``;
    ``full(t, i)`` the whole network with separate tabular/image inputs;
    ``gradcam(v, w, m)`` per-output Grad-CAM sums at the feature pixels (the
    mean over each feature's ``zoom x zoom`` block), heatmaps and images, each
    row weighted by ``w``, and the head's output with MLP outputs ``m`` next to
    the CNN's own. Each is one ``tf.function`` traced once for any batch size.
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
        row_weights = tf.TensorSpec((None,), tf.float32)

        def branches(v):
            return mlp(v, training=False), cnn(v, training=False)

        def head_fn(m, c):
            return head(tf.concat([m, c], axis=1), training=False)

        def permuted_head(v, c):
            return head(tf.concat([mlp(v, training=False), c], axis=1), training=False)

        def image_permuted_head(m, v):
            return head(tf.concat([m, cnn(v, training=False)], axis=1), training=False)

        def full(t, i):
            return model({arch.INPUT_TABULAR: t, arch.INPUT_IMAGE: i}, training=False)

        def gradcam(v, w, mlp_fill):
            with tf.GradientTape(persistent=True) as tape:
                image, fmap, c = conv(v, training=False)
                m = mlp(v, training=False)
                scores = logits(tf.concat([m, c], axis=1))
                targets = [scores[:, k] for k in range(n_outputs)]
            sums, maps = [], []
            for target in targets:
                alpha = tf.reduce_mean(tape.gradient(target, fmap), axis=(1, 2))
                cam = tf.nn.relu(tf.einsum("bhwc,bc->bhw", fmap, alpha))
                cam = tf.image.resize(cam[..., None], (image_side, image_side))
                cam = tf.reshape(cam, (-1, image_side * image_side)) * w[:, None]
                at_features = tf.reduce_mean(tf.gather(cam, block, axis=1), axis=2)
                sums.append(tf.reduce_sum(at_features, axis=0))
                maps.append(tf.reduce_sum(cam, axis=0))
            del tape
            fill = tf.broadcast_to(mlp_fill, tf.shape(m))
            no_mlp = head(tf.concat([fill, c], axis=1), training=False)
            image = tf.reduce_mean(image, axis=-1) * w[:, None, None]
            image = tf.reduce_sum(image, axis=0)
            return tf.stack(sums), tf.stack(maps), image, no_mlp

        def compiled(fn, *specs):
            # tf.function counts traces per code object, so the same closures
            # made anew for each explained model would warn of "retracing in a
            # loop"; a partial is counted by itself: one trace per network.
            return tf.function(partial(fn), input_signature=list(specs))

        self.branches = compiled(branches, values)
        self.head = compiled(head_fn, width, width)
        self.permuted_head = compiled(permuted_head, values, width)
        self.image_permuted_head = compiled(image_permuted_head, width, values)
        self.full = compiled(full, values, values)
        self.gradcam = compiled(gradcam, values, row_weights, width)
        self.n_outputs = n_outputs


def _forward_passes(
    net,
    values,
    weights,
    n_repeats,
    seed,
    permutation,
    image_permutation,
    batch_size,
    n_jobs,
    verbose,
):
    """Every network output PermGrad scores, in two passes over row blocks.

    Pass 1 runs both branches once per block, the head on them (baseline) and
    the head on each permuted copy's MLP output next to the block's fixed CNN
    output (``permutation="branch"``; the whole network on permuted copies for
    ``"model"``); with ``image_permutation``, also the head on the CNN output
    of each permuted copy's image next to the block's fixed MLP output. Pass 2
    runs Grad-CAM (one tape per block) and, from the same forward pass, the
    head with the MLP silenced. The CNN-silenced head needs only stored MLP
    outputs. Means over rows (the ablation fills, Grad-CAM, heatmap, image)
    are weighted by ``weights``. Blocks run in ``n_jobs`` threads; results are
    combined in block order, so they do not depend on ``n_jobs``.
    """
    n_samples, n_features = values.shape
    shuffler = np.random.RandomState(seed)
    order = np.array(
        [
            [shuffler.permutation(n_samples) for _ in range(n_repeats)]
            for _ in range(n_features)
        ],
        dtype=np.intp,
    ).reshape(n_features, n_repeats, n_samples)
    blocks = [slice(s, s + batch_size) for s in range(0, n_samples, batch_size)]
    parallel = Parallel(n_jobs=n_jobs, prefer="threads")

    def log(message):
        if verbose:
            print(f"[permgrad] {message}", file=sys.stderr, flush=True)

    def first(i, block):
        v = values[block]
        mlp, cnn = net.branches(v)
        shape = (n_features, n_repeats, len(v), net.n_outputs)
        permuted = np.empty(shape, "float32")
        image_permuted = np.empty(shape if image_permutation else 0, "float32")
        copy = v.copy()
        for j in range(n_features):
            for r in range(n_repeats):
                copy[:, j] = values[order[j, r, block], j]
                permuted[j, r] = (
                    net.permuted_head(copy, cnn)
                    if permutation == "branch"
                    else net.full(copy, copy)
                )
                if image_permutation:
                    image_permuted[j, r] = net.image_permuted_head(mlp, copy)
            copy[:, j] = v[:, j]
        log(f"permutations: block {i + 1}/{len(blocks)}")
        return (
            mlp.numpy(),
            (weights[block, None] * cnn.numpy()).sum(axis=0),
            net.head(mlp, cnn).numpy(),
            permuted,
            image_permuted,
        )

    mlp, cnn_sums, baseline, permuted, image_permuted = zip(
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
            t.numpy() for t in net.gradcam(values[block], weights[block], mlp_mean)
        )
        log(f"Grad-CAM: block {i + 1}/{len(blocks)}")
        return cam, heat, image, no_mlp

    cam, heat, image, no_mlp = zip(
        *parallel(delayed(second)(i, b) for i, b in enumerate(blocks))
    )
    return Bunch(
        baseline=np.concatenate(baseline),
        permuted=np.concatenate(permuted, axis=2),
        image_permuted=np.concatenate(image_permuted, axis=2)
        if image_permutation
        else None,
        no_mlp=np.concatenate(no_mlp),
        no_cnn=no_cnn,
        gradcam=np.sum(cam, axis=0, dtype=np.float64) / total,
        heatmap=np.sum(heat, axis=0, dtype=np.float64) / total,
        mean_image=np.sum(image, axis=0, dtype=np.float64) / total,
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
        "cnn_importance": [StrOptions({"gradcam", "permutation"})],
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
    cnn_importance: str = "gradcam",
    verbose: int = 0,
) -> Bunch:
    """PermGrad feature importance of a fitted hybrid network.

    Four parts, each computed once over the rows given:

    1. **Permutation** through the MLP branch: one column of the ``tabular``
       input is permuted while the image input stays fixed; the importance is
       the drop of the score, over ``n_repeats`` permutations. The CNN branch
       runs once per row: only the MLP and the head see the permuted copies.
    2. **Grad-CAM** of the ``last_conv`` layer per output (per class for a
       classifier, from that class's score before the softmax), upsampled
       bilinearly to the image size and read at each feature's pixel
       ``(row, col)`` (the mean over its ``zoom x zoom`` block), averaged over
       rows.
    3. **Branch weights** from ablation at the concatenation: each branch's
       output is replaced by its mean over the rows and the score drop
       ``d_mlp``, ``d_cnn`` is measured;
       ``w_mlp = max(d_mlp, 0) / (max(d_mlp, 0) + max(d_cnn, 0))`` and
       ``w_cnn = 1 - w_mlp``. The ratio does not depend on the scale of the
       score (unlike a softmax of raw losses). When neither drop is positive
       the weights are undefined: they are set to 0.5 with a warning, and
       ``branch_weights_defined`` is False.
    4. **Fused score**: ``w_mlp * minmax(permutation) + w_cnn * minmax(gradcam)``,
       where ``minmax`` maps a vector to [0, 1] and a constant vector to 0.
       With ``cnn_importance="permutation"`` the CNN's part is instead the
       mirror of the first: the score drop when the column is permuted in the
       image input only, the MLP's input held fixed.

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
        Seeds the permutations and the row subsample.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative row weights: of the scores, and of every mean over rows
        (the branch ablation's fills, Grad-CAM, the heatmap and mean image).
    max_samples : int or float, default=1.0
        Rows used: a count, or a fraction of ``n_samples``.
    batch_size : int, default=1024
        Rows per block: every forward pass and every Grad-CAM tape sees at most
        this many rows.
    permutation : {"branch", "model"}, default="branch"
        ``"branch"`` (PermGrad) permutes the column in the MLP's input only.
        ``"model"`` permutes it in both inputs, so the image is re-drawn from the
        permuted value too: the importance of the feature to the whole network,
        which is what :func:`sklearn.inspection.permutation_importance` measures
        (computed here in the same batched way, and with the CNN run on every
        permuted copy, so it is slower).
    cnn_importance : {"gradcam", "permutation"}, default="gradcam"
        The CNN branch's part of the fused score. ``"gradcam"`` (PermGrad):
        Grad-CAM at each feature's pixel, per class for a classifier.
        ``"permutation"``: the score drop when the column is permuted in the
        image input only (as many CNN passes as ``permutation="model"``); it
        ranks features more faithfully than Grad-CAM in the faithfulness
        benchmark, and is one score for all classes. Grad-CAM is computed
        either way.
    verbose : int, default=0
        Print progress per block of rows to stderr when > 0.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        - ``permutation``: Bunch of ``importances_mean``, ``importances_std``
          (n_features,) and ``importances`` (n_features, n_repeats);
        - ``gradcam``: (n_features,) for a regressor, (n_classes, n_features)
          for a classifier;
        - ``branch_weights``: ``{"mlp": w, "cnn": 1 - w}``;
        - ``branch_score_drops``: ``{"mlp": d_mlp, "cnn": d_cnn}``;
        - ``branch_weights_defined``: False when neither drop was positive
          (the weights are then 0.5 each, with a warning);
        - ``image_permutation``: like ``permutation``, for the column permuted
          in the image input only (``cnn_importance="permutation"`` only);
        - ``cnn_importance``: the CNN part used in the fused score;
        - ``importances``: the fused score, shaped like ``gradcam``, or
          (n_features,) with ``cnn_importance="permutation"``;
        - ``feature_names``: ndarray of str; ``classes`` for a classifier;
        - ``heatmap``: the mean upsampled Grad-CAM map, (height, width) for a
          regressor, (n_classes, height, width) for a classifier;
        - ``mean_image``: the mean TINTO image (height, width);
        - ``feature_positions``: each feature's pixel (row, col), (n_features, 2).

    See Also
    --------
    sklearn.inspection.permutation_importance : Permutation importance of any
        model, re-running its whole ``predict``.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skpermgrad import HybridRegressor, TintoImager, permgrad_importance
    >>> X, y = make_regression(80, 5, random_state=0)
    >>> reg = HybridRegressor(TintoImager(pixels=4), n_conv_layers=1, epochs=3,
    ...                       random_state=0).fit(X, y)
    >>> result = permgrad_importance(reg, X, y, n_repeats=2, random_state=0)
    >>> result.permutation.importances.shape, result.gradcam.shape
    ((5, 2), (5,))
    >>> round(sum(result.branch_weights.values()), 6)
    1.0
    """
    hybrid, Xt, names = _split_pipeline(estimator, X)
    model = _check_hybrid(hybrid)
    check_consistent_length(Xt, y, *([] if sample_weight is None else [sample_weight]))
    imager = hybrid.feature_encoder_.imager_
    # SciKeras hands its encoder plain arrays (it checks column names itself)
    values = imager.transform_values(check_array(Xt, dtype=np.float64))
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
    weights = {} if sample_weight is None else {"sample_weight": sample_weight}

    def score(raw):
        return scorer(_Responses(hybrid, raw), values, y, **weights)

    n_outputs = len(hybrid.classes_) if is_classifier(hybrid) else 1
    side = imager.image_shape_[0]
    net = _Network(model, imager.feature_positions_, side, n_outputs, zoom=imager.zoom)
    outputs = _forward_passes(
        net,
        values,
        np.ones(len(values), "float32")
        if sample_weight is None
        else sample_weight.astype("float32"),
        n_repeats,
        seed,
        permutation,
        cnn_importance == "permutation",
        batch_size,
        n_jobs,
        verbose,
    )
    baseline = score(outputs.baseline)

    def permutation_bunch(permuted):
        drops = np.array(
            [[baseline - score(raw) for raw in feature] for feature in permuted]
        )
        return Bunch(
            importances_mean=drops.mean(axis=1),
            importances_std=drops.std(axis=1),
            importances=drops,
        )

    mlp_part = permutation_bunch(outputs.permuted)
    d_mlp = baseline - score(outputs.no_mlp)
    d_cnn = baseline - score(outputs.no_cnn)
    positive = max(d_mlp, 0.0) + max(d_cnn, 0.0)
    weights_defined = bool(positive > 0)
    if weights_defined:
        w_mlp = max(d_mlp, 0.0) / positive
    else:
        w_mlp = 0.5
        warnings.warn(
            f"Neither branch's ablation lowered the score (drops: MLP {d_mlp:.4g}, "
            f"CNN {d_cnn:.4g}), so the branch weights are undefined and set to "
            "0.5/0.5 (result.branch_weights_defined is False). Explain on more "
            "rows, or with a scoring that the model's outputs move (e.g. the log "
            "loss).",
            UserWarning,
            stacklevel=3,  # the caller of permgrad_importance's validation wrapper
        )
    gradcam, heatmap = outputs.gradcam, outputs.heatmap.reshape(-1, side, side)
    if not is_classifier(hybrid):
        gradcam, heatmap = gradcam[0], heatmap[0]

    if cnn_importance == "permutation":
        image_part = permutation_bunch(outputs.image_permuted)
        cnn_part = image_part.importances_mean
    else:
        cnn_part = gradcam
    fused = w_mlp * _minmax(mlp_part.importances_mean) + (1 - w_mlp) * _minmax(cnn_part)
    if names is None:
        names = (
            list(hybrid.feature_names_in_)
            if hasattr(hybrid, "feature_names_in_")
            else [f"x{i}" for i in range(values.shape[1])]
        )
    result = Bunch(
        permutation=mlp_part,
        gradcam=gradcam,
        branch_weights={"mlp": float(w_mlp), "cnn": float(1 - w_mlp)},
        branch_score_drops={"mlp": float(d_mlp), "cnn": float(d_cnn)},
        branch_weights_defined=weights_defined,
        cnn_importance=cnn_importance,
        importances=fused,
        feature_names=np.asarray(names, dtype=object),
        heatmap=heatmap,
        mean_image=outputs.mean_image.reshape(side, side),
        feature_positions=imager.feature_positions_.copy(),
    )
    if cnn_importance == "permutation":
        result.image_permutation = image_part
    if is_classifier(hybrid):
        result.classes = hybrid.classes_
    return result
