"""PermGrad explanations of the hybrid networks."""

from ._explainer import PermGradExplainer
from ._local import explain_rows
from ._permgrad import permgrad_importance
from ._plot import GradCAMDisplay, PermGradDisplay

__all__ = [
    "GradCAMDisplay",
    "PermGradDisplay",
    "PermGradExplainer",
    "explain_rows",
    "permgrad_importance",
]
