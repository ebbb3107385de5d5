"""Parity of the learned layouts with TINTOlib 1.3.1: IGTD, REFINED, DeepInsight,
Fotomics (runs in the parity environment, pandas<3; see docs/install.md)."""

import warnings

import numpy as np
import pandas as pd
import pytest

from skpermgrad import DeepInsightImager, FotomicsImager, IGTDImager, RefinedImager

pytest.importorskip(
    "TINTOlib.igtd",
    reason="TINTOlib (the parity extra, pandas<3) runs in its own environment: "
    "see docs/install.md",
)
from sklearn.preprocessing import MinMaxScaler  # noqa: E402
from TINTOlib.deepInsight import DeepInsight  # noqa: E402
from TINTOlib.fotomics import Fotomics  # noqa: E402
from TINTOlib.igtd import IGTD  # noqa: E402
from TINTOlib.refined import REFINED  # noqa: E402
from TINTOlib.utils import Toolbox, paraHill  # noqa: E402


def _frame(X):
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    frame["target"] = 0.0
    return frame


def _npy_images(model, X, tmp_path):
    """Fit-transform a TINTOlib method with npy output, images in row order."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit_transform(_frame(X), str(tmp_path))
    files = sorted((tmp_path / "images").glob("*.npy"))
    return np.stack([np.load(f) for f in files])


@pytest.fixture
def wide(rng):
    """57 correlated features (spambase's width), 150 rows."""
    return rng.normal(size=(150, 57)) @ rng.normal(size=(57, 57))


@pytest.mark.parametrize(
    "params",
    [
        dict(),
        dict(error="abs"),
        dict(feature_distance="spearman", pixels=4),
        dict(feature_distance="euclidean", pixel_distance="manhattan"),
    ],
    ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items()) or "defaults",
)
def test_igtd_images_equal_tintolib(puma_small, tmp_path, params):
    X = puma_small[0].to_numpy()[:120]
    names = {
        "feature_distance": "fea_dist_method",
        "pixel_distance": "image_dist_method",
    }
    tintolib_values = {"pearson": "Pearson", "spearman": "Spearman"}
    tintolib_values.update(euclidean="Euclidean", manhattan="Manhattan")
    kwargs = {
        names.get(k, k): tintolib_values.get(v, v)
        for k, v in params.items()
        if k != "pixels"
    }
    side = params.get("pixels", 3)
    model = IGTD(
        problem="regression",
        transformer=MinMaxScaler(),
        scale=[side, side],
        format="npy",
        random_seed=1,
        **kwargs,
    )
    expected = _npy_images(model, X, tmp_path)
    imager = IGTDImager(random_state=1, **params).fit(X)
    # TINTOlib stores 255 * (1 - value) ("black means high"): an empty pixel,
    # 0 here, is 255 there
    images = imager.transform_images(X)[..., 0]
    np.testing.assert_allclose(255 * (1 - images), expected, atol=1e-3)


def test_igtd_wide_table_same_swaps_as_tintolib(wide):
    Xs = MinMaxScaler().fit_transform(wide)
    model = IGTD(scale=[8, 8], random_seed=3)
    source, _ = model._IGTD__generate_feature_distance_ranking(Xs)
    _, target = model._IGTD__generate_matrix_distance_ranking(8, 8, Xs.shape[1])
    index, errors, _ = model._IGTD__training(source, target)
    imager = IGTDImager(random_state=3).fit(wide)
    cells = imager.feature_positions_[:, 0] * 8 + imager.feature_positions_[:, 1]
    np.testing.assert_array_equal(np.argsort(cells), index[np.argmin(errors)])
    assert imager.cost_ == min(errors)
    assert imager.n_steps_ == len(errors) - 1


