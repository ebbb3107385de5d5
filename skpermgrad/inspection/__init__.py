"""PermGrad explanations of the hybrid networks."""

from ._permgrad import permgrad_importance

__all__ = ["permgrad_importance"]
