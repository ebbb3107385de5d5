"""skpermgrad: interpretable hybrid neural networks for tabular data.

Tabular rows become small images, one pixel per feature (:class:`TintoImager`,
:class:`IGTDImager`, :class:`RefinedImager`, :class:`DeepInsightImager`,
:class:`FotomicsImager`) or a drawing of the whole row
(:class:`DistanceMatrixImager`, :class:`BarGraphImager`,
:class:`CombinationImager`, :class:`BIEImager`, :class:`FeatureWrapImager`,
:class:`SuperTMLImager`) or its responses to a clustering of the training
rows (:class:`ClustersImager`);
hybrid MLP+CNN
networks read both views (:class:`HybridRegressor`, :class:`HybridClassifier`);
PermGrad explains them (:func:`permgrad_importance`,
:class:`PermGradExplainer`, :func:`explain_rows` per row, and the displays
:class:`PermGradDisplay`, :class:`GradCAMDisplay` and
:class:`RowExplanationDisplay`). Keras and TensorFlow are
imported only when one of those is first used.
"""

from importlib import import_module

from ._version import __version__
from .imaging import (
    BarGraphImager,
    BIEImager,
    ClustersImager,
    CombinationImager,
    DeepInsightImager,
    DistanceMatrixImager,
    FeatureWrapImager,
    FotomicsImager,
    IGTDImager,
    RefinedImager,
    SuperTMLImager,
    TintoImager,
)

__all__ = [
    "BIEImager",
    "BarGraphImager",
    "ClustersImager",
    "CombinationImager",
    "DeepInsightImager",
    "DistanceMatrixImager",
    "FeatureWrapImager",
    "FotomicsImager",
    "GradCAMDisplay",
    "HybridClassifier",
    "HybridRegressor",
    "IGTDImager",
    "PermGradDisplay",
    "PermGradExplainer",
    "RefinedImager",
    "RowExplanationDisplay",
    "SuperTMLImager",
    "TintoImager",
    "explain_rows",
    "permgrad_importance",
    "__version__",
]

# Keras and TensorFlow load only when a hybrid estimator is first used.
_LAZY = {
    "GradCAMDisplay": "inspection",
    "HybridClassifier": "models",
    "HybridRegressor": "models",
    "PermGradDisplay": "inspection",
    "PermGradExplainer": "inspection",
    "RowExplanationDisplay": "inspection",
    "explain_rows": "inspection",
    "permgrad_importance": "inspection",
}


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
