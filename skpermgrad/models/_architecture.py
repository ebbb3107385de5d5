"""The PermGrad hybrid network as a pure builder: explicit shapes in, named model out.

Layer names are part of the public API (explanations look layers up by them):

============== ===========================================================
name           what it is
============== ===========================================================
``tabular``    input: the scaled table, read by the MLP branch
``image_input`` input: the same scaled values, drawn into the image
``image``      the TINTO image, rendered in the graph (:class:`TintoRender`)
``mlp_output`` output of the MLP branch (last Dropout of the branch)
``last_conv``  the last Conv2D layer of the CNN branch (Grad-CAM reads it)
``cnn_output`` output of the CNN branch (Flatten)
``concatenate`` the two branch outputs side by side (``branches="both"``)
``output``     the prediction layer
============== ===========================================================
"""

import math

import keras
import numpy as np
from keras import layers, ops

INPUT_TABULAR = "tabular"
INPUT_IMAGE = "image_input"
IMAGE = "image"
MLP_OUTPUT = "mlp_output"
LAST_CONV = "last_conv"
CNN_OUTPUT = "cnn_output"
CONCATENATE = "concatenate"
OUTPUT = "output"
NORMALIZATIONS = ("batch", "layer", None)


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
    """

    def __init__(self, render_weights, mode, pixels, zoom=1, channels=1, **kwargs):
        kwargs.pop("trainable", None)  # present in a saved config; always False
        super().__init__(trainable=False, **kwargs)
        self.render_weights = np.asarray(render_weights, dtype="float32")
        self.mode = mode
        self.pixels = int(pixels)
        self.zoom = int(zoom)
        self.channels = int(channels)

    def call(self, values):
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

    def compute_output_shape(self, input_shape):
        side = self.pixels * self.zoom
        return (input_shape[0], side, side, self.channels)

    def get_config(self):
        return {
            **super().get_config(),
            "render_weights": self.render_weights.tolist(),
            "mode": self.mode,
            "pixels": self.pixels,
            "zoom": self.zoom,
            "channels": self.channels,
        }


def max_conv_layers(image_side: int) -> int:
    """How many 2x2 max-pooling stages an image of this side allows."""
    return int(math.floor(math.log2(image_side))) if image_side >= 1 else 0


def build_hybrid_model(
    *,
    n_features: int,
    render_weights,
    render_mode: str,
    pixels: int,
    zoom: int = 1,
    channels: int = 1,
    branches: str = "both",
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

    MLP branch: ``n_dense_layers`` x (Dense ``dense_units`` + Norm +
    Dropout). CNN branch: the in-graph TINTO image, then ``n_conv_layers`` x
    (Conv2D 3x3 "same" with ``base_filters * 2**i`` filters + Norm +
    MaxPool 2x2 + Dropout), Flatten. Head: Concatenate, ``n_head_layers`` x
    (Dense ``head_units`` + Norm + Dropout), Dense ``n_outputs``. Norm is
    ``normalization``: batch normalisation (the PermGrad notebook's), layer
    normalisation, or ``None`` (an identity layer, so layer names stay).
    ``branches="mlp"`` or ``"cnn"`` keeps one branch (the baselines); the
    model's inputs are then only that branch's. Layer names: see the module
    docstring.

    Returns
    -------
    model : keras.Model
        Inputs named ``tabular`` and/or ``image_input`` (both ``(n_features,)``
        scaled values), one output named ``output``.
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
