"""Parameter-efficient ensembling of the hybrid's head ("TabM-mini", BatchEnsemble).

``k`` members share every weight of the head but a per-member scaling of its
input (:class:`EnsembleAdapter`) and their own output layer
(:class:`EnsembleDense`). Each member is trained on its own loss
(:class:`EnsembleModel`): the members' predictions are kept apart while
training and averaged for inference, so every explanation reads one output.

Each is registered for Keras serialisation (package ``skpermgrad``), and
:class:`EnsembleModel` pickles under that registered name, so a saved hybrid
loads in any process that can import skpermgrad.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

import keras
import numpy as np
from keras import layers, ops

# Keras's in-memory .keras archive (its public save_model wants a file name);
# SciKeras pickles every keras.Model through the same functions.
from keras.src.saving.saving_lib import load_model, save_model


@keras.saving.register_keras_serializable(package="skpermgrad")
class EnsembleAdapter(layers.Layer):
    """Copy each row ``k`` times, member ``j``'s copy scaled by its vector ``r_j``.

    ``(batch, d) -> (batch, k, d)``; ``r`` is trainable and initialised with
    random signs (+1/-1), as TabM-mini's adapter. The Dense layers after it act
    on the last axis, so they are shared by the members.

    Parameters
    ----------
    n_members : int
        The ensemble's size ``k``.
    seed : int or None, default=None
        Seed of the random signs.

    See Also
    --------
    EnsembleDense : The members' own output layer.
    build_hybrid_model : Puts it after the ``concatenate`` layer
        (``ensemble_size > 1``).

    References
    ----------
    .. [1] Y. Gorishniy, A. Kotelnikov and A. Babenko, "TabM: Advancing Tabular
       Deep Learning with Parameter-Efficient Ensembling", ICLR 2025.
    .. [2] Y. Wen, D. Tran and J. Ba, "BatchEnsemble: an Alternative Approach
       to Efficient Ensemble and Lifelong Learning", ICLR 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from skpermgrad.models import EnsembleAdapter
    >>> tuple(EnsembleAdapter(4, seed=0)(np.ones((2, 3), "float32")).shape)
    (2, 4, 3)
    """

    def __init__(self, n_members: int, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.n_members = int(n_members)
        self.seed = seed

    def build(self, input_shape: tuple) -> None:
        self.scales = self.add_weight(
            name="scales",
            shape=(self.n_members, input_shape[-1]),
            initializer=_RandomSigns(self.seed),
        )

    def call(self, inputs: Any) -> Any:
        return inputs[:, None, :] * self.scales[None]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], self.n_members, input_shape[-1])

    def get_config(self) -> dict:
        return {**super().get_config(), "n_members": self.n_members, "seed": self.seed}


class _MembersLayer(layers.Layer):
    """A layer of ``n_members`` members with ``units`` outputs each: the
    constructor and the config that :class:`EnsembleDense` and
    :class:`EnsembleLinear` share."""

    def __init__(
        self,
        n_members: int,
        units: int,
        activation: str | None = None,
        kernel_initializer: str | dict = "glorot_uniform",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.n_members = int(n_members)
        self.units = int(units)
        self.activation = keras.activations.get(activation)
        self.kernel_initializer = kernel_initializer

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "n_members": self.n_members,
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "kernel_initializer": self.kernel_initializer,
        }


@keras.saving.register_keras_serializable(package="skpermgrad")
class EnsembleDense(_MembersLayer):
    """Each member's own Dense output layer; their mean for inference.

    ``(batch, k, d) -> (batch, units)``: member ``j`` computes
    ``activation(h_j @ W_j + b_j)``; the layer returns the members' mean, or,
    while training, the members themselves, ``(batch, k, units)``, for
    :class:`EnsembleModel` to train each on its own loss.

    Parameters
    ----------
    n_members : int
        The ensemble's size ``k``.
    units : int
        Outputs of each member.
    activation : str or None, default=None
        Keras activation of each member's output (applied before the mean).
    kernel_initializer : str or dict, default="glorot_uniform"
        Initializer of the members' kernels: a Keras name, or a serialised
        initializer (to give it a seed).

    See Also
    --------
    EnsembleAdapter : Makes the members.

    References
    ----------
    .. [1] Y. Gorishniy, A. Kotelnikov and A. Babenko, "TabM: Advancing Tabular
       Deep Learning with Parameter-Efficient Ensembling", ICLR 2025.

    Examples
    --------
    >>> import numpy as np
    >>> from skpermgrad.models import EnsembleDense
    >>> layer = EnsembleDense(4, 2, activation="softmax")
    >>> tuple(layer(np.ones((3, 4, 5), "float32")).shape)
    (3, 2)
    """

    def build(self, input_shape: tuple) -> None:
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.n_members, input_shape[-1], self.units),
            initializer=self.kernel_initializer,
        )
        self.bias = self.add_weight(
            name="bias", shape=(self.n_members, self.units), initializer="zeros"
        )

    def member_logits(self, inputs: Any) -> Any:
        """Each member's output before the activation, ``(batch, k, units)``."""
        return ops.einsum("bkd,kdu->bku", inputs, self.kernel) + self.bias[None]

    def logits(self, inputs: Any) -> Any:
        """The members' mean output before the activation, ``(batch, units)``."""
        return ops.mean(self.member_logits(inputs), axis=1)

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        members = self.activation(self.member_logits(inputs))
        return members if training else ops.mean(members, axis=1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], self.units)


