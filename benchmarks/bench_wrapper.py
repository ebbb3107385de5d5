"""HybridRegressor overhead over raw Keras, training memory on 1,000,000 rows,
and where an epoch's time goes.

Usage: python benchmarks/bench_wrapper.py [--epochs N] [--repeats N] [--rows N]
       [--imagers NAME,...] [--only {timing,memory,parts}] [--out FILE]

1. Time: ``HybridRegressor.fit`` on puma8NH against building, compiling and
   fitting the *same* network (``build_hybrid_model`` with the same settings) in
   raw Keras on the same encoded data, epochs, batch size and optimizer (constant
   learning rate, no validation split, for both). Median of ``--repeats`` runs,
   alternating. Target: ratio <= 1.10.
2. Memory: in a fresh process per imager (``IMAGERS``: TINTO at 20x20, IGTD,
   and the drawn images), one epoch of ``HybridRegressor.fit`` on a synthetic
   ``--rows`` x 8 float64 table; peak resident memory during the fit (VmHWM) minus
   the resident memory just before it, over ``X.nbytes``. Images are rendered in
   the graph per batch, so this should not grow with n * height * width.
   Target: <= 3x.
3. Parts: seconds an epoch of the default ``HybridRegressor`` (its defaults;
   the report names its image) on puma8NH's first 6,554 rows (a 5-fold training fold's
   size), against the same with one part changed or left out (``PARTS``):
   the median of epochs 2-8 (the first traces the graph), the best of
   ``--repeats`` fits, alternating.

``--only NAME`` measures one of the three and keeps the others already in
``--out``.

It measures and writes results; it never asserts a target.
"""

import argparse
import json
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from _results import RESULTS, _commit, describe_machine, parse_names, write_result

NETWORK = dict(
    n_dense_layers=2,
    dense_units=64,
    n_conv_layers=2,
    base_filters=16,
    n_head_layers=1,
    head_units=64,
    dropout=0.1,
)


def _time_fits(epochs, repeats):
    import keras

    from skpermgrad import HybridRegressor, TintoImager
    from skpermgrad.datasets import load_puma8nh
    from skpermgrad.models import build_hybrid_model

    X, y = load_puma8nh(return_X_y=True)
    settings = dict(
        batch_size=32,
        epochs=epochs,
        validation_fraction=None,
        lr_schedule="constant",
        learning_rate=1e-3,
        random_state=0,
        **NETWORK,
    )

    def ours():
        HybridRegressor(TintoImager(pixels=20, random_state=0), **settings).fit(X, y)

    imager = TintoImager(pixels=20, random_state=0).fit(X)
    values = imager.transform_values(X)
    inputs = {"tabular": values, "image_input": values}
    target = ((y - y.mean()) / y.std()).astype("float32")[:, None]
    drawing = imager.get_drawing()

    def raw():
        keras.utils.set_random_seed(0)
        model = build_hybrid_model(
            n_features=X.shape[1],
            drawing=drawing,
            **NETWORK,
        )
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
        model.fit(inputs, target, batch_size=32, epochs=epochs, verbose=0)

    ours(), raw()  # warm-up: TensorFlow start-up costs are paid once
    times = {"skpermgrad": [], "keras": []}
    for _ in range(repeats):
        for name, fn in (("skpermgrad", ours), ("keras", raw)):
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    ours_s, raw_s = (
        statistics.median(times["skpermgrad"]),
        statistics.median(times["keras"]),
    )
    return dict(
        rows=len(X),
        epochs=epochs,
        repeats=repeats,
        hybrid_fit_s=round(ours_s, 3),
        keras_fit_s=round(raw_s, 3),
        ratio=round(ours_s / raw_s, 3),
        all_times_s={k: [round(t, 3) for t in v] for k, v in times.items()},
    )


_MEMORY_SCRIPT = textwrap.dedent(
    """
    import json, re
    import numpy as np
    import skpermgrad
    from skpermgrad import HybridRegressor

    def status(field):
        text = open("/proc/self/status").read()
        return int(re.search(field + r":\\s+(\\d+) kB", text).group(1)) * 1024

    rng = np.random.default_rng(0)
    X = rng.normal(size=({rows}, 8))
    y = X @ rng.normal(size=8) + 0.1 * rng.normal(size={rows})
    def imager():
        return skpermgrad.{imager}

    reg = HybridRegressor(imager(), epochs=1, batch_size={batch_size},
                          random_state=0, {network})
    # warm TensorFlow up on a few rows so its one-off allocations are not counted
    # (same batch size: the per-batch buffers are O(batch), paid once)
    HybridRegressor(imager(), epochs=1, batch_size={batch_size}, random_state=0,
                    {network}).fit(X[:4 * {batch_size}], y[:4 * {batch_size}])
    before = status("VmRSS")
    reg.fit(X, y)
    peak = status("VmHWM")
    image = reg.feature_encoder_.imager_.image_shape_
    print(json.dumps(dict(x_bytes=X.nbytes, rss_before=before, peak=peak,
                          image=list(image))))
    """
)


