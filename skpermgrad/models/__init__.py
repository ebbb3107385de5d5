"""Hybrid MLP + CNN networks on TINTO images, as scikit-learn estimators."""

from ._architecture import TintoRender, build_hybrid_model
from ._hybrid import HybridClassifier, HybridRegressor
from ._training import WarmupPlateau, one_cycle_learning_rate

__all__ = [
    "HybridClassifier",
    "HybridRegressor",
    "TintoRender",
    "WarmupPlateau",
    "build_hybrid_model",
    "one_cycle_learning_rate",
]
