"""The imagers vs TINTOlib 1.3.1 (its fastest output): speed ratio, equal output.

Usage: python benchmarks/bench_imager.py [--only NAME,...] [--repeats N]
       [--tintolib-repeats N] [--data-dir DIR] [--out FILE]

Two tables: puma8NH (8,192 rows, 8 features, bundled) and spambase (4,601
rows, 57 features, ``../shared/datasets``). TINTOlib's time is its
``fit_transform`` writing one ``.npy`` per row into a temporary folder (its
fastest output; the drawn images, DistanceMatrix, BarGraph and Combination,
write only PNG files, ``uint8(255 * value)``, Clusters
``uint8(round(255 * value))``); ours is ``fit`` +
``transform_images`` in memory; each is the best of a few runs, with the
same settings, and the script checks that the images agree before it
reports the ratio (``max_abs_diff``, on TINTOlib's scale: IGTD stores
``255 * (1 - value)``, a PNG ``uint8(255 * value)``, so 1 is one grey level;
``differing_pixels``, the share of pixels further apart than that).

REFINED: TINTOlib 1.3.1 runs its hill climbing under ``mpirun`` (mpi4py and an
MPI installation, not among its dependencies) and its image writer fails on
NumPy 2.4 (``float()`` of a 1-element array); its time here is its own
functions replayed in one process (MDS, first assignment, hill climbing: the
fit alone, no images written), and ``cost`` compares the layouts' objective.
SuperTML-VF (``supertml-vf``): each fits its random forest on the table's
target (puma8NH's, spambase's class); the images are compared with ours drawn
with TINTOlib's importances, and ``same_font_size`` is the share of features
whose font size our own forest sets as TINTOlib's does.
It measures, it never asserts a target. With ``--only``, the results of the
other settings already in ``--out`` are kept (each row records its commit and
its repeats).
"""

import argparse
import json
import tempfile
import time
import warnings
from itertools import product
from pathlib import Path

import numpy as np
import pandas as pd
from _results import RESULTS, _commit, parse_names, write_result

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
from skpermgrad.datasets import load_puma8nh

DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def _tables(data_dir):
    """Each table's ``(X, y, problem)``, the problem as TINTOlib names it."""
    X, y = load_puma8nh(return_X_y=True)
    tables = {"puma8NH": (X, y, "regression")}
    path = Path(data_dir) / "pmlb" / "spambase.tsv.gz"
    if path.is_file():
        frame = pd.read_csv(path, sep="\t")
        X = frame.drop(columns=["target"]).to_numpy(float)
        tables["spambase"] = (X, frame["target"].to_numpy(), "classification")
    return tables


def _side(X, factor=1):
    return max(2, int(np.ceil(np.sqrt(factor * X.shape[1]))))


def _png_grey_as_rgb(images):
    """Our one-channel images as TINTOlib's RGB PNG files (the same grey on
    every channel)."""
    return _png(images)[..., None].repeat(3, axis=-1)


# SuperTML's side here: TINTOlib's 224 px images of 8,192 rows would not fit in
# memory once read back
TEXT_PIXELS = 96


def _text_size(X, pixels=TEXT_PIXELS):
    """SuperTML's font size: TINTOlib's 10, or the largest whose text fits the
    cells of the table's grid."""
    from PIL import Image, ImageDraw, ImageFont

    from skpermgrad.imaging._supertml import _font_path

    cell_width = pixels // int(np.ceil(np.sqrt(X.shape[1])))
    pen = ImageDraw.Draw(Image.new("L", (1, 1)))
    for size in range(10, 1, -1):
        box = pen.textbbox((0, 0), "0.000", font=ImageFont.truetype(_font_path(), size))
        if box[2] - box[0] <= cell_width:
            return size
    return 1


