"""``skpermgrad predict``: a run's model, checked before it is loaded, on a
new table."""

import sys
from pathlib import Path

import numpy as np

from ._common import CHECKSUM_SUFFIX, StudyError, file_sha256
from ._data import check_prediction_rows, read_table
from ._text import safe_csv


def predict_table(model, data, out, *, overwrite=False, trust_model=False):
    """``skpermgrad predict``: the model.joblib of a run on the table ``data``,
    predictions (and class probabilities) written to the CSV file ``out``.

    A model file is a pickle, which runs code when loaded: unless
    ``trust_model``, it is loaded only if its SHA-256 matches the one ``run``
    wrote beside it (``model.joblib.sha256``), checked before loading.
    """
    import joblib
    import pandas as pd

    model_path, out = Path(model), Path(out)
    if not model_path.is_file():
        raise StudyError(f"no such model file: {model_path}")
    if out.is_dir():
        raise StudyError(f"--out {out} is a folder; name the CSV file to write.")
    if out.exists() and not overwrite:
        raise StudyError(f"{out} exists; pass --overwrite or another --out.")
    if not trust_model:
        check_model_checksum(model_path)
    frame = read_table(data)
    try:
        pipeline = joblib.load(model_path)
    except Exception as exc:  # noqa: BLE001 - unpickling raises anything
        raise StudyError(
            f"cannot load {model_path} as a model ({type(exc).__name__}); pass the "
            "model.joblib that skpermgrad run wrote."
        ) from None
    check_study_model(pipeline, model_path)
    columns = list(pipeline.feature_names_in_)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise StudyError(
            f"{data} lacks the column(s) {missing} the model was trained on."
        )
    check_prediction_rows(pipeline, frame[columns], data)
    ignored = [c for c in frame.columns if c not in columns]
    if ignored:
        print(f"ignoring column(s) the model does not use: {ignored}", file=sys.stderr)
    X = frame[columns]
    predictions = pd.DataFrame({"prediction": pipeline.predict(X)})
    if hasattr(pipeline, "predict_proba"):
        proba = pipeline.predict_proba(X)
        for k, label in enumerate(pipeline.classes_):
            predictions[f"proba[{label}]"] = np.asarray(proba)[:, k]
    out.parent.mkdir(parents=True, exist_ok=True)
    safe_csv(predictions).to_csv(out, index=False)
    print(f"wrote {len(predictions)} predictions to {out}")
    return 0


def check_model_checksum(model_path):
    """Refuse, before it is loaded, a model file whose SHA-256 is not the one
    ``run`` wrote beside it (or that has none)."""
    checksum = model_path.with_name(model_path.name + CHECKSUM_SUFFIX)
    trust = (
        "a model file runs code when loaded: load only one from a source you "
        "trust, and then pass --trust-model to load it anyway"
    )
    if not checksum.is_file():
        raise StudyError(
            f"{model_path} has no {checksum.name} beside it (skpermgrad run "
            f"writes one) to check it against; {trust}."
        )
    fields = checksum.read_text(errors="replace").split()
    if not fields or fields[0].lower() != file_sha256(model_path):
        raise StudyError(
            f"{model_path} does not match the SHA-256 in {checksum.name}: it was "
            f"changed after skpermgrad run wrote it; {trust}."
        )


def check_study_model(pipeline, model_path):
    """Refuse a loaded object that is not a model ``run`` wrote: a Pipeline of
    the study's column encoding, fitted, then a hybrid."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    from ..models import HybridClassifier, HybridRegressor

    if not (
        isinstance(pipeline, Pipeline)
        and [name for name, _ in pipeline.steps] == ["columns", "hybrid"]
        and isinstance(pipeline[0], ColumnTransformer)
        and hasattr(pipeline[0], "transformers_")
        and isinstance(pipeline[-1], (HybridRegressor, HybridClassifier))
        and hasattr(pipeline[-1], "model_")
    ):
        raise StudyError(
            f"{model_path} holds a {type(pipeline).__name__}, not a model written "
            "by skpermgrad run; predict with it in Python instead."
        )
