"""The hybrids' parameters, written once: one table from which their
constraints, the ones the network builder takes and their documentation
(``_docs.py``, shared by both estimators) are built. The estimators'
``__init__`` signatures stay explicit, as scikit-learn requires;
``tests/test_hybrid.py`` checks them against the table."""

from numbers import Integral, Real
from typing import Any, NamedTuple

from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from ..imaging import get_imager_names
from . import _architecture as arch
from ._training import LR_SCHEDULES


class _Param(NamedTuple):
    """One constructor parameter of the hybrids."""

    default: Any
    kind: str  # its type, as the docs give it
    doc: str  # its description, indented as in the docstring
    constraints: list | None = None  # scikit-learn's; None: not validated
    architecture: bool = False  # build_hybrid_model's, passed as it is
    other: bool = False  # documented under "Other Parameters"


_PARAMS = {
    "imager": _Param(
        None,
        "imager, str or None",
        """\
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
""",
        constraints=[
            HasMethods(["fit", "transform_values", "transform_images"]),
            StrOptions(set(get_imager_names())),
            None,
        ],
    ),
    "branches": _Param(
        "both",
        '{"both", "mlp", "cnn"}',
        """\
        ``"both"`` is the hybrid; ``"mlp"`` and ``"cnn"`` keep one branch (the
        baselines of the PermGrad paper) with the same head and training.
""",
        constraints=[StrOptions({"both", "mlp", "cnn"})],
        architecture=True,
    ),
    "mlp_input": _Param(
        "quantile",
        '{"quantile", "robust", "minmax"}',
        """\
        What the MLP branch reads. ``"quantile"``: the imager's min-max scaled
        values mapped to normal scores by a quantile transform learned on the
        training rows (64 knots a feature), held inside the network (the
        ``mlp_quantile`` layer) so explanations still permute the same input;
        it spreads heavy-tailed columns (counts, prices) out. ``"robust"``:
        RealMLP's preprocessing, the values centred on their median, divided
        by their interquartile range and smoothly clipped to +-3 (the
        ``mlp_robust`` layer, :class:`~skpermgrad.models.RobustScale`). ``"minmax"``:
        the min-max scaled values themselves, as the image holds them (the
        PermGrad notebook's). Chosen, as every default here, by the ablation
        in ``benchmarks/results/bench_defaults.md``.
""",
        constraints=[StrOptions(set(arch.MLP_INPUTS))],
    ),
    "numeric_embedding": _Param(
        "periodic",
        '{"periodic", "piecewise"} or None',
        """\
        ``"periodic"``: each MLP-branch input becomes periodic embeddings
        (16 trainable frequencies, cos and sin, a shared Dense of 8 units and
        ReLU: "PLR lite", Gorishniy et al. 2022) before the Dense blocks (the
        ``mlp_embedding`` layer). ``"piecewise"``: piecewise-linear encodings
        on 16 quantile bins of the training values, each feature's through
        its own Dense of 8 units and a ReLU (Gorishniy et al. 2022;
        :class:`~skpermgrad.models.PiecewiseLinearEmbedding`). ``None``: the
        values go in as they are.
        Chosen by the ablation (with ``ensemble_size=8``, without which some
        seeds of a linear target did not train).
""",
        constraints=[StrOptions(set(arch.NUMERIC_EMBEDDINGS) - {None}), None],
        architecture=True,
    ),
    "n_dense_layers": _Param(
        2,
        "int",
        """\
        MLP branch depth: Dense + BatchNorm + Dropout blocks.
""",
        constraints=[Interval(Integral, 1, None, closed="left")],
        architecture=True,
    ),
    "dense_units": _Param(
        64,
        "int",
        """\
        Units of each MLP Dense layer.
""",
        constraints=[Interval(Integral, 1, None, closed="left")],
        architecture=True,
    ),
    "n_conv_layers": _Param(
        2,
        "int",
        """\
        CNN branch depth: Conv2D 3x3 + BatchNorm + MaxPool 2x2 + Dropout blocks;
        at most ``log2(image side)``.
""",
        constraints=[Interval(Integral, 1, None, closed="left")],
        architecture=True,
    ),
    "base_filters": _Param(
        16,
        "int",
        """\
        Filters of the first conv layer; layer ``i`` has ``base_filters * 2**i``.
""",
        constraints=[Interval(Integral, 1, None, closed="left")],
        architecture=True,
    ),
    "n_head_layers": _Param(
        1,
        "int",
        """\
        Dense + BatchNorm + Dropout blocks after the concatenation.
""",
        constraints=[Interval(Integral, 0, None, closed="left")],
        architecture=True,
    ),
    "head_units": _Param(
        64,
        "int",
        """\
        Units of each head Dense layer.
""",
        constraints=[Interval(Integral, 1, None, closed="left")],
        architecture=True,
    ),
    "ensemble_size": _Param(
        8,
        "int",
        """\
        ``k > 1`` makes the network a parameter-efficient ensemble of ``k``
        members (TabM, Gorishniy et al. 2025), parted where
        ``ensemble_scope`` says: each member has its own output layer, is
        trained on its own loss, and their predictions are averaged (every
        explanation reads that mean). ``1``: one network.
""",
        constraints=[Interval(Integral, 1, None, closed="left")],
        architecture=True,
    ),
    "ensemble_scope": _Param(
        "mlp",
        '{"mlp", "mlp_mini", "head"}',
        """\
        Where the ensemble's members part (``ensemble_size > 1``). ``"mlp"``:
        at the MLP branch's input (after its embeddings), each member's copy
        scaled by its own random-sign vector, and in each Dense layer of the
        branch the members' own scalings and biases around a shared kernel
        (BatchEnsemble: TabM). ``"mlp_mini"``: the same without the scalings
        in the Dense layers (TabM-mini over the branch). The CNN branch is
        shared (its output repeated for each member). ``"head"``: after the
        concatenation, the branches shared (the default of earlier development
        versions). Chosen by the ablation in
        ``benchmarks/results/bench_defaults_backbone.md``.
""",
        constraints=[StrOptions(set(arch.ENSEMBLE_SCOPES))],
        architecture=True,
    ),
    "dropout": _Param(
        0.1,
        "float",
        """\
        Dropout rate of every block.
""",
        constraints=[Interval(Real, 0, 1, closed="left")],
        architecture=True,
    ),
    "normalization": _Param(
        "batch",
        '{"batch", "layer"} or None',
        """\
        The normalisation layer of every block: batch normalisation (the
        PermGrad notebook's, with a moving-average momentum of 0.9), layer
        normalisation, or none.
""",
        constraints=[StrOptions(set(arch.NORMALIZATIONS) - {None}), None],
        architecture=True,
    ),
    "activation": _Param(
        "relu",
        "str",
        """\
        Keras activation of the hidden layers.
""",
        constraints=[str],
        architecture=True,
    ),
    "kernel_initializer": _Param(
        "he_normal",
        "str",
        """\
        Keras initializer of every Dense and Conv2D layer.
""",
        constraints=[str],
        architecture=True,
    ),
    "optimizer": _Param(
        "adamw",
        '{"adamw", "adam"}',
        """\
        Keras optimizer: AdamW (decoupled weight decay, ``weight_decay``) or
        Adam.
""",
        constraints=[StrOptions({"adam", "adamw"})],
    ),
    "learning_rate": _Param(
        0.001,
        "float",
        """\
        Peak learning rate (of the one-cycle schedule when it is on).
""",
        constraints=[Interval(Real, 0, None, closed="neither")],
    ),
    "weight_decay": _Param(
        0.01,
        "float",
        """\
        AdamW's decoupled weight decay: each step shrinks every weight by
        ``learning_rate * weight_decay`` of itself (the step's learning rate,
        so it follows the schedule); ignored by Adam.
""",
        constraints=[Interval(Real, 0, None, closed="left")],
    ),
    "batch_size": _Param(
        128,
        "int",
        """\
        Rows per gradient step.
""",
        constraints=[Interval(Integral, 1, None, closed="left")],
    ),
    "epochs": _Param(
        100,
        "int",
        """\
        Maximum number of epochs.
""",
        constraints=[Interval(Integral, 1, None, closed="left")],
    ),
    "validation_fraction": _Param(
        0.1,
        "float or None",
        """\
        Fraction of the training rows held out (shuffled with ``random_state``,
        stratified for a classifier) for early stopping on the validation
        loss, best weights restored; ``None`` trains all ``epochs`` on every
        row.
""",
        constraints=[Interval(Real, 0, 1, closed="neither"), None],
    ),
    "patience": _Param(
        6,
        "int",
        """\
        Early stopping patience, in epochs. Epochs of the schedule's warm-up
        do not count: early stopping watches the validation loss only from
        the end of the warm-up, so it never stops a network whose learning
        rate is still rising.
""",
        constraints=[Interval(Integral, 1, None, closed="left")],
    ),
    "lr_schedule": _Param(
        "one_cycle",
        '{"one_cycle", "warmup_plateau", "constant"}',
        """\
        ``"one_cycle"``: the PermGrad notebook's schedule, linear warm-up over
        the first quarter of ``epochs`` then cosine decay
        (:func:`~skpermgrad.models.one_cycle_learning_rate`).
        ``"warmup_plateau"``: a 2-epoch warm-up, then flat, cut by 5 when the
        validation loss stalls for ``patience // 3`` epochs
        (:class:`~skpermgrad.models.WarmupPlateau`); suits larger
        ``batch_size`` and ``patience``. ``"constant"``: ``learning_rate``
        throughout. The defaults were chosen by an ablation on nine datasets
        (``benchmarks/results/bench_defaults.md``).
""",
        constraints=[StrOptions(set(LR_SCHEDULES))],
    ),
    "random_state": _Param(
        None,
        "int, RandomState instance or None",
        """\
        Seeds weights, dropout, shuffling and the validation split; the same
        int gives identical predictions on CPU. Global random states are
        restored after each fit.
""",
        constraints=["random_state"],
    ),
    "verbose": _Param(
        0,
        "int",
        """\
        Keras progress output (0 silent, 1 progress bar, 2 one line per epoch).
""",
        constraints=["verbose"],
    ),
    "callbacks": _Param(
        None,
        "list of keras.callbacks.Callback",
        """\
        Extra Keras callbacks (instances, or classes built for each fit), run
        before the hybrid's own (schedule, early stopping) at each step.
""",
        other=True,
    ),
    "loss": _Param(
        None,
        "str or keras.losses.Loss",
        """\
        A Keras loss; ``None`` means mean squared error for the regressor and
        sparse categorical cross-entropy for the classifier.
""",
        other=True,
    ),
    "metrics": _Param(
        None,
        "list of str",
        """\
        Keras metrics recorded in ``history_`` each epoch.
""",
        other=True,
    ),
    "shuffle": _Param(
        True,
        "bool",
        """\
        Reshuffle the training rows each epoch (seeded by ``random_state``);
        ``False`` keeps them in order.
""",
        constraints=["boolean"],
        other=True,
    ),
    "validation_batch_size": _Param(
        None,
        "int or None",
        """\
        Rows per batch when scoring the validation rows; ``None`` means
        ``batch_size``.
""",
        constraints=[Interval(Integral, 1, None, closed="left"), None],
        other=True,
    ),
    "warm_start": _Param(
        False,
        "bool",
        """\
        A later ``fit`` continues training the fitted network (the imager and
        the quantile map stay as first fitted) instead of starting again.
""",
        constraints=["boolean"],
        other=True,
    ),
    "run_eagerly": _Param(
        False,
        "bool",
        """\
        Run Keras eagerly (slow; for debugging).
""",
        constraints=["boolean"],
        other=True,
    ),
}
_REGRESSOR_PARAMS = {
    "scale_target": _Param(
        True,
        "bool",
        """\
        Standardise ``y`` internally.
""",
        constraints=["boolean"],
    ),
}
_CLASSIFIER_PARAMS = {
    "label_smoothing": _Param(
        0.0,
        "float",
        """\
        Label smoothing of the cross-entropy (the default loss only): each
        row's target puts ``1 - label_smoothing`` on its class and spreads
        ``label_smoothing`` evenly over all classes.
""",
        constraints=[Interval(Real, 0, 1, closed="left")],
    ),
    "class_weight": _Param(
        None,
        'dict, "balanced" or None',
        """\
        Weights of the classes in the loss (as in scikit-learn classifiers).
""",
        constraints=[dict, StrOptions({"balanced"}), None],
    ),
}


def _constraints(params):
    return {
        name: param.constraints
        for name, param in params.items()
        if param.constraints is not None
    }


_HYBRID_CONSTRAINTS = _constraints(_PARAMS)
_REGRESSOR_CONSTRAINTS = {**_HYBRID_CONSTRAINTS, **_constraints(_REGRESSOR_PARAMS)}
_CLASSIFIER_CONSTRAINTS = {**_HYBRID_CONSTRAINTS, **_constraints(_CLASSIFIER_PARAMS)}

# the constructor parameters that are build_hybrid_model's, passed as they are
_ARCHITECTURE_PARAMS = tuple(name for name, p in _PARAMS.items() if p.architecture)
