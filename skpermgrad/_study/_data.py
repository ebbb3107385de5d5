"""Reading the user's table and refusing, in one line, what cannot be studied."""

import hashlib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .._validation import check_target_scale
from ._common import MAX_CATEGORIES, NUMERIC_SHARE, TARGET_CLASSES_MAX, StudyError

# the first bytes of the compressed files pandas reads (by their suffix)
_COMPRESSED = {
    b"\x1f\x8b": ("gzip", ".gz"),
    b"BZh": ("bzip2", ".bz2"),
    b"PK\x03\x04": ("zip", ".zip"),
    b"\xfd7zXZ\x00": ("xz", ".xz"),
    b"\x28\xb5\x2f\xfd": ("zstd", ".zst"),
}


def read_table(path) -> pd.DataFrame:
    """A CSV/TSV (compressed too) or Parquet file as a DataFrame."""
    path = Path(path)
    if path.is_dir():
        raise StudyError(f"{path} is a folder; pass a table file (CSV/TSV, Parquet).")
    if not path.is_file():
        raise StudyError(f"no such file: {path}")
    suffixes = [s.lower() for s in path.suffixes]
    _check_compression(path, suffixes)
    try:
        if ".parquet" in suffixes or ".pq" in suffixes:
            frame = pd.read_parquet(path)
        else:
            sep = "\t" if ".tsv" in suffixes or ".tab" in suffixes else ","
            frame = pd.read_csv(path, sep=sep)
            _check_header(path, sep, frame)
            if not isinstance(frame.index, pd.RangeIndex):
                # pandas turns the extra leading fields into an index
                raise ValueError(
                    f"rows have more fields than the header's {frame.shape[1]} "
                    "column names"
                )
    except ImportError:
        raise StudyError(
            f"cannot read {path} as Parquet: pandas needs pyarrow for it (pip "
            "install pyarrow), or save the table as CSV."
        ) from None
    except (ValueError, UnicodeDecodeError, OSError, EOFError) as exc:
        # pandas' ParserError and EmptyDataError are ValueErrors
        kind = "Parquet" if ".parquet" in suffixes else "CSV/TSV"
        raise StudyError(
            f"cannot read {path} as {kind}: {str(exc).strip() or type(exc).__name__}"
        ) from None
    if frame.empty or frame.shape[1] == 0:
        raise StudyError(f"{path} holds an empty table ({frame.shape[0]} rows).")
    return _plain_missing(frame)


def _check_compression(path, suffixes):
    """Refuse a compressed file whose name does not say so (pandas picks the
    decompression by the suffix, and reads the bytes as text otherwise)."""
    with open(path, "rb") as file:
        start = file.read(6)
    for magic, (kind, suffix) in _COMPRESSED.items():
        if start.startswith(magic) and suffix not in suffixes:
            raise StudyError(
                f"{path} looks {kind}-compressed but its name does not end in "
                f"{suffix}: rename it (e.g. {path.name}{suffix}) or decompress it."
            )


def _check_header(path, sep, frame):
    """Refuse a header that names a column twice (pandas renames the second
    ``x`` to ``x.1`` without a word)."""
    header = pd.read_csv(path, sep=sep, header=None, nrows=1, dtype=str)
    # an empty name is pandas' "Unnamed: k", one of its own
    names = (
        [name for name in header.iloc[0] if isinstance(name, str)]
        if len(header)
        else []
    )
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise StudyError(
            f"the header of {path} names the column(s) {twice} more than once; "
            "give each column a name of its own."
        )