def _tintolib_refined(Xs, n_iterations, seed, monkeypatch):
    """TINTOlib's REFINED fit with its MPI hill climbing replayed in-process.

    TINTOlib 1.3.1 runs the hill climbing under ``mpirun`` (mpi4py and an MPI
    installation, which it does not install); this calls the same functions
    the master and the workers call, in their order: every centre of an
    offset evaluated on the same map, then the swaps made. Its objective
    returns a 1-element array that ``float()`` refuses on NumPy >= 2.4, so it
    is unwrapped to a scalar.
    """
    objective = paraHill.universial_corr
    monkeypatch.setattr(
        paraHill, "universial_corr", lambda d, m: float(objective(d, m)[0])
    )
    from itertools import product

    from sklearn.manifold import MDS
    from sklearn.metrics.pairwise import euclidean_distances

    n = Xs.shape[1]
    nn = int(np.ceil(np.sqrt(n)))
    transposed = pd.DataFrame(Xs).T
    dist = euclidean_distances(transposed)
    dist = np.maximum(dist, dist.T)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xy = MDS(n_components=2, random_state=seed).fit_transform(transposed)
    img = Toolbox.Assign_features_to_pixels(Toolbox.two_d_eq(xy, n), nn)
    start = np.char.strip(img.astype(str), "F").astype(int)
    mapping = start.copy()
    for _ in range(n_iterations):
        for init in product([0, 1, 2], repeat=2):
            xs = [init[0] + i * 3 for i in range(nn // 3 + 1) if init[0] + i * 3 < nn]
            ys = [init[1] + i * 3 for i in range(nn // 3 + 1) if init[1] + i * 3 < nn]
            swaps = paraHill.evaluate_centroids_in_list(
                list(product(xs, ys)), dist, mapping
            )
            mapping = paraHill.execute_dict_swap(swaps, mapping)
    return start, mapping, dist


def _map_of(imager, side):
    mapping = np.full((side, side), -1)
    for j, (r, c) in enumerate(imager.feature_positions_):
        mapping[r, c] = j
    return mapping


@pytest.mark.parametrize("which", ["puma", "wide"])
def test_refined_matches_tintolib_start_and_objective(
    puma_small, wide, which, monkeypatch
):
    X = puma_small[0].to_numpy()[:300] if which == "puma" else wide
    Xs = MinMaxScaler().fit_transform(X)
    start, mapping, dist = _tintolib_refined(Xs, 5, 1, monkeypatch)
    side = start.shape[0]
    unrefined = RefinedImager(n_iterations=0, random_state=1).fit(X)
    np.testing.assert_array_equal(_map_of(unrefined, side), start)
    imager = RefinedImager(random_state=1).fit(X)
    theirs = paraHill.universial_corr(dist, mapping)
    assert imager.initial_cost_ == pytest.approx(
        paraHill.universial_corr(dist, start), rel=1e-12
    )
    # the same moves up to floating-point ties: an objective no worse
    assert imager.cost_ <= theirs + 1e-12
    assert imager.cost_ < imager.initial_cost_


def test_tintolib_refined_needs_mpi(puma_small, tmp_path, monkeypatch):
    """What our in-process hill climbing replaces: TINTOlib shells out to mpirun."""
    import shutil

    if shutil.which("mpirun") and shutil.which("mpiexec"):
        pytest.skip("MPI is installed here")
    monkeypatch.chdir(tmp_path)
    model = REFINED(problem="regression", format="npy", random_seed=1)
    with pytest.raises(FileNotFoundError, match="mpirun"):
        model.fit(_frame(puma_small[0].to_numpy()[:50]))


_PROJECTIONS = [
    dict(algorithm="pca", assignment="bin"),
    dict(algorithm="pca", assignment="bin_digitize"),
    dict(algorithm="pca", assignment="lsa"),
    dict(algorithm="kpca", assignment="bin"),
    dict(algorithm="tsne", assignment="bin", pixels=6),
    dict(algorithm="pca", assignment="bin", pixels=10),
]
_TINTOLIB_ASSIGNMENT = {
    "bin": "bin",
    "bin_digitize": "bin_digitize",
    "lsa": "pixel_centroids_assigner",
}
_TINTOLIB_ALGORITHM = {"pca": "PCA", "kpca": "KPCA", "tsne": "t-SNE"}


@pytest.mark.parametrize(
    "params", _PROJECTIONS, ids=lambda p: "-".join(map(str, p.values()))
)
def test_deepinsight_images_equal_tintolib(puma_small, tmp_path, params):
    X = puma_small[0].to_numpy()[:150]
    side = params.get("pixels", 8)
    model = DeepInsight(
        side,
        problem="regression",
        transformer=MinMaxScaler(),
        algorithm_rd=_TINTOLIB_ALGORITHM[params["algorithm"]],
        assignment_method=_TINTOLIB_ASSIGNMENT[params["assignment"]],
        format="npy",
        random_seed=1,
    )
    expected = _npy_images(model, X, tmp_path)
    imager = DeepInsightImager(
        **{"pixels": side, **params}, collisions="mean", random_state=1
    ).fit(X)
    np.testing.assert_array_equal(
        imager.feature_positions_, model._features_positions.astype(int)
    )
    np.testing.assert_allclose(
        imager.transform_images(X)[..., 0], expected, rtol=0, atol=1e-6
    )


@pytest.mark.parametrize(
    "params",
    [
        dict(),
        dict(assignment="bin"),
        dict(assignment="lsa"),
        dict(outliers_treatment="avg"),
        dict(outliers_treatment="max/min", min_percentile=5, max_percentile=95),
        dict(outliers=False),
        dict(scaling="minmax"),
    ],
    ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items()) or "defaults",
)
def test_fotomics_images_equal_tintolib(puma_small, tmp_path, params):
    X = puma_small[0].to_numpy()[:150]
    kwargs = {k: v for k, v in params.items() if k not in ("assignment", "scaling")}
    if "assignment" in params:
        kwargs["assignment_method"] = _TINTOLIB_ASSIGNMENT[params["assignment"]]
    if params.get("scaling") == "minmax":
        kwargs["transformer"] = MinMaxScaler()
    model = Fotomics(8, problem="regression", format="npy", **kwargs)
    expected = _npy_images(model, X, tmp_path)
    imager = FotomicsImager(8, collisions="mean", **params).fit(X)
    np.testing.assert_array_equal(
        imager.feature_positions_, model._features_positions.astype(int)
    )
    np.testing.assert_allclose(
        imager.transform_images(X)[..., 0], expected, rtol=0, atol=1e-6
    )
