"""The hybrids' docstrings, built from the parameter table (``_params.py``):
each parameter documented once, for both estimators."""

from ._params import _CLASSIFIER_PARAMS, _PARAMS, _REGRESSOR_PARAMS


def _shown(value):
    """A default as the docs show it."""
    return (
        f'"{value}"'
        if isinstance(value, str)
        else format(value, "g")
        if isinstance(value, float)
        else repr(value)
    )


def _params_doc(params):
    return "".join(
        f"    {name} : {param.kind}, default={_shown(param.default)}\n{param.doc}"
        for name, param in params.items()
    )


_MAIN = {name: p for name, p in _PARAMS.items() if not p.other}
_OTHER = {name: p for name, p in _PARAMS.items() if p.other}

_OTHER_PARAMETERS_DOC = (
    """    **kwargs
        SciKeras's routed parameters (``fit__*``, ``predict__*``,
        ``compile__*``, ``optimizer__*``, ``loss__*``, ``callbacks__*``).

    Other Parameters
    ----------------
"""
    + _params_doc(_OTHER)
    + """    model, build_fn, validation_split
        SciKeras's, not the hybrids' parameters: given through ``**kwargs``,
        they are refused by ``fit`` (the hybrid builds its own network and
        holds out ``validation_fraction`` of the rows).
"""
)

_REFERENCES_DOC = """
    See Also
    --------
    skpermgrad.TintoImager : How rows become images.
    skpermgrad.permgrad_importance : Explain a fitted hybrid.
    skpermgrad.PermGradExplainer : Fit and explain in one estimator.

    References
    ----------
    .. [1] F. Escalera-González, M. Castillo-Cara, M. Rincón-Zamorano and
       L. Orozco-Barbosa, "PermGrad: A Hybrid Neural Network Framework for
       Global Feature Attribution Using Synthetic Image Representations",
       code: https://github.com/felescgon/PermGrad,
       :doi:`10.5281/zenodo.17613159` (the hybrid network).
    .. [2] M. Castillo-Cara et al., "TINTO: Converting Tidy Data into Image for
       Classification with 2-Dimensional Convolutional Neural Networks",
       SoftwareX 22, 101391, 2023. :doi:`10.1016/j.softx.2023.101391`
    .. [3] Y. Gorishniy, I. Rubachev and A. Babenko, "On Embeddings for
       Numerical Features in Tabular Deep Learning", NeurIPS 2022
       (``numeric_embedding="periodic"``).
"""

_ATTRIBUTES_DOC = """
    Attributes
    ----------
    model_ : keras.Model
        The fitted network; layer names are listed in
        :func:`~skpermgrad.models.build_hybrid_model` (``tabular``, ``image_input``,
        ``image``, ``mlp_output``, ``last_conv``, ``cnn_output``,
        ``concatenate``, ``output``).
    feature_encoder_ : object
        Holds the fitted imager as ``feature_encoder_.imager_``.
    history_ : dict
        Keras training history (``loss``, ``val_loss`` ...).
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of str
        Names of features seen during ``fit``, when ``X`` has string column names.
"""


_REGRESSOR_DOC = (
    """Hybrid MLP + CNN regressor on tabular images (the PermGrad network).

    The MLP branch reads the scaled numeric values; the CNN branch reads the
    same row drawn as an image (``imager``: IGTD by default, TINTO or another
    layout), rendered inside the Keras graph batch by
    batch (training memory is O(batch), not O(n_samples * height * width)).
    The target is standardised for training (mean 0, variance 1, learned on the
    training rows) and predictions are mapped back; ``scale_target=False``
    trains on the raw target.
"""
    + "\n    Parameters\n    ----------\n"
    + _params_doc({**_MAIN, **_REGRESSOR_PARAMS})
    + _OTHER_PARAMETERS_DOC
    + _ATTRIBUTES_DOC
    + _REFERENCES_DOC
    + """
    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skpermgrad import HybridRegressor, TintoImager
    >>> X, y = make_regression(60, 9, random_state=0)
    >>> reg = HybridRegressor(TintoImager(pixels=4), n_conv_layers=1, epochs=2,
    ...                       random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
"""
)


_CLASSIFIER_DOC = (
    """Hybrid MLP + CNN classifier on tabular images (the PermGrad network).

    Binary and multiclass, with string or integer labels: the network ends in a
    softmax over ``classes_`` trained with sparse categorical cross-entropy;
    ``predict_proba`` returns one column per class.
"""
    + "\n    Parameters\n    ----------\n"
    + _params_doc({**_MAIN, **_CLASSIFIER_PARAMS})
    + _OTHER_PARAMETERS_DOC
    + _ATTRIBUTES_DOC
    + """    classes_ : ndarray of shape (n_classes,)
        The class labels.
"""
    + _REFERENCES_DOC
    + """
    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from skpermgrad import HybridClassifier, TintoImager
    >>> X, y = make_classification(60, 9, random_state=0)
    >>> clf = HybridClassifier(TintoImager(pixels=4), n_conv_layers=1, epochs=2,
    ...                        random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:3]).shape
    (3, 2)
"""
)