# name: the imager, as an expression in the skpermgrad namespace
IMAGERS = {
    "tinto": "TintoImager(pixels=20, random_state=0)",
    "igtd": "IGTDImager(random_state=0)",
    "distance_matrix": "DistanceMatrixImager()",
    "bar_graph": "BarGraphImager()",
    "combination": "CombinationImager()",
    "bie": "BIEImager()",
    "feature_wrap": "FeatureWrapImager()",
    "supertml": "SuperTMLImager(pixels=60, font_size=6)",
    "clusters": "ClustersImager(random_state=0)",
}


# name: the HybridRegressor parameters that change one part of the default
PARTS = {
    "default": {},
    "ensemble_size=1": {"ensemble_size": 1},
    "ensemble_size=2": {"ensemble_size": 2},
    "ensemble_size=32": {"ensemble_size": 32},
    "normalization=None": {"normalization": None},
    "numeric_embedding=None": {"numeric_embedding": None},
    "mlp_input='minmax'": {"mlp_input": "minmax"},
    "validation_fraction=None": {"validation_fraction": None},
    "branches='mlp'": {"branches": "mlp"},
    "branches='cnn'": {"branches": "cnn"},
    "branches='mlp', ensemble_size=1": {"branches": "mlp", "ensemble_size": 1},
    "branches='cnn', ensemble_size=1": {"branches": "cnn", "ensemble_size": 1},
}
_PART_ROWS, _PART_EPOCHS = 6554, 8


def _time_parts(repeats):
    import keras

    from skpermgrad import HybridRegressor
    from skpermgrad.datasets import load_puma8nh

    class Clock(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.start)

    X, y = load_puma8nh(return_X_y=True)
    X, y = X[:_PART_ROWS], y[:_PART_ROWS]
    seconds = {name: [] for name in PARTS}
    for _ in range(repeats):
        for name, params in PARTS.items():
            clock = Clock()
            reg = HybridRegressor(
                random_state=0,
                epochs=_PART_EPOCHS,
                patience=_PART_EPOCHS,  # no early stop
                callbacks=[clock],
                **params,
            ).fit(X, y)
            seconds[name].append(statistics.median(clock.seconds[1:]))
            if name == "default":
                imager = reg.feature_encoder_.imager_
                default_image = (
                    f"{type(imager).__name__}, "
                    f"{'x'.join(map(str, imager.image_shape_))}"
                )
                batch_size = reg.batch_size
    return dict(
        rows=_PART_ROWS,
        epochs=_PART_EPOCHS,
        repeats=repeats,
        image=default_image,
        batch_size=batch_size,
        epoch_s={name: round(min(s), 3) for name, s in seconds.items()},
        all_epoch_s={name: [round(t, 3) for t in s] for name, s in seconds.items()},
        commit=_commit(),
    )


