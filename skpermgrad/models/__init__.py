"""Hybrid MLP + CNN networks on TINTO images, as scikit-learn estimators."""

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
    TintoRender,
    quantile_knots,
)
from ._training import WarmupPlateau, one_cycle_learning_rate

# the layer names (see build_hybrid_model's Notes): explanations look layers up
# by them, in the library and out of it
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
    "PeriodicEmbedding",
    "QuantileMap",
    "TintoRender",
    "WarmupPlateau",
    "build_hybrid_model",
    "one_cycle_learning_rate",
    "quantile_knots",
]
