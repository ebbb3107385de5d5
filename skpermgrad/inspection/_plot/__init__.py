"""Displays of PermGrad explanations."""

from .gradcam import GradCAMDisplay
from .permgrad import PermGradDisplay
from .row import RowExplanationDisplay

__all__ = ["GradCAMDisplay", "PermGradDisplay", "RowExplanationDisplay"]
