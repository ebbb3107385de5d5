"""GradCAMDisplay: the mean Grad-CAM heatmap over the mean image."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator
from sklearn.utils import Bunch
from sklearn.utils._optional_dependencies import check_matplotlib_support

from .._permgrad import permgrad_importance
from .permgrad import _class_index, _for_target

if TYPE_CHECKING:
    from matplotlib.axes import Axes


class GradCAMDisplay:
    """Mean Grad-CAM heatmap over the mean image, each feature's pixel labelled.

    Build it with :meth:`from_estimator` or :meth:`from_result`; the
    constructor only stores precomputed values.

    Parameters
    ----------
    heatmap : ndarray of shape (height, width)
        Mean Grad-CAM map, upsampled to the image size.
    mean_image : ndarray of shape (height, width)
        Mean image of the explained rows.
    feature_positions : ndarray of shape (n_features, 2)
        Each feature's pixel as (row, col).
    feature_names : array-like of str of shape (n_features,)
        The labels; features sharing a pixel are listed together.
    class_name : object, default=None
        The class explained, shown in the title (classifiers).

    Attributes
    ----------
    image_ : matplotlib AxesImage
        The mean image.
    heatmap_ : matplotlib AxesImage
        The heatmap drawn over it.
    texts_ : list of matplotlib Text
        One label per occupied pixel; empty where no pixel is a feature's own
        (:class:`~skpermgrad.ClustersImager`), which the axes' x label says.
    ax_ : matplotlib Axes
        Axes with the picture.
    figure_ : matplotlib Figure
        Figure holding the picture.

    See Also
    --------
    skpermgrad.permgrad_importance : Computes the Grad-CAM part it draws.
    PermGradDisplay : The importances as bars.

    References
    ----------
    .. [1] Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks
       via Gradient-based Localization", ICCV 2017.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import make_regression
    >>> from skpermgrad import GradCAMDisplay, HybridRegressor, TintoImager
    >>> X, y = make_regression(80, 5, random_state=0)
    >>> reg = HybridRegressor(TintoImager(pixels=4), n_conv_layers=1, epochs=3,
    ...                       random_state=0).fit(X, y)
    >>> display = GradCAMDisplay.from_estimator(
    ...     reg, X, y, importance_kw={"n_repeats": 1, "random_state": 0})
    >>> display.heatmap.shape
    (4, 4)
    """

    def __init__(
        self,
        *,
        heatmap: np.ndarray,
        mean_image: np.ndarray,
        feature_positions: np.ndarray,
        feature_names: ArrayLike,
        class_name: object | None = None,
    ) -> None:
        self.heatmap = heatmap
        self.mean_image = mean_image
        self.feature_positions = feature_positions
        self.feature_names = feature_names
        self.class_name = class_name

    @classmethod
    def from_result(
        cls,
        result: Bunch,
        *,
        target: object | None = None,
        ax: Axes | None = None,
        **kwargs: Any,
    ) -> GradCAMDisplay:
        """Plot the Grad-CAM of a :func:`~skpermgrad.permgrad_importance` result.

        Parameters
        ----------
        result : :class:`~sklearn.utils.Bunch`
            What :func:`~skpermgrad.permgrad_importance` returned (or a fitted
            :class:`~skpermgrad.PermGradExplainer`'s ``explanation_``).
        target : object, default=None
            The class whose heatmap to show for a classifier; ``None``
            averages the per-class heatmaps.
        ax : matplotlib Axes, default=None
            Where to draw.
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : GradCAMDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_result")
        display = cls(
            heatmap=_for_target(result, "heatmap", _class_index(result, target)),
            mean_image=result.mean_image,
            feature_positions=result.feature_positions,
            feature_names=result.get("encoded_feature_names", result.feature_names),
            class_name=target,
        )
        return display.plot(ax=ax, **kwargs)

    @classmethod
    def from_estimator(
        cls,
        estimator: BaseEstimator,
        X: ArrayLike,
        y: ArrayLike,
        *,
        target: object | None = None,
        ax: Axes | None = None,
        importance_kw: dict | None = None,
        **kwargs: Any,
    ) -> GradCAMDisplay:
        """Explain a fitted hybrid (or Pipeline ending in one) and plot its Grad-CAM.

        Parameters
        ----------
        estimator : HybridRegressor, HybridClassifier or Pipeline
            Fitted.
        X : array-like of shape (n_samples, n_features)
            Rows to explain on.
        y : array-like of shape (n_samples,)
            Their targets.
        target : object, default=None
            See :meth:`from_result`.
        ax : matplotlib Axes, default=None
            Where to draw.
        importance_kw : dict, default=None
            Passed to :func:`~skpermgrad.permgrad_importance`.
        **kwargs
            Passed to :meth:`plot` (``cmap``, ``alpha``, and on to
            matplotlib's ``imshow`` of the heatmap).

        Returns
        -------
        display : GradCAMDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        result = permgrad_importance(estimator, X, y, **(importance_kw or {}))
        return cls.from_result(result, target=target, ax=ax, **kwargs)

    def plot(
        self,
        ax: Axes | None = None,
        *,
        cmap: str = "jet",
        alpha: float = 0.5,
        **kwargs: Any,
    ) -> GradCAMDisplay:
        """Draw the mean image in grey, the heatmap over it, and the labels.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when ``None``.
        cmap : str, default="jet"
            Colour map of the heatmap.
        alpha : float, default=0.5
            Opacity of the heatmap.
        **kwargs
            Passed to matplotlib's ``imshow`` of the heatmap.

        Returns
        -------
        display : GradCAMDisplay
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 6))
        self.image_ = ax.imshow(self.mean_image, cmap="gray")
        self.heatmap_ = ax.imshow(self.heatmap, cmap=cmap, alpha=alpha, **kwargs)
        ax.figure.colorbar(self.heatmap_, ax=ax, label="Grad-CAM")
        names = defaultdict(list)
        for name, (row, col) in zip(self.feature_names, self.feature_positions):
            if row >= 0:  # (-1, -1): a feature with no pixel of its own
                names[int(row), int(col)].append(str(name))
        # imshow puts column c at x=c and row r at y=r
        self.texts_ = [
            ax.text(
                col,
                row,
                "\n".join(labels),
                ha="center",
                va="center",
                fontsize="small",
                color="white",
                bbox={"facecolor": "black", "alpha": 0.5, "pad": 1, "lw": 0},
            )
            for (row, col), labels in names.items()
        ]
        ax.set_xticks([])
        ax.set_yticks([])
        if not names:  # say why no pixel is labelled, not just leave it bare
            ax.set_xlabel("No labels: no pixel of this image is one feature's own")
        title = (
            "Grad-CAM"
            if self.class_name is None
            else f"Grad-CAM, class {self.class_name}"
        )
        ax.set_title(title)
        self.ax_, self.figure_ = ax, ax.figure
        return self
