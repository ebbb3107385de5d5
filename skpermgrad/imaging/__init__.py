"""Tabular rows as synthetic images."""

from ._tinto import TintoImager

__all__ = ["TintoImager"]