def _tintolib_supertml(font_size, problem="regression", feature_importance=False):
    """TINTOlib's SuperTML (``TEXT_PIXELS``), given the font the imager writes
    with: TINTOlib loads "arial.ttf" by name, absent here."""
    import TINTOlib.supertml as supertml

    from skpermgrad.imaging._supertml import _font_path

    truetype = supertml.ImageFont.truetype
    if not getattr(truetype, "substituted", False):

        def substitute(font, size):
            return truetype(_font_path() if font == "arial.ttf" else font, size)

        substitute.substituted = True
        supertml.ImageFont.truetype = substitute
    return supertml.SuperTML(
        problem=problem,
        pixels=TEXT_PIXELS,
        font_size=font_size,
        feature_importance=feature_importance,
    )


def _wrap_size(X, bins=10):
    """The smallest square FeatureWrap image of ``X``'s bits (8 x 8 at least)."""
    return (max(8, _side(X, bins / 8)),) * 2


def _png(images):
    """Our float images as TINTOlib's PNG files hold them."""
    return np.uint8(images * 255).astype(np.float64)


def _png_rounded(images):
    """Our float images as TINTOlib's Clusters writes them (it rounds)."""
    return np.round(images * 255).astype(np.float64)


# the settings whose imagers learn from the target: SuperTML-VF's font sizes
# follow a random forest's importances. The others are fitted, as TINTOlib's
# regression, on a constant target (which none of them reads).
TARGETED = {"supertml-vf"}


# name: (our imager from X, TINTOlib model from X, TINTOlib's file from ours);
# for a setting in TARGETED, TINTOlib's model from X and the table's problem
def _settings():
    from sklearn.preprocessing import MinMaxScaler
    from TINTOlib.barGraph import BarGraph
    from TINTOlib.bie import BIE
    from TINTOlib.clusters import Clusters
    from TINTOlib.combination import Combination
    from TINTOlib.deepInsight import DeepInsight
    from TINTOlib.distanceMatrix import DistanceMatrix
    from TINTOlib.featureWrap import FeatureWrap
    from TINTOlib.fotomics import Fotomics
    from TINTOlib.igtd import IGTD
    from TINTOlib.tinto import TINTO

    def tinto(**kw):
        names = {"pca": "PCA", "tsne": "t-SNE"}
        return (
            lambda X: TintoImager(pixels=20, random_state=1, **kw),
            lambda X: TINTO(
                problem="regression",
                transformer=MinMaxScaler(),
                format="npy",
                pixels=20,
                random_seed=1,
                blur=kw.get("blur", False),
                algorithm=names[kw.get("algorithm", "pca")],
            ),
            lambda images: images,
        )

    return {
        "tinto-pca": tinto(),
        "tinto-pca+blur": tinto(blur=True),
        "tinto-tsne": tinto(algorithm="tsne"),
        "igtd": (
            lambda X: IGTDImager(random_state=1),
            lambda X: IGTD(
                problem="regression",
                transformer=MinMaxScaler(),
                scale=[_side(X)] * 2,
                format="npy",
                random_seed=1,
            ),
            lambda images: 255 * (1 - images),
        ),
        "deepinsight-pca": (
            lambda X: DeepInsightImager(collisions="mean", random_state=1),
            lambda X: DeepInsight(
                _side(X, 2),
                problem="regression",
                transformer=MinMaxScaler(),
                format="npy",
                random_seed=1,
            ),
            lambda images: images,
        ),
        "fotomics": (
            lambda X: FotomicsImager(collisions="mean"),
            lambda X: Fotomics(_side(X, 2), problem="regression", format="npy"),
            lambda images: images,
        ),
        "distance_matrix": (
            lambda X: DistanceMatrixImager(),
            lambda X: DistanceMatrix(problem="regression"),
            _png,
        ),
        "bar_graph": (
            lambda X: BarGraphImager(pixel_width=2, gap=1),
            lambda X: BarGraph(problem="regression", pixel_width=2, gap=1),
            _png,
        ),
        "combination": (
            lambda X: CombinationImager(),
            lambda X: Combination(problem="regression"),
            _png,
        ),
        "bie": (
            lambda X: BIEImager(),
            lambda X: BIE(problem="regression"),
            _png,
        ),
        "supertml": (
            lambda X: SuperTMLImager(TEXT_PIXELS, font_size=_text_size(X)),
            lambda X: _tintolib_supertml(font_size=_text_size(X)),
            _png_grey_as_rgb,
        ),
        # ours and TINTOlib's each fit their forest (100 trees, seed 1, on all
        # cores; on spambase a classifier); the images are compared with ours
        # drawn with TINTOlib's importances (its forest reads the rows in a
        # random order)
        "supertml-vf": (
            lambda X: SuperTMLImager(
                TEXT_PIXELS,
                font_size=_text_size(X),
                feature_importance=True,
                random_state=1,
                n_jobs=-1,
            ),
            lambda X, problem: _tintolib_supertml(
                _text_size(X), problem=problem, feature_importance=True
            ),
            _png_grey_as_rgb,
        ),
        "feature_wrap": (
            lambda X: FeatureWrapImager(size=_wrap_size(X)),
            lambda X: FeatureWrap(problem="regression", size=_wrap_size(X)),
            _png,
        ),
        "clusters": (  # both defaults: k-means, 16 clusters, seed 1
            lambda X: ClustersImager(random_state=1),
            lambda X: Clusters(problem="regression"),
            _png_rounded,
        ),
    }


