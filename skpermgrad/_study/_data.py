"""Reading the user's table and refusing, in one line, what cannot be studied."""

import hashlib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ._base import TARGET_CLASSES_MAX, StudyError


def read_table(path) -> pd.DataFrame:
    """A CSV/TSV (compressed too) or Parquet file as a DataFrame."""
    path = Path(path)
    if path.is_dir():
        raise StudyError(f"{path} is a folder; pass a table file (CSV/TSV, Parquet).")
    if not path.is_file():
        raise StudyError(f"no such file: {path}")
    suffixes = [s.lower() for s in path.suffixes]
    try:
        if ".parquet" in suffixes or ".pq" in suffixes:
            frame = pd.read_parquet(path)
        else:
            sep = "\t" if ".tsv" in suffixes or ".tab" in suffixes else ","
            frame = pd.read_csv(path, sep=sep)
            if not isinstance(frame.index, pd.RangeIndex):
                # pandas turns the extra leading fields into an index
                raise ValueError(
                    f"rows have more fields than the header's {frame.shape[1]} "
                    "column names"
                )
    except ImportError as exc:
        raise StudyError(
            f"cannot read {path} as Parquet: {exc} (install pyarrow, or save the "
            "table as CSV)"
        ) from None
    except (ValueError, UnicodeDecodeError, OSError, EOFError) as exc:
        # pandas' ParserError and EmptyDataError are ValueErrors
        kind = "Parquet" if ".parquet" in suffixes else "CSV/TSV"
        raise StudyError(
            f"cannot read {path} as {kind}: {str(exc).strip() or type(exc).__name__}"
        ) from None
    if frame.empty or frame.shape[1] == 0:
        raise StudyError(f"{path} holds an empty table ({frame.shape[0]} rows).")
    return frame


def bundled_table():
    """puma8NH from the package, with its target column ``values``."""
    from ..datasets import load_puma8nh

    return load_puma8nh(as_frame=True).frame, "values"


def fingerprint(frame) -> str:
    """A short hash of the table's contents and column names."""
    digest = hashlib.sha256()
    digest.update(",".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def split_target(frame, target, task):
    """Features, target and the task (``auto`` resolved), or a StudyError."""
    if target not in frame.columns:
        raise StudyError(
            f"the target column {target!r} is not in the table; its columns are "
            f"{list(frame.columns)}. Pass --target with one of them."
        )
    y = frame[target]
    X = frame.drop(columns=[target])
    if X.shape[1] == 0:
        raise StudyError("the table has no column besides the target.")
    if y.isna().any():
        raise StudyError(
            f"the target column {target!r} has {int(y.isna().sum())} missing "
            "value(s); drop or fill those rows first."
        )
    if _has_infinity(y):
        raise StudyError(
            f"the target column {target!r} holds infinite values; drop those rows "
            "first."
        )
    dates = [c for c in X.columns if _looks_like_dates(X[c])]
    if dates:
        raise StudyError(
            f"column(s) {dates} hold dates, which would become one category per "
            "date; turn them into numbers first (e.g. days since the first date, "
            "or year, month and weekday columns) or drop them."
        )
    infinite = [c for c in X.columns if _has_infinity(X[c])]
    if infinite:
        raise StudyError(
            f"column(s) {infinite} hold infinite values; replace them (a missing "
            "feature value is imputed) or drop those rows first."
        )
    if task == "auto":
        numeric = _is_numeric(y)
        integer = numeric and np.all(np.mod(y.to_numpy(dtype=float), 1) == 0)
        task = (
            "regression"
            if numeric and not (integer and y.nunique() <= TARGET_CLASSES_MAX)
            else "classification"
        )
    if task == "classification":
        counts = y.value_counts()
        if len(counts) < 2:
            raise StudyError(
                f"the target column {target!r} has a single class "
                f"({counts.index[0]}); classification needs at least two."
            )
        if counts.min() < 2:
            raise StudyError(
                f"class {counts.idxmin()} of {target!r} has a single row; the "
                "stratified train/test split needs at least two per class."
            )
    elif not pd.api.types.is_numeric_dtype(y):
        raise StudyError(
            f"--task regression needs a numeric target, but {target!r} holds "
            f"{y.dtype} values such as {y.iloc[0]!r}."
        )
    elif y.nunique() < 2:
        raise StudyError(f"the target column {target!r} is constant.")
    return X, y, task


def _is_numeric(column):
    """Numbers and booleans (read as 0/1) are numeric; the rest is categorical."""
    return pd.api.types.is_numeric_dtype(column)


def _looks_like_dates(column):
    """A datetime column, or text of which almost every value reads as a date
    (and more distinct values than a class has)."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return True
    if _is_numeric(column) or isinstance(column.dtype, pd.CategoricalDtype):
        return False
    values = column.dropna().astype(str)
    if values.nunique() <= TARGET_CLASSES_MAX:
        return False
    sample = values.sample(min(len(values), 200), random_state=0)
    with warnings.catch_warnings():  # "could not infer format" for mixed text
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() >= 0.95)


def _has_infinity(column):
    return _is_numeric(column) and bool(np.isinf(column.to_numpy(float)).any())


def check_prediction_rows(pipeline, X, source):
    """Refuse rows a fitted study pipeline cannot predict, in one line: text
    in a column that was numeric in training, or infinite values."""
    numeric = [c for c in X.columns if c in _numeric_columns(pipeline)]
    for column in numeric:
        if not _is_numeric(X[column]):
            values = pd.to_numeric(X[column], errors="coerce")
            bad = X[column][values.isna() & X[column].notna()]
            raise StudyError(
                f"column {column!r} of {source} held numbers in training but holds "
                f"{bad.iloc[0]!r}; fix or blank those values."
            )
    infinite = [c for c in numeric if _has_infinity(X[c])]
    if infinite:
        raise StudyError(
            f"column(s) {infinite} of {source} hold infinite values; replace them "
            "(a missing value is imputed)."
        )


def _numeric_columns(pipeline):
    """The columns the study pipeline's ``numeric`` step imputes."""
    for name, _, columns in pipeline[0].transformers_:
        if name == "numeric":
            return list(columns)
    return []


def check_before_tuning(pipeline, X_train, y_train, y_test, task, cv):
    """Refuse, before the first trial, what would fail in every trial or after.

    Each fold of the tuning needs rows of every class (a class needs at least
    ``cv`` training rows) and the test metrics need every class among the
    test rows; the encoded table must be imageable.
    """
    from sklearn.base import clone

    if len(X_train) < 2 * cv:
        raise StudyError(
            f"{len(X_train)} training rows are too few for {cv}-fold tuning "
            f"(at least {2 * cv}); use a larger table or a smaller --cv."
        )
    if task == "classification":
        counts = y_train.value_counts()
        if counts.min() < cv:
            raise StudyError(
                f"class {counts.idxmin()!r} has {counts.min()} training row(s), "
                f"fewer than the {cv} folds of the tuning; use a smaller --cv, a "
                "smaller --test-size or more rows of that class."
            )
        missing = sorted(set(counts.index) - set(y_test), key=str)
        if missing:
            raise StudyError(
                f"class(es) {missing} have no test row; use a larger --test-size "
                "or more rows of those classes."
            )
    encoded = clone(pipeline[:-1]).fit_transform(X_train)
    imager = pipeline[-1].imager
    try:
        clone(imager).fit(encoded)
    except ValueError as exc:
        raise StudyError(f"cannot draw the table as images: {exc}") from None
