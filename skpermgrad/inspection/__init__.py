"""PermGrad explanations of the hybrid networks."""

from ._explainer import PermGradExplainer
from ._permgrad import permgrad_importance
from ._plot import GradCAMDisplay, PermGradDisplay

__all__ = [
    "GradCAMDisplay",
    "PermGradDisplay",
    "PermGradExplainer",
    "permgrad_importance",
]
