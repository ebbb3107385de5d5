"""Loaders for the datasets bundled with skpermgrad."""

from __future__ import annotations

import gzip
from importlib import resources

import pandas as pd
from sklearn.utils import Bunch
from sklearn.utils._param_validation import validate_params


def _data_path(name):
    return resources.files("skpermgrad.datasets") / "data" / name


@validate_params(
    {"return_X_y": ["boolean"], "as_frame": ["boolean"]},
    prefer_skip_nested_validation=True,
)
def load_puma8nh(*, return_X_y: bool = False, as_frame: bool = False) -> Bunch | tuple:
    """Load the puma8NH robot-arm regression dataset (8192 rows, 8 features).

    The dataset of the PermGrad notebook, bundled (gzip-compressed) inside the
    package: no download.

    ==============   ==============
    Samples total    8192
    Dimensionality   8
    Features         real
    Targets          real
    ==============   ==============

    Parameters
    ----------
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        If True, ``data`` is a pandas DataFrame and ``target`` a Series named
        ``values``, and the Bunch also holds ``frame``.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes ``data`` (n_samples, 8),
        ``target`` (n_samples,), ``feature_names``, ``target_names``, ``frame``
        (None unless ``as_frame=True``) and ``DESCR``.
    (data, target) : tuple if ``return_X_y`` is True

    Notes
    -----
    Source: the PermGrad repository (felescgon/PermGrad, Apache License 2.0),
    from the DELVE pumadyn family; see ``skpermgrad/datasets/data/LICENSE.txt``.

    See Also
    --------
    skpermgrad.TintoImager : Draws its rows as images (``skpermgrad demo``).

    References
    ----------
    .. [1] C. E. Rasmussen et al., DELVE: Data for Evaluating Learning in Valid
       Experiments, University of Toronto, 1996 (the pumadyn family).

    Examples
    --------
    >>> from skpermgrad.datasets import load_puma8nh
    >>> X, y = load_puma8nh(return_X_y=True)
    >>> X.shape, y.shape
    ((8192, 8), (8192,))
    >>> load_puma8nh(as_frame=True).frame.columns[-1]
    'values'
    """
    with _data_path("puma8NH.csv.gz").open("rb") as raw, gzip.open(raw) as f:
        frame = pd.read_csv(f, dtype="float64")
    feature_names = [c for c in frame.columns if c != "values"]
    data, target = frame[feature_names], frame["values"]
    if not as_frame:
        data, target, frame = data.to_numpy(), target.to_numpy(), None
    if return_X_y:
        return data, target
    descr = resources.files("skpermgrad.datasets") / "descr" / "puma8nh.rst"
    return Bunch(
        data=data,
        target=target,
        frame=frame,
        feature_names=feature_names,
        target_names=["values"],
        DESCR=descr.read_text(encoding="utf-8"),
    )
