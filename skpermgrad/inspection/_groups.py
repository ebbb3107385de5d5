"""Feature groups: the user's columns, when an encoder made several of one.

A group is a name and the hybrid's input columns it covers. PermGrad permutes
a group's columns jointly (the same row order for all of them) and reports it
once, under the name. ``"auto"`` groups follow a fitted Pipeline's encoders
back to the columns the user gave.
"""

from numbers import Integral

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder


def _sources(transformer, inputs):
    """For each output column of a fitted ``transformer``, the input it
    comes from (a name of ``inputs``); None when that cannot be told."""
    if transformer is None or (
        isinstance(transformer, str) and transformer == "passthrough"
    ):
        return list(inputs)
    if isinstance(transformer, str):  # "drop"
        return []
    if isinstance(transformer, Pipeline):
        for _, step in transformer.steps:
            inputs = _sources(step, inputs)
            if inputs is None:
                return None
        return inputs
    if isinstance(transformer, ColumnTransformer):
        sources = []
        names = list(getattr(transformer, "feature_names_in_", inputs))
        for name, step, columns in transformer.transformers_:
            indices = np.arange(len(names))[_column_mask(columns, names)]
            if len(indices) == 0:  # no column: nothing out (left unfitted)
                continue
            mapped = _sources(step, [inputs[i] for i in indices])
            if mapped is None:
                return None
            sources += mapped
        return sources
    if isinstance(transformer, OneHotEncoder):
        counts = _one_hot_counts(transformer)
        if counts is None or len(counts) != len(inputs):
            return None
        return [name for name, count in zip(inputs, counts) for _ in range(count)]
    try:
        n_outputs = len(transformer.get_feature_names_out())
    except (AttributeError, ValueError, TypeError):
        return None
    return list(inputs) if n_outputs == len(inputs) else None


def _one_hot_counts(encoder):
    """Output columns per input of a fitted OneHotEncoder (None if unsure).

    A column per category, less the dropped one, with the infrequent
    categories joined into one; checked against the encoder's own count.
    """
    infrequent = getattr(encoder, "infrequent_categories_", None)
    drop = getattr(encoder, "drop_idx_", None)
    counts = []
    for i, categories in enumerate(encoder.categories_):
        count = len(categories)
        if infrequent is not None and infrequent[i] is not None:
            count -= len(infrequent[i]) - 1
        if drop is not None and drop[i] is not None:
            count -= 1
        counts.append(count)
    try:
        expected = len(encoder.get_feature_names_out())
    except (AttributeError, ValueError):
        return None
    return counts if sum(counts) == expected else None


def _column_mask(columns, names):
    """A ColumnTransformer's column selection as a boolean mask over names."""
    if callable(columns):
        return _column_mask(columns(np.empty((0, len(names)))), names)
    if isinstance(columns, slice):
        mask = np.zeros(len(names), bool)
        mask[columns] = True
        return mask
    columns = np.atleast_1d(np.asarray(columns, dtype=object))
    if columns.dtype == bool or all(isinstance(c, (bool, np.bool_)) for c in columns):
        return columns.astype(bool)
    mask = np.zeros(len(names), bool)
    for column in columns:
        mask[column if isinstance(column, Integral) else names.index(column)] = True
    return mask


def auto_groups(pre, input_names):
    """Groups from a Pipeline's fitted steps before the hybrid, or None.

    None when no input column became several (nothing to group) or when a
    step's output cannot be traced to its inputs.
    """
    sources = _sources(pre, list(input_names))
    if sources is None or len(set(sources)) == len(sources):
        return None
    groups = {}
    for column, source in enumerate(sources):
        groups.setdefault(str(source), []).append(column)
    return groups


def resolve_groups(feature_groups, encoded_names):
    """``feature_groups`` as ``(names, columns)``: a name and an index array
    per group, in the order of each group's first column; columns not in any
    group stand alone under their own name."""
    encoded_names = [str(name) for name in encoded_names]
    n_columns = len(encoded_names)
    if feature_groups is None:
        return encoded_names, [np.array([j]) for j in range(n_columns)]
    position = {name: j for j, name in enumerate(encoded_names)}
    owner = {}
    for group, columns in feature_groups.items():
        if isinstance(columns, (str, Integral)):
            columns = [columns]
        if len(columns) == 0:
            raise ValueError(f"feature_groups[{group!r}] lists no column.")
        for column in columns:
            j = column if isinstance(column, Integral) else position.get(str(column))
            if j is None or not 0 <= j < n_columns:
                raise ValueError(
                    f"feature_groups[{group!r}] names column {column!r}, which is "
                    f"not one of the model's {n_columns} input columns "
                    f"({encoded_names[:5]}{'...' if n_columns > 5 else ''}); give "
                    "their names or indices."
                )
            if j in owner and owner[j] != group:
                raise ValueError(
                    f"Column {encoded_names[j]!r} is in two feature groups, "
                    f"{owner[j]!r} and {group!r}; a column belongs to one group."
                )
            owner[j] = group
    for j, name in enumerate(encoded_names):
        if name in feature_groups and owner.get(j) != name:
            raise ValueError(
                f"feature_groups names a group {name!r}, which is also a column "
                "outside it; give the group another name."
            )
    names, columns, seen = [], [], set()
    for j in range(n_columns):
        group = owner.get(j, encoded_names[j])
        if group in seen:
            continue
        seen.add(group)
        names.append(str(group))
        columns.append(
            np.array([k for k in range(n_columns) if owner.get(k) == group])
            if j in owner
            else np.array([j])
        )
    return names, columns
