"""skpermgrad: interpretable hybrid neural networks for tabular data.

Tabular rows become small TINTO images (:class:`TintoImager`); hybrid MLP+CNN
networks read both views (:class:`HybridRegressor`, :class:`HybridClassifier`);
PermGrad explains them (:func:`permgrad_importance`). Keras and TensorFlow are
imported only when one of those is first used.
"""

from importlib.metadata import PackageNotFoundError, version

from .imaging import TintoImager

try:
    __version__ = version("skpermgrad")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "HybridClassifier",
    "HybridRegressor",
    "TintoImager",
    "permgrad_importance",
    "__version__",
]

# Keras and TensorFlow load only when a hybrid estimator is first used.
_LAZY = {"HybridClassifier", "HybridRegressor", "permgrad_importance"}


def __getattr__(name):
    if name in _LAZY:
        from . import inspection, models

        return getattr(inspection if name == "permgrad_importance" else models, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _LAZY)
