"""The PermGrad hybrid network as a pure builder: explicit shapes in, named model out.

Layer names are part of the public API: see :func:`build_hybrid_model`.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
from keras import layers, ops
from numpy.typing import ArrayLike

INPUT_TABULAR = "tabular"
INPUT_IMAGE = "image_input"
IMAGE = "image"
MLP_OUTPUT = "mlp_output"
LAST_CONV = "last_conv"
CNN_OUTPUT = "cnn_output"
CONCATENATE = "concatenate"
OUTPUT = "output"
MLP_QUANTILE = "mlp_quantile"
MLP_EMBEDDING = "mlp_embedding"
NORMALIZATIONS = ("batch", "layer", None)
MLP_INPUTS = ("minmax", "quantile")
NUMERIC_EMBEDDINGS = ("periodic", None)
N_QUANTILES = 64  # knots of the quantile map of each feature


def _normalization(kind, name):
    """The normalisation layer of a block: batch, layer, or none (identity).

    Batch normalisation uses a moving-average momentum of 0.9 rather than
    Keras's 0.99: with a few dozen steps an epoch, 0.99 leaves the inference
    statistics epochs behind the weights, and the validation loss that early
    stopping watches rises while the training loss falls.
    """
    if kind == "batch":
        return layers.BatchNormalization(momentum=0.9, name=name)
    if kind == "layer":
        return layers.LayerNormalization(name=name)
    return layers.Identity(name=name)


@keras.saving.register_keras_serializable(package="skpermgrad")
class TintoRender(layers.Layer):
    """Draw TINTO images from scaled values inside the graph (not trainable).

    Holds a fitted :class:`~skpermgrad.TintoImager`'s render weights (see
    :meth:`~skpermgrad.TintoImager.get_render_weights`) and reproduces its
    :meth:`~skpermgrad.TintoImager.transform_images` on each batch, so training
    never materialises the ``(n_samples, height, width, channels)`` array.

    See Also
    --------
    skpermgrad.TintoImager : Learns the layout; its ``transform_images`` draws
        the same images outside the graph.
    build_hybrid_model : Puts this layer after the ``image_input`` input.

    References
    ----------
    .. [1] M. Castillo-Cara et al., "TINTO: Converting Tidy Data into Image
       for Classification with 2-Dimensional Convolutional Neural Networks",
       SoftwareX 22, 101391, 2023. :doi:`10.1016/j.softx.2023.101391`

    Examples
    --------
    >>> import numpy as np
    >>> from skpermgrad import TintoImager
    >>> from skpermgrad.models import TintoRender
    >>> X = np.random.default_rng(0).uniform(size=(50, 3))
    >>> imager = TintoImager(pixels=4).fit(X)
    >>> weights, mode = imager.get_render_weights()
    >>> layer = TintoRender(weights, mode, pixels=4)
    >>> values = imager.transform_values(X[:2])
    >>> bool(np.allclose(layer(values), imager.transform_images(X[:2])))
    True
    """

    def __init__(
        self,
        render_weights: np.ndarray,
        mode: str,
        pixels: int,
        zoom: int = 1,
        channels: int = 1,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("trainable", None)  # present in a saved config; always False
        super().__init__(trainable=False, **kwargs)
        self.render_weights = np.asarray(render_weights, dtype="float32")
        self.mode = mode
        self.pixels = int(pixels)
        self.zoom = int(zoom)
        self.channels = int(channels)

    def call(self, values: Any) -> Any:
        weights = ops.convert_to_tensor(self.render_weights, dtype=values.dtype)
        if self.mode == "max":
            grid = ops.max(values[:, :, None] * weights[None], axis=1)
        else:
            grid = ops.matmul(values, weights)
            if self.mode == "mean":
                footprint = ops.cast(weights > 0, values.dtype)
                counts = ops.matmul(ops.cast(values > 0, values.dtype), footprint)
                grid = grid / ops.maximum(counts, 1.0)
        image = ops.reshape(grid, (-1, self.pixels, self.pixels, 1))
        if self.zoom > 1:
            image = ops.repeat(ops.repeat(image, self.zoom, axis=1), self.zoom, axis=2)
        if self.channels > 1:
            image = ops.repeat(image, self.channels, axis=3)
        return image

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        side = self.pixels * self.zoom
        return (input_shape[0], side, side, self.channels)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "render_weights": self.render_weights.tolist(),
            "mode": self.mode,
            "pixels": self.pixels,
            "zoom": self.zoom,
            "channels": self.channels,
        }


def quantile_knots(values: ArrayLike, n_quantiles: int = N_QUANTILES) -> np.ndarray:
    """Knots of :class:`~skpermgrad.models.QuantileMap` for each column of ``values``.

    Column ``j``'s ``n_quantiles`` empirical quantiles (at evenly spaced
    levels) map to the standard normal's quantiles at the same levels
    (clipped to +-3.09, the 0.1% and 99.9% points). Tied quantiles (a
    discrete column) are merged into one knot whose target is the mean of
    theirs, and the remaining knots repeat the last one (segments of width
    0, which contribute nothing).

    Returns
    -------
    knots, targets : ndarray of shape (n_features, n_quantiles)

    See Also
    --------
    QuantileMap : The layer that applies them.
    sklearn.preprocessing.QuantileTransformer : The same map outside a network.

    Examples
    --------
    >>> import numpy as np
    >>> from skpermgrad.models import quantile_knots
    >>> values = np.random.default_rng(0).exponential(size=(500, 2))
    >>> knots, targets = quantile_knots(values, n_quantiles=5)
    >>> knots.shape, [round(float(t), 2) for t in targets[0]]
    ((2, 5), [-3.09, -0.67, 0.0, 0.67, 3.09])
    """
    from scipy.special import ndtri

    values = np.asarray(values, dtype=np.float64)
    levels = np.linspace(0.0, 1.0, n_quantiles)
    normal = ndtri(np.clip(levels, 1e-3, 1 - 1e-3))
    quantiles = np.quantile(values, levels, axis=0).T
    knots = np.empty((values.shape[1], n_quantiles))
    targets = np.empty_like(knots)
    for j, column in enumerate(quantiles):
        unique, which = np.unique(column, return_inverse=True)
        means = np.bincount(which, normal) / np.bincount(which)
        pad = n_quantiles - len(unique)
        knots[j] = np.concatenate([unique, np.repeat(unique[-1], pad)])
        targets[j] = np.concatenate([means, np.repeat(means[-1], pad)])
    targets[np.ptp(knots, axis=1) == 0] = 0.0  # a constant column maps to 0
    return knots.astype("float32"), targets.astype("float32")


@keras.saving.register_keras_serializable(package="skpermgrad")
class QuantileMap(layers.Layer):
    """Map each column through fixed piecewise-linear knots (not trainable).

    Column ``j`` goes to ``targets[j, 0]`` below ``knots[j, 0]``, to
    ``targets[j, -1]`` above ``knots[j, -1]``, and linearly between the knots:
    with the knots of :func:`quantile_knots` it is a quantile transform to a
    normal distribution (scikit-learn's ``QuantileTransformer(
    output_distribution="normal")``), held inside the graph so the network's
    input stays the values that the image is drawn from and gradients flow
    through it. Heavy-tailed columns (counts, prices) reach the MLP spread
    out instead of crowded near 0.

    See Also
    --------
    quantile_knots : Knots that make it a quantile transform.
    build_hybrid_model : Puts it first in the MLP branch
        (``quantile_knots=``), as the ``mlp_quantile`` layer.

    Examples
    --------
    >>> import numpy as np
    >>> from skpermgrad.models import QuantileMap
    >>> layer = QuantileMap(knots=[[0.0, 1.0, 2.0]], targets=[[-1.0, 0.0, 4.0]])
    >>> np.asarray(layer(np.array([[-5.0], [0.5], [1.5], [9.0]], "float32"))).ravel()
    array([-1. , -0.5,  2. ,  4. ], dtype=float32)
    """

    def __init__(self, knots: ArrayLike, targets: ArrayLike, **kwargs: Any) -> None:
        kwargs.pop("trainable", None)
        super().__init__(trainable=False, **kwargs)
        self.knots = np.asarray(knots, dtype="float32")
        self.targets = np.asarray(targets, dtype="float32")
        # fixed segments, worked out once rather than on every batch
        self._width = np.diff(self.knots, axis=1)
        self._slope = np.diff(self.targets, axis=1) / np.maximum(
            self._width, np.float32(1e-12)
        )

    def call(self, values: Any) -> Any:
        dtype = values.dtype
        starts = ops.convert_to_tensor(self.knots[:, :-1], dtype=dtype)
        width = ops.convert_to_tensor(self._width, dtype=dtype)
        slope = ops.convert_to_tensor(self._slope, dtype=dtype)
        first = ops.convert_to_tensor(self.targets[:, 0], dtype=dtype)
        ramps = ops.clip(values[:, :, None] - starts[None], 0.0, width[None])
        return first[None] + ops.sum(ramps * slope[None], axis=-1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "knots": self.knots.tolist(),
            "targets": self.targets.tolist(),
        }


@keras.saving.register_keras_serializable(package="skpermgrad")
class PeriodicEmbedding(layers.Layer):
    """Periodic embeddings of numeric features, "lite" (Gorishniy et al. 2022).

    Each feature ``x_j`` becomes ``[cos(2 pi c_j x_j), sin(2 pi c_j x_j)]`` for
    ``n_frequencies`` trainable frequencies ``c_j`` (initialised from
    ``N(0, sigma**2)``), then one Dense layer shared by all features with
    ``d_embedding`` units and a ReLU; the output is the features' embeddings
    side by side, ``(batch, n_features * d_embedding)``.

    See Also
    --------
    build_hybrid_model : Puts it in the MLP branch
        (``numeric_embedding="periodic"``), as the ``mlp_embedding`` layer.

    References
    ----------
    .. [1] Y. Gorishniy, I. Rubachev and A. Babenko, "On Embeddings for
       Numerical Features in Tabular Deep Learning", NeurIPS 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from skpermgrad.models import PeriodicEmbedding
    >>> layer = PeriodicEmbedding(n_frequencies=4, d_embedding=3, seed=0)
    >>> tuple(layer(np.zeros((2, 5), "float32")).shape)
    (2, 15)
    """

    def __init__(
        self,
        n_frequencies: int = 16,
        d_embedding: int = 8,
        sigma: float = 0.1,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.n_frequencies = int(n_frequencies)
        self.d_embedding = int(d_embedding)
        self.sigma = float(sigma)
        self.seed = seed

    def build(self, input_shape: tuple) -> None:
        n_features = input_shape[-1]
        self.frequencies = self.add_weight(
            name="frequencies",
            shape=(n_features, self.n_frequencies),
            initializer=keras.initializers.RandomNormal(
                stddev=self.sigma, seed=self.seed
            ),
        )
        self.dense = layers.Dense(self.d_embedding, activation="relu", name="linear")
        self.dense.build((None, n_features, 2 * self.n_frequencies))
        self.n_features = n_features

    def call(self, values: Any) -> Any:
        angles = 2 * math.pi * values[:, :, None] * self.frequencies[None]
        periodic = ops.concatenate([ops.cos(angles), ops.sin(angles)], axis=-1)
        embedded = self.dense(periodic)
        return ops.reshape(embedded, (-1, self.n_features * self.d_embedding))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], input_shape[-1] * self.d_embedding)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "n_frequencies": self.n_frequencies,
            "d_embedding": self.d_embedding,
            "sigma": self.sigma,
            "seed": self.seed,
        }


def max_conv_layers(image_side: int) -> int:
    """How many 2x2 max-pooling stages an image of this side allows."""
    return int(math.floor(math.log2(image_side))) if image_side >= 1 else 0


def build_hybrid_model(
    *,
    n_features: int,
    render_weights: np.ndarray,
    render_mode: str,
    pixels: int,
    zoom: int = 1,
    channels: int = 1,
    branches: str = "both",
    quantile_knots: np.ndarray | None = None,
    numeric_embedding: str | None = None,
    n_dense_layers: int = 2,
    dense_units: int = 64,
    n_conv_layers: int = 2,
    base_filters: int = 16,
    n_head_layers: int = 1,
    head_units: int = 64,
    dropout: float = 0.1,
    normalization: str | None = "batch",
    activation: str = "relu",
    kernel_initializer: str = "he_normal",
    n_outputs: int = 1,
    output_activation: str = "linear",
) -> keras.Model:
    """Build the PermGrad hybrid MLP + CNN network (uncompiled).

    MLP branch: the quantile map (:class:`~skpermgrad.models.QuantileMap`, when
    ``quantile_knots=(knots, targets)`` is given), periodic embeddings
    (:class:`PeriodicEmbedding`, ``numeric_embedding="periodic"``), then
    ``n_dense_layers`` x (Dense ``dense_units`` + Norm + Dropout). CNN
    branch: the in-graph TINTO image, then ``n_conv_layers`` x (Conv2D 3x3
    "same" with ``base_filters * 2**i`` filters + Norm + MaxPool 2x2 +
    Dropout), Flatten. Head: Concatenate, ``n_head_layers`` x
    (Dense ``head_units`` + Norm + Dropout), Dense ``n_outputs``. Norm is
    ``normalization``: batch normalisation (the PermGrad notebook's), layer
    normalisation, or ``None`` (an identity layer, so layer names stay).
    ``branches="mlp"`` or ``"cnn"`` keeps one branch (the baselines); the
    model's inputs are then only that branch's.

    Returns
    -------
    model : keras.Model
        Inputs named ``tabular`` and/or ``image_input`` (both ``(n_features,)``
        scaled values), one output named ``output``.

    Notes
    -----
    Layer names are part of the public API (explanations look layers up by
    them); ``skpermgrad.models`` holds each as a constant (``LAST_CONV``...)
    and all of them in ``LAYER_NAMES``:

    - ``tabular``: input, the scaled table, read by the MLP branch;
    - ``mlp_quantile``: the MLP branch's quantile map
      (:class:`~skpermgrad.models.QuantileMap`, only with ``quantile_knots``);
    - ``mlp_embedding``: the MLP branch's periodic embeddings
      (:class:`PeriodicEmbedding`, only with ``numeric_embedding``);
    - ``mlp_output``: output of the MLP branch (its last Dropout);
    - ``image_input``: input, the same scaled values, drawn into the image;
    - ``image``: the TINTO image, rendered in the graph (:class:`TintoRender`);
    - ``last_conv``: the last Conv2D layer of the CNN branch (Grad-CAM reads
      it);
    - ``cnn_output``: output of the CNN branch (Flatten);
    - ``concatenate``: the two branch outputs side by side
      (``branches="both"``);
    - ``output``: the prediction layer.

    See Also
    --------
    skpermgrad.HybridRegressor, skpermgrad.HybridClassifier : Build it from a
        fitted imager and train it.

    References
    ----------
    .. [1] F. Escalera-González, M. Castillo-Cara, M. Rincón-Zamorano and
       L. Orozco-Barbosa, "PermGrad: A Hybrid Neural Network Framework for
       Global Feature Attribution Using Synthetic Image Representations",
       code: https://github.com/felescgon/PermGrad,
       :doi:`10.5281/zenodo.17613159`.

    Examples
    --------
    >>> import numpy as np
    >>> from skpermgrad import TintoImager
    >>> from skpermgrad.models import LAST_CONV, build_hybrid_model
    >>> X = np.random.default_rng(0).normal(size=(40, 5))
    >>> imager = TintoImager(pixels=8).fit(X)
    >>> weights, mode = imager.get_render_weights()
    >>> model = build_hybrid_model(n_features=5, render_weights=weights,
    ...                            render_mode=mode, pixels=8)
    >>> model.get_layer(LAST_CONV).output.shape
    (None, 4, 4, 32)
    """
    side = pixels * zoom
    if branches != "mlp" and n_conv_layers > max_conv_layers(side):
        raise ValueError(
            f"n_conv_layers={n_conv_layers} needs an image of at least "
            f"{2**n_conv_layers} pixels a side (each layer halves it with 2x2 "
            f"max-pooling), but the image is {side}x{side}. Use n_conv_layers <= "
            f"{max_conv_layers(side)} or a larger imager pixels/zoom."
        )
    dense = dict(activation=activation, kernel_initializer=kernel_initializer)
    inputs, outputs = [], []
    if branches in ("both", "mlp"):
        tabular = keras.Input((n_features,), name=INPUT_TABULAR)
        x = tabular
        if quantile_knots is not None:
            x = QuantileMap(*quantile_knots, name=MLP_QUANTILE)(x)
        if numeric_embedding == "periodic":
            x = PeriodicEmbedding(name=MLP_EMBEDDING)(x)
        for i in range(n_dense_layers):
            x = layers.Dense(dense_units, name=f"mlp_dense_{i}", **dense)(x)
            x = _normalization(normalization, f"mlp_norm_{i}")(x)
            last = i == n_dense_layers - 1
            x = layers.Dropout(
                dropout, name=MLP_OUTPUT if last else f"mlp_dropout_{i}"
            )(x)
        inputs.append(tabular)
        outputs.append(x)
    if branches in ("both", "cnn"):
        values = keras.Input((n_features,), name=INPUT_IMAGE)
        x = TintoRender(
            render_weights, render_mode, pixels, zoom, channels, name=IMAGE
        )(values)
        for i in range(n_conv_layers):
            last = i == n_conv_layers - 1
            x = layers.Conv2D(
                base_filters * 2**i,
                (3, 3),
                padding="same",
                name=LAST_CONV if last else f"conv_{i}",
                **dense,
            )(x)
            x = _normalization(normalization, f"conv_norm_{i}")(x)
            x = layers.MaxPooling2D((2, 2), name=f"conv_pool_{i}")(x)
            x = layers.Dropout(dropout, name=f"conv_dropout_{i}")(x)
        inputs.append(values)
        outputs.append(layers.Flatten(name=CNN_OUTPUT)(x))
    x = (
        layers.Concatenate(name=CONCATENATE)(outputs)
        if len(outputs) == 2
        else outputs[0]
    )
    for i in range(n_head_layers):
        x = layers.Dense(head_units, name=f"head_dense_{i}", **dense)(x)
        x = _normalization(normalization, f"head_norm_{i}")(x)
        x = layers.Dropout(dropout, name=f"head_dropout_{i}")(x)
    output = layers.Dense(
        n_outputs,
        activation=output_activation,
        kernel_initializer=kernel_initializer,
        name=OUTPUT,
    )(x)
    return keras.Model(inputs, output, name=f"hybrid_{branches}")
