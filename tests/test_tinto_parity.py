"""Pixel-exact parity of TintoImager with TINTOlib, the reference implementation."""

import numpy as np
import pandas as pd
import pytest

from skpermgrad import TintoImager

tinto = pytest.importorskip(
    "TINTOlib.tinto",
    reason="TINTOlib (the parity extra, pandas<3) runs in its own environment: "
    "see docs/install.md",
)
from sklearn.preprocessing import MinMaxScaler  # noqa: E402

# Our option names -> TINTOlib's.
_TINTOLIB_NAMES = {"option": {"max": "maximum"}, "algorithm": {"tsne": "t-SNE"}}


def _run_tintolib(X, tmp_path, **params):
    """Fit TINTOlib and read back its npy images and pixel positions."""
    kwargs = {
        key: _TINTOLIB_NAMES.get(key, {}).get(value, value)
        for key, value in params.items()
    }
    algorithm = kwargs.pop("algorithm", "pca")
    kwargs["algorithm"] = {"pca": "PCA"}.get(algorithm, algorithm)
    seed = kwargs.pop("random_state")
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    frame["target"] = 0.0
    model = tinto.TINTO(
        problem="regression",
        transformer=MinMaxScaler(),
        format="npy",
        random_seed=seed,
        **kwargs,
    )
    model.fit_transform(frame, str(tmp_path))
    files = sorted((tmp_path / "images").glob("*.npy"))
    images = np.stack([np.load(f) for f in files])
    return images, model.pos_pixel_caract.astype(int), model.error_pos


@pytest.mark.parametrize(
    "params",
    [
        dict(algorithm="pca"),
        dict(algorithm="pca", blur=True),
        dict(algorithm="pca", blur=True, option="max"),
        dict(algorithm="pca", blur=True, distance=1, steps=2, amplification=2.0),
        dict(algorithm="pca", pixels=12),
        dict(algorithm="tsne"),
        dict(algorithm="tsne", blur=True),
    ],
    ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items()),
)
def test_parity_with_tintolib(puma_small, tmp_path, params):
    X = puma_small[0].to_numpy()[:200]
    params = {"pixels": 20, "random_state": 1, **params}
    expected, positions, collided = _run_tintolib(X, tmp_path, **params)
    assert not collided  # these settings give every feature its own pixel

    imager = TintoImager(**params).fit(X)
    np.testing.assert_array_equal(imager.feature_positions_, positions)
    images = imager.transform_images(X)
    assert images.shape == (len(X), params["pixels"], params["pixels"], 1)
    np.testing.assert_allclose(images[..., 0], expected, rtol=0, atol=1e-6)


def test_tintolib_overwrites_collisions_we_keep_every_feature(tmp_path, rng):
    # Three nearly identical columns land on one pixel in TINTOlib.
    base = rng.normal(size=(80, 1))
    X = np.hstack([base, base + 1e-9, rng.normal(size=(80, 3))])
    expected, positions, collided = _run_tintolib(
        X, tmp_path, pixels=10, random_state=1
    )
    assert collided
    # TINTOlib: the later feature overwrites the earlier one at the shared pixel.
    r, c = positions[1]
    scaled = (X - X.min(0)) / (X.max(0) - X.min(0))
    np.testing.assert_allclose(expected[:, r, c], scaled[:, 1], atol=1e-6)

    imager = TintoImager(pixels=10, random_state=1).fit(X)
    assert imager.moved_features_.tolist() == [1]
    flat = [tuple(p) for p in imager.feature_positions_]
    assert len(set(flat)) == X.shape[1]
    # Everything that did not collide is where TINTOlib put it.
    keep = [0, 2, 3, 4]
    np.testing.assert_array_equal(imager.feature_positions_[keep], positions[keep])
    images = imager.transform_images(X)[..., 0]
    rows, cols = imager.feature_positions_.T
    np.testing.assert_allclose(images[:, rows, cols], scaled, atol=1e-6)


def test_tintolib_zoom_is_applied_twice_ours_once(puma_small, tmp_path):
    X = puma_small[0].to_numpy()[:50]
    expected, _, _ = _run_tintolib(X, tmp_path, pixels=8, zoom=2, random_state=1)
    assert expected.shape[1:] == (32, 32)  # 8 * 2**2: TINTOlib 1.3.1 zooms twice
    images = TintoImager(pixels=8, zoom=2, random_state=1).fit_transform(X)
    images = images.reshape(len(X), 16, 16)
    np.testing.assert_allclose(images, expected[:, ::2, ::2], atol=1e-6)


def test_tintolib_shares_its_default_scaler_we_do_not(puma_small):
    X = puma_small[0].to_numpy()
    a, b = tinto.TINTO(), tinto.TINTO()
    assert a.transformer is b.transformer  # one MinMaxScaler for every instance

    first = TintoImager(pixels=10, random_state=0).fit(X[:100])
    TintoImager(pixels=10, random_state=0).fit(X[100:] * 10)
    np.testing.assert_allclose(first.data_min_, X[:100].min(axis=0))
    np.testing.assert_allclose(first.data_max_, X[:100].max(axis=0))


def test_images_are_not_normalised_per_image(puma_small):
    # TINTOlib's PNGs are rescaled to each image's own maximum; ours keep the
    # learned scale, so a row of training minima is black everywhere.
    X = puma_small[0].to_numpy()
    imager = TintoImager(pixels=10, random_state=0).fit(X)
    low = imager.transform(X.min(axis=0, keepdims=True))
    high = imager.transform(X.max(axis=0, keepdims=True))
    assert low.max() == 0.0
    assert high.max() == 1.0
    half = imager.transform(((X.min(0) + X.max(0)) / 2)[None])
    rows, cols = imager.feature_positions_.T
    np.testing.assert_allclose(half.reshape(10, 10)[rows, cols], 0.5, atol=1e-6)
