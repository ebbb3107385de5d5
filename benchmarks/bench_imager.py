"""TintoImager vs TINTOlib (npy output) on puma8NH: speed ratio and equal output.

Usage: python benchmarks/bench_imager.py [--repeats N] [--out FILE]

TINTOlib's time is its ``fit_transform`` writing one ``.npy`` per row into a
temporary folder (its fastest output); TintoImager's is ``fit`` +
``transform_images`` in memory; each is the best of a few runs. Both run with
the same settings; the script checks that the images agree before it reports
the ratio. It measures, it never asserts a target.
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _results import RESULTS, write_result

from skpermgrad import TintoImager
from skpermgrad.datasets import load_puma8nh

SETTINGS = {
    "pca": dict(algorithm="pca"),
    "pca+blur": dict(algorithm="pca", blur=True),
    "tsne": dict(algorithm="tsne"),
}


def _tintolib(X, params, repeats):
    from sklearn.preprocessing import MinMaxScaler
    from TINTOlib.tinto import TINTO

    names = {"pca": "PCA", "tsne": "t-SNE"}
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    frame["target"] = 0.0
    model = TINTO(
        problem="regression",
        transformer=MinMaxScaler(),
        format="npy",
        pixels=20,
        random_seed=1,
        blur=params.get("blur", False),
        algorithm=names[params["algorithm"]],
    )
    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            model.fit_transform(frame, folder)
            times.append(time.perf_counter() - start)
            files = sorted(Path(folder, "images").glob("*.npy"))
            images = np.stack([np.load(f) for f in files])
    return min(times), images


def _ours(X, params, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        imager = TintoImager(pixels=20, random_state=1, **params).fit(X)
        images = imager.transform_images(X)
        times.append(time.perf_counter() - start)
    return min(times), images[..., 0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs of ours (best)")
    parser.add_argument(
        "--tintolib-repeats", type=int, default=2, help="runs of TINTOlib (best)"
    )
    parser.add_argument("--out", default=str(RESULTS / "bench_imager.json"))
    args = parser.parse_args(argv)

    X, _ = load_puma8nh(return_X_y=True)
    rows = []
    for name, params in SETTINGS.items():
        ref_time, ref = _tintolib(X, params, args.tintolib_repeats)
        our_time, ours = _ours(X, params, args.repeats)
        rows.append(
            dict(
                setting=name,
                rows=len(X),
                tintolib_s=round(ref_time, 4),
                skpermgrad_s=round(our_time, 5),
                speedup=round(ref_time / our_time, 1),
                max_abs_diff=float(np.abs(ref - ours).max()),
            )
        )
    print(
        f"{'setting':10} {'TINTOlib s':>11} {'ours s':>9} "
        f"{'speed-up':>9} {'max|diff|':>10}"
    )
    for r in rows:
        print(
            f"{r['setting']:10} {r['tintolib_s']:11.3f} {r['skpermgrad_s']:9.4f} "
            f"{r['speedup']:8.1f}x {r['max_abs_diff']:10.1e}"
        )
    write_result(
        args.out,
        "bench_imager",
        ["TINTOlib"],
        repeats=dict(skpermgrad=args.repeats, tintolib=args.tintolib_repeats),
        results=rows,
    )


if __name__ == "__main__":
    main()
