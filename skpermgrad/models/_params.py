"""The hybrids' parameters, written once: their constraints, the ones the
network builder takes, and their documentation (shared by both estimators)."""

from numbers import Integral, Real

from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from ..imaging import get_imager_names
from . import _architecture as arch
from ._training import LR_SCHEDULES

_HYBRID_CONSTRAINTS = {
    "imager": [
        HasMethods(["fit", "transform_values", "transform_images"]),
        StrOptions(set(get_imager_names())),
        None,
    ],
    "branches": [StrOptions({"both", "mlp", "cnn"})],
    "mlp_input": [StrOptions(set(arch.MLP_INPUTS))],
    "numeric_embedding": [StrOptions(set(arch.NUMERIC_EMBEDDINGS) - {None}), None],
    "n_dense_layers": [Interval(Integral, 1, None, closed="left")],
    "dense_units": [Interval(Integral, 1, None, closed="left")],
    "n_conv_layers": [Interval(Integral, 1, None, closed="left")],
    "base_filters": [Interval(Integral, 1, None, closed="left")],
    "n_head_layers": [Interval(Integral, 0, None, closed="left")],
    "head_units": [Interval(Integral, 1, None, closed="left")],
    "ensemble_size": [Interval(Integral, 1, None, closed="left")],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "normalization": [StrOptions(set(arch.NORMALIZATIONS) - {None}), None],
    "activation": [str],
    "kernel_initializer": [str],
    "optimizer": [StrOptions({"adam", "adamw"})],
    "learning_rate": [Interval(Real, 0, None, closed="neither")],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "epochs": [Interval(Integral, 1, None, closed="left")],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
    "patience": [Interval(Integral, 1, None, closed="left")],
    "lr_schedule": [StrOptions(set(LR_SCHEDULES))],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
    "shuffle": ["boolean"],
    "validation_batch_size": [Interval(Integral, 1, None, closed="left"), None],
    "warm_start": ["boolean"],
    "run_eagerly": ["boolean"],
}


# the constructor parameters that are build_hybrid_model's, passed as they are
_ARCHITECTURE_PARAMS = (
    "branches",
    "numeric_embedding",
    "n_dense_layers",
    "dense_units",
    "n_conv_layers",
    "base_filters",
    "n_head_layers",
    "head_units",
    "ensemble_size",
    "dropout",
    "normalization",
    "activation",
    "kernel_initializer",
)


