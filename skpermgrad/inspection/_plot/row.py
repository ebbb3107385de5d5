"""RowExplanationDisplay: one row's attributions next to its image."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator
from sklearn.utils import Bunch
from sklearn.utils._optional_dependencies import check_matplotlib_support

from .._local import explain_rows
from .gradcam import GradCAMDisplay
from .permgrad import _class_index

if TYPE_CHECKING:
    from matplotlib.axes import Axes


class RowExplanationDisplay:
    """One row explained: its attributions as bars, its image with Grad-CAM.

    Left, each feature's integrated-gradients attribution (through both
    branches; they sum to the prediction minus the baselines' mean
    prediction), the largest
    in size on top, positive and negative in two colours. Right, the row's
    image with its own Grad-CAM map over it and each feature's pixel
    labelled. Build it with :meth:`from_estimator` or :meth:`from_result`;
    the constructor only stores precomputed values.

    Parameters
    ----------
    attributions : ndarray of shape (n_features,)
        The row's attribution per feature (for one class of a classifier).
    feature_names : array-like of str of shape (n_features,)
        Names on the bars.
    prediction : float
        The network's output at the row (the class probability).
    baseline_prediction : float
        Its mean output at the baselines.
    image : ndarray of shape (height, width)
        The row's image.
    heatmap : ndarray of shape (height, width)
        The row's Grad-CAM map.
    feature_positions : ndarray of shape (n_columns, 2)
        Each input column's pixel (row, col).
    encoded_feature_names : array-like of str of shape (n_columns,)
        The input columns' names, labelled on the image.
    class_name : object, default=None
        The class explained (classifiers), shown in the title.

    Attributes
    ----------
    bars_ : matplotlib BarContainer
        The bars.
    gradcam_display_ : GradCAMDisplay
        The image panel.
    axes_ : ndarray of matplotlib Axes
        The two panels.
    figure_ : matplotlib Figure
        The figure.

    See Also
    --------
    explain_rows : The attributions this draws.
    PermGradDisplay : Global importances.

    References
    ----------
    .. [1] Sundararajan, Taly and Yan, "Axiomatic Attribution for Deep
       Networks", ICML 2017 (integrated gradients).
    .. [2] Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks
       via Gradient-based Localization", ICCV 2017.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import make_regression
    >>> from skpermgrad import HybridRegressor, RowExplanationDisplay, TintoImager
    >>> X, y = make_regression(80, 5, random_state=0)
    >>> reg = HybridRegressor(TintoImager(pixels=4), n_conv_layers=1, epochs=3,
    ...                       random_state=0).fit(X, y)
    >>> display = RowExplanationDisplay.from_estimator(reg, X, row=0)
    >>> len(display.bars_)
    5
    """

    def __init__(
        self,
        *,
        attributions: np.ndarray,
        feature_names: ArrayLike,
        prediction: float,
        baseline_prediction: float,
        image: np.ndarray | None,
        heatmap: np.ndarray | None,
        feature_positions: np.ndarray | None,
        encoded_feature_names: ArrayLike | None,
        class_name: object | None = None,
    ) -> None:
        self.attributions = attributions
        self.feature_names = feature_names
        self.prediction = prediction
        self.baseline_prediction = baseline_prediction
        self.image = image
        self.heatmap = heatmap
        self.feature_positions = feature_positions
        self.encoded_feature_names = encoded_feature_names
        self.class_name = class_name

    @classmethod
    def from_result(
        cls,
        result: Bunch,
        row: int = 0,
        *,
        target: object | None = None,
        top_n: int | None = None,
        axes: Sequence[Axes] | None = None,
        **kwargs: Any,
    ) -> RowExplanationDisplay:
        """Plot one row of what :func:`~skpermgrad.explain_rows` returned.

        Parameters
        ----------
        result : :class:`~sklearn.utils.Bunch`
            The result of :func:`~skpermgrad.explain_rows`.
        row : int, default=0
            Which of its rows.
        target : object, default=None
            The class to show for a classifier; ``None``: the row's most
            probable class.
        top_n, axes, **kwargs
            See :meth:`plot`.

        Returns
        -------
        display : RowExplanationDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_result")
        n_rows = len(result.attributions)
        if not -n_rows <= row < n_rows:
            raise ValueError(f"row={row} is not one of the {n_rows} explained rows.")
        attributions = np.asarray(result.attributions[row])
        prediction, baseline = result.predictions[row], result.baseline_prediction
        heatmap = np.asarray(result.heatmaps[row])
        k = _class_index(result, target)  # checks target
        if "classes" in result:
            k = int(np.argmax(prediction)) if k is None else k
            target = result.classes[k]
            attributions, heatmap = attributions[:, k], heatmap[k]
            prediction, baseline = prediction[k], baseline[k]
        display = cls(
            attributions=attributions,
            feature_names=result.feature_names,
            prediction=float(prediction),
            baseline_prediction=float(baseline),
            image=result.images[row],
            heatmap=heatmap,
            feature_positions=result.feature_positions,
            encoded_feature_names=result.encoded_feature_names,
            class_name=target,
        )
        return display.plot(top_n=top_n, axes=axes, **kwargs)

    @classmethod
    def from_estimator(
        cls,
        estimator: BaseEstimator,
        X: ArrayLike,
        row: int = 0,
        *,
        target: object | None = None,
        top_n: int | None = None,
        axes: Sequence[Axes] | None = None,
        explain_kw: dict | None = None,
        **kwargs: Any,
    ) -> RowExplanationDisplay:
        """Explain one row of ``X`` (against rows of ``X``) and plot it.

        Parameters
        ----------
        estimator : HybridRegressor, HybridClassifier or Pipeline
            Fitted.
        X : array-like of shape (n_samples, n_features)
            Rows; the baselines are drawn from them unless ``background`` is
            passed.
        row : int, default=0
            Which row of ``X`` to explain.
        target, top_n, axes
            See :meth:`from_result` and :meth:`plot`.
        explain_kw : dict, default=None
            Passed to :func:`~skpermgrad.explain_rows` (``background``,
            ``feature_groups``, ``n_steps``...).
        **kwargs
            Passed to :meth:`plot`, and on to matplotlib's ``barh``.

        Returns
        -------
        display : RowExplanationDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        n_rows = len(X)
        if not -n_rows <= row < n_rows:
            raise ValueError(f"row={row} is not one of the {n_rows} rows of X.")
        explain_kw = {"background": X, **(explain_kw or {})}
        index = [row % n_rows]
        rows = X.iloc[index] if hasattr(X, "iloc") else np.asarray(X)[index]
        result = explain_rows(estimator, rows, **explain_kw)
        return cls.from_result(
            result, 0, target=target, top_n=top_n, axes=axes, **kwargs
        )

    def plot(
        self,
        *,
        top_n: int | None = None,
        axes: Sequence[Axes] | None = None,
        **kwargs: Any,
    ) -> RowExplanationDisplay:
        """Draw the bars (left) and the image with its Grad-CAM (right).

        Parameters
        ----------
        top_n : int, default=None
            Show only the ``top_n`` features with the largest absolute attribution.
        axes : array-like of 2 matplotlib Axes, default=None
            Where to draw; a new figure with two panels when ``None``.
        **kwargs
            Passed to matplotlib's ``barh`` (the colours stay: red for a
            positive attribution, blue for a negative one).

        Returns
        -------
        display : RowExplanationDisplay
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt

        if top_n is not None and (not isinstance(top_n, int) or top_n < 1):
            raise ValueError(f"top_n={top_n!r} must be a positive int or None.")
        if axes is None:
            _, axes = plt.subplots(1, 2, figsize=(12, 5))
        axes = np.asarray(axes, dtype=object).ravel()
        if len(axes) != 2:
            raise ValueError(f"axes must hold 2 Axes, got {len(axes)}.")
        values = np.asarray(self.attributions, dtype=np.float64)
        order = np.argsort(-np.abs(values), kind="mergesort")[:top_n][::-1]
        position = np.arange(len(order))
        colours = np.where(values[order] >= 0, "tab:red", "tab:blue")
        self.bars_ = axes[0].barh(position, values[order], color=colours, **kwargs)
        axes[0].axvline(0, color="black", lw=0.8)
        axes[0].set_yticks(
            position, labels=np.asarray(self.feature_names, dtype=object)[order]
        )
        axes[0].set_xlabel("Attribution (integrated gradients, both branches)")
        what = "" if self.class_name is None else f"P({self.class_name}) "
        axes[0].set_title(
            _title(what, self.prediction, self.baseline_prediction, values)
        )
        self.gradcam_display_ = GradCAMDisplay(
            heatmap=self.heatmap,
            mean_image=self.image,
            feature_positions=self.feature_positions,
            feature_names=self.encoded_feature_names,
            class_name=self.class_name,
        ).plot(ax=axes[1])
        axes[1].set_title("The row's image and Grad-CAM")
        self.axes_, self.figure_ = axes, axes[0].figure
        return self


def _title(what, prediction, baseline, values):
    """Prediction, baseline and the attributions' sum, with what the sum
    misses of the gap (integrated gradients' quadrature error) when it is over
    1%: never an identity that does not hold."""
    total = float(values.sum())
    title = (
        f"{what}{prediction:.4g}: baseline {baseline:.4g}, attributions sum "
        f"{total:+.4g}"
    )
    gap = prediction - baseline
    residual = gap - total
    if abs(residual) > 0.01 * max(abs(gap), np.finfo(float).tiny):
        title += (
            f"\n(they miss {residual:+.3g} of the gap {gap:+.4g}: more n_steps "
            "in explain_kw narrow it)"
        )
    return title
