"""Image methods by name: ``make_imager``, and the hybrids' ``imager="<name>"``."""

import numpy as np
import pytest
from _tiny import FAST, SMALL
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from skpermgrad import HybridRegressor, IGTDImager
from skpermgrad._validation import IMAGE_NEEDS, image_shortfall
from skpermgrad.imaging import get_imager_names, make_imager


@pytest.mark.parametrize("name", get_imager_names())
@pytest.mark.parametrize("n_features", [2, 3, 21])
def test_every_name_images_any_table(name, n_features):
    # sized to the table: the feature wrap's bits and SuperTML's text fit
    X = np.random.default_rng(0).uniform(size=(60, n_features))
    imager = make_imager(name, n_features, random_state=0).fit(X)
    images = imager.transform_images(X[:5])
    assert images.shape == (5, *imager.image_shape_)
    assert np.isfinite(images).all()
    # seeded: the same name and seed give the same imager
    again = make_imager(name, n_features, random_state=0).fit(X)
    np.testing.assert_array_equal(again.transform_images(X[:5]), images)


def test_every_image_gives_a_cnn_part_past_the_permutation():
    # the explanations' refusals name the other CNN part as the way out: no
    # image method may lack what both ask of it
    for name in get_imager_names():
        parts = [p for p in IMAGE_NEEDS if image_shortfall(make_imager(name, 3), p)]
        assert len(parts) < len(IMAGE_NEEDS), (name, parts)


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match="'name' parameter of make_imager must be"):
        make_imager("tintoo", 3)
    with pytest.raises(ValueError, match="'imager' parameter of HybridRegressor"):
        HybridRegressor(imager="tintoo").fit(np.zeros((4, 2)), np.zeros(4))


def test_a_hybrid_on_a_name_fits_that_methods_imager(curved_task):
    X, y = curved_task
    settings = {**SMALL, "epochs": 1, "random_state": 3}
    named = HybridRegressor(imager="igtd", **settings).fit(X, y)
    default = HybridRegressor(**settings).fit(X, y)
    explicit = HybridRegressor(IGTDImager(random_state=3), **settings).fit(X, y)
    positions = [
        m.feature_encoder_.imager_.feature_positions_
        for m in (named, default, explicit)
    ]
    np.testing.assert_array_equal(positions[0], positions[1])
    np.testing.assert_array_equal(positions[0], positions[2])
    np.testing.assert_allclose(named.predict(X[:5]), default.predict(X[:5]))
    assert clone(named).get_params()["imager"] == "igtd"  # stored as given


def test_a_search_over_names_chooses_an_image(curved_task):
    X, y = curved_task
    search = GridSearchCV(
        HybridRegressor(**FAST),
        {"imager": ["igtd", "distance_matrix"]},
        cv=2,
    ).fit(X, y)
    assert search.best_params_["imager"] in {"igtd", "distance_matrix"}
    fitted = search.best_estimator_.feature_encoder_.imager_
    assert (
        fitted.get_params()
        == make_imager(
            search.best_params_["imager"], X.shape[1], random_state=0
        ).get_params()
    )
