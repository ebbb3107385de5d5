"""Saved estimators load in a new Python process with identical predictions.

A round trip inside one process proves nothing about Keras's registry of
custom classes: each estimator is saved here and loaded by a fresh
interpreter (``subprocess``), which writes its predictions back to compare.
"""

import os
import pickle
import subprocess
import sys
import textwrap
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from _tiny import TINY  # noqa: E402
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification, make_regression
from sklearn.model_selection import cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from skpermgrad import (
    BarGraphImager,
    BIEImager,
    ClustersImager,
    CombinationImager,
    DeepInsightImager,
    DistanceMatrixImager,
    FeatureWrapImager,
    FotomicsImager,
    HybridClassifier,
    HybridRegressor,
    IGTDImager,
    PermGradExplainer,
    RefinedImager,
    SuperTMLImager,
    TintoImager,
)
from skpermgrad.exceptions import InconsistentVersionWarning

# every setting that changes the saved graph, for the regressor; the ensemble
# head and its absence for the classifier too
REGRESSORS = {
    "defaults": {},
    "ensemble_head": {"ensemble_scope": "head"},
    "one_head": {"ensemble_size": 1},
    "minmax_input": {"mlp_input": "minmax"},
    "no_embedding": {"numeric_embedding": None},
    "tabm_branch": {
        "ensemble_scope": "mlp",
        "numeric_embedding": "piecewise",
        "mlp_input": "robust",
    },
    "tabm_mini_branch": {"ensemble_scope": "mlp_mini"},
    "mlp_only": {"branches": "mlp"},
    "cnn_only": {"branches": "cnn"},
    "layer_norm": {"normalization": "layer"},
    "igtd_image": {"imager": IGTDImager(random_state=0), "n_conv_layers": 2},
    "distance_image": {"imager": DistanceMatrixImager()},
    "bar_image": {"imager": BarGraphImager(gap=1)},
    "combination_image": {"imager": CombinationImager(zoom=2)},
    "bits_image": {"imager": BIEImager()},
    "wrap_image": {"imager": FeatureWrapImager(size=(3, 4), bins=5)},
    "text_image": {"imager": SuperTMLImager(pixels=60, font_size=6)},
    "text_vf_image": {
        "imager": SuperTMLImager(
            pixels=60, font_size=8, feature_importance=True, random_state=0
        )
    },
    "clusters_image": {"imager": ClustersImager("gaussian_mixture", 4, random_state=0)},
}
IMAGERS = {
    "imager": TintoImager(pixels=6),
    "imager_igtd": IGTDImager(random_state=0),
    "imager_refined": RefinedImager(random_state=0),
    "imager_deepinsight": DeepInsightImager(),
    "imager_fotomics": FotomicsImager(),
    "imager_distance": DistanceMatrixImager(),
    "imager_bars": BarGraphImager(pixel_width=2),
    "imager_combination": CombinationImager(),
    "imager_bits": BIEImager(),
    "imager_wrap": FeatureWrapImager(),
    "imager_text": SuperTMLImager(pixels=60, font_size=6),
    "imager_clusters": ClustersImager("kmedoids", 5, rbf=True, random_state=0),
}
CLASSIFIERS = {
    "defaults": {},
    "ensemble_head": {"ensemble_scope": "head"},
    "one_head": {"ensemble_size": 1},
    "smoothed_tabm_branch": {"ensemble_scope": "mlp", "label_smoothing": 0.1},
}
SMALL_IMAGE = {"imager": TintoImager(pixels=6), "ensemble_size": 4, **TINY}


