"""PermGradDisplay: bars of the fused PermGrad score and of its parts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator
from sklearn.utils import Bunch
from sklearn.utils._optional_dependencies import check_matplotlib_support

from .._permgrad import permgrad_importance

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def _class_index(result, target):
    """Row of a per-class array for ``target``; None for a regressor or all."""
    classes = result.get("classes")
    if classes is None:
        if target is not None:
            raise ValueError(
                f"target={target!r} was given, but the explanation is of a "
                "regressor, which has one output: leave target=None."
            )
        return None
    if target is None:
        return None
    matches = np.flatnonzero(np.asarray(classes) == target)
    if len(matches) == 0:
        raise ValueError(
            f"target={target!r} is not one of the classes "
            f"{np.asarray(classes).tolist()}."
        )
    return int(matches[0])


def _for_target(result, key, index):
    """``result[key]`` for class ``index``, averaged over classes for None.

    Values without a class axis (a regressor's, or a classifier's fused score
    unless ``cnn_importance="gradcam"``) are returned as they are; flags
    averaged over classes hold when they hold for every class.
    """
    values = np.asarray(result[key])
    per_class = np.ndim(result["importances"]) == 2 or key in ("gradcam", "heatmap")
    if "classes" not in result or not per_class:
        return values
    if index is not None:
        return values[index]
    return values.all(axis=0) if values.dtype == bool else values.mean(axis=0)


class PermGradDisplay:
    """Bar chart of PermGrad feature importances.

    Build it with :meth:`from_estimator` or :meth:`from_result`; the
    constructor only stores precomputed values.

    Parameters
    ----------
    importances : ndarray of shape (n_features,)
        Fused PermGrad score.
    permutation_importances : ndarray of shape (n_features, n_repeats)
        Score drops of the permutations through the MLP branch.
    gradcam : ndarray of shape (n_features,)
        Grad-CAM at each feature's pixel.
    branch_weights : dict
        ``{"mlp": w, "cnn": 1 - w}``.
    feature_names : array-like of str of shape (n_features,)
        Names on the bars.
    class_name : object, default=None
        The class explained, shown in the title (classifiers).
    cnn_importance : {"permutation", "integrated_gradients", "gradcam"}, \
