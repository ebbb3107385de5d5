"""Hyper-parameter search helpers for the hybrid estimators."""

from ._search_space import hybrid_search_space

__all__ = ["hybrid_search_space"]
