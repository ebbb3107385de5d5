"""skpermgrad: interpretable hybrid neural networks for tabular data.

Tabular rows become small TINTO images (:class:`TintoImager`); hybrid MLP+CNN
networks read both views; PermGrad explains them.
"""

from importlib.metadata import PackageNotFoundError, version

from .imaging import TintoImager

try:
    __version__ = version("skpermgrad")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["TintoImager", "__version__"]
