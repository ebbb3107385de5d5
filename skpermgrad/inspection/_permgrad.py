"""PermGrad: permutation importance through the MLP branch, Grad-CAM of the CNN
branch, fused by branch weights from ablating each branch at the concatenation."""

import sys
from numbers import Integral, Real

import numpy as np
from sklearn.base import is_classifier
from sklearn.metrics import check_scoring
from sklearn.pipeline import Pipeline
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_params,
)
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
)

from ..models import _architecture as arch

_NEEDED_LAYERS = (
    arch.INPUT_TABULAR,
    arch.INPUT_IMAGE,
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


def _gradcam(model, values, positions, image_side, n_outputs, batch_size):
    """Mean Grad-CAM of ``last_conv`` per output, read at each feature's pixel.

    One GradientTape per batch (persistent across the outputs); each heatmap is
    upsampled bilinearly to the image size before it is read at ``(row, col)``.
    """
    import keras
    import tensorflow as tf

    grad_model = keras.Model(
        model.inputs, [model.get_layer(arch.LAST_CONV).output, model.output]
    )
    rows, cols = positions[:, 0], positions[:, 1]
    totals = np.zeros((n_outputs, len(rows)))
    for start in range(0, len(values), batch_size):
        batch = tf.convert_to_tensor(values[start : start + batch_size])
        inputs = {arch.INPUT_TABULAR: batch, arch.INPUT_IMAGE: batch}
        with tf.GradientTape(persistent=n_outputs > 1) as tape:
            fmap, out = grad_model(inputs, training=False)
            targets = [out[:, k] for k in range(n_outputs)]
        for k, target in enumerate(targets):
            grads = tape.gradient(target, fmap)
            alpha = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
            cam = tf.nn.relu(tf.reduce_sum(fmap * alpha, axis=-1, keepdims=True))
            cam = tf.image.resize(cam, (image_side, image_side), method="bilinear")
            totals[k] += cam.numpy()[:, rows, cols, 0].sum(axis=0)
        del tape
    return totals / len(values)


def _ablation_outputs(model, values, batch_size):
    """Network outputs with all branches, without the MLP, without the CNN.

    A branch is silenced at the concatenation by replacing its output with its
    mean over the explained rows: the head keeps its usual input scale but
    receives no row-specific information from that branch.
    """
    import keras

    inputs = {arch.INPUT_TABULAR: values, arch.INPUT_IMAGE: values}
    branches = keras.Model(
        model.inputs,
        [
            model.get_layer(arch.MLP_OUTPUT).output,
            model.get_layer(arch.CNN_OUTPUT).output,
        ],
    )
    mlp, cnn = branches.predict(inputs, batch_size=batch_size, verbose=0)
    head_input = keras.Input((mlp.shape[1] + cnn.shape[1],))
    x = head_input
    for layer in model.layers:  # the head is a chain after the concatenation
        if layer.name.startswith("head_") or layer.name == arch.OUTPUT:
            x = layer(x)
    head = keras.Model(head_input, x)

    def run(m, c):
        return head.predict(np.hstack([m, c]), batch_size=batch_size, verbose=0)

    mlp_mean = np.broadcast_to(mlp.mean(axis=0), mlp.shape)
    cnn_mean = np.broadcast_to(cnn.mean(axis=0), cnn.shape)
    return run(mlp, cnn), run(mlp_mean, cnn), run(mlp, cnn_mean)


@validate_params(
    {
        "estimator": [HasMethods(["fit", "predict"])],
        "X": ["array-like"],
        "y": ["array-like"],
        "scoring": [callable, str, None],
        "n_repeats": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "sample_weight": ["array-like", None],
        "max_samples": [
            Interval(Integral, 1, None, closed="left"),
            Interval(Real, 0, 1, closed="right"),
        ],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "permutation": [StrOptions({"branch", "model"})],
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
    random_state=None,
    sample_weight=None,
    max_samples: float = 1.0,
    batch_size: int = 1024,
    permutation: str = "branch",
    verbose: int = 0,
) -> Bunch:
    """PermGrad feature importance of a fitted hybrid network.

    Four parts, each computed once over the rows given:

    1. **Permutation** through the MLP branch: one column of the ``tabular``
       input is permuted while the image input stays fixed; the importance is
       the drop of the score, over ``n_repeats`` permutations.
    2. **Grad-CAM** of the ``last_conv`` layer per output (per class for a
       classifier), upsampled bilinearly to the image size and read at each
       feature's pixel ``(row, col)``, averaged over rows.
    3. **Branch weights** from ablation at the concatenation: each branch's
       output is replaced by its mean over the rows and the score drop
       ``d_mlp``, ``d_cnn`` is measured;
       ``w_mlp = max(d_mlp, 0) / (max(d_mlp, 0) + max(d_cnn, 0))`` (0.5 when
       neither drop is positive) and ``w_cnn = 1 - w_mlp``. The ratio does not
       depend on the scale of the score (unlike a softmax of raw losses).
    4. **Fused score**: ``w_mlp * minmax(permutation) + w_cnn * minmax(gradcam)``,
       where ``minmax`` maps a vector to [0, 1] and a constant vector to 0.

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
        A scikit-learn scorer (higher is better); ``None`` uses the estimator's
        ``score`` (R² or accuracy).
    n_repeats : int, default=5
        Permutations per feature.
    random_state : int, RandomState instance or None, default=None
        Seeds the permutations and the row subsample.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights for the scores.
    max_samples : int or float, default=1.0
        Rows used: a count, or a fraction of ``n_samples``.
    batch_size : int, default=1024
        Rows per forward pass and per Grad-CAM tape.
    permutation : {"branch", "model"}, default="branch"
        ``"branch"`` (PermGrad) permutes the column in the MLP's input only.
        ``"model"`` permutes it in both inputs, so the image is re-drawn from the
        permuted value too: the importance of the feature to the whole network,
        which is what :func:`sklearn.inspection.permutation_importance` measures
        (computed here in the same batched way).
    verbose : int, default=0
        Print progress per feature to stderr when > 0.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        - ``permutation``: Bunch of ``importances_mean``, ``importances_std``
          (n_features,) and ``importances`` (n_features, n_repeats);
        - ``gradcam``: (n_features,) for a regressor, (n_classes, n_features)
          for a classifier;
        - ``branch_weights``: ``{"mlp": w, "cnn": 1 - w}``;
        - ``branch_score_drops``: ``{"mlp": d_mlp, "cnn": d_cnn}``;
        - ``importances``: the fused score, shaped like ``gradcam``;
        - ``feature_names``: ndarray of str; ``classes`` for a classifier.

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
        sample_weight = np.asarray(sample_weight, dtype=np.float64)

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
    if n_rows < n_samples:
        rows = rng.choice(n_samples, n_rows, replace=False)
        values, y = values[rows], y[rows]
        sample_weight = None if sample_weight is None else sample_weight[rows]
    seed = rng.randint(2**31 - 1)

    if scoring is None:  # what the estimator's own ``score`` computes
        scoring = "accuracy" if is_classifier(hybrid) else "r2"
    scorer = check_scoring(hybrid, scoring=scoring)
    weights = {} if sample_weight is None else {"sample_weight": sample_weight}

    def score(raw):
        return scorer(_Responses(hybrid, raw), values, y, **weights)

    def predict(tabular, image):
        inputs = {arch.INPUT_TABULAR: tabular, arch.INPUT_IMAGE: image}
        return model.predict(inputs, batch_size=batch_size, verbose=0)

    baseline = score(predict(values, values))
    n_features = values.shape[1]
    drops = np.empty((n_features, n_repeats))
    shuffler = np.random.RandomState(seed)
    permuted = values.copy()
    for j in range(n_features):
        for r in range(n_repeats):
            permuted[:, j] = values[shuffler.permutation(len(values)), j]
            image = permuted if permutation == "model" else values
            drops[j, r] = baseline - score(predict(permuted, image))
        permuted[:, j] = values[:, j]
        if verbose:
            print(f"[permgrad] permuted feature {j + 1}/{n_features}", file=sys.stderr)

    n_outputs = len(hybrid.classes_) if is_classifier(hybrid) else 1
    gradcam = _gradcam(
        model,
        values,
        imager.feature_positions_,
        imager.image_shape_[0],
        n_outputs,
        batch_size,
    )
    if not is_classifier(hybrid):
        gradcam = gradcam[0]
    if verbose:
        print("[permgrad] Grad-CAM done", file=sys.stderr)

    full, no_mlp, no_cnn = (
        score(raw) for raw in _ablation_outputs(model, values, batch_size)
    )
    d_mlp, d_cnn = full - no_mlp, full - no_cnn
    positive = max(d_mlp, 0.0) + max(d_cnn, 0.0)
    w_mlp = max(d_mlp, 0.0) / positive if positive > 0 else 0.5

    perm_mean = drops.mean(axis=1)
    fused = w_mlp * _minmax(perm_mean) + (1 - w_mlp) * _minmax(gradcam)
    if names is None:
        names = (
            list(hybrid.feature_names_in_)
            if hasattr(hybrid, "feature_names_in_")
            else [f"x{i}" for i in range(n_features)]
        )
    result = Bunch(
        permutation=Bunch(
            importances_mean=perm_mean,
            importances_std=drops.std(axis=1),
            importances=drops,
        ),
        gradcam=gradcam,
        branch_weights={"mlp": float(w_mlp), "cnn": float(1 - w_mlp)},
        branch_score_drops={"mlp": float(d_mlp), "cnn": float(d_cnn)},
        importances=fused,
        feature_names=np.asarray(names, dtype=object),
    )
    if is_classifier(hybrid):
        result.classes = hybrid.classes_
    return result
