"""Fotomics: coordinates of the features from a Fourier transform of the rows."""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ._deepinsight import _SHARED_ATTRIBUTES, _SHARED_DOC, _ProjectedImager


def _clean_outliers(part, low_pct, high_pct, treatment):
    """Fotomics' outlier treatment, per row across features (TINTOlib's)."""
    low, high = np.percentile(part, [low_pct, high_pct], axis=0)
    iqr = (high - low) * 1.5
    lower, upper = low - iqr, high + iqr
    if treatment == "avg":
        lower_fill = upper_fill = np.mean(part, axis=0)
    elif treatment == "max/min":
        lower_fill, upper_fill = lower, upper
    else:
        lower_fill = upper_fill = 0.0
    part = np.where(part >= lower, part, lower_fill)
    return np.where(part <= upper, part, upper_fill)


class FotomicsImager(_ProjectedImager):
    __doc__ = """Turn each row into an image with Fotomics: Fourier coordinates, binned.

    ``fit`` learns each feature's scaling from the training rows, Fourier
    transforms every scaled training row across its features, and places each
    feature at the mean (over rows) of the real and imaginary parts of its
    frequency (outliers treated first), rotated into the smallest bounding
    rectangle and binned onto a ``pixels x pixels`` grid (Fotomics [1]_).
    ``transform`` writes each row's scaled values at those pixels.

    Parameters
    ----------
    pixels : int or None, default=None
        Side of the square image grid before ``zoom``; None takes
        ``ceil(sqrt(2 * n_features))`` (about half the pixels hold a feature).
    scaling : {"log", "minmax"}, default="log"
        ``"log"``: TINTOlib's ``LogScaler``, ``log(x + |min| + 1)`` of each
        feature divided by the largest such value over all features;
        ``"minmax"``: each feature's min-max scaling, as the other imagers.
    outliers : bool, default=True
        Treat outliers of the Fourier parts before averaging them.
    min_percentile, max_percentile : float, default=10, 90
        Outliers lie beyond 1.5 times the inter-percentile range.
    outliers_treatment : {"zero", "avg", "max/min"}, default="zero"
        Outliers become 0, the mean, or the nearest limit.%s

    Attributes
    ----------%s
    data_min_, data_max_ : ndarray of shape (n_features,)
        Per-feature minimum and maximum of the training data.
    scale_, min_ : ndarray of shape (n_features,)
        ``scaling="minmax"``: the scaling ``X * scale_ + min_``.
    log_max_ : float
        ``scaling="log"``: the scaled value is ``log(X + |data_min_| + 1) /
        log_max_``, ``log_max_`` the largest such log over the training rows
        and features.

    See Also
    --------
    DeepInsightImager : Coordinates from a PCA, t-SNE or kernel PCA.
    TintoImager : A PCA or t-SNE layout scaled into a circle on the grid.

    Notes
    -----
    A vectorised reimplementation of ``TINTOlib.fotomics.Fotomics`` (TINTOlib
    1.3.1); with ``collisions="mean"`` it draws TINTOlib's images (tested).
    The transform runs across the features of each row, so the layout depends
    on the order of the columns, as in TINTOlib. Deliberate deviations:

    - **No files.** Arrays in memory, values in [0, 1].
    - **Collisions** are resolved by default (TINTOlib averages the features of
      a shared pixel, ``collisions="mean"``); ``relocate`` and
      ``group_method="rev"`` are not offered.
    - **Unseen values are clipped** to the training range (the log of a value
      below ``-|min| - 1`` is not defined).
    - **Fewer than 3 features**, or features on one line, have no convex hull:
      their coordinates are not rotated (TINTOlib raises).

    References
    ----------
    .. [1] Y. Zandavi et al., "Fotomics: Fourier transform-based omics
       imagification for deep learning-based cell-identity mapping using
       single-cell omics profiles", Artificial Intelligence Review 56,
       7263-7278, 2023. :doi:`10.1007/s10462-022-10357-4`

    Examples
    --------
    >>> from skpermgrad import FotomicsImager
    >>> from skpermgrad.datasets import load_puma8nh
    >>> X, y = load_puma8nh(return_X_y=True)
    >>> imager = FotomicsImager().fit(X)
    >>> imager.image_shape_
    (4, 4, 1)
    >>> imager.transform_images(X[:5]).shape
    (5, 4, 4, 1)
    """ % (_SHARED_DOC % '"bin_digitize"', _SHARED_ATTRIBUTES)

    _method = "fotomics"
    _parameter_constraints: dict = {
        **_ProjectedImager._parameter_constraints,
        "scaling": [StrOptions({"log", "minmax"})],
        "outliers": ["boolean"],
        "min_percentile": [Interval(Real, 0, 100, closed="both")],
        "max_percentile": [Interval(Real, 0, 100, closed="both")],
        "outliers_treatment": [StrOptions({"zero", "avg", "max/min"})],
    }

    def __init__(
        self,
        pixels: int | None = None,
        *,
        scaling: str = "log",
        outliers: bool = True,
        min_percentile: float = 10,
        max_percentile: float = 90,
        outliers_treatment: str = "zero",
        assignment: str = "bin_digitize",
        collisions: str = "resolve",
        zoom: int = 1,
        channels: int = 1,
    ) -> None:
        self.pixels = pixels
        self.scaling = scaling
        self.outliers = outliers
        self.min_percentile = min_percentile
        self.max_percentile = max_percentile
        self.outliers_treatment = outliers_treatment
        self.assignment = assignment
        self.collisions = collisions
        self.zoom = zoom
        self.channels = channels

    def _fit_scaling(self, X):
        super()._fit_scaling(X)
        if self.scaling == "log":
            largest = float(np.max(self._log(X)))
            self.log_max_ = largest if largest > 0 else 1.0

    def _log(self, X):
        # (X + |min|) + 1, in TINTOlib's order, so that the bits match
        values = np.clip(X, self.data_min_, self.data_max_)
        values += np.abs(self.data_min_)
        values += 1
        return np.log(values, out=values)

    def _scale(self, X):
        if self.scaling == "minmax":
            return super()._scale(X)
        values = self._log(X)
        values /= self.log_max_
        return np.clip(values, 0.0, 1.0, out=values)

    def _unscale(self, values):
        if self.scaling == "minmax":
            return super()._unscale(values)
        return np.exp(values * self.log_max_) - 1 - np.abs(self.data_min_)

    def _coordinates(self, values, side):
        # features along the rows of a C-ordered array, as TINTOlib's: the same
        # bits, so that ties between the mirror-image rotations break alike
        columns = np.ascontiguousarray(values.T)
        spectrum = np.fft.fftshift(np.fft.fft(columns, axis=0), axes=0)
        parts = [np.real(spectrum), np.imag(spectrum)]
        if self.outliers:
            parts = [
                _clean_outliers(
                    part,
                    self.min_percentile,
                    self.max_percentile,
                    self.outliers_treatment,
                )
                for part in parts
            ]
        return np.column_stack([part.mean(axis=1) for part in parts])
