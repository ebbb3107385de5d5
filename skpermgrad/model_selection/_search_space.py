"""The hybrid's Optuna search space (the PermGrad notebook's, with the
TabM backbone's knobs), ready for ``OptunaSearchCV``."""

from numbers import Integral

from sklearn.utils._param_validation import Interval, validate_params


@validate_params(
    {
        "prefix": [str],
        "max_base_filters": [Interval(Integral, 8, None, closed="left")],
        "classifier": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def hybrid_search_space(
    prefix: str = "", *, max_base_filters: int = 256, classifier: bool = False
) -> dict:
    """The hybrid's search space as Optuna distributions: the PermGrad
    notebook's, and the knobs of the TabM backbone.

    ``dropout`` 0.1-0.4, ``learning_rate`` 1e-5-1e-2 (log), ``n_dense_layers`` and
    ``n_conv_layers`` 1-4, ``base_filters`` 8-256, ``dense_units`` and
    ``head_units`` 8-256, ``optimizer`` adam/adamw, ``weight_decay`` 1e-6-0.1
    (log; the notebook's ends at 1e-3, below the hybrids' default 0.01, which
    TabM's space holds: 1e-4-0.1); then the backbone's knobs:
    ``ensemble_scope`` mlp/mlp_mini/head, ``numeric_embedding``
    periodic/piecewise/None and, for a classifier, ``label_smoothing`` 0-0.2
    (none of them won everywhere in the ablation that chose the defaults).
    Pass it as ``param_distributions`` of
    :class:`optuna_integration.OptunaSearchCV`; give that a ``study`` created with
    ``optuna.create_study(storage=URL, study_name=NAME, load_if_exists=True)`` to
    resume a search or share it between workers (any Optuna RDB storage).

    Parameters
    ----------
    prefix : str, default=""
        Prepended to every name, e.g. ``"hybridregressor__"`` when the estimator
        is the last step of a Pipeline made with ``make_pipeline``.
    max_base_filters : int, default=256
        Upper end of ``base_filters`` (the notebook's 256). With 4 conv layers
        the last one has ``8 * base_filters`` filters: the notebook's top of the
        range needs a GPU; on a CPU, 32 keeps a trial to minutes.
    classifier : bool, default=False
        Whether the space is a :class:`~skpermgrad.HybridClassifier`'s: it
        then tunes ``label_smoothing`` too (a regressor has none).

    Returns
    -------
    space : dict of str to optuna.distributions.BaseDistribution
        Parameter name to distribution.

    Notes
    -----
    ``n_conv_layers`` up to 4 takes any image: a block does not pool a map
    under 4 pixels a side (a 20x20 TINTO image is pooled to 2x2; the default
    IGTD image of up to 15 features, 4x4 at most, once at most);
    the notebook's separate per-layer units are one ``dense_units`` and one
    ``head_units`` here.

    See Also
    --------
    skpermgrad.HybridRegressor, skpermgrad.HybridClassifier : What it tunes.

    References
    ----------
    .. [1] F. Escalera-González et al., "PermGrad" (cited in full in
       :class:`~skpermgrad.HybridRegressor`), :doi:`10.5281/zenodo.17613159`
       (the notebook's Optuna space).

    Examples
    --------
    >>> from skpermgrad.model_selection import hybrid_search_space
    >>> space = hybrid_search_space()
    >>> sorted(space)  # doctest: +NORMALIZE_WHITESPACE
    ['base_filters', 'dense_units', 'dropout', 'ensemble_scope', 'head_units',
     'learning_rate', 'n_conv_layers', 'n_dense_layers', 'numeric_embedding',
     'optimizer', 'weight_decay']
    >>> sorted(set(hybrid_search_space(classifier=True)) - set(space))
    ['label_smoothing']
    >>> space["learning_rate"]
    FloatDistribution(high=0.01, log=True, low=1e-05, step=None)
    """
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    # imported when called: importing this module does not import Keras
    from ..models import ENSEMBLE_SCOPES, NUMERIC_EMBEDDINGS

    space = {
        "dropout": FloatDistribution(0.1, 0.4),
        "learning_rate": FloatDistribution(1e-5, 1e-2, log=True),
        "n_dense_layers": IntDistribution(1, 4),
        "n_conv_layers": IntDistribution(1, 4),
        "base_filters": IntDistribution(8, max_base_filters),
        "dense_units": IntDistribution(8, 256),
        "head_units": IntDistribution(8, 256),
        "optimizer": CategoricalDistribution(["adam", "adamw"]),
        "weight_decay": FloatDistribution(1e-6, 1e-1, log=True),
        "ensemble_scope": CategoricalDistribution(list(ENSEMBLE_SCOPES)),
        "numeric_embedding": CategoricalDistribution(list(NUMERIC_EMBEDDINGS)),
    }
    if classifier:
        space["label_smoothing"] = FloatDistribution(0.0, 0.2)
    return {prefix + name: dist for name, dist in space.items()}