@keras.saving.register_keras_serializable(package="skpermgrad")
class EnsembleLinear(_MembersLayer):
    """A Dense layer shared by ``k`` members, each with its own scalings and bias.

    ``(batch, k, d) -> (batch, k, units)``: member ``j`` computes
    ``activation(((h_j * r_j) @ W) * s_j + b_j)``, ``W`` shared, ``r_j``,
    ``s_j`` (initialised with ones) and ``b_j`` its own: BatchEnsemble's
    linear layer, as TabM's backbone has in every block (after an
    :class:`EnsembleAdapter` whose random signs make the members differ).

    Parameters
    ----------
    n_members : int
        The ensemble's size ``k``.
    units : int
        Outputs of each member.
    activation : str or None, default=None
        Keras activation.
    kernel_initializer : str or dict, default="glorot_uniform"
        Initializer of the shared kernel: a Keras name, or a serialised
        initializer (to give it a seed).

    See Also
    --------
    EnsembleAdapter : Makes the members.
    build_hybrid_model : Makes the MLP branch's Dense layers of these
        (``ensemble_scope="mlp"``).

    References
    ----------
    .. [1] Y. Wen, D. Tran and J. Ba, "BatchEnsemble: an Alternative Approach
       to Efficient Ensemble and Lifelong Learning", ICLR 2020.
    .. [2] Y. Gorishniy, A. Kotelnikov and A. Babenko, "TabM: Advancing Tabular
       Deep Learning with Parameter-Efficient Ensembling", ICLR 2025.

    Examples
    --------
    >>> import numpy as np
    >>> from skpermgrad.models import EnsembleLinear
    >>> tuple(EnsembleLinear(4, 2)(np.ones((3, 4, 5), "float32")).shape)
    (3, 4, 2)
    """

    def build(self, input_shape: tuple) -> None:
        k, d = self.n_members, input_shape[-1]
        self.kernel = self.add_weight(
            name="kernel", shape=(d, self.units), initializer=self.kernel_initializer
        )
        self.input_scales = self.add_weight(
            name="input_scales", shape=(k, d), initializer="ones"
        )
        self.output_scales = self.add_weight(
            name="output_scales", shape=(k, self.units), initializer="ones"
        )
        self.bias = self.add_weight(
            name="bias", shape=(k, self.units), initializer="zeros"
        )

    def call(self, inputs: Any) -> Any:
        h = ops.matmul(inputs * self.input_scales[None], self.kernel)
        return self.activation(h * self.output_scales[None] + self.bias[None])

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*input_shape[:-1], self.units)


