"""scikit-learn's estimator checks over every public estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skpermgrad import TintoImager


@parametrize_with_checks(
    [TintoImager(), TintoImager(blur=True, algorithm="tsne", times=5)]
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
