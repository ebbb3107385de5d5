"""The layers the hybrid network is made of beyond Keras's own: the in-graph
image (any imager's drawing), the MLP branch's quantile map and periodic
embeddings.

Each is registered for Keras serialisation (package ``skpermgrad``), so a saved
or pickled hybrid loads again.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
from keras import layers, ops
from numpy.typing import ArrayLike

from ..imaging import draw

N_QUANTILES = 64  # knots of the quantile map of each feature


@keras.saving.register_keras_serializable(package="skpermgrad")
class DrawnRender(layers.Layer):
    """Draw an imager's images from scaled values inside the graph.

    Holds a fitted imager's drawing (see
    :meth:`~skpermgrad.TintoImager.get_drawing`: a layout's footprints, or a
    drawn image) and draws it on each batch with ``keras.ops``: the same
    function as the imager's :meth:`~skpermgrad.TintoImager.transform_images`,
    in float32, so training never materialises the ``(n_samples, height,
    width, channels)`` array. Not trainable; differentiable where the drawing
    is (a layout, the distance matrix; not the bars, a step function of the
    values).

    Parameters
    ----------
    kind : str
        The drawing's name (one :func:`skpermgrad.imaging.draw` knows).
    params : dict, default=None
        Its keyword arguments (``zoom``, and the drawing's own: a layout's
        ``weights``, ``mode``, ``pixels`` and ``channels``, the bars'
        ``pixel_width`` and ``gap``, the feature wrap's ``bins`` and
        ``size``, the text's glyphs and geometry); arrays among them are
        saved in the layer's config as lists.
    **kwargs
        Keras layer arguments (``name``...).

    See Also
    --------
    skpermgrad.imaging.draw : The drawings, in NumPy or ``keras.ops``.
    build_hybrid_model : Puts this layer after the ``image_input`` input.

    Examples
    --------
    >>> import numpy as np
    >>> from skpermgrad import DistanceMatrixImager
    >>> from skpermgrad.models import DrawnRender
    >>> X = np.random.default_rng(0).uniform(size=(50, 3))
    >>> imager = DistanceMatrixImager().fit(X)
    >>> kind, params = imager.get_drawing()
    >>> layer = DrawnRender(kind, params)
    >>> values = imager.transform_values(X[:2])
    >>> bool(np.allclose(layer(values), imager.transform_images(X[:2])))
    True
    """

    def __init__(self, kind: str, params: dict | None = None, **kwargs: Any) -> None:
        kwargs.pop("trainable", None)  # present in a saved config; always False
        super().__init__(trainable=False, **kwargs)
        self.kind = kind
        self.params = dict(params or {})

    def call(self, values: Any) -> Any:
        return draw(self.kind, values, xp=ops, **self.params)

    def get_config(self) -> dict:
        params = {
            name: value.tolist() if isinstance(value, np.ndarray) else value
            for name, value in self.params.items()
        }
        return {**super().get_config(), "kind": self.kind, "params": params}


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
        # the linear layer's seed follows the layer's, so that a seeded
        # embedding draws nothing from Python's global random state
        self.dense = layers.Dense(
            self.d_embedding,
            activation="relu",
            kernel_initializer=keras.initializers.GlorotUniform(
                seed=None if self.seed is None else self.seed + 1
            ),
            name="linear",
        )
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