@keras.saving.register_keras_serializable(package="skpermgrad")
class EnsembleModel(keras.Model):
    """A functional model that trains each ensemble member on its own loss.

    While training, the output layer (:class:`EnsembleDense`) returns
    ``(batch, k, outputs)``; the loss and the compiled metrics are computed on
    the ``batch * k`` member predictions, each row's target repeated ``k``
    times, so the loss is the members' mean loss (TabM's rule: training the
    mean prediction instead makes the members collapse into one model).
    Inference returns the members' mean.

    Pickles (and deep-copies) as a ``.keras`` archive in memory, like every
    Keras model under SciKeras, but without SciKeras's re-registration of the
    class under the name ``">EnsembleModel"``, which no new process knows: the
    archive names ``"skpermgrad>EnsembleModel"``, registered when the function
    that rebuilds it is imported.
    """

    def __reduce__(self) -> tuple:
        buffer = BytesIO()
        save_model(self, buffer)
        return _load_ensemble_model, (np.frombuffer(buffer.getvalue(), np.uint8),)

    def __deepcopy__(self, memo: dict) -> EnsembleModel:
        load, args = self.__reduce__()
        memo[id(self)] = copy = load(*args)
        return copy

    def compute_loss(
        self,
        x: Any = None,
        y: Any = None,
        y_pred: Any = None,
        sample_weight: Any = None,
        training: bool = True,
    ) -> Any:
        """Keras's loss, on each member's prediction (``batch * k`` rows)."""
        y, y_pred, sample_weight = _members_apart(y, y_pred, sample_weight)
        return super().compute_loss(x, y, y_pred, sample_weight, training)

    def compute_metrics(
        self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None
    ) -> dict:
        """Keras's compiled metrics, on each member's prediction."""
        y, y_pred, sample_weight = _members_apart(y, y_pred, sample_weight)
        return super().compute_metrics(x, y, y_pred, sample_weight)


# Hybrids pickled before skpermgrad pickled EnsembleModel itself name it
# ">EnsembleModel" (SciKeras's re-registration): the same class, under that name
keras.saving.get_custom_objects()[">EnsembleModel"] = EnsembleModel


def _load_ensemble_model(archive: np.ndarray) -> EnsembleModel:
    """Rebuild a pickled :class:`EnsembleModel` from its ``.keras`` archive."""
    return load_model(BytesIO(archive.tobytes()), compile=True)


def _members_apart(y, y_pred, sample_weight):
    """``(batch, k, u)`` predictions as ``batch * k`` rows, targets repeated."""
    if y_pred is None or len(y_pred.shape) != 3:
        return y, y_pred, sample_weight
    k = y_pred.shape[1]
    y_pred = ops.reshape(y_pred, (-1, y_pred.shape[2]))
    y = None if y is None else ops.repeat(y, k, axis=0)
    if sample_weight is not None:
        sample_weight = ops.repeat(sample_weight, k, axis=0)
    return y, y_pred, sample_weight


class _RandomSigns(keras.initializers.Initializer):
    """+1 or -1, each with probability 1/2.

    Drawn through Keras's own uniform initializer: without a seed it takes one
    from Python's random state when made (as Keras's initializers do), so a
    seeded fit draws the same signs every time.
    """

    def __init__(self, seed=None):
        self.seed = seed
        self._uniform = keras.initializers.RandomUniform(0.0, 1.0, seed=seed)

    def __call__(self, shape, dtype=None):
        return ops.where(self._uniform(shape, dtype=dtype) < 0.5, -1.0, 1.0)

    def get_config(self):
        return {"seed": self.seed}
