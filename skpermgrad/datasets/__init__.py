"""Datasets bundled with skpermgrad."""

from ._base import load_puma8nh

__all__ = ["load_puma8nh"]
