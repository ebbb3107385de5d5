"""Rules the rooms share, written once: input checks, the held-out split, and
the explanations' options and what they need of the image."""

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import _check_feature_names


def check_column_names(X, estimator_name):
    """Refuse a DataFrame whose column names are not all strings, unless they
    are the default positions ``0..n-1`` in order (``pd.DataFrame(array)``'s,
    read as an array's columns).

    scikit-learn ignores other names (integers, tuples of a MultiIndex), so
    a frame with its columns reordered would be read by position, and the
    explanations would name the features ``x0...``: refused, with the fix.
    """
    columns = getattr(X, "columns", None)
    if columns is None or all(isinstance(name, str) for name in columns):
        return
    if list(columns) == list(range(len(columns))):
        return
    if isinstance(columns, pd.MultiIndex):
        fix = "join the levels, e.g. X.columns = ['_'.join(map(str, c)) for c in "
        fix += "X.columns]"
    else:
        fix = "e.g. X.columns = X.columns.astype(str)"
    odd = [name for name in columns if not isinstance(name, str)]
    raise ValueError(
        f"{estimator_name} reads a DataFrame's columns by their names, which "
        f"must be strings; these are not: {odd[:5]}"
        + (" ..." if len(odd) > 5 else "")
        + f". Name the columns with strings ({fix}), or pass X.to_numpy()."
    )


def check_numeric_frame(X, estimator_name):
    """Refuse DataFrame columns that are not numbers, or not named by strings
    (:func:`check_column_names`), naming them."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(X, "columns"):
        return
    check_column_names(X, estimator_name)
    bad = {
        str(col): str(dtype)
        for col, dtype in zip(X.columns, dtypes)
        if isinstance(dtype, pd.CategoricalDtype)
        or not (
            pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
        )
    }
    if bad:
        raise ValueError(
            f"{estimator_name} needs numeric columns, but these columns are not "
            f"numeric: {bad}. Encode them first, e.g. with OneHotEncoder or "
            "OrdinalEncoder in a ColumnTransformer placed before it."
        )


def check_target_scale(y, *, standardised=True, name="y"):
    """Refuse a regression target whose scale overflows training, naming it
    and the fix: its variance (the standardised target, squared errors) must
    be finite in float64 and, trained as it is (``standardised=False``), its
    values must fit float32. The hybrids and the main job read this one rule.
    """
    values = np.asarray(y, dtype=np.float64).ravel()
    if not len(values) or not np.isfinite(values).all():
        return  # missing or infinite values: the callers' own checks
    peak = float(np.abs(values).max())
    with np.errstate(over="ignore", invalid="ignore"):
        overflows = not np.isfinite(values.std())
    if not standardised and peak > float(np.finfo(np.float32).max):
        overflows, needs = True, "float32, in which the network trains it unscaled"
    else:
        needs = "float64 when squared (its variance, squared errors)"
    if overflows:
        power = f"1e{int(np.floor(np.log10(peak)))}"
        raise ValueError(
            f"{name} holds values up to {peak:.3g}, too large for {needs}; "
            f"rescale it first (e.g. divide it by {power}) and scale the "
            "predictions back."
        )


def check_fitted_columns(estimator, X, argument=None, *, after=""):
    """Refuse the columns a fitted ``estimator`` was not fitted on, as
    scikit-learn's ``predict`` does: its feature-name check (renamed,
    reordered or missing columns raise, an array after a DataFrame warns),
    then scikit-learn's wording for a wrong number of features.

    ``argument`` names the checked argument in the messages (the name error is
    then prefixed with it); ``after`` says where the columns were counted
    (e.g. " after the Pipeline's steps").
    """
    check_column_names(X, type(estimator).__name__)
    try:
        _check_feature_names(estimator, X, reset=False)
    except ValueError as error:
        if argument is None:
            raise
        raise ValueError(f"{argument}: {error}") from None
    shape = getattr(X, "shape", ())
    expected = getattr(estimator, "n_features_in_", None)
    if expected is not None and len(shape) == 2 and shape[1] != expected:
        raise ValueError(
            f"{argument or 'X'} has {shape[1]} features{after}, but "
            f"{type(estimator).__name__} is expecting {expected} features as input."
        )


def holdout_split(y, n_held, seed, *, stratify):
    """Sorted row indices ``(kept, held_out)``, ``n_held`` rows held out.

    Shuffled with ``seed``; stratified by the labels ``y`` when ``stratify``
    and every class can be (at least 2 rows, and as many rows in each part as
    there are classes). The hybrids' validation rows and the explainer's
    explanation rows are split by this one rule.
    """
    rows = np.arange(len(y))
    labels = None
    if stratify:
        labels = np.asarray(y).reshape(len(y), -1)[:, 0]
        _, counts = np.unique(labels, return_counts=True)
        if counts.min() < 2 or min(n_held, len(y) - n_held) < len(counts):
            labels = None
    kept, held = train_test_split(
        rows, test_size=n_held, random_state=seed, stratify=labels
    )
    return np.sort(kept), np.sort(held)


# PermGrad's fused scores and CNN parts (permgrad_importance's fusion= and
# cnn_importance=) and their defaults, chosen by
# benchmarks/bench_faithfulness.py (the docs show the table); the explanations
# and the main job's options read them.
FUSIONS = ("model_split", "branch_weights")
CNN_IMPORTANCES = ("permutation", "integrated_gradients", "gradcam")
DEFAULT_FUSION, DEFAULT_CNN_IMPORTANCE = "model_split", "permutation"


# The CNN parts of PermGrad that ask something of the hybrid's image: the
# imager attribute that says whether its image has it, and what the image is
# where it has not (completing "the image ...").
IMAGE_NEEDS = {
    "integrated_gradients": (
        "differentiable",
        "is a step function of the values (bars, bits, bins or digits), which "
        "no gradient crosses",
    ),
    "gradcam": (
        "feature_pixels",
        "has no pixels of each feature's own (its pixels are clusters of rows, "
        "each drawn from every feature)",
    ),
}


def image_shortfall(imager, cnn_importance):
    """Why ``imager``'s image cannot give the CNN part ``cnn_importance`` (a
    phrase from ``IMAGE_NEEDS``), or None where it can. The explanations and
    the main job's pre-tuning check read this one rule."""
    attribute, shortfall = IMAGE_NEEDS.get(cnn_importance, (None, None))
    if attribute is None or getattr(imager, attribute, True):
        return None
    return shortfall
