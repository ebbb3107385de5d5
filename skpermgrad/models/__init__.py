"""Hybrid MLP + CNN networks on tabular images, as scikit-learn estimators."""

from ._architecture import (
    CNN_MEMBERS,
    CNN_OUTPUT,
    CONCATENATE,
    ENSEMBLE_ADAPTER,
    ENSEMBLE_SCOPES,
    IMAGE,
    IMAGE_POOL,
    INPUT_IMAGE,
    INPUT_TABULAR,
    LAST_CONV,
    MLP_EMBEDDING,
    MLP_OUTPUT,
    MLP_QUANTILE,
    MLP_ROBUST,
    NUMERIC_EMBEDDINGS,
    OUTPUT,
    build_hybrid_model,
)
from ._ensemble import EnsembleAdapter, EnsembleDense, EnsembleLinear, EnsembleModel
from ._hybrid import HybridClassifier, HybridRegressor
from ._layers import (
    DrawnRender,
    PeriodicEmbedding,
    PiecewiseLinearEmbedding,
    QuantileMap,
    RobustScale,
    piecewise_edges,
    quantile_knots,
    robust_scaling,
)
from ._training import SmoothedCrossentropy, WarmupPlateau, one_cycle_learning_rate
from ._view import NetworkView

# ENSEMBLE_SCOPES and NUMERIC_EMBEDDINGS: the values of the hybrids'
# ensemble_scope and numeric_embedding (the search space tunes among them)
# the layer names (see build_hybrid_model's Notes): NetworkView looks layers
# up by them, and so may explanations out of the library
LAYER_NAMES = (
    INPUT_TABULAR,
    MLP_QUANTILE,
    MLP_ROBUST,
    MLP_EMBEDDING,
    MLP_OUTPUT,
    INPUT_IMAGE,
    IMAGE,
    IMAGE_POOL,
    LAST_CONV,
    CNN_OUTPUT,
    CNN_MEMBERS,
    CONCATENATE,
    ENSEMBLE_ADAPTER,
    OUTPUT,
)

__all__ = [
    "CNN_MEMBERS",
    "CNN_OUTPUT",
    "CONCATENATE",
    "ENSEMBLE_ADAPTER",
    "ENSEMBLE_SCOPES",
    "IMAGE",
    "IMAGE_POOL",
    "INPUT_IMAGE",
    "INPUT_TABULAR",
    "LAST_CONV",
    "LAYER_NAMES",
    "MLP_EMBEDDING",
    "MLP_OUTPUT",
    "MLP_QUANTILE",
    "MLP_ROBUST",
    "NUMERIC_EMBEDDINGS",
    "OUTPUT",
    "DrawnRender",
    "EnsembleAdapter",
    "EnsembleDense",
    "EnsembleLinear",
    "EnsembleModel",
    "HybridClassifier",
    "HybridRegressor",
    "NetworkView",
    "PeriodicEmbedding",
    "PiecewiseLinearEmbedding",
    "QuantileMap",
    "RobustScale",
    "SmoothedCrossentropy",
    "WarmupPlateau",
    "build_hybrid_model",
    "one_cycle_learning_rate",
    "piecewise_edges",
    "quantile_knots",
    "robust_scaling",
]
