"""What the network is fed: the inputs of each branch, the target, the batches."""

import keras
import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ..imaging import resolve_imager
from . import _architecture as arch
from ._layers import (
    QuantileMap,
    RobustScale,
    piecewise_edges,
    quantile_knots,
    robust_scaling,
)

_BRANCH_INPUTS = {
    "both": (arch.INPUT_TABULAR, arch.INPUT_IMAGE),
    "mlp": (arch.INPUT_TABULAR,),
    "cnn": (arch.INPUT_IMAGE,),
}


class _HybridInputs(TransformerMixin, BaseEstimator):
    """Feature encoder: fits the imager on the training rows (and their target,
    for an image drawn from it), feeds both branches.

    ``transform`` returns ``{"tabular": values, "image_input": values}`` (the
    keys the model's inputs are named by; one key for a single-branch model),
    where ``values`` are the imager's clipped min-max scaled features. It also
    learns what the MLP branch's fixed layers hold, from the training values:
    ``quantile_knots_`` for the quantile map (``mlp_input="quantile"``),
    ``robust_scaling_`` for the robust scaling (``mlp_input="robust"``) and
    ``piecewise_edges_``, the bins of the piecewise-linear embeddings
    (``numeric_embedding="piecewise"``) on the values the embedding reads
    (after the map or the scaling); ``None`` where unused. ``imager=None``
    is the hybrids' default image, ``IGTDImager(random_state=random_state)``;
    a name is ``make_imager(name, n_features, random_state=random_state)``.
    """

    def __init__(
        self,
        imager=None,
        branches="both",
        mlp_input="quantile",
        numeric_embedding=None,
        random_state=None,
    ):
        self.imager = imager
        self.branches = branches
        self.mlp_input = mlp_input
        self.numeric_embedding = numeric_embedding
        self.random_state = random_state

    def fit(self, X, y=None):
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X, y=None):
        """Fit, and the training rows' inputs: ``X`` read and scaled once."""
        imager = resolve_imager(self.imager, X.shape[1], random_state=self.random_state)
        # y: for an image drawn from the target (SuperTML-VF's font sizes)
        values = imager.fit_transform_values(X, y)
        self.imager_ = imager
        self.quantile_knots_ = self.robust_scaling_ = self.piecewise_edges_ = None
        if self.branches == "cnn":
            return self._inputs(values)
        input_map = None  # the MLP branch's fixed first layer, if any
        if self.mlp_input == "quantile":
            self.quantile_knots_ = quantile_knots(values)
            input_map = QuantileMap(*self.quantile_knots_)
        elif self.mlp_input == "robust":
            self.robust_scaling_ = robust_scaling(values)
            input_map = RobustScale(*self.robust_scaling_)
        if self.numeric_embedding == "piecewise":
            # the bins of what the embedding reads: the values through that layer
            read = values if input_map is None else np.asarray(input_map(values))
            self.piecewise_edges_ = piecewise_edges(read)
        return self._inputs(values)

    def transform(self, X):
        return self._inputs(self.imager_.transform_values(X))

    def _inputs(self, values):
        return {name: values for name in _BRANCH_INPUTS[self.branches]}


class _Batches(keras.utils.PyDataset):
    """Mini-batches of encoded inputs, targets and weights, gathered per step.

    Reshuffles ``rows`` every epoch with its own seeded generator when ``seed``
    is given (training); keeps them in order otherwise (validation).
    """

    def __init__(self, X, y, sample_weight, rows, batch_size, seed):
        super().__init__()
        self.X, self.y, self.sample_weight = X, y, sample_weight
        self.rows, self.batch_size = rows, batch_size
        self._rng = None if seed is None else np.random.default_rng(seed)
        self._order = self._shuffled()

    def _shuffled(self):
        return self.rows if self._rng is None else self._rng.permutation(self.rows)

    def __len__(self):
        return -(-len(self.rows) // self.batch_size)

    def __getitem__(self, index):
        rows = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        # inputs that share one array are gathered once
        gathered = {id(values): values[rows] for values in self.X.values()}
        batch = ({name: gathered[id(v)] for name, v in self.X.items()}, self.y[rows])
        if self.sample_weight is not None:
            batch += (self.sample_weight[rows],)
        return batch

    def on_epoch_end(self):
        self._order = self._shuffled()


class _StandardTarget(TransformerMixin, BaseEstimator):
    """Target encoder of the regressor: standardise y for training, undo it after."""

    def __init__(self, scale=True):
        self.scale = scale

    def fit(self, y):
        y = np.asarray(y, dtype=np.float64).reshape(-1)  # fit() allows one target
        self.mean_ = float(y.mean()) if self.scale else 0.0
        std = float(y.std()) if self.scale else 1.0
        self.std_ = std if std > 0 else 1.0
        return self

    def transform(self, y):
        y = np.asarray(y, dtype=np.float64).reshape(-1, 1)
        return ((y - self.mean_) / self.std_).astype(np.float32)

    def inverse_transform(self, y):
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        return y * self.std_ + self.mean_

    def get_metadata(self):
        return {"n_outputs_expected_": 1}
