"""Hybrid MLP + CNN networks on tabular images, as scikit-learn estimators."""

from ._architecture import (
    CNN_OUTPUT,
    CONCATENATE,
    ENSEMBLE_ADAPTER,
    IMAGE,
    IMAGE_POOL,
    INPUT_IMAGE,
    INPUT_TABULAR,
    LAST_CONV,
    MLP_EMBEDDING,
    MLP_OUTPUT,
    MLP_QUANTILE,
    OUTPUT,
    build_hybrid_model,
)
from ._ensemble import EnsembleAdapter, EnsembleDense, EnsembleModel
from ._hybrid import HybridClassifier, HybridRegressor
from ._layers import (
    DrawnRender,
    PeriodicEmbedding,
    QuantileMap,
    quantile_knots,
)
from ._training import WarmupPlateau, one_cycle_learning_rate
from ._view import NetworkView

# the layer names (see build_hybrid_model's Notes): NetworkView looks layers
# up by them, and so may explanations out of the library
LAYER_NAMES = (
    INPUT_TABULAR,
    MLP_QUANTILE,
    MLP_EMBEDDING,
    MLP_OUTPUT,
    INPUT_IMAGE,
    IMAGE,
    IMAGE_POOL,
    LAST_CONV,
    CNN_OUTPUT,
    CONCATENATE,
    ENSEMBLE_ADAPTER,
    OUTPUT,
)

__all__ = [
    "CNN_OUTPUT",
    "CONCATENATE",
    "ENSEMBLE_ADAPTER",
    "IMAGE",
    "IMAGE_POOL",
    "INPUT_IMAGE",
    "INPUT_TABULAR",
    "LAST_CONV",
    "LAYER_NAMES",
    "MLP_EMBEDDING",
    "MLP_OUTPUT",
    "MLP_QUANTILE",
    "OUTPUT",
    "DrawnRender",
    "EnsembleAdapter",
    "EnsembleDense",
    "EnsembleModel",
    "HybridClassifier",
    "HybridRegressor",
    "NetworkView",
    "PeriodicEmbedding",
    "QuantileMap",
    "WarmupPlateau",
    "build_hybrid_model",
    "one_cycle_learning_rate",
    "quantile_knots",
]
