"""Tabular rows as synthetic images: one pixel per feature, learned positions."""

from ._deepinsight import DeepInsightImager
from ._fotomics import FotomicsImager
from ._igtd import IGTDImager
from ._refined import RefinedImager
from ._tinto import TintoImager

__all__ = [
    "DeepInsightImager",
    "FotomicsImager",
    "IGTDImager",
    "RefinedImager",
    "TintoImager",
]
