"""Per-row explanations: integrated gradients through both branches."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, is_classifier
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_params,
)

from ._passes import IG_STEPS, _integrated_gradients
from ._setup import _network_rows, _prepare, _require_image_for

N_BASELINES = 16  # background rows each row's paths start from


@validate_params(
    {
        "estimator": [HasMethods(["fit", "predict"])],
        "X": ["array-like"],
        "background": ["array-like", None],
        "feature_groups": [dict, StrOptions({"auto"}), None],
        "n_baselines": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"mean"}),
        ],
        "n_steps": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def explain_rows(
    estimator: BaseEstimator,
    X: ArrayLike,
    *,
    background: ArrayLike | None = None,
    feature_groups: dict | str | None = "auto",
    n_baselines: int | str = N_BASELINES,
    n_steps: int = IG_STEPS,
    batch_size: int = 1024,
    n_jobs: int | None = None,
    random_state: int | np.random.RandomState | None = None,
) -> Bunch:
    """Each row's per-feature attribution, through both branches of a hybrid.

    Integrated gradients [1]_ of the network's output along straight paths
    from baseline rows to each row of ``X``, averaged over ``n_baselines``
    rows of ``background`` (expected gradients [2]_, the counterpart for a
    network of SHAP's values with the same background). The row feeds both
    inputs at once, the MLP branch's values and the image, which the network
    draws from the same values inside its graph, so a feature's attribution
    is what it moves the prediction by through either branch. The
    attributions of a row sum to its prediction minus the mean prediction at
    the baselines (completeness), up to the quadrature error of ``n_steps``
    Gauss-Legendre nodes: small on smooth networks, larger across the kinks
    of the MLP branch's quantile map and ReLUs (more nodes make it smaller);
    ``mlp`` and ``cnn`` split each one by branch.

    Parameters
    ----------
    estimator : HybridRegressor, HybridClassifier or Pipeline
        Fitted, with ``branches="both"``; a Pipeline's earlier steps transform
        ``X`` (and ``background``) first.
    X : array-like of shape (n_samples, n_features)
        Rows to explain.
    background : array-like of shape (n_background, n_features), default=None
        Rows the baselines are drawn from (as the network reads them), e.g. the
        training rows. ``None``: the rows of ``X`` (at least 2 of them).
    feature_groups : "auto", dict or None, default="auto"
        Columns attributed together (their attributions summed), as in
        :func:`~skpermgrad.permgrad_importance`.
    n_baselines : int or "mean", default=16
        Rows of ``background`` each row's paths start from (drawn without
        replacement with ``random_state``; all of them where it has fewer):
        its attributions are their mean, and sum to the prediction minus the
        mean prediction at those rows, as SHAP's do over its background; a
        product of two features is shared out as SHAP shares it. ``"mean"``:
        one path from the background's mean row (integrated gradients with
        that baseline), ``n_baselines`` times cheaper; its attributions sum to
        the prediction minus the prediction at the mean row, which differs
        from the mean prediction wherever features interact or the output
        saturates (a classifier's probabilities): so do they from SHAP's.
    n_steps : int, default=64
        Quadrature nodes of each path's integral (a row costs ``n_steps``
        forward and backward passes per baseline).
    batch_size : int, default=1024
        Path points per forward and backward pass.
    n_jobs : int or None, default=None
        Threads running row blocks side by side.
    random_state : int, RandomState instance or None, default=None
        Draws the baselines from ``background`` (where it has more rows than
        ``n_baselines``).

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        - ``attributions``: (n_samples, n_features) for a regressor, in the
          target's units; (n_samples, n_features, n_classes) of the class
          probabilities for a classifier (SHAP's layout);
        - ``mlp``, ``cnn``: the same split by branch
          (``mlp + cnn == attributions``);
        - ``predictions``: the network's output at each row, (n_samples,) or
          (n_samples, n_classes);
        - ``baseline_prediction``: the mean output at the baselines, a float
          or (n_classes,);
        - ``baselines``: the baseline rows as the network reads them (scaled
          values, one per input column of the hybrid), (n_baselines,
          n_columns); one row, the background's mean, with
          ``n_baselines="mean"``;
        - ``images``: each row's image (n_samples, height, width);
        - ``heatmaps``: each row's Grad-CAM map, (n_samples, height, width),
          or (n_samples, n_classes, height, width) for a classifier;
        - ``feature_names``; ``feature_positions`` and
          ``encoded_feature_names`` (each input column's pixel and name);
          ``classes`` for a classifier.

    See Also
    --------
    permgrad_importance : Global importances, with uncertainty.
    RowExplanationDisplay : Bar chart of one row's attributions next to its
        image.

    References
    ----------
    .. [1] Sundararajan, Taly and Yan, "Axiomatic Attribution for Deep
       Networks", ICML 2017.
    .. [2] Erion, Janizek, Sturmfels, Lundberg and Lee, "Improving performance
       of deep learning models with axiomatic attribution priors and expected
       gradients", Nature Machine Intelligence 3, 2021.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skpermgrad import HybridRegressor, TintoImager, explain_rows
    >>> X, y = make_regression(80, 5, random_state=0)
    >>> reg = HybridRegressor(TintoImager(pixels=4), n_conv_layers=1, epochs=3,
    ...                       random_state=0).fit(X, y)
    >>> rows = explain_rows(reg, X[:3], background=X, random_state=0)
    >>> rows.attributions.shape
    (3, 5)
    >>> gap = rows.predictions - rows.baseline_prediction
    >>> bool(abs(rows.attributions.sum(axis=1) - gap).max() < 0.1 * abs(gap).max())
    True
    """
    setup = _prepare(estimator, X, feature_groups)
    _require_image_for(
        setup, "integrated_gradients", "explain_rows (integrated gradients)"
    )
    if background is None:
        if len(setup.rows) < 2:
            raise ValueError(
                "explain_rows needs baselines: with one row in X, pass "
                "background= (e.g. the training rows) to draw them from."
            )
        reference = setup.rows
    else:
        _, reference, _, _ = _network_rows(
            estimator, background, "background", view=setup.network
        )
    if n_baselines == "mean":
        baselines = reference.mean(axis=0, keepdims=True)
    elif n_baselines < len(reference):
        rng = check_random_state(random_state)
        baselines = reference[rng.choice(len(reference), n_baselines, replace=False)]
    else:
        baselines = reference
    net = setup.network
    mlp, cnn = (
        part @ setup.membership
        for part in _integrated_gradients(
            net, setup.rows, baselines, n_steps, batch_size, n_jobs
        )
    )
    size, heatmaps, images = setup.image_size, [], []
    for start in range(0, len(setup.rows), batch_size):
        _, heat, image, _ = net.gradcam(
            setup.rows[start : start + batch_size], np.zeros((1, 1), "float32")
        )
        heatmaps.append(np.moveaxis(heat.numpy(), 0, 1))  # (rows, outputs, pixels)
        images.append(image.numpy())
    heatmaps = np.concatenate(heatmaps).astype(np.float64)
    heatmaps = heatmaps.reshape(len(heatmaps), -1, *size)
    both = np.concatenate([baselines, setup.rows]).astype("float32")
    outputs = np.asarray(net.full(both, both), dtype=np.float64)
    at_baselines, outputs = outputs[: len(baselines)], outputs[len(baselines) :]
    hybrid = setup.hybrid
    if is_classifier(hybrid):
        # (n_outputs, n_samples, n_features) -> SHAP's (n_samples, n_features, k)
        mlp, cnn = np.moveaxis(mlp, 0, -1), np.moveaxis(cnn, 0, -1)
        extra = {"classes": hybrid.classes_}
        baseline_prediction, predictions = at_baselines.mean(axis=0), outputs
    else:
        decode = net.decode
        unit = float(decode(np.ones((1, 1)))[0] - decode(np.zeros((1, 1)))[0])
        mlp, cnn = mlp[0] * unit, cnn[0] * unit
        extra = {}
        heatmaps = heatmaps[:, 0]
        baseline_prediction = float(decode(at_baselines).mean())
        predictions = decode(outputs)
    return Bunch(
        attributions=mlp + cnn,
        mlp=mlp,
        cnn=cnn,
        predictions=predictions,
        baseline_prediction=baseline_prediction,
        baselines=baselines.astype(np.float64),
        feature_names=setup.feature_names,
        images=np.concatenate(images).astype(np.float64),
        heatmaps=heatmaps,
        feature_positions=setup.imager.feature_positions_.copy(),
        encoded_feature_names=setup.encoded_feature_names,
        **extra,
    )
