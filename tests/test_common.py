"""scikit-learn's estimator checks over every public estimator."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skpermgrad import (
    BarGraphImager,
    BIEImager,
    ClustersImager,
    CombinationImager,
    DeepInsightImager,
    DistanceMatrixImager,
    FeatureWrapImager,
    FotomicsImager,
    IGTDImager,
    RefinedImager,
    SuperTMLImager,
    TintoImager,
)

keras = pytest.importorskip("keras")

from _tiny import FAST  # noqa: E402

from skpermgrad import (  # noqa: E402
    HybridClassifier,
    HybridRegressor,
    PermGradExplainer,
)

# Eager Keras skips tracing the train step: 3x faster fits on these tiny tables
# (the traced path is what tests/test_hybrid.py exercises).

IMAGERS = [
    TintoImager(),
    IGTDImager(random_state=0),
    IGTDImager(4, error="abs", feature_distance="spearman", random_state=0),
    RefinedImager(random_state=0),
    DeepInsightImager(),
    DeepInsightImager(6, algorithm="kpca", assignment="lsa", random_state=0),
    FotomicsImager(),
    FotomicsImager(scaling="minmax", collisions="mean", zoom=2, channels=3),
    DistanceMatrixImager(),
    BarGraphImager(pixel_width=2, gap=1, zoom=2),
    CombinationImager(),
    BIEImager(),
    FeatureWrapImager(size=[6, 5], bins=3, zoom=2),
    SuperTMLImager(pixels=72, font_size=5),
    SuperTMLImager(pixels=72, font_size=6, feature_importance=True, random_state=0),
    ClustersImager(n_clusters=4, random_state=0),
    ClustersImager("kmedoids", 3, rbf=True, metric="chebyshev", random_state=0),
    ClustersImager("gaussian_mixture", 2, covariance_type="diag", random_state=0),
    ClustersImager("factor", 1, random_state=0, zoom=2),
]
ESTIMATORS = IMAGERS + [
    HybridRegressor(TintoImager(pixels=6), **FAST),
    HybridClassifier(TintoImager(pixels=6), **FAST),
    PermGradExplainer(
        HybridRegressor(TintoImager(pixels=4), **FAST),
        n_repeats=1,
        n_bootstrap=2,
        random_state=0,
    ),
    PermGradExplainer(
        HybridClassifier(TintoImager(pixels=4), **FAST),
        n_repeats=1,
        n_bootstrap=2,
        random_state=0,
    ),
]

_HYBRID_XFAILS = {
    "check_mixin_order": (
        "SciKeras 0.13 declares KerasRegressor(BaseWrapper, RegressorMixin): the "
        "mixin sits right of BaseEstimator and a subclass cannot reorder the bases "
        "(MRO conflict); __sklearn_tags__ sets the estimator type instead."
    ),
    "check_estimator_tags_renamed": (
        "SciKeras 0.13's BaseWrapper and KerasRegressor/KerasClassifier define the "
        "pre-1.6 _more_tags; the check rejects any class in the MRO that does, even "
        "though our subclasses define __sklearn_tags__."
    ),
    "check_sample_weight_equivalence_on_dense_data": (
        "Mini-batch training with BatchNorm and dropout: weighting a row by 2 and "
        "repeating it give different batches and updates, so the fitted networks "
        "differ (sample_weight itself is tested in tests/test_hybrid.py)."
    ),
}
EXPECTED_FAILED = {
    "HybridRegressor": _HYBRID_XFAILS,
    "HybridClassifier": _HYBRID_XFAILS,
    "PermGradExplainer": {
        "check_sample_weight_equivalence_on_dense_data": (
            "The inner hybrid's training is not sample-weight equivalent (see "
            "above), and repeating rows also changes the held-out split."
        ),
    },
}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED.get(type(estimator).__name__, {})


@parametrize_with_checks(IMAGERS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_imager(estimator, check):
    check(estimator)


# t-SNE fits for every check: minutes, with the slow tests
@pytest.mark.slow
@parametrize_with_checks([TintoImager(blur=True, algorithm="tsne", times=5)])
def test_sklearn_compatible_tsne_imager(estimator, check):
    check(estimator)


# every check fits the network a few times: minutes, with the slow tests
@pytest.mark.slow
@parametrize_with_checks(
    ESTIMATORS[len(IMAGERS) :], expected_failed_checks=_expected_failed_checks
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
