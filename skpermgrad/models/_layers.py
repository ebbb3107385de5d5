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
N_BINS = 16  # bins of the piecewise-linear embeddings of each feature


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


def robust_scaling(values: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Centre and scale of :class:`~skpermgrad.models.RobustScale` for each column.

    The centre is the median; the scale is ``1 / IQR`` (the interquartile
    range), ``2 / (max - min)`` for a column whose IQR is 0 (mostly one
    value), 0 for a constant column: RealMLP's robust scaling (scikit-learn's
    ``RobustScaler`` where the IQR is not 0).

    Returns
    -------
    center, scale : ndarray of shape (n_features,)

    See Also
    --------
    RobustScale : The layer that applies them.

    Examples
    --------
    >>> import numpy as np
    >>> from skpermgrad.models import robust_scaling
    >>> center, scale = robust_scaling(np.array([[0.0], [1.0], [2.0], [3.0], [100.0]]))
    >>> float(center[0]), float(scale[0])
    (2.0, 0.5)
    """
    values = np.asarray(values, dtype=np.float64)
    low, center, high = np.quantile(values, [0.25, 0.5, 0.75], axis=0)
    iqr, spread = high - low, np.ptp(values, axis=0)
    with np.errstate(divide="ignore"):
        scale = np.where(iqr > 0, 1 / iqr, np.where(spread > 0, 2 / spread, 0.0))
    return center.astype("float32"), scale.astype("float32")


@keras.saving.register_keras_serializable(package="skpermgrad")
class RobustScale(layers.Layer):
    """Centre and scale each column, then clip it smoothly (not trainable).

    ``smooth_clip((x - center) * scale)``, where ``smooth_clip(z) = z /
    sqrt(1 + (z / 3)**2)`` keeps values near the centre as they are and
    brings outliers within +-3: RealMLP's preprocessing, held inside the graph
    so that the network's input stays the values the image is drawn from.

    Parameters
    ----------
    center, scale : array-like of shape (n_features,)
        From :func:`robust_scaling` of the training values.

    See Also
    --------
    robust_scaling : Its centre and scale.
    build_hybrid_model : Puts it first in the MLP branch
        (``robust_scaling=``), as the ``mlp_robust`` layer.

    References
    ----------
    .. [1] D. Holzmüller, L. Grinsztajn and I. Steinwart, "Better by Default:
       Strong Pre-Tuned MLPs and Boosted Trees on Tabular Data", NeurIPS 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from skpermgrad.models import RobustScale
    >>> layer = RobustScale(center=[1.0], scale=[0.5])
    >>> np.round(np.asarray(layer(np.array([[1.0], [3.0], [1e6]], "float32"))), 3)
    array([[0.   ],
           [0.949],
           [3.   ]], dtype=float32)
    """

    def __init__(self, center: ArrayLike, scale: ArrayLike, **kwargs: Any) -> None:
        kwargs.pop("trainable", None)
        super().__init__(trainable=False, **kwargs)
        self.center = np.asarray(center, dtype="float32")
        self.scale = np.asarray(scale, dtype="float32")

    def call(self, values: Any) -> Any:
        center = ops.convert_to_tensor(self.center, dtype=values.dtype)
        scale = ops.convert_to_tensor(self.scale, dtype=values.dtype)
        scaled = (values - center[None]) * scale[None]
        return scaled / ops.sqrt(1 + (scaled / 3) ** 2)  # RealMLP's smooth clip

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "center": self.center.tolist(),
            "scale": self.scale.tolist(),
        }


def piecewise_edges(values: ArrayLike, n_bins: int = N_BINS) -> np.ndarray:
    """Bin edges of :class:`~skpermgrad.models.PiecewiseLinearEmbedding`.

    Column ``j``'s edges are its ``n_bins + 1`` empirical quantiles at evenly
    spaced levels; tied quantiles (a discrete column) are merged, and the
    remaining edges repeat the last one (bins of width 0, which the layer
    leaves out).

    Returns
    -------
    edges : ndarray of shape (n_features, n_bins + 1)

    See Also
    --------
    PiecewiseLinearEmbedding : The layer that reads them.

    Examples
    --------
    >>> import numpy as np
    >>> from skpermgrad.models import piecewise_edges
    >>> piecewise_edges(np.array([[0.0], [1.0], [1.0], [1.0], [4.0]]), n_bins=4)
    array([[0., 1., 4., 4., 4.]], dtype=float32)
    """
    values = np.asarray(values, dtype=np.float64)
    quantiles = np.quantile(values, np.linspace(0, 1, n_bins + 1), axis=0).T
    edges = np.empty_like(quantiles)
    for j, column in enumerate(quantiles):
        unique = np.unique(column)
        edges[j] = np.concatenate(
            [unique, np.repeat(unique[-1], len(column) - len(unique))]
        )
    return edges.astype("float32")


@keras.saving.register_keras_serializable(package="skpermgrad")
class PiecewiseLinearEmbedding(layers.Layer):
    """Piecewise-linear encodings of numeric features, each through its own
    linear layer and a ReLU (Gorishniy et al. 2022).

    Feature ``x_j`` with bin edges ``e_0 < ... < e_T`` is encoded as ``T``
    values, bin ``t``'s ``(x_j - e_{t-1}) / (e_t - e_{t-1})`` clipped to
    ``[0, 1]`` (the first bin unclipped below, the last above, so that values
    beyond the training range extrapolate linearly); a bin of width 0 (tied
    quantiles) is left out. The encoding goes through feature ``j``'s own
    linear layer of ``d_embedding`` units and a ReLU; the output is the
    features' embeddings side by side, ``(batch, n_features * d_embedding)``.

    Parameters
    ----------
    edges : array-like of shape (n_features, n_bins + 1)
        Non-decreasing bin edges of each feature (:func:`piecewise_edges`).
    d_embedding : int, default=8
        Units of each feature's embedding.
    seed : int or None, default=None
        Seed of the linear layers' initialiser.

    See Also
    --------
    piecewise_edges : Quantile bin edges from training values.
    PeriodicEmbedding : The periodic embeddings.
    build_hybrid_model : Puts it in the MLP branch
        (``numeric_embedding="piecewise"``), as the ``mlp_embedding`` layer.

    References
    ----------
    .. [1] Y. Gorishniy, I. Rubachev and A. Babenko, "On Embeddings for
       Numerical Features in Tabular Deep Learning", NeurIPS 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from skpermgrad.models import PiecewiseLinearEmbedding
    >>> layer = PiecewiseLinearEmbedding([[0.0, 1.0, 2.0]] * 5, d_embedding=3)
    >>> tuple(layer(np.zeros((2, 5), "float32")).shape)
    (2, 15)
    """

    def __init__(
        self,
        edges: ArrayLike,
        d_embedding: int = 8,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.edges = np.asarray(edges, dtype="float32")
        self.d_embedding = int(d_embedding)
        self.seed = seed
        # fixed bins, worked out once: their starts, widths and clipping bounds
        width = np.diff(self.edges, axis=1)
        valid = width > 0
        self._start = self.edges[:, :-1]
        self._width = np.where(valid, width, np.float32(1))
        first = np.argmax(valid, axis=1)
        last = valid.shape[1] - 1 - np.argmax(valid[:, ::-1], axis=1)
        rows = np.arange(len(valid))
        # a bin of width 0 is clipped to [0, 0]: left out
        low = np.zeros(valid.shape, "float32")
        high = valid.astype("float32")
        low[rows, first] = np.where(valid[rows, first], -np.inf, 0.0)
        high[rows, last] = np.where(valid[rows, last], np.inf, 0.0)
        self._low, self._high = low, high

    def build(self, input_shape: tuple) -> None:
        n_features, n_bins = self.edges.shape[0], self.edges.shape[1] - 1
        bound = 1 / math.sqrt(n_bins)
        self.kernel = self.add_weight(
            name="kernel",
            shape=(n_features, n_bins, self.d_embedding),
            initializer=keras.initializers.RandomUniform(-bound, bound, seed=self.seed),
        )
        self.bias = self.add_weight(
            name="bias",
            shape=(n_features, self.d_embedding),
            initializer=keras.initializers.RandomUniform(
                -bound, bound, seed=None if self.seed is None else self.seed + 1
            ),
        )

    def call(self, values: Any) -> Any:
        dtype = values.dtype

        def const(a):
            return ops.convert_to_tensor(a[None], dtype=dtype)

        ramps = (values[:, :, None] - const(self._start)) / const(self._width)
        encoded = ops.minimum(ops.maximum(ramps, const(self._low)), const(self._high))
        embedded = ops.einsum("bft,fte->bfe", encoded, self.kernel) + self.bias[None]
        return ops.reshape(
            ops.relu(embedded), (-1, self.edges.shape[0] * self.d_embedding)
        )

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], self.edges.shape[0] * self.d_embedding)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "edges": self.edges.tolist(),
            "d_embedding": self.d_embedding,
            "seed": self.seed,
        }
