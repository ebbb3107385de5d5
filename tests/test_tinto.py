"""Behaviour and bad-input tests for TintoImager."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline

from skpermgrad import TintoImager


def test_fitted_attributes(reg9):
    X, _ = reg9
    imager = TintoImager(pixels=5, random_state=0).fit(X)
    assert imager.n_features_in_ == 9
    assert imager.image_shape_ == (5, 5, 1)
    assert imager.feature_positions_.shape == (9, 2)
    assert imager.feature_positions_.dtype.kind == "i"
    assert imager.feature_coordinates_.shape == (9, 2)
    np.testing.assert_array_equal(imager.data_min_, X.min(axis=0))
    np.testing.assert_array_equal(imager.data_max_, X.max(axis=0))
    assert not hasattr(imager, "feature_names_in_")
    # every feature has its own pixel inside the image
    assert len({tuple(p) for p in imager.feature_positions_}) == 9
    assert imager.feature_positions_.min() >= 0
    assert imager.feature_positions_.max() < 5


def test_transform_shapes_dtype_and_range(reg9):
    X, _ = reg9
    imager = TintoImager(pixels=4, channels=3, zoom=2, random_state=0).fit(X)
    Z = imager.transform(X)
    assert Z.shape == (60, 8 * 8 * 3) and Z.dtype == np.float32
    assert Z.min() >= 0 and Z.max() <= 1
    images = imager.transform_images(X)
    assert images.shape == (60, 8, 8, 3)
    np.testing.assert_array_equal(images.reshape(60, -1), Z)
    # identical channels, zoom x zoom blocks
    np.testing.assert_array_equal(images[..., 0], images[..., 2])
    np.testing.assert_array_equal(images[:, ::2, ::2], images[:, 1::2, 1::2])


def test_orientation_matches_the_image(rng):
    # An asymmetric layout: read each feature back at (row, col) of the image
    # itself, never at (col, row).
    X = rng.uniform(size=(50, 6)) * np.arange(1, 7)
    imager = TintoImager(pixels=7, random_state=0).fit(X)
    rows, cols = imager.feature_positions_.T
    assert not np.array_equal(rows, cols)
    images = imager.transform_images(X)[..., 0]
    scaled = (X - X.min(0)) / (X.max(0) - X.min(0))
    np.testing.assert_allclose(images[:, rows, cols], scaled, atol=1e-6)
    # all other pixels are empty without blur
    mask = np.ones((7, 7), bool)
    mask[rows, cols] = False
    assert np.all(images[:, mask] == 0)
    layout = imager.get_feature_layout()
    assert layout["feature"].tolist() == [f"x{i}" for i in range(6)]
    np.testing.assert_array_equal(layout[["row", "col"]], imager.feature_positions_)


def test_feature_names_and_layout_from_dataframe(puma_small):
    X, _ = puma_small
    imager = TintoImager(pixels=6, random_state=0).fit(X)
    np.testing.assert_array_equal(imager.feature_names_in_, X.columns)
    assert imager.get_feature_layout()["feature"].tolist() == list(X.columns)


def test_get_feature_names_out_and_pandas_output(puma_small):
    X, _ = puma_small
    imager = TintoImager(pixels=3, channels=2, random_state=0).set_output(
        transform="pandas"
    )
    Z = imager.fit_transform(X)
    assert isinstance(Z, pd.DataFrame)
    assert Z.shape == (len(X), 18)
    assert Z.columns[0] == "pixel_0_0_0" and Z.columns[-1] == "pixel_2_2_1"
    assert list(Z.columns) == list(imager.get_feature_names_out())


def test_unseen_values_are_clipped_to_the_training_range(reg9):
    X, _ = reg9
    imager = TintoImager(pixels=4, random_state=0).fit(X)
    far = np.vstack([X.max(0) + 100, X.min(0) - 100])
    Z = imager.transform_images(far)[..., 0]
    rows, cols = imager.feature_positions_.T
    np.testing.assert_array_equal(Z[0, rows, cols], 1.0)
    np.testing.assert_array_equal(Z[1, rows, cols], 0.0)


def test_constant_column_is_zero_and_stays_zero(rng):
    X = rng.normal(size=(30, 4))
    X[:, 2] = 7.0
    imager = TintoImager(pixels=4, random_state=0).fit(X)
    r, c = imager.feature_positions_[2]
    assert np.all(imager.transform_images(X)[:, r, c, 0] == 0)
    unseen = rng.normal(size=(5, 4)) * 50
    assert np.all(imager.transform_images(unseen)[:, r, c, 0] == 0)
    np.testing.assert_allclose(imager.inverse_transform(imager.transform(X))[:, 2], 7)


def test_inverse_transform_round_trip(reg9):
    X, _ = reg9
    imager = TintoImager(pixels=4, random_state=0).fit(X)
    Z = imager.transform(X)
    np.testing.assert_allclose(imager.inverse_transform(Z), X, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(
        imager.inverse_transform(imager.transform_images(X)), X, rtol=1e-5, atol=1e-4
    )
    with pytest.raises(ValueError, match="Expected images of shape"):
        imager.inverse_transform(Z[:, :5])
    blurred = TintoImager(pixels=4, blur=True, random_state=0).fit(X)
    with pytest.raises(ValueError, match="no blur; this imager has blur=True"):
        blurred.inverse_transform(blurred.transform(X))


def test_blur_spreads_rings_and_keeps_the_centre(reg9):
    X, _ = reg9
    plain = TintoImager(pixels=12, random_state=0).fit(X)
    blurred = TintoImager(pixels=12, blur=True, option="max", random_state=0).fit(X)
    assert np.count_nonzero(blurred.transform(X)) > np.count_nonzero(plain.transform(X))
    rows, cols = blurred.feature_positions_.T
    # with option="max" a feature's own pixel holds at least its value
    assert np.all(
        blurred.transform_images(X)[:, rows, cols, 0]
        >= plain.transform_images(X)[:, rows, cols, 0] - 1e-7
    )


def _colliding_data(rng):
    base = rng.normal(size=(40, 1))
    return np.hstack([base, base, rng.normal(size=(40, 3))])


def test_collisions_resolve_moves_to_nearest_free_pixel(rng):
    X = _colliding_data(rng)
    imager = TintoImager(pixels=5, random_state=0).fit(X)
    assert imager.moved_features_.tolist() == [1]
    p0, p1 = imager.feature_positions_[:2]
    assert not np.array_equal(p0, p1)
    assert np.abs(p0 - p1).max() == 1  # a neighbouring pixel
    again = TintoImager(pixels=5, random_state=0).fit(X)
    np.testing.assert_array_equal(again.feature_positions_, imager.feature_positions_)


def test_collisions_mean_shares_the_pixel(rng):
    X = _colliding_data(rng)
    X[:, 1] += 0.01 * rng.normal(size=40)  # nearly the same column: same pixel
    imager = TintoImager(pixels=5, collisions="mean", random_state=0).fit(X)
    assert imager.moved_features_.size == 0
    np.testing.assert_array_equal(*imager.feature_positions_[:2])
    r, c = imager.feature_positions_[0]
    scaled = imager._scale(X)
    np.testing.assert_allclose(
        imager.transform_images(X)[:, r, c, 0], scaled[:, :2].mean(1), atol=1e-6
    )
    with pytest.raises(ValueError, match="does not determine the row"):
        imager.inverse_transform(imager.transform(X))


def test_collisions_error_names_both_features(rng):
    X = pd.DataFrame(_colliding_data(rng), columns=["a", "b", "c", "d", "e"])
    with pytest.raises(ValueError, match=r"Features 'a' and 'b' both land on pixel"):
        TintoImager(pixels=5, collisions="error", random_state=0).fit(X)


def test_all_features_on_one_point_are_spread(rng):
    col = rng.normal(size=(20, 1))
    X = np.hstack([col] * 4)
    imager = TintoImager(pixels=3, random_state=0).fit(X)
    assert len({tuple(p) for p in imager.feature_positions_}) == 4


def test_tsne_layout_is_reproducible(reg9):
    X, _ = reg9
    a = TintoImager(pixels=8, algorithm="tsne", random_state=3).fit(X)
    b = TintoImager(pixels=8, algorithm="tsne", random_state=3).fit(X)
    np.testing.assert_array_equal(a.feature_positions_, b.feature_positions_)


def test_fits_on_training_rows_only_in_a_pipeline(reg9):
    X, y = reg9
    pipe = make_pipeline(TintoImager(pixels=4, random_state=0), Ridge())
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and np.all(np.isfinite(scores))
    clone(pipe).fit(X[:30], y[:30])
    step = pipe.fit(X[:30], y[:30]).steps[0][1]
    np.testing.assert_array_equal(step.data_max_, X[:30].max(axis=0))


def test_pickle_round_trip(reg9):
    X, _ = reg9
    imager = TintoImager(pixels=4, blur=True, random_state=0).fit(X)
    restored = pickle.loads(pickle.dumps(imager))
    np.testing.assert_array_equal(restored.transform(X), imager.transform(X))


def test_does_not_modify_input(reg9):
    X, _ = reg9
    X_copy = X.copy()
    TintoImager(pixels=4, random_state=0).fit(X).transform(X)
    np.testing.assert_array_equal(X, X_copy)


def test_many_rows_are_rendered_in_chunks(monkeypatch, rng):
    import skpermgrad.imaging._base as base_module

    X = rng.uniform(size=(101, 5))
    imager = TintoImager(pixels=5, blur=True, random_state=0).fit(X)
    whole = imager.transform(X)
    monkeypatch.setattr(base_module, "_CHUNK_ROWS", 7)
    np.testing.assert_array_equal(imager.transform(X), whole)


# --- bad input: each a clear error ------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_raise(reg9, bad):
    X = reg9[0].copy()
    X[3, 2] = bad
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        TintoImager(pixels=4).fit(X)
    imager = TintoImager(pixels=4).fit(reg9[0])
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        imager.transform(X)


def test_string_columns_raise_naming_them():
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0], "city": ["x", "y", "z"], "b": [3, 1, 2]})
    with pytest.raises(ValueError, match=r"not numeric: \{'city': '(object|str)"):
        TintoImager(pixels=3).fit(X)


def test_categorical_columns_raise_naming_them():
    X = pd.DataFrame(
        {"a": [1.0, 2.0, 3.0], "b": pd.Categorical([1, 2, 1]), "c": [0.0, 1, 5]}
    )
    with pytest.raises(ValueError, match=r"not numeric: \{'b': 'category'\}"):
        TintoImager(pixels=3).fit(X)


def test_string_object_array_raises():
    X = np.array([[1.0, "a"], [2.0, "b"]], dtype=object)
    with pytest.raises(ValueError, match="could not convert string to float"):
        TintoImager(pixels=3).fit(X)


def test_one_row_raises():
    with pytest.raises(ValueError, match=r"1 sample\(s\).*minimum of 2"):
        TintoImager(pixels=3).fit(np.ones((1, 4)))


def test_one_feature_raises():
    with pytest.raises(ValueError, match=r"1 feature\(s\).*minimum of 2"):
        TintoImager(pixels=3).fit(np.arange(10.0).reshape(-1, 1))


def test_more_features_than_pixels_raises(rng):
    X = rng.normal(size=(20, 10))
    with pytest.raises(ValueError, match=r"10 features do not fit.*pixels >= 4"):
        TintoImager(pixels=3).fit(X)


def test_tsne_with_too_few_points_for_its_perplexity_raises(rng):
    X = rng.normal(size=(30, 3))
    with pytest.raises(ValueError, match=r"3 \* 2\*\*2 = 12.*times >= 5"):
        TintoImager(pixels=4, algorithm="tsne", times=2).fit(X)
    # the suggested setting works
    TintoImager(pixels=4, algorithm="tsne", times=5, random_state=0).fit(X)


def test_wrong_number_of_features_at_transform(reg9):
    imager = TintoImager(pixels=4).fit(reg9[0])
    with pytest.raises(ValueError, match="X has 8 features, but TintoImager is "):
        imager.transform(reg9[0][:, :8])


def test_unfitted_transform_raises(reg9):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        TintoImager().transform(reg9[0])


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(pixels=1), "'pixels' parameter"),
        (dict(algorithm="umap"), "'algorithm' parameter"),
        (dict(option="maximum"), "'option' parameter"),
        (dict(collisions="drop"), "'collisions' parameter"),
        (dict(channels=0), "'channels' parameter"),
    ],
)
def test_invalid_parameters(reg9, params, match):
    with pytest.raises(ValueError, match=match):
        TintoImager(**params).fit(reg9[0])


@pytest.mark.parametrize("shape", [(500, 8), (40, 20), (10, 30), (60, 2)])
def test_pca_scores_equal_sklearn_pca(shape, rng):
    from sklearn.decomposition import PCA

    from skpermgrad.imaging._layout import _pca_2d

    X_t = (rng.uniform(size=shape) * rng.uniform(0.1, 3, size=shape[1])).T
    expected = PCA(n_components=2, random_state=0).fit(X_t).transform(X_t)
    np.testing.assert_allclose(_pca_2d(X_t), expected, rtol=0, atol=1e-10)


def test_blur_with_huge_steps_draws_the_same_image_at_once(reg9):
    X, _ = reg9
    # rings beyond the image's diagonal change no pixel
    images = [
        TintoImager(pixels=5, blur=True, steps=steps, random_state=0)
        .fit(X)
        .transform_images(X[:4])
        for steps in (6, 10**6)
    ]
    np.testing.assert_array_equal(images[0], images[1])