_SHARED_DOC = """
    Parameters
    ----------
    imager : imager, str or None, default=None
        How rows become images: a layout (:class:`~skpermgrad.TintoImager`,
        :class:`~skpermgrad.IGTDImager`, :class:`~skpermgrad.RefinedImager`,
        :class:`~skpermgrad.DeepInsightImager`,
        :class:`~skpermgrad.FotomicsImager`) or a drawing
        (:class:`~skpermgrad.DistanceMatrixImager`,
        :class:`~skpermgrad.BarGraphImager`,
        :class:`~skpermgrad.CombinationImager`, :class:`~skpermgrad.BIEImager`,
        :class:`~skpermgrad.FeatureWrapImager`,
        :class:`~skpermgrad.SuperTMLImager`), drawn inside the network (any
        image size from 2x2: the CNN leaves out the pooling that would shrink
        a map below 2x2); ``None``
        means ``IGTDImager(random_state=random_state)``, a
        ``ceil(sqrt(n_features))``-pixel square with no empty pixel (chosen by
        ``benchmarks/bench_predictive.py``: the best mean rank of the six
        layouts over nine tables). It is cloned and fitted inside ``fit`` on the
        training rows only (and their target, which only an image drawn from
        it reads: ``SuperTMLImager(feature_importance=True)``); tune it
        through ``imager__<param>`` (e.g. ``imager__pixels``) after passing an
        instance, or search over
        ``imager=[...]``. A name (``"igtd"``, ``"distance_matrix"``...: one
        of :func:`skpermgrad.imaging.get_imager_names`) is that method's
        imager sized to the table and seeded by ``random_state``
        (:func:`skpermgrad.imaging.make_imager`): a search over names,
        ``{"imager": ["igtd", "bie", "clusters"]}``, is a plain grid or an
        Optuna categorical.
    branches : {"both", "mlp", "cnn"}, default="both"
        ``"both"`` is the hybrid; ``"mlp"`` and ``"cnn"`` keep one branch (the
        baselines of the PermGrad paper) with the same head and training.
    mlp_input : {"quantile", "minmax"}, default="quantile"
        What the MLP branch reads. ``"quantile"``: the imager's min-max scaled
        values mapped to normal scores by a quantile transform learned on the
        training rows (64 knots a feature), held inside the network (the
        ``mlp_quantile`` layer) so explanations still permute the same input;
        it spreads heavy-tailed columns (counts, prices) out. ``"minmax"``:
        the min-max scaled values themselves, as the image holds them (the
        PermGrad notebook's). The default was chosen by the ablation in
        ``benchmarks/results/bench_defaults.md``: the default configuration
        (quantile input, periodic embeddings, batch 128, 8 ensemble members)
        has the best mean rank, 5.11 of 18, of the configurations where every
        seed trains; the notebook's training (``"minmax"``, no embeddings,
        batch 32, one head) ranks 12.44.
    numeric_embedding : {"periodic"} or None, default="periodic"
        ``"periodic"``: each MLP-branch input becomes periodic embeddings
        (16 trainable frequencies, cos and sin, a shared Dense of 8 units and
        ReLU: "PLR lite", Gorishniy et al. 2022) before the Dense blocks (the
        ``mlp_embedding`` layer). ``None``: the values go in as they are.
        Chosen by the ablation (with ``ensemble_size=8``; without the ensemble
        some seeds of a linear target did not train, R² 0.935).
    n_dense_layers : int, default=2
        MLP branch depth: Dense + BatchNorm + Dropout blocks.
    dense_units : int, default=64
        Units of each MLP Dense layer.
    n_conv_layers : int, default=2
        CNN branch depth: Conv2D 3x3 + BatchNorm + MaxPool 2x2 + Dropout blocks;
        at most ``log2(image side)``.
    base_filters : int, default=16
        Filters of the first conv layer; layer ``i`` has ``base_filters * 2**i``.
    n_head_layers : int, default=1
        Dense + BatchNorm + Dropout blocks after the concatenation.
    head_units : int, default=64
        Units of each head Dense layer.
    ensemble_size : int, default=8
        ``k > 1`` makes the head a parameter-efficient ensemble of ``k``
        members (TabM-mini, Gorishniy et al. 2025): each member scales the
        concatenated branch outputs by its own vector, shares the head's Dense
        layers and has its own output layer; each is trained on its own loss
        and their predictions are averaged. The branches are shared, so the
        explanations are unchanged. ``1``: one head. Chosen by the ablation:
        8 members rank 6.89 against 11.78 for one head (both at batch 64 with
        the quantile input), 32 members 6.11 at 1.3-1.9 times the fit time.
    dropout : float, default=0.1
        Dropout rate of every block.
    normalization : {"batch", "layer"} or None, default="batch"
        The normalisation layer of every block: batch normalisation (the
        PermGrad notebook's, with a moving-average momentum of 0.9), layer
        normalisation, or none.
    activation : str, default="relu"
        Keras activation of the hidden layers.
    kernel_initializer : str, default="he_normal"
        Keras initializer of every Dense and Conv2D layer.
    optimizer : {"adam", "adamw"}, default="adam"
        Keras optimizer.
    learning_rate : float, default=1e-3
        Peak learning rate (of the one-cycle schedule when it is on).
    weight_decay : float, default=1e-4
        AdamW's decoupled weight decay (ignored by Adam).
    batch_size : int, default=128
        Rows per gradient step. 128 is the ablation's choice: it ranks 5.11
        against 5.56 for 64 with the same network, at 0.91 times the fit time
        (64 fit in half the time of the notebook's 32).
    epochs : int, default=100
        Maximum number of epochs.
    validation_fraction : float or None, default=0.1
        Fraction of the training rows held out (shuffled with ``random_state``,
        stratified for a classifier) for early stopping on the validation
        loss, best weights restored; ``None`` trains all ``epochs`` on every
        row.
    patience : int, default=6
        Early stopping patience, in epochs. Epochs of the schedule's warm-up
        do not count: early stopping watches the validation loss only from
        the end of the warm-up, so it never stops a network whose learning
        rate is still rising.
    lr_schedule : {"one_cycle", "warmup_plateau", "constant"}, \
default="one_cycle"
        ``"one_cycle"``: the PermGrad notebook's schedule, linear warm-up over
        the first quarter of ``epochs`` then cosine decay
        (:func:`~skpermgrad.models.one_cycle_learning_rate`).
        ``"warmup_plateau"``: a 2-epoch warm-up, then flat, cut by 5 when the
        validation loss stalls for ``patience // 3`` epochs
        (:class:`~skpermgrad.models.WarmupPlateau`); suits larger
        ``batch_size`` and ``patience``. ``"constant"``: ``learning_rate``
        throughout. The defaults were chosen by an ablation on nine datasets
        (``benchmarks/results/bench_defaults.md``).
    random_state : int, RandomState instance or None, default=None
        Seeds weights, dropout, shuffling and the validation split; the same
        int gives identical predictions on CPU. Global random states are
        restored after each fit.
    verbose : int, default=0
        Keras progress output (0 silent, 1 progress bar, 2 one line per epoch).
"""

_OTHER_PARAMETERS_DOC = """    **kwargs
        SciKeras's routed parameters (``fit__*``, ``predict__*``,
        ``compile__*``, ``optimizer__*``, ``loss__*``, ``callbacks__*``).

    Other Parameters
    ----------------
    callbacks : list of keras.callbacks.Callback, default=None
        Extra Keras callbacks (instances, or classes built for each fit), run
        before the hybrid's own (schedule, early stopping) at each step.
    loss : str or keras.losses.Loss, default=None
        A Keras loss; ``None`` means mean squared error for the regressor and
        sparse categorical cross-entropy for the classifier.
    metrics : list of str, default=None
        Keras metrics recorded in ``history_`` each epoch.
    shuffle : bool, default=True
        Reshuffle the training rows each epoch (seeded by ``random_state``);
        ``False`` keeps them in order.
    validation_batch_size : int or None, default=None
        Rows per batch when scoring the validation rows; ``None`` means
        ``batch_size``.
    warm_start : bool, default=False
        A later ``fit`` continues training the fitted network (the imager and
        the quantile map stay as first fitted) instead of starting again.
    run_eagerly : bool, default=False
        Run Keras eagerly (slow; for debugging).
    model, build_fn, validation_split
        SciKeras's, not the hybrids' parameters: given through ``**kwargs``,
        they are refused by ``fit`` (the hybrid builds its own network and
        holds out ``validation_fraction`` of the rows).
"""

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
    + _SHARED_DOC
    + """    scale_target : bool, default=True
        Standardise ``y`` internally.
"""
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
    + _SHARED_DOC
    + """    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss (as in scikit-learn classifiers).
"""
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
