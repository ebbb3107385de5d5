"""The PermGrad hybrid network as a pure builder: explicit shapes in, named model out.

Layer names are part of the public API: see :func:`build_hybrid_model`.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers

from ._ensemble import EnsembleAdapter, EnsembleDense, EnsembleLinear, EnsembleModel
from ._layers import (
    DrawnRender,
    PeriodicEmbedding,
    PiecewiseLinearEmbedding,
    QuantileMap,
    RobustScale,
)

INPUT_TABULAR = "tabular"
INPUT_IMAGE = "image_input"
IMAGE = "image"
IMAGE_POOL = "image_pool"
MLP_OUTPUT = "mlp_output"
LAST_CONV = "last_conv"
CNN_OUTPUT = "cnn_output"
CONCATENATE = "concatenate"
OUTPUT = "output"
MLP_QUANTILE = "mlp_quantile"
MLP_ROBUST = "mlp_robust"
MLP_EMBEDDING = "mlp_embedding"
ENSEMBLE_ADAPTER = "ensemble_adapter"
CNN_MEMBERS = "cnn_members"
NORMALIZATIONS = ("batch", "layer", None)
MLP_INPUTS = ("minmax", "quantile", "robust")
NUMERIC_EMBEDDINGS = ("periodic", "piecewise", None)
# where the ensemble's members part: after the concatenation (their own
# scaling of it, the head's layers shared), or at the MLP branch's input
# (the branch's Dense layers shared, "mlp_mini", or each with the members' own
# scalings and biases, "mlp"), the CNN branch shared
ENSEMBLE_SCOPES = ("head", "mlp_mini", "mlp")
# an image side above this is average-pooled before the first convolution, so
# that the CNN's cost follows the information rather than the pixels
MAX_CONV_SIDE = 32


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


def _seed_stream(seed: int | None):
    """Seeds for each random layer of one network, drawn from ``seed`` alone.

    Every initialiser and dropout layer takes its seed from here, in the order
    the network is built, so a seeded network does not depend on Python's
    global random state (which Keras draws unseeded layers' seeds from, and
    which any other thread of the process may draw from meanwhile: a Dask
    worker's, a web server's). ``None`` gives ``None`` seeds: Keras's own.
    """
    rng = None if seed is None else np.random.default_rng([seed, 0x5EED])
    while True:
        yield None if rng is None else int(rng.integers(2**31 - 1))


def _initializer(name: str, seed: int | None):
    """Keras's initializer ``name`` with ``seed``, serialised (a config dict).

    Initializers without a seed (``"zeros"``...) are returned as they are.
    """
    if seed is None:
        return name
    initializer = keras.initializers.get(name)
    config = initializer.get_config()
    if "seed" not in config:
        return name
    return keras.initializers.serialize(
        type(initializer).from_config({**config, "seed": seed})
    )


def _image_pool(height: int, width: int) -> tuple[int, int]:
    """The average pooling of an image before the convolutions, per axis.

    Each axis over ``MAX_CONV_SIDE`` pixels is pooled by
    ``ceil(side / MAX_CONV_SIDE)``, so the convolutions see at most
    ``MAX_CONV_SIDE`` pixels an axis: a 60x60 SuperTML drawing is pooled 2x2
    to 30x30, a 160x160 one 5x5 to 32x32; a 20x20 TINTO image is not
    pooled, an 8x160 drawing only along its width.
    """
    return tuple(math.ceil(side / MAX_CONV_SIDE) for side in (height, width))


def _pooled_sides(image_side: int, n_conv_layers: int) -> list[int]:
    """The side of the feature map after each convolution block.

    A block halves the map with 2x2 max-pooling only while the map is at least
    4 pixels a side, so that pooling never shrinks it below 2x2; a smaller
    image (the default 3x3 IGTD image of 8 features, say) is convolved at its
    own size. A 20x20 TINTO image with 2 blocks: 10, then 5.
    """
    sides, side = [], image_side
    for _ in range(n_conv_layers):
        if side >= 4:
            side //= 2
        sides.append(side)
    return sides


def build_hybrid_model(
    *,
    n_features: int,
    drawing: tuple[str, dict],
    branches: str = "both",
    quantile_knots: np.ndarray | None = None,
    robust_scaling: tuple[np.ndarray, np.ndarray] | None = None,
    piecewise_edges: np.ndarray | None = None,
    numeric_embedding: str | None = "periodic",
    n_dense_layers: int = 2,
    dense_units: int = 64,
    n_conv_layers: int = 2,
    base_filters: int = 16,
    n_head_layers: int = 1,
    head_units: int = 64,
    ensemble_size: int = 8,
    ensemble_scope: str = "mlp",
    dropout: float = 0.1,
    normalization: str | None = "batch",
    activation: str = "relu",
    kernel_initializer: str = "he_normal",
    n_outputs: int = 1,
    output_activation: str = "linear",
    seed: int | None = None,
) -> keras.Model:
    """Build the PermGrad hybrid MLP + CNN network (uncompiled).

    MLP branch: the quantile map (:class:`~skpermgrad.models.QuantileMap`, when
    ``quantile_knots=(knots, targets)`` is given) or the robust scaling
    (:class:`RobustScale`, when ``robust_scaling=(center, scale)`` is given),
    periodic embeddings (:class:`PeriodicEmbedding`,
    ``numeric_embedding="periodic"``) or piecewise-linear ones
    (:class:`PiecewiseLinearEmbedding`, ``numeric_embedding="piecewise"``, its
    bins' ``piecewise_edges`` on the values the layer reads), then
    ``n_dense_layers`` x (Dense ``dense_units`` + Norm + Dropout). CNN
    branch: the image drawn in the graph, average-pooled where a side
    exceeds ``MAX_CONV_SIDE`` (32) pixels (by ``ceil(side / 32)`` along that
    axis: the convolutions' cost then follows the information, not the
    pixels, and a 60x60 or 160x160 drawing trains about as fast as a 32x32
    one), then ``n_conv_layers`` x (Conv2D
    3x3 "same" with ``base_filters * 2**i`` filters + Norm + MaxPool 2x2 +
    Dropout), Flatten; the pooling of a block is left out when the map is
    under 4 pixels a side, so that any image down to 2x2 takes any number of
    blocks. Head: Concatenate, ``n_head_layers`` x
    (Dense ``head_units`` + Norm + Dropout), Dense ``n_outputs``. Norm is
    ``normalization``: batch normalisation (the PermGrad notebook's), layer
    normalisation, or ``None`` (an identity layer, so layer names stay).
    ``ensemble_size=k > 1`` makes the network an ensemble of ``k`` members
    (TabM), each with its own output layer (:class:`EnsembleDense`, their
    mean for inference), each trained on its own loss (:class:`EnsembleModel`).
    ``ensemble_scope`` says where they part. ``"mlp"`` (the default): at the
    MLP branch's input, after its embeddings (:class:`EnsembleAdapter`), and
    every Dense layer of the branch gives each member its own scalings and
    biases around a shared kernel (:class:`EnsembleLinear`: BatchEnsemble);
    ``"mlp_mini"``: the same with the branch's Dense layers shared (TabM-mini
    over the branch). The CNN branch is shared: its output is repeated for
    each member (the ``cnn_members`` layer) and concatenated to the member's.
    ``"head"`` (and any network without the MLP branch): the adapter after the
    concatenation, the head's Dense layers shared.
    ``branches="mlp"`` or ``"cnn"`` keeps one branch (the baselines); the
    model's inputs are then only that branch's.

    The image is the imager's drawing (``drawing=imager.get_drawing()``, a
    layout's or a drawn image's), drawn by :class:`DrawnRender`.

    ``seed`` seeds every random initialiser and dropout layer, each from its
    own stream derived from ``seed`` in the order they are built: the same
    ``seed`` builds the same network whatever else the process (another
    thread, a Dask worker) draws from Python's global random state meanwhile.
    ``None`` leaves the seeds to Keras (drawn from that global state).

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
    - ``mlp_robust``: the MLP branch's robust scaling (:class:`RobustScale`,
      only with ``robust_scaling``);
    - ``mlp_embedding``: the MLP branch's embeddings
      (:class:`PeriodicEmbedding` or :class:`PiecewiseLinearEmbedding`, only
      with ``numeric_embedding``);
    - ``ensemble_adapter``: the members' scaled copies of the MLP branch's
      embedded input (:class:`EnsembleAdapter`, only with ``ensemble_size >
      1`` and an ``ensemble_scope`` of the MLP branch), or of the head's
      input (see below);
    - ``mlp_output``: output of the MLP branch (its last Dropout; one per
      member, ``(batch, k, units)``, with an ``ensemble_scope`` of the MLP
      branch);
    - ``image_input``: input, the same scaled values, drawn into the image;
    - ``image``: the imager's image, drawn in the graph
      (:class:`DrawnRender`), at its full size
      (Grad-CAM's maps are resized to it);
    - ``image_pool``: the image average-pooled to at most 32 pixels a side
      (only for a larger image);
    - ``last_conv``: the last Conv2D layer of the CNN branch (Grad-CAM reads
      it);
    - ``cnn_output``: output of the CNN branch (Flatten);
    - ``cnn_members``: the CNN branch's output repeated for each member
      (only with an ``ensemble_scope`` of the MLP branch);
    - ``concatenate``: the two branch outputs side by side
      (``branches="both"``);
    - ``ensemble_adapter``: the members' scaled copies of the head's input
      (:class:`EnsembleAdapter`, only with ``ensemble_size > 1`` and
      ``ensemble_scope="head"``);
    - ``output``: the prediction layer (a Dense, or with ``ensemble_size > 1``
      an :class:`EnsembleDense`).

    See Also
    --------
    skpermgrad.HybridRegressor, skpermgrad.HybridClassifier : Build it from a
        fitted imager and train it.

    References
    ----------
    .. [1] F. Escalera-González et al., "PermGrad" (cited in full in
       :class:`~skpermgrad.HybridRegressor`), :doi:`10.5281/zenodo.17613159`.

    Examples
    --------
    >>> import numpy as np
    >>> from skpermgrad import TintoImager
    >>> from skpermgrad.models import LAST_CONV, build_hybrid_model
    >>> X = np.random.default_rng(0).normal(size=(40, 5))
    >>> imager = TintoImager(pixels=8).fit(X)
    >>> model = build_hybrid_model(n_features=5, drawing=imager.get_drawing())
    >>> model.get_layer(LAST_CONV).output.shape
    (None, 4, 4, 32)
    """
    render = DrawnRender(*drawing, name=IMAGE)
    spec = render.compute_output_spec(keras.KerasTensor((None, n_features)))
    image_shape = tuple(spec.shape[1:3])
    pool = _image_pool(*image_shape)
    side = min(math.ceil(s / p) for s, p in zip(image_shape, pool))
    sides = [side] + _pooled_sides(side, n_conv_layers)
    seeds = _seed_stream(seed)

    def dense():
        """A weighted layer's activation and its own seeded initialiser."""
        return dict(
            activation=activation,
            kernel_initializer=_initializer(kernel_initializer, next(seeds)),
        )

    def dropout_layer(name):
        return layers.Dropout(dropout, seed=next(seeds), name=name)

    inputs, outputs = [], []
    # the members part in the MLP branch, or (without it) before the head
    members = ensemble_size if ensemble_size > 1 else None
    in_branch = members and ensemble_scope != "head" and branches != "cnn"
    if branches in ("both", "mlp"):
        tabular = keras.Input((n_features,), name=INPUT_TABULAR)
        x = tabular
        if quantile_knots is not None:
            x = QuantileMap(*quantile_knots, name=MLP_QUANTILE)(x)
        if robust_scaling is not None:
            x = RobustScale(*robust_scaling, name=MLP_ROBUST)(x)
        if numeric_embedding == "periodic":
            x = PeriodicEmbedding(seed=next(seeds), name=MLP_EMBEDDING)(x)
        elif numeric_embedding == "piecewise":
            if piecewise_edges is None:
                raise ValueError(
                    "numeric_embedding='piecewise' needs the bins' "
                    "piecewise_edges: pass piecewise_edges(values) of the values "
                    "the embedding reads."
                )
            x = PiecewiseLinearEmbedding(
                piecewise_edges, seed=next(seeds), name=MLP_EMBEDDING
            )(x)
        if in_branch:
            x = EnsembleAdapter(members, seed=next(seeds), name=ENSEMBLE_ADAPTER)(x)
        for i in range(n_dense_layers):
            if in_branch and ensemble_scope == "mlp":
                x = EnsembleLinear(
                    members, dense_units, name=f"mlp_dense_{i}", **dense()
                )(x)
            else:
                x = layers.Dense(dense_units, name=f"mlp_dense_{i}", **dense())(x)
            x = _normalization(normalization, f"mlp_norm_{i}")(x)
            last = i == n_dense_layers - 1
            x = dropout_layer(MLP_OUTPUT if last else f"mlp_dropout_{i}")(x)
        inputs.append(tabular)
        outputs.append(x)
    if branches in ("both", "cnn"):
        values = keras.Input((n_features,), name=INPUT_IMAGE)
        x = render(values)
        if pool != (1, 1):
            x = layers.AveragePooling2D(pool, padding="same", name=IMAGE_POOL)(x)
        for i in range(n_conv_layers):
            last = i == n_conv_layers - 1
            x = layers.Conv2D(
                base_filters * 2**i,
                (3, 3),
                padding="same",
                name=LAST_CONV if last else f"conv_{i}",
                **dense(),
            )(x)
            x = _normalization(normalization, f"conv_norm_{i}")(x)
            if sides[i + 1] < sides[i]:
                x = layers.MaxPooling2D((2, 2), name=f"conv_pool_{i}")(x)
            x = dropout_layer(f"conv_dropout_{i}")(x)
        inputs.append(values)
        x = layers.Flatten(name=CNN_OUTPUT)(x)
        if in_branch:
            x = layers.RepeatVector(members, name=CNN_MEMBERS)(x)
        outputs.append(x)
    x = (
        layers.Concatenate(name=CONCATENATE)(outputs)
        if len(outputs) == 2
        else outputs[0]
    )
    if members and not in_branch:
        x = EnsembleAdapter(members, seed=next(seeds), name=ENSEMBLE_ADAPTER)(x)
    for i in range(n_head_layers):
        x = layers.Dense(head_units, name=f"head_dense_{i}", **dense())(x)
        x = _normalization(normalization, f"head_norm_{i}")(x)
        x = dropout_layer(f"head_dropout_{i}")(x)
    output_initializer = _initializer(kernel_initializer, next(seeds))
    if members:
        output = EnsembleDense(
            members,
            n_outputs,
            activation=output_activation,
            kernel_initializer=output_initializer,
            name=OUTPUT,
        )(x)
        return EnsembleModel(inputs, output, name=f"hybrid_{branches}")
    output = layers.Dense(
        n_outputs,
        activation=output_activation,
        kernel_initializer=output_initializer,
        name=OUTPUT,
    )(x)
    return keras.Model(inputs, output, name=f"hybrid_{branches}")
