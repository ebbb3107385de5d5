"""PermGrad explanations of the hybrid networks."""

from ._explainer import PermGradExplainer
from ._local import explain_rows
from ._permgrad import permgrad_importance
from ._plot import GradCAMDisplay, PermGradDisplay, RowExplanationDisplay

__all__ = [
    "GradCAMDisplay",
    "PermGradDisplay",
    "PermGradExplainer",
    "RowExplanationDisplay",
    "explain_rows",
    "permgrad_importance",
]
