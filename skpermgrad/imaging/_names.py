"""Each image method by name, sized to a table: the one rule behind the
hybrids' ``imager="<name>"``, the main job's ``--images`` and the
benchmarks. Each imager class declares its name and its sizing (``_method``,
``_for_table``); this module only reads the registry they fill."""

from numbers import Integral

from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ._base import _METHODS
from ._layout import _LayoutImager

# the hybrids' image when imager=None
DEFAULT_IMAGER = "igtd"


def get_imager_names() -> list[str]:
    """The names of the image methods: the default, the layouts, then the drawings.

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
    ['igtd', 'deepinsight', 'fotomics']
    """

    def order(name):  # the default, then the layouts, then the drawings
        layout = issubclass(_METHODS[name], _LayoutImager)
        return name != DEFAULT_IMAGER, not layout, name

    return sorted(_METHODS, key=order)


@validate_params(
    {
        # a live view: the classes defined after this module count too
        "name": [StrOptions(_METHODS.keys())],
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
    return _METHODS[name]._for_table(n_features, random_state)


def resolve_imager(imager, n_features: int, *, random_state=None):
    """The unfitted imager that a hybrid's ``imager`` parameter stands for.

    ``None`` is the default method's (``DEFAULT_IMAGER``, IGTD), a name that
    method's sized to the table (:func:`make_imager`), an imager a clone of
    it: the one rule behind the hybrids' fit and the main job's check that a
    table can be imaged before it tunes.

    Parameters
    ----------
    imager : imager, str or None
        As the hybrids take it.
    n_features : int
        Columns of the table it will image.
    random_state : int, RandomState instance or None, default=None
        The seed of a method named (or the default); an instance keeps its own.

    Returns
    -------
    imager : estimator
        Unfitted.

    See Also
    --------
    skpermgrad.imaging.make_imager : The imager of a name.

    Examples
    --------
    >>> from skpermgrad import TintoImager
    >>> from skpermgrad.imaging import resolve_imager
    >>> resolve_imager(None, 8, random_state=0)
    IGTDImager(random_state=0)
    >>> resolve_imager(TintoImager(pixels=4), 8)
    TintoImager(pixels=4)
    """
    from sklearn.base import clone

    if imager is None:
        imager = DEFAULT_IMAGER
    if isinstance(imager, str):
        return make_imager(imager, n_features, random_state=random_state)
    return clone(imager)
