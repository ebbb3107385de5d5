"""Input checks shared by the imager and the hybrid networks (one wording)."""

import pandas as pd


def check_numeric_frame(X, estimator_name):
    """Refuse DataFrame columns that are not numbers, naming them."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(X, "columns"):
        return
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