def _plain_missing(frame):
    """Text columns whose missing value is ``pd.NA`` (the ``string`` dtype, as
    Parquet files may hold) as text with NaN, which scikit-learn's imputers
    read as missing (``pd.NA`` makes them fail)."""
    for column in frame.columns:
        dtype = frame[column].dtype
        if isinstance(dtype, pd.StringDtype) and dtype.na_value is pd.NA:
            values = frame[column].astype(object)
            frame[column] = values.where(values.notna(), np.nan)
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
    check_feature_columns(X)
    infinite = [c for c in X.columns if _has_infinity(X[c])]
    if infinite:
        raise StudyError(
            f"column(s) {infinite} hold infinite values; replace them (a missing "
            "feature value is imputed) or drop those rows first."
        )
    if task != "classification" and _is_numeric(y):
        try:
            check_target_scale(y, name=f"the target column {target!r}")
        except ValueError as exc:
            raise StudyError(str(exc)) from None
    if task != "classification" and not _is_numeric(y):
        formatted = _formatted_numbers(y)
        if formatted is not None:
            raise StudyError(
                f"the target column {target!r} holds numbers written as text "
                f"(e.g. {formatted!r}: currency signs or thousands separators); "
                "write them as plain numbers for a regression, or pass --task "
                "classification to make each value a class."
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


def check_feature_columns(X):
    """Refuse, naming the columns and the fix, feature columns the study's
    encoding would get wrong: empty ones, dates and durations (one category
    per value), numbers with a few text cells, and text with more than
    ``MAX_CATEGORIES`` distinct values."""
    empty = [c for c in X.columns if X[c].isna().all()]
    if empty:
        raise StudyError(
            f"column(s) {empty} hold no value at all; drop them from the table."
        )
    dates = [c for c in X.columns if _looks_like_dates(X[c])]
    if dates:
        raise StudyError(
            f"column(s) {dates} hold dates, which would become one category per "
            "date; turn them into numbers first (e.g. days since the first date, "
            "or year, month and weekday columns) or drop them."
        )
    durations = [c for c in X.columns if _looks_like_durations(X[c])]
    if durations:
        raise StudyError(
            f"column(s) {durations} hold durations, which would become one "
            "category per value; write them as numbers first (e.g. seconds) or "
            "drop them."
        )
    for column in X.columns:
        if _is_numeric(X[column]):
            continue
        text = X[column].dropna()
        numbers = pd.to_numeric(text.astype(str), errors="coerce")
        bad = text[numbers.isna()]
        if len(bad) and numbers.notna().mean() >= NUMERIC_SHARE:
            row = X.index.get_loc(bad.index[0]) + 1
            raise StudyError(
                f"column {column!r} holds numbers but {len(bad)} text cell(s) "
                f"(e.g. {bad.iloc[0]!r} in data row {row}); fix them or leave "
                "them empty (a missing value is imputed)."
            )
        n_values = text.nunique()
        if n_values > MAX_CATEGORIES:
            raise StudyError(
                f"column {column!r} holds {n_values} distinct text values (more "
                f"than {MAX_CATEGORIES}): one input and pixel each is too many. "
                "Drop it (an identifier or free text?), or encode it as numbers "
                "first."
            )


def _formatted_numbers(column):
    """A value of ``column`` (text) when its values read as numbers once
    currency signs, thousands separators, spaces and % are taken out."""
    text = column.dropna().astype(str)
    cleaned = text.str.replace(r"[\s,$€£¥%]", "", regex=True)
    numbers = pd.to_numeric(cleaned, errors="coerce")
    if len(text) and numbers.notna().mean() >= NUMERIC_SHARE:
        return text[numbers.notna()].iloc[0]
    return None


def _is_numeric(column):
    """Numbers and booleans (read as 0/1) are numeric; the rest is categorical."""
    return pd.api.types.is_numeric_dtype(column)


def _looks_like_dates(column):
    """A datetime column, or text of which almost every value reads as a date
    (and more distinct values than a class has)."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return True
    sample = _text_sample(column)
    if sample is None or not sample.str.contains(r"\d{4}").mean() >= 0.95:
        return False  # a date has a year ("Jan" or "1/2" are not dates)
    with warnings.catch_warnings():  # "could not infer format" for mixed text
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() >= 0.95)


def _looks_like_durations(column):
    """A timedelta column, or text of which almost every value reads as a
    duration with a unit ("1 days 02:00:00", "3h")."""
    if pd.api.types.is_timedelta64_dtype(column):
        return True
    sample = _text_sample(column)
    if sample is None or not sample.str.contains(r"[a-zA-Z:]").all():
        return False
    parsed = pd.to_timedelta(sample, errors="coerce")
    return bool(parsed.notna().mean() >= 0.95)


def _text_sample(column):
    """Up to 200 of a text column's values, or None for numbers, categoricals
    and text with few distinct values (a category column)."""
    if _is_numeric(column) or isinstance(column.dtype, pd.CategoricalDtype):
        return None
    values = column.dropna().astype(str)
    if values.nunique() <= TARGET_CLASSES_MAX:
        return None
    return values.sample(min(len(values), 200), random_state=0)


def _has_infinity(column):
    return _is_numeric(column) and bool(np.isinf(column.to_numpy(float)).any())


def check_prediction_rows(pipeline, X, source):
    """Refuse rows a fitted study pipeline cannot predict, in one line: text
    in a column that was numeric in training, True/False where numbers were,
    numbers where categories were, or infinite values."""
    kinds = _column_kinds(pipeline)
    numeric = [c for c in X.columns if kinds.get(c) in ("numeric", "boolean")]
    for column in X.columns:
        if kinds.get(column) == "numeric" and pd.api.types.is_bool_dtype(X[column]):
            raise StudyError(
                f"column {column!r} of {source} held numbers in training but holds "
                "True/False; write the numbers."
            )
        if kinds.get(column) == "categorical" and _is_numeric(X[column]):
            known = _categories(pipeline, column)
            if not any(_is_number(c) for c in known):
                raise StudyError(
                    f"column {column!r} of {source} held categories in training "
                    f"(e.g. {known[0]!r}) but holds numbers such as "
                    f"{X[column].dropna().iloc[0]!r}, which would all be unseen "
                    "categories; write the category names."
                )
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


def _column_kinds(pipeline):
    """``{column: "numeric" | "boolean" | "categorical"}``, from the study
    pipeline's ColumnTransformer (its steps are named by kind)."""
    return {
        column: name
        for name, _, columns in pipeline[0].transformers_
        if name in ("numeric", "boolean", "categorical")
        for column in columns
    }


def _categories(pipeline, column):
    """The categories the study pipeline learned for ``column``."""
    columns = [
        c for c, kind in _column_kinds(pipeline).items() if kind == "categorical"
    ]
    encoder = pipeline[0].named_transformers_["categorical"][-1]
    return list(encoder.categories_[columns.index(column)])


def _is_number(value):
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


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
    from ..imaging import resolve_imager

    encoded = clone(pipeline[:-1]).fit_transform(X_train)
    hybrid = pipeline[-1]
    try:
        # the hybrid's image as its fit draws it (its imager, the default one
        # when None), fitted on the encoded training rows
        imager = resolve_imager(
            hybrid.imager, encoded.shape[1], random_state=hybrid.random_state
        )
        imager.fit(encoded, y_train)
    except ValueError as exc:
        raise StudyError(f"cannot draw the table as images: {exc}") from None
