"""bench_predictive's tables and folds: where each dataset lives, its target
and task, the rows read (subsampled, seeded) and the shuffled folds every
model of a dataset is scored on."""

from pathlib import Path

import numpy as np
import pandas as pd

DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "datasets"
DATASETS = {
    # name: (file, target, task)
    "puma8NH": ("permgrad/puma8NH.csv", "values", "regression"),
    "houses": ("pmlb/537_houses.tsv.gz", "target", "regression"),
    "cpu_act": ("pmlb/197_cpu_act.tsv.gz", "target", "regression"),
    "adult": ("pmlb/adult.tsv.gz", "target", "classification"),
    "spambase": ("pmlb/spambase.tsv.gz", "target", "classification"),
    "phoneme": ("pmlb/phoneme.tsv.gz", "target", "classification"),
    "satimage": ("pmlb/satimage.tsv.gz", "target", "classification"),
    "pendigits": ("pmlb/pendigits.tsv.gz", "target", "classification"),
    "wine_quality_white": (
        "pmlb/wine_quality_white.tsv.gz",
        "target",
        "classification",
    ),
}
QUICK_DATASETS = ("puma8NH", "phoneme")


def _load(data_dir, name, max_rows, seed):
    file, target, task = DATASETS[name]
    path = Path(data_dir) / file
    if path.is_file():
        frame = pd.read_csv(path, sep="\t" if ".tsv" in path.name else ",")
    else:  # only puma8NH gets here (see main): the package bundles it
        from skpermgrad.datasets import load_puma8nh

        frame = load_puma8nh(as_frame=True).frame
    if len(frame) > max_rows:
        frame = frame.sample(max_rows, random_state=seed)
    X = frame.drop(columns=[target]).to_numpy(dtype=np.float64)
    y = frame[target].to_numpy()
    return X, y, task


def cv_splits(task, X, y, folds, seed):
    """The shuffled folds every model of a dataset is scored on (stratified
    for classification)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    splitter = (KFold if task == "regression" else StratifiedKFold)(
        folds, shuffle=True, random_state=seed
    )
    return list(splitter.split(X, y))