def _time_tintolib(model, X, repeats, y=None):
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    frame["target"] = 0.0 if y is None else y
    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit_transform(frame, folder)
            times.append(time.perf_counter() - start)
            images = _read_images(Path(folder))
    return min(times), images


def _compare(ref, on_their_scale, ours, tolerance, block=512):
    """The largest difference between TINTOlib's images and ours on its
    scale, and the share of pixels further apart than ``tolerance``; by
    blocks of rows, so that large images compare in bounded memory."""
    largest, beyond = 0.0, 0
    for start in range(0, len(ref), block):
        rows = slice(start, start + block)
        gap = np.abs(ref[rows] - on_their_scale(ours[rows]))
        largest = max(largest, float(gap.max()))
        beyond += int(np.count_nonzero(gap > tolerance))
    return largest, beyond / ref.size


def _read_images(folder):
    """TINTOlib's images in row order: its npy files, or its PNG files (one
    channel, RGB, or matplotlib's RGBA grey); a classification's lie in one
    folder a class, each named by its row."""
    files = sorted(folder.rglob("*.npy"), key=lambda f: f.name)
    if files:
        return np.stack([np.load(f) for f in files])
    from PIL import Image

    files = sorted(folder.rglob("*.png"), key=lambda f: f.name)  # uint8 grey
    images = np.stack([np.asarray(Image.open(f)) for f in files])
    # matplotlib's imsave (BIE, FeatureWrap) writes grey as RGBA: its red
    return images[..., 0] if images.ndim == 4 and images.shape[-1] == 4 else images


def _time_ours(make, X, repeats, y=None):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        imager = make().fit(X, y)
        images = imager.transform_images(X)
        times.append(time.perf_counter() - start)
    return min(times), images if images.shape[-1] == 3 else images[..., 0], imager


