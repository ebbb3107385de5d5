"""Parity of the drawn images with TINTOlib 1.3.1: DistanceMatrix, BarGraph,
Combination, BIE, FeatureWrap, SuperTML, Clusters (runs in the parity
environment, pandas<3; see docs/install.md)."""

import warnings

import numpy as np
import pandas as pd
import pytest

from skpermgrad import (
    BarGraphImager,
    BIEImager,
    ClustersImager,
    CombinationImager,
    DistanceMatrixImager,
    FeatureWrapImager,
    SuperTMLImager,
)

pytest.importorskip(
    "TINTOlib.barGraph",
    reason="TINTOlib (the parity extra, pandas<3) runs in its own environment: "
    "see docs/install.md",
)
from TINTOlib.barGraph import BarGraph  # noqa: E402
from TINTOlib.bie import BIE  # noqa: E402
from TINTOlib.clusters import Clusters  # noqa: E402
from TINTOlib.combination import Combination  # noqa: E402
from TINTOlib.distanceMatrix import DistanceMatrix  # noqa: E402
from TINTOlib.featureWrap import FeatureWrap  # noqa: E402


def _tintolib_images(model, X, tmp_path):
    """The float images a TINTOlib method draws (before its PNG rounding), in
    row order: its ``_save_image`` replaced by a list's ``append``."""
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    frame["target"] = 0.0
    drawn = []
    model._save_image = lambda image, y, number: drawn.append(
        np.array(image, dtype=np.float64)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(frame)
        model.transform(frame, str(tmp_path))
    images = np.stack(drawn).astype(np.float64)
    return images if images.ndim == 4 else images[..., None]


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (DistanceMatrixImager(), dict(cls=DistanceMatrix)),
        (DistanceMatrixImager(zoom=3), dict(cls=DistanceMatrix, zoom=3)),
        (BarGraphImager(), dict(cls=BarGraph)),
        (
            BarGraphImager(pixel_width=3, gap=2),
            dict(cls=BarGraph, pixel_width=3, gap=2),
        ),
        (CombinationImager(), dict(cls=Combination)),
        (CombinationImager(zoom=2), dict(cls=Combination, zoom=2)),
        (BIEImager(), dict(cls=BIE)),
        (BIEImager(zoom=2), dict(cls=BIE, zoom=2)),
        (FeatureWrapImager(), dict(cls=FeatureWrap)),
        (FeatureWrapImager((4, 6), bins=5), dict(cls=FeatureWrap, size=(4, 6), bins=5)),
    ],
    ids=[
        "distance",
        "distance-zoom3",
        "bars",
        "bars-3-2",
        "combination",
        "comb-zoom2",
        "bie",
        "bie-zoom2",
        "wrap",
        "wrap-4x6-5",
    ],
)
def test_drawn_images_equal_tintolib(puma_small, tmp_path, ours, theirs):
    X = puma_small[0].to_numpy()[:150]
    theirs = dict(theirs)
    model = theirs.pop("cls")(problem="regression", **theirs)
    expected = _tintolib_images(model, X, tmp_path)
    if isinstance(ours, BIEImager):
        expected /= 255  # its set bits are 255
    if isinstance(ours, FeatureWrapImager):
        expected /= 255  # a pixel is its byte
    got = ours.fit(X).transform_images(X)
    assert got.shape == expected.shape
    differ = ~np.isclose(got, expected, rtol=0, atol=1e-6)
    # float32 rounding (drawn from the float32 values the network reads) can
    # lengthen a bar by one pixel, only where float64's value times the bar
    # height is a hair under a whole number (a feature's training maximum)
    if differ.any():
        assert isinstance(ours, (BarGraphImager, CombinationImager))
        bars = ours.get_drawing()[1].get("pixel_width", 1)
        side = expected.shape[1] // ours.zoom
        height = side - 2 * bars
        scaled = ours._scale(X.copy()) * height
        near = np.abs(scaled - np.round(scaled)) < 1e-6
        rows = np.unique(np.nonzero(differ)[0])
        assert near[rows].any(axis=1).all()
        assert differ.mean() < 1e-3


@pytest.fixture
def supertml(monkeypatch):
    """TINTOlib's SuperTML module, drawing with the imager's font: TINTOlib
    loads "arial.ttf" by name (absent here, as on most Linux machines)."""
    import TINTOlib.supertml as supertml

    from skpermgrad.imaging._supertml import _font_path

    truetype = supertml.ImageFont.truetype
    monkeypatch.setattr(
        supertml.ImageFont,
        "truetype",
        lambda font, size: truetype(
            _font_path() if font == "arial.ttf" else font, size
        ),
    )
    return supertml


