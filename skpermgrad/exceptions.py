"""Warnings of skpermgrad, public so that they can be filtered or caught."""

from __future__ import annotations

__all__ = ["InconsistentVersionWarning"]


class InconsistentVersionWarning(UserWarning):
    """An estimator is unpickled under a version other than the one it was saved with.

    Raised as a warning, once for each package whose version differs: the
    saved estimator records the versions of skpermgrad (every estimator) and of
    Keras and TensorFlow (the hybrids, whose network they serialise). As with
    :class:`sklearn.exceptions.InconsistentVersionWarning`, loading works but
    the results may differ or the object may break; refit it under the
    current versions, or install the saved ones.

    Parameters
    ----------
    estimator_name : str
        The unpickled estimator's class name.
    package : str
        The package whose version differs.
    current_version : str
        The version installed now.
    original_version : str
        The version the estimator was saved with.

    See Also
    --------
    sklearn.exceptions.InconsistentVersionWarning : scikit-learn's own, for
        the scikit-learn version.

    Examples
    --------
    >>> import warnings
    >>> from skpermgrad.exceptions import InconsistentVersionWarning
    >>> w = InconsistentVersionWarning("HybridRegressor", "keras", "3.9", "3.8")
    >>> print(w)
    Trying to unpickle HybridRegressor saved with keras 3.8 under keras 3.9. It may
    not work or give other results; refit it under the installed versions or
    install keras==3.8.
    >>> with warnings.catch_warnings():  # to refuse such a load instead
    ...     warnings.simplefilter("error", InconsistentVersionWarning)
    """

    def __init__(
        self,
        estimator_name: str,
        package: str,
        current_version: str,
        original_version: str,
    ) -> None:
        self.estimator_name = estimator_name
        self.package = package
        self.current_version = current_version
        self.original_version = original_version

    def __str__(self) -> str:
        return (
            f"Trying to unpickle {self.estimator_name} saved with {self.package} "
            f"{self.original_version} under {self.package} {self.current_version}. "
            "It may not work or give other results; refit it under the installed "
            f"versions or install {self.package}=={self.original_version}."
        )
