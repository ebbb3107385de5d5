"""Tabular rows as synthetic images: one pixel per feature at learned
positions, or a drawing of the whole row."""

from ._bar_graph import BarGraphImager
from ._bits import BIEImager, FeatureWrapImager
from ._clusters import ClustersImager
from ._combination import CombinationImager
from ._deepinsight import DeepInsightImager
from ._distance_matrix import DistanceMatrixImager
from ._drawing import draw
from ._fotomics import FotomicsImager
from ._igtd import IGTDImager
from ._names import DEFAULT_IMAGER, get_imager_names, make_imager, resolve_imager
from ._refined import RefinedImager
from ._supertml import SuperTMLImager
from ._tinto import TintoImager

__all__ = [
    "DEFAULT_IMAGER",
    "BIEImager",
    "BarGraphImager",
    "ClustersImager",
    "CombinationImager",
    "DeepInsightImager",
    "DistanceMatrixImager",
    "FeatureWrapImager",
    "FotomicsImager",
    "IGTDImager",
    "RefinedImager",
    "SuperTMLImager",
    "TintoImager",
    "draw",
    "get_imager_names",
    "make_imager",
    "resolve_imager",
]
