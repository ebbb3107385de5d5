"""Hybrid MLP + CNN networks on TINTO images, as scikit-learn estimators."""

from ._architecture import (
    PeriodicEmbedding,
    QuantileMap,
    TintoRender,
    build_hybrid_model,
    quantile_knots,
)
from ._hybrid import HybridClassifier, HybridRegressor
from ._training import WarmupPlateau, one_cycle_learning_rate

__all__ = [
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
