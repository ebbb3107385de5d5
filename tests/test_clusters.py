"""ClustersImager (TINTOlib's Clusters): a row as its responses to a
clustering of the training rows, drawn in NumPy and inside the hybrid's
graph; explanations without a feature-to-pixel map."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.decomposition import FactorAnalysis
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from skpermgrad import ClustersImager
from skpermgrad.imaging._clusters import _chained_order

SETTINGS = {
    "kmeans": dict(algorithm="kmeans", n_clusters=5),
    "kmeans-rbf": dict(algorithm="kmeans", n_clusters=4, rbf=True),
    "kmedoids": dict(algorithm="kmedoids", n_clusters=5, metric="manhattan"),
    "gmm": dict(algorithm="gaussian_mixture", n_clusters=3, covariance_type="tied"),
    "factor": dict(algorithm="factor", n_clusters=3),
}


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5)) * [1, 10, 100, 0.1, 1]
    X[:100, 0] += 6  # two groups of rows
    return pd.DataFrame(X, columns=list("abcde"))


def _standardised(X):
    return StandardScaler().fit_transform(MinMaxScaler().fit_transform(X))


@pytest.mark.parametrize(
    "algorithm, sklearn_response",
    [
        ("kmeans", lambda z: KMeans(4, random_state=0).fit(z).transform(z)),
        (
            "gaussian_mixture",
            lambda z: GaussianMixture(4, random_state=0).fit(z).predict_proba(z),
        ),
        ("factor", lambda z: FactorAnalysis(4, random_state=0).fit(z).transform(z)),
    ],
)
def test_pixels_are_scikit_learns_responses_min_max_scaled(
    algorithm, sklearn_response, table
):
    imager = ClustersImager(algorithm, 4, random_state=0).fit(table)
    assert imager.image_shape_ == (2, 2, 1)
    response = sklearn_response(_standardised(table.to_numpy()))
    expected = MinMaxScaler().fit_transform(response[:, imager.cluster_order_])
    got = imager.transform_images(table).reshape(len(table), 4)
    np.testing.assert_allclose(got, expected, atol=2e-5)


def test_centres_are_chained_from_the_closest_pair():
    centres = np.array([[0.0], [10.0], [1.0], [4.0], [30.0]])
    # closest pair (0, 2); then from 2 the nearest unplaced: 3, then 1, then 4
    np.testing.assert_array_equal(_chained_order(centres), [0, 2, 3, 1, 4])


def test_kmedoids_are_training_rows_and_rbf_is_a_kernel_of_the_distance(table):
    imager = ClustersImager("kmedoids", 5, random_state=0).fit(table)
    z = _standardised(table.to_numpy())
    assert all((np.abs(z - m).max(axis=1) < 1e-12).any() for m in imager.clustering_)
    rbf = ClustersImager("kmedoids", 5, rbf=True, random_state=0).fit(table)
    distance = imager.transform_images(table[:50]).reshape(50, -1)[:, :5]
    kernel = rbf.transform_images(table[:50]).reshape(50, -1)[:, :5]
    # the kernel falls as the distance grows: opposite ranks per cluster
    for c in range(5):
        assert np.corrcoef(distance[:, c], kernel[:, c])[0, 1] < 0


@pytest.mark.parametrize("name", SETTINGS)
def test_no_pixel_is_a_features_own(name, table):
    imager = ClustersImager(**SETTINGS[name], random_state=0).fit(table.iloc[:150])
    side = imager.image_shape_[0]
    assert imager.image_shape_ == (side, side, 1)
    assert imager.feature_masks_.shape == (5, side, side)
    assert not imager.feature_masks_.any()
    np.testing.assert_array_equal(imager.feature_positions_, -1)
    assert (imager.get_feature_layout()[["row", "col"]] == -1).all(axis=None)
    # unseen rows: clipped, like the training range
    images = imager.transform_images(table * 3)
    assert images.dtype == np.float32 and images.min() >= 0 and images.max() <= 1
    # the pixels after the last cluster stay 0
    k = imager.n_clusters
    assert not images.reshape(len(table), -1)[:, k:].any()


@pytest.mark.parametrize("name", SETTINGS)
def test_zoom_set_output_and_pickle(name, table):
    one = ClustersImager(**SETTINGS[name], random_state=0).fit(table)
    three = ClustersImager(**SETTINGS[name], random_state=0, zoom=3).fit(table)
    small, big = one.transform_images(table[:4]), three.transform_images(table[:4])
    np.testing.assert_array_equal(big[:, 1::3, 2::3], small)
    np.testing.assert_array_equal(three.feature_positions_, -1)
    one.set_output(transform="pandas")
    out = one.transform(table[:3])
    assert list(out.columns) == list(one.get_feature_names_out())
    again = pickle.loads(pickle.dumps(one))
    pd.testing.assert_frame_equal(again.transform(table[:3]), out)


def test_clear_errors(table):
    with pytest.raises(ValueError, match="n_clusters=16 is more than the 10 training"):
        ClustersImager().fit(table[:10])
    with pytest.raises(ValueError, match="at most 4 factors, got n_clusters=16"):
        ClustersImager("factor").fit(table)
    with pytest.raises(ValueError, match="'algorithm' parameter"):
        ClustersImager("kde").fit(table)


# ---------------------------------------------------------------- the hybrid
keras = pytest.importorskip("keras")

from _tiny import FAST, assert_drawn_in_the_graph, assert_network_draws_the_image  # noqa: E402

from skpermgrad import (  # noqa: E402
    GradCAMDisplay,
    HybridRegressor,
    explain_rows,
    permgrad_importance,
)
from skpermgrad.models import DrawnRender  # noqa: E402


@pytest.mark.parametrize("name", SETTINGS)
def test_the_graph_draws_what_transform_images_draws(name, table):
    imager = ClustersImager(**SETTINGS[name], random_state=0, zoom=2).fit(table)
    assert_drawn_in_the_graph(imager, table, atol=1e-5)


def test_gradients_are_finite_at_a_medoid(table):
    import tensorflow as tf

    imager = ClustersImager("kmedoids", 5, random_state=0).fit(table)
    values = imager.transform_values(table)
    z = imager._scale(table.to_numpy())
    at_medoid = [
        np.flatnonzero(np.abs(StandardScaler().fit_transform(z) - m).max(1) < 1e-9)[0]
        for m in imager.clustering_
    ]
    layer = DrawnRender(*imager.get_drawing())
    x = tf.constant(values[at_medoid])
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(layer(x))
    assert np.all(np.isfinite(tape.gradient(total, x)))


def test_hybrid_on_clusters_explains_without_a_pixel_per_feature(curved_task, pyplot):
    X, y = curved_task
    reg = HybridRegressor(ClustersImager(n_clusters=9, random_state=0), **FAST)
    reg.fit(X, y)
    assert_network_draws_the_image(reg, X[:20], atol=1e-5)
    result = permgrad_importance(reg, X, y, n_repeats=1, random_state=0)
    assert np.all(np.isfinite(result.importances))
    assert np.isnan(result.gradcam).all()  # no pixel is a feature's own
    with pytest.raises(
        ValueError, match="ClustersImager's image has no pixels of each feature's own"
    ):
        permgrad_importance(
            reg, X, y, fusion="branch_weights", cnn_importance="gradcam"
        )
    ig = {"fusion": "branch_weights", "cnn_importance": "integrated_gradients"}
    assert np.all(
        np.isfinite(permgrad_importance(reg, X, y, n_repeats=1, **ig).importances)
    )
    rows = explain_rows(reg, X[:5], background=X)
    gap = rows.predictions - rows.baseline_prediction
    np.testing.assert_allclose(rows.attributions.sum(axis=1), gap, atol=0.05)
    assert np.abs(rows.cnn).sum() > 0  # the image's part reaches the values
    display = GradCAMDisplay.from_result(result)
    assert display.heatmap.shape == (3, 3) and display.texts_ == []
    assert "no pixel of this image is one feature's own" in display.ax_.get_xlabel()