default="permutation"
        What the CNN branch's part of ``importances`` is (see
        :func:`~skpermgrad.permgrad_importance`), named in the legend.
    fusion : {"model_split", "branch_weights"}, default="model_split"
        How ``importances`` was fused, named in the legend.
    branch_contributions : dict or None, default=None
        ``{"mlp": ..., "cnn": ...}``, the weighted parts that sum to
        ``importances``: the fused bars stack them. ``None``: one bar each.
    importances_ci : ndarray of shape (n_features, 2) or None, default=None
        Interval of the fused score, drawn as error bars.
    indistinguishable_from_zero : ndarray of bool or None, default=None
        Features drawn hatched and pale: their importance cannot be told from 0.

    Attributes
    ----------
    bars_ : list of matplotlib BarContainer
        The bars drawn.
    ax_ : matplotlib Axes
        Axes with the chart.
    figure_ : matplotlib Figure
        Figure holding the chart.

    See Also
    --------
    skpermgrad.permgrad_importance : Computes what it draws.
    GradCAMDisplay : The Grad-CAM part over the mean image.
    sklearn.inspection.permutation_importance : The whole-model permutation.

    References
    ----------
    .. [1] F. Escalera-González et al., "PermGrad" (cited in full in
       :class:`~skpermgrad.HybridRegressor`), :doi:`10.5281/zenodo.17613159`.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import make_regression
    >>> from skpermgrad import HybridRegressor, PermGradDisplay, TintoImager
    >>> X, y = make_regression(80, 5, random_state=0)
    >>> reg = HybridRegressor(TintoImager(pixels=4), n_conv_layers=1, epochs=3,
    ...                       random_state=0).fit(X, y)
    >>> display = PermGradDisplay.from_estimator(
    ...     reg, X, y, importance_kw={"n_repeats": 2, "random_state": 0})
    >>> len(display.ax_.patches)
    10
    """

    def __init__(
        self,
        *,
        importances: np.ndarray,
        permutation_importances: np.ndarray,
        gradcam: np.ndarray,
        branch_weights: dict,
        feature_names: ArrayLike,
        class_name: object | None = None,
        cnn_importance: str = "permutation",
        fusion: str = "model_split",
        branch_contributions: dict | None = None,
        importances_ci: np.ndarray | None = None,
        indistinguishable_from_zero: np.ndarray | None = None,
    ) -> None:
        self.importances = importances
        self.permutation_importances = permutation_importances
        self.gradcam = gradcam
        self.branch_weights = branch_weights
        self.feature_names = feature_names
        self.class_name = class_name
        self.cnn_importance = cnn_importance
        self.fusion = fusion
        self.branch_contributions = branch_contributions
        self.importances_ci = importances_ci
        self.indistinguishable_from_zero = indistinguishable_from_zero

    @classmethod
    def from_result(
        cls,
        result: Bunch,
        *,
        target: object | None = None,
        kind: str = "fused",
        top_n: int | None = None,
        ax: Axes | None = None,
        **kwargs: Any,
    ) -> PermGradDisplay:
        """Plot the result of :func:`~skpermgrad.permgrad_importance`.

        Parameters
        ----------
        result : :class:`~sklearn.utils.Bunch`
            What :func:`~skpermgrad.permgrad_importance` returned (or a fitted
            :class:`~skpermgrad.PermGradExplainer`'s ``explanation_``).
        target : object, default=None
            A class to show for a classifier; ``None`` averages the per-class
            scores (the explainer's ``feature_importances_``).
        kind, top_n, ax, **kwargs
            See :meth:`plot`.

        Returns
        -------
        display : PermGradDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_result")
        index = _class_index(result, target)
        flat = dict(result)
        for branch, part in result.get("branch_contributions", {}).items():
            flat[f"contribution_{branch}"] = part

        def pick(key):
            return _for_target(flat, key, index) if key in flat else None

        display = cls(
            importances=pick("importances"),
            permutation_importances=result.permutation.importances,
            gradcam=pick("gradcam"),
            branch_weights=result.branch_weights,
            feature_names=result.feature_names,
            class_name=target,
            cnn_importance=result.get("cnn_importance", "gradcam"),
            fusion=result.get("fusion", "branch_weights"),
            branch_contributions=(
                None
                if "branch_contributions" not in result
                else {b: pick(f"contribution_{b}") for b in ("mlp", "cnn")}
            ),
            importances_ci=pick("importances_ci"),
            indistinguishable_from_zero=pick("indistinguishable_from_zero"),
        )
        return display.plot(ax=ax, kind=kind, top_n=top_n, **kwargs)

    @classmethod
    def from_estimator(
        cls,
        estimator: BaseEstimator,
        X: ArrayLike,
        y: ArrayLike,
        *,
        target: object | None = None,
        kind: str = "fused",
        top_n: int | None = None,
        ax: Axes | None = None,
        importance_kw: dict | None = None,
        **kwargs: Any,
    ) -> PermGradDisplay:
        """Explain a fitted hybrid (or Pipeline ending in one) and plot it.

        Parameters
        ----------
        estimator : HybridRegressor, HybridClassifier or Pipeline
            Fitted.
        X : array-like of shape (n_samples, n_features)
            Rows to explain on.
        y : array-like of shape (n_samples,)
            Their targets.
        target, kind, top_n, ax
            See :meth:`from_result` and :meth:`plot`.
        importance_kw : dict, default=None
            Passed to :func:`~skpermgrad.permgrad_importance` (``n_repeats``,
            ``scoring``, ``random_state``...).
        **kwargs
            Passed to :meth:`plot`, and on to matplotlib's ``barh``.

        Returns
        -------
        display : PermGradDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        result = permgrad_importance(estimator, X, y, **(importance_kw or {}))
        return cls.from_result(
            result, target=target, kind=kind, top_n=top_n, ax=ax, **kwargs
        )

    def plot(
        self,
        ax: Axes | None = None,
        *,
        kind: str = "fused",
        top_n: int | None = None,
        **kwargs: Any,
    ) -> PermGradDisplay:
        """Draw horizontal bars, the most important feature on top.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when ``None``.
        kind : {"fused", "permutation", "gradcam"}, default="fused"
            ``"fused"``: the PermGrad score as stacked bars of its two
            weighted parts (``branch_contributions``), with its interval as
            error bars; features indistinguishable from 0 hatched and pale.
            ``"permutation"``: mean score drop with the standard deviation
            over repeats as error bars. ``"gradcam"``: Grad-CAM values.
        top_n : int, default=None
            Show only the ``top_n`` most important features.
        **kwargs
            Passed to matplotlib's ``barh`` (e.g. ``height``, ``edgecolor``).

        Returns
        -------
        display : PermGradDisplay
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt

        kinds = ("fused", "permutation", "gradcam")
        if kind not in kinds:
            raise ValueError(f"kind={kind!r} is not one of {kinds}.")
        if top_n is not None and (not isinstance(top_n, int) or top_n < 1):
            raise ValueError(f"top_n={top_n!r} must be a positive int or None.")
        drops = np.asarray(self.permutation_importances, dtype=np.float64)
        drop_mean, drop_std = drops.mean(axis=1), drops.std(axis=1)
        scores = {
            "fused": np.asarray(self.importances, dtype=np.float64),
            "permutation": drop_mean,
            "gradcam": np.asarray(self.gradcam, dtype=np.float64),
        }[kind]
        order = np.argsort(-scores, kind="mergesort")[:top_n][::-1]
        names = np.asarray(self.feature_names, dtype=object)[order]
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 0.3 * len(order) + 1.5))
        position = np.arange(len(order))
        w_mlp = self.branch_weights["mlp"]
        faint = (
            np.zeros(len(scores), bool)
            if self.indistinguishable_from_zero is None or kind != "fused"
            else np.asarray(self.indistinguishable_from_zero, bool)
        )[order]
        if kind == "fused":
            cnn_label = {
                "gradcam": "Grad-CAM",
                "permutation": "permutation in the image",
                "integrated_gradients": "integrated gradients",
            }[self.cnn_importance]
            xerr = None
            if self.importances_ci is not None:
                low, high = np.asarray(self.importances_ci, dtype=np.float64).T
                xerr = np.clip([scores - low, high - scores], 0, None)[:, order]
            if self.branch_contributions is None:
                stacks = [(scores, "PermGrad")]
            elif self.fusion == "model_split":
                stacks = [
                    (
                        np.asarray(self.branch_contributions[branch], np.float64),
                        f"via the {branch.upper()} branch",
                    )
                    for branch in ("mlp", "cnn")
                ]
            else:
                stacks = [
                    (
                        np.asarray(self.branch_contributions["mlp"], np.float64),
                        f"MLP branch: permutation (w={w_mlp:.2f})",
                    ),
                    (
                        np.asarray(self.branch_contributions["cnn"], np.float64),
                        f"CNN branch: {cnn_label} (w={1 - w_mlp:.2f})",
                    ),
                ]
            self.bars_, left = [], np.zeros(len(order))
            for i, (part, label) in enumerate(stacks):
                last = i == len(stacks) - 1
                bars = ax.barh(
                    position,
                    part[order],
                    left=left,
                    label=label,
                    xerr=xerr if last else None,
                    **kwargs,
                )
                for bar, pale in zip(bars, faint):
                    if pale:
                        bar.set_alpha(0.35)
                        bar.set_hatch("//")
                self.bars_.append(bars)
                left = left + part[order]
            handles, _ = ax.get_legend_handles_labels()
            if faint.any():
                from matplotlib.patches import Patch

                handles.append(
                    Patch(
                        facecolor="grey",
                        alpha=0.35,
                        hatch="//",
                        label="indistinguishable from 0",
                    )
                )
            ax.legend(handles=handles, loc="lower right")
            ax.set_xlabel("PermGrad importance")
        elif kind == "permutation":
            self.bars_ = [
                ax.barh(position, scores[order], xerr=drop_std[order], **kwargs)
            ]
            ax.set_xlabel("Score drop when permuted in the MLP branch")
        else:
            self.bars_ = [ax.barh(position, scores[order], **kwargs)]
            ax.set_xlabel("Grad-CAM at the feature's pixel")
        ax.set_yticks(position, labels=names)
        title = {
            "fused": "PermGrad importance",
            "permutation": "Permutation importance (MLP branch)",
            "gradcam": "Grad-CAM at each feature's pixel",
        }[kind]
        if self.class_name is not None:
            title += f", class {self.class_name}"
        ax.set_title(title)
        self.ax_, self.figure_ = ax, ax.figure
        return self
