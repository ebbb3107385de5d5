"""A fitted hybrid's network as explanations read it: what ``models`` hands
``inspection``, so that the explanations never name a layer, an encoder or the
imager's place inside the estimator."""

from __future__ import annotations

from functools import partial

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, is_classifier
from sklearn.utils.validation import check_array, check_is_fitted

from . import _architecture as arch
from ._ensemble import EnsembleDense

# the layers the view is assembled from (a hybrid with both branches)
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


class NetworkView:
    """A fitted hybrid's network in the pieces its explanations run.

    Built from the estimator's current network (``model_``) each time, so a
    network set by hand is the one read. Every piece is one ``tf.function``
    traced once for any batch size; inputs are the rows as the network reads
    them (:meth:`values`), ``float32``.

    Parameters
    ----------
    estimator : HybridRegressor or HybridClassifier
        Fitted, with both branches (``branches="both"``).

    Attributes
    ----------
    estimator : HybridRegressor or HybridClassifier
        The hybrid viewed.
    imager : transformer
        Its fitted imager (the image's feature positions and masks).
    image_size : tuple of int
        The image's (rows, columns) in pixels.
    n_outputs : int
        The network's outputs: the classes of a classifier, 1 for a regressor.
    branches : callable
        ``branches(v)``: both branch outputs ``(mlp, cnn)`` for values ``v``.
    head : callable
        ``head(m, c)``: the network's output from branch outputs.
    permuted_head : callable
        ``permuted_head(v, c)``: the output for MLP input ``v`` next to given
        CNN outputs ``c`` (permutations with the image held fixed).
    full : callable
        ``full(t, i)``: the whole network with separate tabular and image
        inputs.
    gradcam : callable
        ``gradcam(v, m)``: per output and row, Grad-CAM of the ``last_conv``
        layer (from each output's score before a softmax or sigmoid) at the
        feature pixels (the mean over each feature's mask; NaN for a feature
        without pixels of its own) and the whole map resized to the image;
        per row the image (mean over channels) and the head's output with the
        MLP outputs ``m`` next to the CNN's own.
    gradients : callable
        ``gradients(t, i)``: each output's gradient with respect to the
        tabular and the image input.

    See Also
    --------
    skpermgrad.permgrad_importance : PermGrad, computed from these pieces.
    build_hybrid_model : The network and its layer names.

    Examples
    --------
    >>> import numpy as np
    >>> from skpermgrad import HybridRegressor, TintoImager
    >>> from skpermgrad.models import NetworkView
    >>> X = np.random.default_rng(0).normal(size=(60, 4))
    >>> reg = HybridRegressor(TintoImager(pixels=4), epochs=2, random_state=0)
    >>> view = NetworkView(reg.fit(X, X[:, 0]))
    >>> mlp, cnn = view.branches(view.values(X[:5]))
    >>> view.head(mlp, cnn).shape
    TensorShape([5, 1])
    """

    def __init__(self, estimator: BaseEstimator) -> None:
        check_is_fitted(estimator)
        model = getattr(estimator, "model_", None)
        if model is None or not hasattr(estimator, "feature_encoder_"):
            raise TypeError(
                "permgrad_importance explains a fitted HybridRegressor or "
                "HybridClassifier (or a Pipeline ending in one), got "
                f"{type(estimator).__name__}."
            )
        have = {layer.name for layer in model.layers}
        missing = [name for name in _NEEDED_LAYERS if name not in have]
        if missing:
            raise ValueError(
                f"The model has no layer(s) {missing}: PermGrad needs the hybrid "
                "network with both branches (branches='both'), whose layers carry "
                f"the names {list(_NEEDED_LAYERS)}."
            )
        self.estimator = estimator
        self.imager = estimator.feature_encoder_.imager_
        self.image_size = tuple(self.imager.image_shape_[:2])
        self.n_outputs = len(estimator.classes_) if is_classifier(estimator) else 1
        self._compile(model, self.imager.feature_masks_, self.n_outputs)

    def values(self, X: ArrayLike) -> np.ndarray:
        """The rows of ``X`` (its columns already checked) as the network
        reads them: the imager's scaled values, ``float32``."""
        return self.imager.transform_values(check_array(X, dtype=np.float64))

    def decode(self, raw: ArrayLike, *, proba: bool = False) -> np.ndarray:
        """Network outputs ``raw`` as the hybrid's ``predict`` (or, with
        ``proba``, ``predict_proba``) returns them."""
        encoder = self.estimator.target_encoder_
        if proba:
            return encoder.inverse_transform(raw, return_proba=True)
        return encoder.inverse_transform(raw)

    def _compile(self, model, masks, n_outputs):
        import keras
        import tensorflow as tf

        layer = model.get_layer
        tabular = layer(arch.INPUT_TABULAR).output
        image_values = layer(arch.INPUT_IMAGE).output
        mlp_out, cnn_out = layer(arch.MLP_OUTPUT).output, layer(arch.CNN_OUTPUT).output
        mlp = keras.Model(tabular, mlp_out)
        cnn = keras.Model(image_values, cnn_out)
        # the head reads both branch outputs (with the members of an ensembled
        # MLP branch, (batch, k, units), next to the CNN's repeated for each)
        try:
            head = keras.Model([mlp_out, cnn_out], model.output)
        except ValueError as error:
            raise ValueError(
                f"The network's output must depend on the {arch.INPUT_TABULAR!r} "
                f"input only through {arch.MLP_OUTPUT!r} and on the "
                f"{arch.INPUT_IMAGE!r} input only through {arch.CNN_OUTPUT!r}, "
                f"as build_hybrid_model's does: {error}"
            ) from None
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
        to_logits = keras.Model([mlp_out, cnn_out], logits_from)

        def logits(m, c):
            h = to_logits([m, c], training=False)
            if squashed and isinstance(output, EnsembleDense):
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
        # the branches' outputs: (batch, units), or (batch, k, units) with
        # the MLP branch's ensemble members
        mlp_spec, cnn_spec = (
            tf.TensorSpec((None, *out.shape[1:]), tf.float32)
            for out in (mlp_out, cnn_out)
        )

        def branches(v):
            return mlp(v, training=False), cnn(v, training=False)

        def head_fn(m, c):
            return head([m, c], training=False)

        def permuted_head(v, c):
            return head([mlp(v, training=False), c], training=False)

        def full(t, i):
            return model({arch.INPUT_TABULAR: t, arch.INPUT_IMAGE: i}, training=False)

        def gradcam(v, mlp_fill):
            with tf.GradientTape(persistent=True) as tape:
                image, fmap, c = conv(v, training=False)
                m = mlp(v, training=False)
                scores = logits(m, c)
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
            no_mlp = head([fill, c], training=False)
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
        self.head = compiled(head_fn, mlp_spec, cnn_spec)
        self.permuted_head = compiled(permuted_head, values, cnn_spec)
        self.full = compiled(full, values, values)
        # the fill, broadcast to the MLP's outputs, may have fewer axes
        self.gradcam = compiled(gradcam, values, tf.TensorSpec(None, tf.float32))
        self.gradients = compiled(gradients, values, values)