def _supertml_images(model, X, tmp_path, importances=None):
    """TINTOlib's SuperTML images of ``X`` in [0, 1] (grey: one channel),
    with ``importances`` in place of its random forest's (SuperTML-VF)."""
    drawn = []
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    frame["target"] = 0.0
    model._save_image = lambda image, y, number: drawn.append(np.asarray(image))
    model.fit(frame)
    if importances is not None:  # its forest reads the rows in a random order
        model.feature_importances = importances
    model.transform(frame, str(tmp_path))
    expected = np.stack(drawn).astype(np.float64) / 255
    np.testing.assert_array_equal(expected[..., 0], expected[..., 2])  # grey
    return expected[..., 0]


def test_supertml_equals_tintolib_with_the_same_font(puma_small, tmp_path, supertml):
    # given the imager's font, TINTOlib draws the same text
    X = puma_small[0].to_numpy()[:60]
    model = supertml.SuperTML(problem="regression", pixels=96, font_size=9)
    expected = _supertml_images(model, X, tmp_path)
    got = SuperTMLImager(pixels=96, font_size=9).fit(X).transform_images(X)[..., 0]
    # one grey level where glyphs share a pixel; the last decimal on a half
    # (TINTOlib formats the float64 value, we round the float32 one)
    close = np.isclose(got, expected, atol=1 / 255 + 1e-6)
    assert close.mean() > 0.999


def test_supertml_vf_lays_out_the_texts_as_tintolib(puma_small, tmp_path, supertml):
    # SuperTML-VF: font sizes by importance (10 px down to 4: at 4 px and more
    # every text's box is that of "0.000"), the first free place in turn
    X = puma_small[0].to_numpy()[:40]
    importances = np.array([1.0, 0.8, 0.6, 0.9, 0.5, 0.7, 0.45, 0.55])
    model = supertml.SuperTML(
        problem="regression", pixels=96, font_size=10, feature_importance=True
    )
    expected = _supertml_images(model, X, tmp_path, importances)
    imager = SuperTMLImager(pixels=96, font_size=10, feature_importance=importances)
    got = imager.fit(X).transform_images(X)[..., 0]
    assert sorted(set(imager.font_sizes_)) == [4, 5, 6, 7, 8, 9, 10]
    close = np.isclose(got, expected, atol=1 / 255 + 1e-6)
    assert close.mean() > 0.999
    # and its texts' ink lies in the imager's feature masks
    assert not (expected * ~imager.feature_masks_.any(axis=0)).any()


def test_a_constant_row_is_drawn_mid_grey_where_tintolib_is_undefined(tmp_path):
    X = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.2, 0.7, 0.4]])
    with np.errstate(invalid="ignore"):
        expected = _tintolib_images(DistanceMatrix(problem="regression"), X, tmp_path)
    assert np.isnan(expected[0]).all()  # 0 / 0
    got = DistanceMatrixImager().fit(X).transform_images(X)
    np.testing.assert_array_equal(got[0], 0.5)
    np.testing.assert_allclose(got[2], expected[2], atol=1e-7)


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (ClustersImager(random_state=1), dict(algorithm="kmeans")),
        (
            ClustersImager("kmeans", 9, rbf=True, random_state=3),
            dict(algorithm="kmeans", n_clusters=9, random_seed=3, RBFMethod=True),
        ),
        (ClustersImager("kmedoids", random_state=1), dict(algorithm="kmedoids")),
        (
            ClustersImager("kmedoids", metric="manhattan", rbf=True, random_state=1),
            dict(algorithm="kmedoids", metric="manhattan", RBFMethod=True),
        ),
        (
            ClustersImager("kmedoids", metric="chebyshev", random_state=1),
            dict(algorithm="kmedoids", metric="chebyshev"),
        ),
        (
            ClustersImager("gaussian_mixture", 6, random_state=1),
            dict(algorithm="gaussianMix", n_clusters=6),
        ),
        *[
            (
                ClustersImager(
                    "gaussian_mixture", 5, covariance_type=kind, random_state=1
                ),
                dict(algorithm="gaussianMix", n_clusters=5, covariance_type=kind),
            )
            for kind in ("tied", "diag", "spherical")
        ],
        (
            ClustersImager("factor", 5, random_state=1),
            dict(algorithm="factor", n_clusters=5),
        ),
    ],
    ids=[
        "kmeans",
        "kmeans-9-rbf",
        "kmedoids",
        "kmedoids-manhattan-rbf",
        "kmedoids-chebyshev",
        "gmm-full",
        "gmm-tied",
        "gmm-diag",
        "gmm-spherical",
        "factor",
    ],
)
def test_clusters_equal_tintolib(puma_small, tmp_path, ours, theirs):
    # TINTOlib rounds its pixels to uint8 before its writer: we compare at
    # its grey levels, one level allowed (float32 drawing on a half level)
    X = puma_small[0].to_numpy()[:300]
    expected = _tintolib_images(Clusters(problem="regression", **theirs), X, tmp_path)
    got = ours.fit(X).transform_images(X)
    assert got.shape == expected.shape
    levels = np.abs(np.round(255 * got) - expected)
    assert levels.max() <= 1
    assert (levels > 0).mean() < 1e-3
