"""What every skpermgrad estimator records when pickled: the versions it was
made with, checked (with a warning) when it is loaded."""

from __future__ import annotations

import warnings
from importlib import import_module

from .exceptions import InconsistentVersionWarning

_STATE_KEY = "_skpermgrad_versions"


def _installed_version(package):
    if package == "skpermgrad":
        from ._version import __version__

        return __version__
    return str(getattr(import_module(package), "__version__", "unknown"))


class _VersionedPickleMixin:
    """Record ``_saved_with`` packages' versions in the pickled state; warn
    with :class:`~skpermgrad.exceptions.InconsistentVersionWarning` for each
    that differs on load (scikit-learn does the same for its own version)."""

    _saved_with: tuple = ("skpermgrad",)

    def __getstate__(self):
        versions = {p: _installed_version(p) for p in self._saved_with}
        return {**super().__getstate__(), _STATE_KEY: versions}

    def __setstate__(self, state):
        saved = state.pop(_STATE_KEY, {})
        for package, original in saved.items():
            current = _installed_version(package)
            if current != original:
                warnings.warn(
                    InconsistentVersionWarning(
                        type(self).__name__, package, current, original
                    ),
                    stacklevel=2,
                )
        super().__setstate__(state)
