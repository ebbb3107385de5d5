"""PermGradDisplay: bars of the fused PermGrad score and of its parts."""

import numpy as np

from .._permgrad import _minmax, permgrad_importance


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
    with ``cnn_importance="permutation"``) are returned as they are.
    """
    values = np.asarray(result[key])
    if "classes" not in result or values.ndim == 1:
        return values
    return values.mean(axis=0) if index is None else values[index]


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
    cnn_importance : {"gradcam", "permutation"}, default="gradcam"
        What the CNN branch's part of ``importances`` is (see
        :func:`~skpermgrad.permgrad_importance`), named in the legend.

    Attributes
    ----------
    bars_ : list of matplotlib BarContainer
        The bars drawn.
    ax_ : matplotlib Axes
        Axes with the chart.
    figure_ : matplotlib Figure
        Figure holding the chart.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import make_regression
    >>> from skpermgrad import HybridRegressor, PermGradDisplay, TintoImager
    >>> X, y = make_regression(80, 5, random_state=0)
    >>> reg = HybridRegressor(TintoImager(pixels=4), n_conv_layers=1, epochs=3,
    ...                       random_state=0).fit(X, y)
    >>> display = PermGradDisplay.from_estimator(reg, X, y, n_repeats=2,
    ...                                          random_state=0)
    >>> len(display.ax_.patches)
    10
    """

    def __init__(
        self,
        *,
        importances,
        permutation_importances,
        gradcam,
        branch_weights,
        feature_names,
        class_name=None,
        cnn_importance="gradcam",
    ):
        self.importances = importances
        self.permutation_importances = permutation_importances
        self.gradcam = gradcam
        self.branch_weights = branch_weights
        self.feature_names = feature_names
        self.class_name = class_name
        self.cnn_importance = cnn_importance

    @classmethod
    def from_result(cls, result, *, target=None, kind="fused", top_n=None, ax=None):
        """Plot the result of :func:`~skpermgrad.permgrad_importance`.

        Parameters
        ----------
        result : :class:`~sklearn.utils.Bunch`
            What :func:`~skpermgrad.permgrad_importance` returned (or a fitted
            :class:`~skpermgrad.PermGradExplainer`'s ``explanation_``).
        target : object, default=None
            A class to show for a classifier; ``None`` averages the per-class
            scores (the explainer's ``feature_importances_``).
        kind, top_n, ax
            See :meth:`plot`.

        Returns
        -------
        display : PermGradDisplay
        """
        index = _class_index(result, target)
        display = cls(
            importances=_for_target(result, "importances", index),
            permutation_importances=result.permutation.importances,
            gradcam=_for_target(result, "gradcam", index),
            branch_weights=result.branch_weights,
            feature_names=result.feature_names,
            class_name=target,
            cnn_importance=result.get("cnn_importance", "gradcam"),
        )
        return display.plot(ax=ax, kind=kind, top_n=top_n)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        target=None,
        kind="fused",
        top_n=None,
        ax=None,
        **kwargs,
    ):
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
        **kwargs
            Passed to :func:`~skpermgrad.permgrad_importance` (``n_repeats``,
            ``scoring``, ``random_state``...).

        Returns
        -------
        display : PermGradDisplay
        """
        result = permgrad_importance(estimator, X, y, **kwargs)
        return cls.from_result(result, target=target, kind=kind, top_n=top_n, ax=ax)

    def plot(self, ax=None, *, kind="fused", top_n=None):
        """Draw horizontal bars, the most important feature on top.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when ``None``.
        kind : {"fused", "permutation", "gradcam"}, default="fused"
            ``"fused"``: the PermGrad score as stacked bars of its two parts,
            ``w_mlp * minmax(permutation)`` and ``w_cnn * minmax(gradcam)``
            (or of the permutation in the image, see ``cnn_importance``).
            ``"permutation"``: mean score drop with the standard deviation
            over repeats as error bars. ``"gradcam"``: Grad-CAM values.
        top_n : int, default=None
            Show only the ``top_n`` most important features.

        Returns
        -------
        display : PermGradDisplay
        """
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
        if kind == "fused":
            cnn_label = {
                "gradcam": "Grad-CAM",
                "permutation": "permutation in the image",
            }[self.cnn_importance]
            mlp_part = w_mlp * _minmax(drop_mean)
            cnn_part = scores - mlp_part
            self.bars_ = [
                ax.barh(
                    position,
                    mlp_part[order],
                    label=f"MLP branch: permutation (w={w_mlp:.2f})",
                ),
                ax.barh(
                    position,
                    cnn_part[order],
                    left=mlp_part[order],
                    label=f"CNN branch: {cnn_label} (w={1 - w_mlp:.2f})",
                ),
            ]
            ax.legend(loc="lower right")
            ax.set_xlabel("PermGrad importance")
        elif kind == "permutation":
            self.bars_ = [ax.barh(position, scores[order], xerr=drop_std[order])]
            ax.set_xlabel("Score drop when permuted in the MLP branch")
        else:
            self.bars_ = [ax.barh(position, scores[order])]
            ax.set_xlabel("Grad-CAM at the feature's pixel")
        ax.set_yticks(position, labels=names)
        title = (
            "PermGrad"
            if self.class_name is None
            else (f"PermGrad, class {self.class_name!r}")
        )
        ax.set_title(title)
        self.ax_, self.figure_ = ax, ax.figure
        return self
