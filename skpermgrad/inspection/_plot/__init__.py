"""Displays of PermGrad explanations."""

from .gradcam import GradCAMDisplay
from .permgrad import PermGradDisplay

__all__ = ["GradCAMDisplay", "PermGradDisplay"]