def _tintolib_refined_fit(X):
    """TINTOlib's REFINED fit, its MPI hill climbing run by its own functions in
    one process; returns its objective."""
    from sklearn.manifold import MDS
    from sklearn.metrics.pairwise import euclidean_distances
    from sklearn.preprocessing import MinMaxScaler
    from TINTOlib.utils import Toolbox, paraHill

    objective = paraHill.universial_corr
    paraHill.universial_corr = lambda d, m: float(objective(d, m)[0])
    try:
        Xs = MinMaxScaler().fit_transform(X)
        n = Xs.shape[1]
        nn = int(np.ceil(np.sqrt(n)))
        transposed = pd.DataFrame(Xs).T
        dist = euclidean_distances(transposed)
        dist = np.maximum(dist, dist.T)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            xy = MDS(n_components=2, random_state=1).fit_transform(transposed)
        img = Toolbox.Assign_features_to_pixels(Toolbox.two_d_eq(xy, n), nn)
        mapping = np.char.strip(img.astype(str), "F").astype(int)
        for _ in range(5):
            for init in product([0, 1, 2], repeat=2):
                xs = [i for i in range(init[0], nn, 3)]
                ys = [i for i in range(init[1], nn, 3)]
                swaps = paraHill.evaluate_centroids_in_list(
                    list(product(xs, ys)), dist, mapping
                )
                mapping = paraHill.execute_dict_swap(swaps, mapping)
        return paraHill.universial_corr(dist, mapping)
    finally:
        paraHill.universial_corr = objective


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated settings")
    parser.add_argument("--repeats", type=int, default=5, help="runs of ours (best)")
    parser.add_argument(
        "--tintolib-repeats", type=int, default=2, help="runs of TINTOlib (best)"
    )
    parser.add_argument("--data-dir", default=str(DATA_DIR))
    parser.add_argument("--out", default=str(RESULTS / "bench_imager.json"))
    args = parser.parse_args(argv)

    settings = _settings()
    names = [*settings, "refined"]
    if args.only:
        names = parse_names(parser, args.only, names, "setting")
    rows = []
    for table, (X, y, problem) in _tables(args.data_dir).items():
        for name in names:
            extra = {}
            if name == "refined":
                start = time.perf_counter()
                theirs = _tintolib_refined_fit(X)
                ref_time = time.perf_counter() - start
                our_time, _, imager = _time_ours(
                    lambda: RefinedImager(random_state=1), X, args.repeats
                )
                diff, cost = None, dict(tintolib=theirs, skpermgrad=imager.cost_)
                differing = None
            elif name in TARGETED:
                ours_of, theirs_of, on_their_scale = settings[name]
                model = theirs_of(X, problem)
                ref_time, ref = _time_tintolib(model, X, args.tintolib_repeats, y)
                our_time, _, imager = _time_ours(lambda: ours_of(X), X, args.repeats, y)
                given = ours_of(X).set_params(
                    feature_importance=model.feature_importances
                )
                ours = given.fit(X).transform_images(X)[..., 0]
                diff, differing = _compare(ref, on_their_scale, ours, tolerance=1)
                cost = None
                # the share of features whose font size our forest sets as
                # TINTOlib's does
                extra["same_font_size"] = float(
                    np.mean(imager.font_sizes_ == given.font_sizes_)
                )
            else:
                ours_of, theirs_of, on_their_scale = settings[name]
                ref_time, ref = _time_tintolib(theirs_of(X), X, args.tintolib_repeats)
                our_time, ours, imager = _time_ours(lambda: ours_of(X), X, args.repeats)
                # a PNG holds grey levels: our float32 drawing may truncate to
                # the next level; more is a real difference (a longer bar, a
                # constant row's grey where TINTOlib writes 0 / 0)
                png = on_their_scale in (_png, _png_grey_as_rgb, _png_rounded)
                diff, differing = _compare(
                    ref, on_their_scale, ours, tolerance=1 if png else 1e-6
                )
                cost = None
            rows.append(
                dict(
                    table=table,
                    setting=name,
                    rows=len(X),
                    features=X.shape[1],
                    image=list(imager.image_shape_[:2]),
                    tintolib_s=round(ref_time, 4),
                    skpermgrad_s=round(our_time, 5),
                    speedup=round(ref_time / our_time, 1),
                    max_abs_diff=diff,
                    differing_pixels=differing,
                    cost=cost,
                    **extra,
                    repeats=dict(
                        skpermgrad=args.repeats, tintolib=args.tintolib_repeats
                    ),
                    commit=_commit(),
                )
            )
            r = rows[-1]
            print(
                f"{table:9} {name:16} {r['tintolib_s']:9.3f} s {r['skpermgrad_s']:9.4f}"
                f" s {r['speedup']:8.1f}x  diff={diff} ({differing})  cost={cost}",
                flush=True,
            )
    out = Path(args.out)
    if args.only and out.is_file():  # keep the settings not measured again
        again = {(r["table"], r["setting"]) for r in rows}
        before = json.loads(out.read_text())
        kept = [r for r in before["results"] if (r["table"], r["setting"]) not in again]
        for r in kept:  # rows of a file written before rows had these
            r.setdefault("commit", before["commit"])
            r.setdefault("repeats", before["repeats"])
        rows = kept + rows
    write_result(args.out, "bench_imager", ["TINTOlib"], results=rows)


if __name__ == "__main__":
    main()