def _load_in_new_process(folder, names):
    """Load ``folder/NAME.joblib`` in a fresh interpreter; its outputs on
    ``folder/X.pkl`` are written to ``folder/NAME.npy``."""
    code = textwrap.dedent(
        f"""
        import pickle, sys, warnings
        import joblib, numpy as np
        from skpermgrad.exceptions import InconsistentVersionWarning
        warnings.simplefilter("error", InconsistentVersionWarning)
        folder = sys.argv[1]
        for name in {names!r}:
            est = joblib.load(f"{{folder}}/{{name}}.joblib")
            X = pickle.load(open(f"{{folder}}/X_{{name}}.pkl", "rb"))
            if name.startswith("imager"):
                out = est.transform(X)
            else:
                out = est.predict(X)
            if hasattr(est, "predict_proba"):
                out = np.column_stack([out, est.predict_proba(X)])
            np.save(f"{{folder}}/{{name}}.npy", np.asarray(out))
        """
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-c", code, str(folder)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def _outputs(est, X, name):
    out = est.transform(X) if name.startswith("imager") else est.predict(X)
    if hasattr(est, "predict_proba"):
        out = np.column_stack([out, est.predict_proba(X)])
    return np.asarray(out)


def test_every_estimator_loads_in_a_new_process(tmp_path):
    Xr, yr = make_regression(60, 5, noise=0.1, random_state=0)
    Xc, yc = make_classification(60, 5, n_informative=3, random_state=0)
    fitted = {}
    for name, params in REGRESSORS.items():
        fitted[f"reg_{name}"] = (
            HybridRegressor(**{**SMALL_IMAGE, **params}).fit(Xr, yr),
            Xr,
        )
    for name, params in CLASSIFIERS.items():
        labels = np.array(["no", "yes"])[yc]
        fitted[f"clf_{name}"] = (
            HybridClassifier(**{**SMALL_IMAGE, **params}).fit(Xc, labels),
            Xc,
        )
    frame = pd.DataFrame(Xr, columns=list("abcde")).assign(
        colour=np.array(["red", "green", "blue"])[np.arange(60) % 3]
    )
    encode = ColumnTransformer(
        [("onehot", OneHotEncoder(), ["colour"])], remainder="passthrough"
    )
    fitted["pipeline"] = (
        make_pipeline(encode, HybridRegressor(**SMALL_IMAGE)).fit(frame, yr),
        frame,
    )
    fitted["explainer"] = (
        PermGradExplainer(HybridRegressor(**SMALL_IMAGE), n_repeats=2).fit(Xr, yr),
        Xr,
    )
    for name, imager in IMAGERS.items():
        fitted[name] = (imager.fit(Xr), Xr)

    fitted["saved_by_scikeras"] = fitted["reg_ensemble_head"]
    for name, (est, X) in fitted.items():
        if name == "saved_by_scikeras":
            _dump_as_before(est, tmp_path / f"{name}.joblib")
        else:
            joblib.dump(est, tmp_path / f"{name}.joblib")
        with open(tmp_path / f"X_{name}.pkl", "wb") as f:
            pickle.dump(X, f)
    _load_in_new_process(tmp_path, list(fitted))
    for name, (est, X) in fitted.items():
        np.testing.assert_array_equal(
            np.load(tmp_path / f"{name}.npy", allow_pickle=True),
            _outputs(est, X, name),
            err_msg=name,
        )


def _dump_as_before(est, path):
    """Pickle ``est`` as skpermgrad did before EnsembleModel pickled itself:
    through SciKeras, which registers the class as ">EnsembleModel" (put back
    afterwards, for the tests that follow)."""
    from keras.src.saving import object_registration
    from scikeras._saving_utils import pack_keras_model

    from skpermgrad.models import EnsembleModel

    names = object_registration.GLOBAL_CUSTOM_NAMES
    registered = names[EnsembleModel]
    try:
        EnsembleModel.__reduce__ = pack_keras_model
        joblib.dump(est, path)
    finally:
        del EnsembleModel.__reduce__
        names[EnsembleModel] = registered


def test_cross_validate_returns_estimators_from_worker_processes():
    X, y = make_regression(60, 4, noise=0.1, random_state=0)
    est = HybridRegressor(**SMALL_IMAGE)
    parallel = cross_validate(est, X, y, cv=2, n_jobs=2, return_estimator=True)
    sequential = cross_validate(est, X, y, cv=2, return_estimator=True)
    np.testing.assert_allclose(parallel["test_score"], sequential["test_score"])
    for fold in parallel["estimator"]:
        assert np.isfinite(fold.predict(X)).all()


@pytest.mark.parametrize("package", ["skpermgrad", "keras", "tensorflow"])
def test_loading_under_other_versions_warns(package, reg9):
    X, y = reg9
    est = HybridRegressor(**SMALL_IMAGE).fit(X, y)
    state = est.__getstate__()
    assert set(state["_skpermgrad_versions"]) == {"skpermgrad", "keras", "tensorflow"}
    state["_skpermgrad_versions"][package] = "0.0.1"
    restored = HybridRegressor.__new__(HybridRegressor)
    with pytest.warns(InconsistentVersionWarning, match=f"saved with {package} 0.0.1"):
        restored.__setstate__(state)
    np.testing.assert_array_equal(restored.predict(X), est.predict(X))
    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        pickle.loads(pickle.dumps(est))  # same versions: silent
    assert "_skpermgrad_versions" not in vars(restored)


def test_imager_and_explainer_record_the_skpermgrad_version(reg9):
    X, y = reg9
    imager = TintoImager(pixels=6).fit(X)
    assert set(imager.__getstate__()["_skpermgrad_versions"]) == {"skpermgrad"}
    state = imager.__getstate__()
    state["_skpermgrad_versions"]["skpermgrad"] = "0.0.1"
    with pytest.warns(InconsistentVersionWarning, match="TintoImager"):
        TintoImager.__new__(TintoImager).__setstate__(state)
    explainer = PermGradExplainer(HybridRegressor(**SMALL_IMAGE))
    assert "_skpermgrad_versions" in explainer.__getstate__()
