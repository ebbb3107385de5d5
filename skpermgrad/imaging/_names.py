"""Each image method by name, sized to a table: the one rule behind the
hybrids' ``imager="<name>"``, the main job's ``--images`` and the
benchmarks."""

import math
from numbers import Integral

from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ._bar_graph import BarGraphImager
from ._bits import BIEImager, FeatureWrapImager
from ._clusters import ClustersImager
from ._combination import CombinationImager
from ._deepinsight import DeepInsightImager
from ._distance_matrix import DistanceMatrixImager
from ._drawing import bar_geometry
from ._fotomics import FotomicsImager
from ._igtd import IGTDImager
from ._refined import RefinedImager
from ._supertml import SuperTMLImager
from ._tinto import TintoImager


def _feature_wrap(n_features, random_state):
    # the smallest square of at least 8x8 (the imager's default) that holds
    # the table's bits: n_features x 10 bins, 8 bits a pixel
    bins = FeatureWrapImager().bins
    side = max(8, math.ceil(math.sqrt(n_features * bins / 8)))
    return FeatureWrapImager(size=(side, side), bins=bins)


def _bar_graph(n_features, random_state):
    # its default gap of 0 leaves a table of two features no room for a bar
    # between the paddings (a 2x2 image): a gap of 1 gives them one
    _, _, height, _ = bar_geometry(n_features, 1, 0)
    return BarGraphImager() if height >= 1 else BarGraphImager(gap=1)


def _supertml(n_features, random_state):
    # 20 px cells with a 6 px font (TINTOlib's 224 px image would make each
    # batch's activations hundreds of times larger than the layouts')
    return SuperTMLImager(pixels=20 * math.ceil(math.sqrt(n_features)), font_size=6)


# name: the imager for a table of n_features columns, seeded by random_state
# (the methods without randomness take none); layouts first, then drawings
_MAKERS = {
    "igtd": lambda n, seed: IGTDImager(random_state=seed),
    "tinto": lambda n, seed: TintoImager(random_state=seed),
    "refined": lambda n, seed: RefinedImager(random_state=seed),
    "deepinsight": lambda n, seed: DeepInsightImager(random_state=seed),
    "fotomics": lambda n, seed: FotomicsImager(),
    "distance_matrix": lambda n, seed: DistanceMatrixImager(),
    "bar_graph": _bar_graph,
    "combination": lambda n, seed: CombinationImager(),
    "bie": lambda n, seed: BIEImager(),
    "feature_wrap": _feature_wrap,
    "supertml": _supertml,
    "clusters": lambda n, seed: ClustersImager(random_state=seed),
}


def get_imager_names() -> list[str]:
    """The names of the image methods: the layouts, then the drawings.

    Each is a name :func:`~skpermgrad.imaging.make_imager` knows.

    Returns
    -------
    names : list of str
        ``"igtd"`` (the hybrids' default image) first.

    See Also
    --------
    skpermgrad.imaging.make_imager : The imager of a name.

    Examples
    --------
    >>> from skpermgrad.imaging import get_imager_names
    >>> get_imager_names()[:3]
    ['igtd', 'tinto', 'refined']
    """
    return list(_MAKERS)


@validate_params(
    {
        "name": [StrOptions(set(_MAKERS))],
        "n_features": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_imager(name: str, n_features: int, *, random_state=None):
    """The imager of an image method, by name, sized to a table.

    The imagers' own defaults, but where a default does not fit every
    table: the bar graph with a gap of 1 for two features (no room for a bar
    without one), the feature wrap on the smallest square (8x8 at least) that holds
    the table's bits, and SuperTML with a 6 px font in 20 px cells of its
    ``ceil(sqrt(n_features))``-column grid (its class default, TINTOlib's
    224 px image, is too large to train on at a CPU's pace). This is what
    a hybrid fits for ``imager="<name>"``, and what ``skpermgrad run
    --images`` chooses among.

    Parameters
    ----------
    name : str
        One of :func:`~skpermgrad.imaging.get_imager_names`: ``"igtd"``, ``"tinto"``,
        ``"refined"``, ``"deepinsight"``, ``"fotomics"`` (the layouts, one
        pixel a feature), ``"distance_matrix"``, ``"bar_graph"``,
        ``"combination"``, ``"bie"``, ``"feature_wrap"``, ``"supertml"``,
        ``"clusters"`` (the drawings).
    n_features : int
        Columns of the table it will image.
    random_state : int, RandomState instance or None, default=None
        The seed of the methods that draw random numbers (IGTD, TINTO,
        REFINED, DeepInsight, Clusters); the others take none.

    Returns
    -------
    imager : estimator
        Unfitted.

    See Also
    --------
    skpermgrad.imaging.get_imager_names : The names.
    skpermgrad.HybridRegressor, skpermgrad.HybridClassifier : ``imager`` takes
        a name.

    Examples
    --------
    >>> from skpermgrad.imaging import make_imager
    >>> make_imager("feature_wrap", 57)
    FeatureWrapImager(size=(9, 9))
    >>> make_imager("supertml", 8)
    SuperTMLImager(font_size=6, pixels=60)
    >>> make_imager("igtd", 8, random_state=0)
    IGTDImager(random_state=0)
    """
    return _MAKERS[name](n_features, random_state)
