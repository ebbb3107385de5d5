"""PermGrad: permutation importance through the MLP branch, Grad-CAM of the CNN
branch, fused by branch weights from ablating each branch at the concatenation."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from numbers import Real

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, is_classifier
from sklearn.utils import Bunch, _safe_indexing, check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, validate_params
from sklearn.utils.validation import (
    _check_sample_weight,
    check_consistent_length,
)

from .._validation import DEFAULT_CNN_IMPORTANCE, DEFAULT_FUSION
from ._fusion import (
    DEFAULT_SCALE,
    EXPLANATION_CONSTRAINTS,
    _drops_bunch,
    _fusion_rule,
    _weighted_mean,
)
from ._passes import _forward_passes
from ._scoring import _check_scorer_fits, _explained_rows, _explanation_scorer
from ._setup import _prepare, _require_image_for, _Responses


@validate_params(
    {
        "estimator": [HasMethods(["fit", "predict"])],
        "X": ["array-like"],
        "y": ["array-like"],
        "sample_weight": ["array-like", None],
        **EXPLANATION_CONSTRAINTS,
        "confidence_level": [Interval(Real, 0, 1, closed="neither")],
        "zero_tolerance": [Interval(Real, 0, 1, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def permgrad_importance(
    estimator: BaseEstimator,
    X: ArrayLike,
    y: ArrayLike,
    *,
    scoring: str | Callable | None = None,
    n_repeats: int = 5,
    n_jobs: int | None = None,
    random_state: int | np.random.RandomState | None = None,
    sample_weight: ArrayLike | None = None,
    max_samples: float = 1.0,
    batch_size: int = 1024,
    permutation: str = "branch",
    fusion: str = DEFAULT_FUSION,
    cnn_importance: str = DEFAULT_CNN_IMPORTANCE,
    scale: str = DEFAULT_SCALE,
    n_bootstrap: int = 100,
    confidence_level: float = 0.95,
    zero_tolerance: float = 0.01,
    feature_groups: dict | str | None = "auto",
    verbose: int = 0,
) -> Bunch:
    """PermGrad feature importance of a fitted hybrid network.

    Four parts, each computed once over the rows given:

    1. **Permutation** through the MLP branch: one column of the ``tabular``
       input is permuted while the image input stays fixed; the importance is
       the drop of the score, over ``n_repeats`` permutations. The CNN branch
       runs once per row: only the MLP and the head see the permuted copies.
    2. **The CNN branch's part** (``cnn_importance``): by default the mirror
       of the first, the score drop when the column is permuted in the image
       input only, the MLP's input held fixed. ``"integrated_gradients"``:
       the mean absolute integrated gradient of the output through the image
       input, whose drawing is part of the graph, so each feature's
       value is attributed exactly. ``"gradcam"`` (PermGrad as published):
       Grad-CAM of the ``last_conv`` layer per output (per class for a
       classifier, from that class's score before the softmax), upsampled
       bilinearly to the image size and read at each feature's pixel (the
       mean over its ``zoom x zoom`` block), averaged over rows. Grad-CAM is
       computed whichever part is fused (``result.gradcam``).
    3. **Branch weights** from ablation at the concatenation: each branch's
       output is replaced by its mean over the rows and the score drop
       ``d_mlp``, ``d_cnn`` is measured;
       ``w_mlp = max(d_mlp, 0) / (max(d_mlp, 0) + max(d_cnn, 0))`` and
       ``w_cnn = 1 - w_mlp``. The ratio does not depend on the scale of the
       score. When neither drop is positive the weights are undefined: they
       are set to 0.5 with a warning, and ``branch_weights_defined`` is False.
    4. **Fused score** (``fusion``). ``"model_split"`` (default): the score
       drop when the column is permuted in both inputs at once (the feature's
       importance to the whole network, what
       :func:`sklearn.inspection.permutation_importance` measures), on the
       ``scale``, split between the branches in proportion to the feature's
       positive drops through each branch alone (parts 1 and 2 with
       ``cnn_importance="permutation"``). The two branches of a trained hybrid
       often model a feature in opposite directions that cancel; a score built
       from each branch alone then credits a feature the whole network hardly
       uses. ``"branch_weights"`` (PermGrad's formula):
       ``w_mlp * scale(mlp part) + w_cnn * scale(cnn part)``.
       ``scale="share"`` divides a vector by the sum of its positive values,
       so it keeps its proportions: a nearly flat part adds nearly the same to
       every feature, and a feature whose permutation does not lower the score
       gets about 0. ``scale="minmax"`` maps it to [0, 1], which stretches a
       nearly flat part to the full range. The defaults are the most faithful
       in the faithfulness benchmark (``benchmarks/bench_faithfulness.py``);
       ``fusion="branch_weights", cnn_importance="gradcam", scale="minmax"``
       reproduces PermGrad as published.

    **Uncertainty**: ``n_bootstrap`` draws resample the rows (with
    replacement; only rows of positive weight) and pick one of the
    ``n_repeats`` permutations per feature, and recompute every part, the
    branch weights and the fused score from the stored network outputs (no
    network pass). Their standard deviation and
    percentile interval are returned. A feature whose interval reaches below
    ``zero_tolerance`` times the fused total (the sum of the positive fused
    scores; 1 with ``scale="share"``) is flagged as indistinguishable from
    zero: a network also leans a little on noise columns, and with enough
    rows even a 0.1% share is statistically above 0, but it is not a finding.

    Parameters
    ----------
    estimator : HybridRegressor, HybridClassifier or Pipeline
        Fitted, with ``branches="both"``; a Pipeline's earlier steps transform
        ``X`` first.
    X : array-like of shape (n_samples, n_features)
        Rows to explain on (held-out rows are best).
    y : array-like of shape (n_samples,)
        Their targets.
    scoring : str, callable or None, default=None
        A scikit-learn scorer (higher is better). ``None``: R² for a regressor;
        the negative log loss over the classifier's ``classes_`` for a
        classifier (accuracy changes only when a prediction flips, so its drops
        are often 0 on every feature and for both branches).
    n_repeats : int, default=5
        Permutations per feature.
    n_jobs : int or None, default=None
        Threads running row blocks side by side (``-1``: all cores). TensorFlow
        already spreads each forward pass over the cores, so this helps most
        with small networks, whose passes are short. Results do not depend on
        it.
    random_state : int, RandomState instance or None, default=None
        Seeds the permutations, the row subsample and the bootstrap.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative row weights: of the scores, and of every mean over rows
        (the branch ablation's fills, Grad-CAM, integrated gradients and their
        baseline, the heatmap and mean image).
    max_samples : int or float, default=1.0
        Rows used: a count, or a fraction of ``n_samples``.
    batch_size : int, default=1024
        Rows per block: every forward pass and every gradient tape sees at
        most this many rows (integrated gradients: path points).
    permutation : {"branch", "model"}, default="branch"
        ``"branch"`` (PermGrad) permutes the column in the MLP's input only.
        ``"model"`` permutes it in both inputs, so the image is re-drawn from the
        permuted value too: the importance of the feature to the whole network,
        which is what :func:`sklearn.inspection.permutation_importance` measures
        (computed here in the same batched way, and with the CNN run on every
        permuted copy, so it is slower).
    fusion : {"model_split", "branch_weights"}, default="model_split"
        How the parts make the fused score (see above).
    cnn_importance : {"permutation", "integrated_gradients", "gradcam"}, \
default="permutation"
        The CNN branch's part of the fused score with
        ``fusion="branch_weights"`` (see above; ``"model_split"`` always uses
        the permutation). The first two are one score for all classes;
        ``"gradcam"`` gives one per class. ``"integrated_gradients"`` needs a
        differentiable image (not bars, bits, bins or text); ``"gradcam"``
        an image with pixels of each feature's own (not
        :class:`~skpermgrad.ClustersImager`'s): both raise otherwise.
    scale : {"share", "minmax"}, default="share"
        How each part is put on the common scale before the branch weights
        apply (see above).
    n_bootstrap : int, default=100
        Bootstrap draws for the standard deviations and intervals.
    confidence_level : float, default=0.95
        Coverage of the percentile intervals.
    zero_tolerance : float, default=0.01
        Share of the fused total below which an importance counts as zero for
        ``indistinguishable_from_zero`` (0: the interval must reach 0 itself).
    feature_groups : "auto", dict or None, default="auto"
        Columns explained together: each group's columns are permuted jointly
        (one row order for all), its integrated gradients and Grad-CAM values
        summed, and it is reported once under its name. A dict maps a name to
        the hybrid's input columns (names or indices); columns in no group
        stand alone. ``"auto"``: when ``estimator`` is a Pipeline whose
        earlier steps (a :class:`~sklearn.preprocessing.OneHotEncoder`, a
        :class:`~sklearn.compose.ColumnTransformer`, Pipelines of them, and
        one-column-in, one-column-out steps such as scalers and imputers)
        turned one of the user's columns into several, one group per user
        column, named like it; otherwise no groups. ``None``: every input
        column of the hybrid alone.
    verbose : int, default=0
        Print progress per block of rows to stderr when > 0.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        - ``importances``: the fused score, (n_features,), or
          (n_classes, n_features) for a classifier with
          ``fusion="branch_weights", cnn_importance="gradcam"``;
        - ``importances_std``, ``importances_ci``: its bootstrap standard
          deviation (shaped like ``importances``) and interval (that shape
          plus a last axis of 2: low, high);
        - ``indistinguishable_from_zero``: bool, shaped like ``importances``:
          the interval reaches below ``zero_tolerance`` of the fused total;
        - ``branch_contributions``: ``{"mlp": ..., "cnn": ...}``, the two
          weighted, scaled parts that sum to ``importances``;
        - ``permutation``: Bunch of ``importances_mean``, ``importances_std``
          (n_features,) and ``importances`` (n_features, n_repeats);
        - ``image_permutation``: the same for the column permuted in the
          image input only (``fusion="model_split"`` or
          ``cnn_importance="permutation"``);
        - ``model_permutation``: the same for the column permuted in both
          inputs (``fusion="model_split"``);
        - ``integrated_gradients``: the mean absolute attribution through the
          image input (n_features,), over rows and a classifier's classes
          (``cnn_importance="integrated_gradients"`` only);
        - ``gradcam``: (n_features,) for a regressor, (n_classes, n_features)
          for a classifier (NaN on an image with no pixel of a feature's
          own: :class:`~skpermgrad.ClustersImager`);
        - ``branch_weights``: ``{"mlp": w, "cnn": 1 - w}``;
        - ``branch_score_drops``: ``{"mlp": d_mlp, "cnn": d_cnn}``;
        - ``branch_weights_defined``: False when neither drop was positive
          (the weights are then 0.5 each, with a warning);
        - ``fusion``, ``cnn_importance``, ``scale``, ``confidence_level``,
          ``zero_tolerance``: as used;
        - ``feature_names``: ndarray of str, one per group (per column
          without groups); ``classes`` for a classifier;
        - ``feature_groups``: each name's input columns of the hybrid;
        - ``encoded_feature_names``: the hybrid's input columns, in the order
          of ``feature_positions``;
        - ``heatmap``: the mean upsampled Grad-CAM map, (height, width) for a
          regressor, (n_classes, height, width) for a classifier;
        - ``mean_image``: the mean image (height, width);
        - ``feature_positions``: each input column's pixel (row, col),
          (n_encoded_features, 2); ``(-1, -1)`` for none.

    See Also
    --------
    sklearn.inspection.permutation_importance : Permutation importance of any
        model, re-running its whole ``predict``.
    explain_rows : Each row's attribution, through both branches.

    References
    ----------
    .. [1] Sundararajan, Taly and Yan, "Axiomatic Attribution for Deep
       Networks", ICML 2017 (integrated gradients).
    .. [2] Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks
       via Gradient-based Localization", ICCV 2017.
    .. [3] F. Escalera-González, M. Castillo-Cara, M. Rincón-Zamorano and
       L. Orozco-Barbosa, "PermGrad: A Hybrid Neural Network Framework for
       Global Feature Attribution Using Synthetic Image Representations",
       code: https://github.com/felescgon/PermGrad,
       :doi:`10.5281/zenodo.17613159`.
    .. [4] L. Breiman, "Random Forests", Machine Learning 45, 2001
       (permutation importance).

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skpermgrad import HybridRegressor, TintoImager, permgrad_importance
    >>> X, y = make_regression(80, 5, random_state=0)
    >>> reg = HybridRegressor(TintoImager(pixels=4), n_conv_layers=1, epochs=3,
    ...                       random_state=0).fit(X, y)
    >>> result = permgrad_importance(reg, X, y, n_repeats=2, random_state=0)
    >>> result.importances.shape, result.importances_ci.shape
    ((5,), (5, 2))
    >>> round(sum(result.branch_weights.values()), 6)
    1.0
    """
    check_consistent_length(X, y, *([] if sample_weight is None else [sample_weight]))
    setup = _prepare(estimator, X, feature_groups)
    rule = _fusion_rule(fusion, cnn_importance)
    if rule.image_need is not None:
        _require_image_for(setup, cnn_importance, f"cnn_importance={cnn_importance!r}")
    rng = check_random_state(random_state)
    rows = _explained_rows(len(setup.rows), max_samples, rng)
    values, y = setup.rows[rows], np.asarray(y)[rows]
    weights = np.ones(len(rows))
    if sample_weight is not None:
        weights = _check_sample_weight(
            sample_weight, setup.rows, dtype=np.float64, ensure_non_negative=True
        )[rows]
    seed = rng.randint(2**31 - 1)
    scorer = _explanation_scorer(setup.hybrid, scoring, y)
    _check_scorer_fits(
        scorer, scoring, estimator, setup.hybrid, _safe_indexing(X, rows), y
    )

    view, passes = setup.network, {"batch_size": batch_size, "n_jobs": n_jobs}
    outputs = _forward_passes(
        view, values, weights.astype("float32"), setup.groups, n_repeats=n_repeats,
        seed=seed, permutation=permutation, image_permutation=rule.image_permutation,
        verbose=verbose, **passes,
    )  # fmt: skip
    gradcam_rows = outputs.gradcam @ setup.membership  # per output, row and group
    per_row = rule.per_row(
        view, values, weights, gradcam_rows, setup.membership, **passes
    )
    explained = Bunch(
        X=values, y=y, weights=weights, weighted=sample_weight is not None
    )
    parts = _Parts(rule, scorer, view, outputs, explained, per_row)
    mlp_drops, cnn_values, branch_drops = parts(np.arange(len(values)))
    fused, w_mlp, contributions = rule.fuse(mlp_drops, cnn_values, branch_drops, scale)
    weights_defined = _branch_weights_defined(branch_drops)

    draws = parts.bootstrap(n_bootstrap, n_repeats, seed, scale)
    tail = 100 * (1 - confidence_level) / 2
    interval = np.moveaxis(np.percentile(draws, [tail, 100 - tail], axis=0), 0, -1)

    classifier = is_classifier(setup.hybrid)
    floor = zero_tolerance * np.clip(fused, 0, None).sum(axis=-1, keepdims=True)

    def squeezed(a, per_output=classifier and rule.per_output):  # one output's axis
        return np.asarray(a) if per_output else np.asarray(a)[0]

    result = Bunch(
        importances=squeezed(fused),
        importances_std=squeezed(draws.std(axis=0)),
        importances_ci=squeezed(interval),
        indistinguishable_from_zero=squeezed(interval[..., 0] <= floor),
        branch_contributions=Bunch(
            mlp=squeezed(np.broadcast_to(contributions.mlp, fused.shape)),
            cnn=squeezed(contributions.cnn),
        ),
        permutation=_drops_bunch(mlp_drops),
        gradcam=squeezed(_weighted_mean(gradcam_rows, weights), classifier),
        branch_weights={"mlp": float(w_mlp), "cnn": float(1 - w_mlp)},
        branch_score_drops={
            "mlp": float(branch_drops[0]),
            "cnn": float(branch_drops[1]),
        },
        branch_weights_defined=weights_defined,
        fusion=fusion,
        cnn_importance=cnn_importance,
        scale=scale,
        confidence_level=confidence_level,
        zero_tolerance=zero_tolerance,
        feature_names=setup.feature_names,
        feature_groups=setup.feature_groups,
        encoded_feature_names=setup.encoded_feature_names,
        heatmap=squeezed(outputs.heatmap.reshape(-1, *setup.image_size), classifier),
        mean_image=outputs.mean_image.reshape(setup.image_size),
        feature_positions=setup.imager.feature_positions_.copy(),
    )
    rule.store(result, cnn_values)
    if classifier:
        result.classes = setup.hybrid.classes_
    return result


class _Parts:
    """PermGrad's parts on a sample of the explained rows, from the outputs
    of the forward passes: ``parts(rows)`` gives every repeat's drops,
    ``parts(rows, repeats)`` one repeat a feature (a bootstrap draw)."""

    def __init__(self, rule, scorer, view, outputs, explained, per_row):
        self.rule, self.scorer, self.view = rule, scorer, view
        self.outputs, self.explained, self.per_row = outputs, explained, per_row

    def __call__(self, rows, repeats=None):
        explained = self.explained
        row_weights = explained.weights[rows]
        fit = {"sample_weight": row_weights} if explained.weighted else {}

        def score(raw):
            return self.scorer(
                _Responses(self.view, raw[..., rows, :]),
                explained.X[rows],
                explained.y[rows],
                **fit,
            )

        baseline = score(self.outputs.baseline)
        if repeats is None and not np.isfinite(baseline):
            raise ValueError(
                f"The model's score on the {len(rows)} row(s) explained is "
                f"{baseline} (undefined: e.g. R² of fewer than 2 rows), so no "
                "score drop can be measured. Explain on more rows, or pass a "
                "scoring defined on them."
            )

        def drops(permuted):
            if repeats is None:
                return np.array(
                    [[baseline - score(raw) for raw in f] for f in permuted]
                )
            return np.array(
                [baseline - score(permuted[j, r]) for j, r in enumerate(repeats)]
            )[:, None]

        outputs = self.outputs
        cnn = self.rule.cnn_part(drops, outputs, self.per_row, rows, row_weights)
        branch_drops = (
            baseline - score(outputs.no_mlp),
            baseline - score(outputs.no_cnn),
        )
        return drops(outputs.permuted), cnn, branch_drops

    def bootstrap(self, n_bootstrap, n_repeats, seed, scale):
        """The fused score on ``n_bootstrap`` draws of the rows (with
        replacement, among those of positive weight) and, a feature, of one
        of its ``n_repeats`` permutations."""
        boot = np.random.RandomState(seed)
        weighted = np.flatnonzero(self.explained.weights > 0)  # others change nothing
        n_groups = len(self.outputs.permuted)
        return np.array(
            [
                self.rule.fuse(
                    *self(
                        boot.choice(weighted, size=len(weighted)),
                        boot.randint(n_repeats, size=n_groups),
                    ),
                    scale,
                )[0]
                for _ in range(n_bootstrap)
            ]
        )


def _branch_weights_defined(branch_drops):
    """Whether either branch's ablation lowered the score; warn where neither
    did (the weights are then 0.5/0.5)."""
    if max(branch_drops[0], 0) + max(branch_drops[1], 0) > 0:
        return True
    warnings.warn(
        f"Neither branch's ablation lowered the score (drops: MLP "
        f"{branch_drops[0]:.4g}, CNN {branch_drops[1]:.4g}), so the branch "
        "weights are undefined and set to 0.5/0.5 "
        "(result.branch_weights_defined is False). Explain on more rows, or "
        "with a scoring that the model's outputs move (e.g. the log loss).",
        UserWarning,
        stacklevel=4,  # the caller of permgrad_importance's validation wrapper
    )
    return False