def _memory(rows, batch_size, imager):
    network = ", ".join(f"{k}={v!r}" for k, v in NETWORK.items())
    script = _MEMORY_SCRIPT.format(
        rows=rows, batch_size=batch_size, network=network, imager=IMAGERS[imager]
    )
    out = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    )
    res = json.loads(out.stdout.strip().splitlines()[-1])
    extra = res["peak"] - res["rss_before"]
    height, width, channels = res["image"]
    return dict(
        imager=IMAGERS[imager],
        image=res["image"],
        rows=rows,
        batch_size=batch_size,
        x_mib=round(res["x_bytes"] / 2**20, 1),
        peak_extra_mib=round(extra / 2**20, 1),
        ratio=round(extra / res["x_bytes"], 2),
        dense_images_would_be_mib=round(
            rows * height * width * channels * 4 / 2**20, 1
        ),
        commit=_commit(),
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=1024, help="memory run")
    parser.add_argument("--imagers", help=f"comma-separated, from {list(IMAGERS)}")
    parser.add_argument(
        "--only",
        choices=["timing", "memory", "parts"],
        help="measure this one; keep the others already in --out",
    )
    parser.add_argument("--out", default=str(RESULTS / "bench_wrapper.json"))
    parser.add_argument(
        "--render", action="store_true", help="only rewrite the markdown of --out"
    )
    args = parser.parse_args(argv)
    if args.render:
        out = Path(args.out)
        out.with_suffix(".md").write_text(markdown(json.loads(out.read_text())))
        return

    out = Path(args.out)
    before = json.loads(out.read_text()) if out.is_file() else {}
    measured = {args.only} if args.only else {"timing", "memory", "parts"}
    if "timing" not in measured and "timing" not in before:
        parser.error(
            f"--only {args.only} keeps the fit timing already in {out}, which has "
            "none: run without --only (or with --only timing) first"
        )
    if "timing" not in measured:
        timing = before["timing"]
    else:
        timing = _time_fits(args.epochs, args.repeats)
        timing["commit"] = _commit()
        print(
            f"fit time, puma8NH ({timing['rows']} rows, {timing['epochs']} epochs): "
            f"HybridRegressor {timing['hybrid_fit_s']:.2f} s, raw Keras "
            f"{timing['keras_fit_s']:.2f} s, ratio {timing['ratio']:.3f} "
            "(target <= 1.10)"
        )
    if "parts" not in measured:
        parts = before.get("parts")
    else:
        parts = _time_parts(args.repeats)
        print(
            "seconds an epoch: "
            + ", ".join(f"{k} {v:.3f}" for k, v in parts["epoch_s"].items()),
            flush=True,
        )
    names = list(IMAGERS) if "memory" in measured else []
    if args.imagers:
        names = parse_names(parser, args.imagers, IMAGERS, "imager")
    # the imagers not measured again keep their results (one fit each); a run
    # at other rows or batch size is kept beside the default one
    defaults = parser.parse_args([])
    memory = {
        k: v
        for k, v in before.get("memory", {}).items()
        if k.partition("@")[0] in IMAGERS
    }
    for name in names:
        key = name
        if (args.rows, args.batch_size) != (defaults.rows, defaults.batch_size):
            key = f"{name}@rows={args.rows},batch_size={args.batch_size}"
        memory[key] = m = _memory(args.rows, args.batch_size, name)
        print(
            f"{name}: one epoch on {m['rows']} x 8: X is {m['x_mib']} MiB, peak "
            f"extra memory {m['peak_extra_mib']} MiB, ratio {m['ratio']:.2f} "
            f"(target <= 3; materialised float32 {m['image']} images alone would "
            f"be {m['dense_images_would_be_mib']} MiB)",
            flush=True,
        )

    # a note written into the file by hand (what shared the machine, what a
    # number means) stays with it
    extra = {"note": before["note"]} if "note" in before else {}
    write_result(
        args.out,
        "bench_wrapper",
        ["tensorflow-cpu", "keras", "scikeras"],
        network=NETWORK,
        timing=timing,
        memory=memory,
        **({"parts": parts} if parts else {}),
        **extra,
    )
    Path(args.out).with_suffix(".md").write_text(markdown(json.loads(out.read_text())))


def markdown(saved):
    """The results file as a report: the fit-time ratio, one row per memory
    run, then the epoch's parts."""
    timing = saved["timing"]
    measured = timing.get("note", "")
    if "commit" in timing:
        measured = f"commit {str(timing['commit'])[:7]}"
    lines = [
        "# HybridRegressor's overhead and training memory",
        "",
        f"On {describe_machine(saved['machine'])}, written {saved['date']}; each entry "
        "records its commit.",
        "",
        f"Fit time on puma8NH ({timing['rows']} rows, {timing['epochs']} epochs, "
        f"median of {timing['repeats']}): HybridRegressor "
        f"{timing['hybrid_fit_s']:.2f} s, the same network in raw Keras "
        f"{timing['keras_fit_s']:.2f} s, ratio {timing['ratio']:.3f} (target <= "
        f"1.10; {measured}).",
        "",
        "Memory: one epoch's peak resident memory beyond the resident memory just "
        "before the fit (after a warm-up fit at the same batch size), over the "
        "size of X (target <= 3).",
        "",
        "| imager | image | rows | batch | X MiB | peak extra MiB | ratio | "
        "dense images would be MiB | commit |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for entry in saved["memory"].values():
        lines.append(
            f"| `{entry['imager']}` | {'x'.join(map(str, entry['image']))} | "
            f"{entry['rows']:,} | {entry['batch_size']} | {entry['x_mib']} | "
            f"{entry['peak_extra_mib']} | {entry['ratio']:.2f} | "
            f"{entry['dense_images_would_be_mib']} | {str(entry['commit'])[:7]} |"
        )
    parts = saved.get("parts")
    if parts:
        default = parts["epoch_s"]["default"]
        lines += [
            "",
            "Where an epoch goes: seconds an epoch of the default HybridRegressor "
            f"({parts['image']}, batch {parts['batch_size']}) on puma8NH's first "
            f"{parts['rows']:,} "
            f"rows, median of epochs 2-{parts['epochs']}, best of "
            f"{parts['repeats']} (commit {str(parts['commit'])[:7]}), against the "
            "same with one part changed or left out:",
            "",
            "| HybridRegressor(...) | s an epoch | of the default's |",
            "|---|---:|---:|",
        ]
        for name, seconds in parts["epoch_s"].items():
            lines.append(f"| {name} | {seconds:.3f} | {seconds / default:.0%} |")
    if saved.get("note"):
        lines += ["", saved["note"]]
    return "\n".join(lines + [""])


if __name__ == "__main__":
    main()
