"""Where one fit of the hybrid spends its time (issue 50's profile).

Usage: python benchmarks/bench_profile.py [--quick] [--configs NAME,...]
       [--out FILE]

One fit of the hybrid on puma8NH's 80/20 split (inputs standardised, seed 0),
each configuration of ``CONFIGS`` (the library's defaults, and the candidate
speed-ups), timed by part with a Keras callback:

- ``setup``: from ``fit`` to the first epoch: validating, the imager's fit
  (IGTD's layout search), the quantile knots, building and compiling;
- ``first_epoch``: the first epoch, which traces the train and validation
  steps;
- per later epoch (their median): the train steps (each fetching its batch),
  the validation pass, and the rest (callbacks, the epoch's set-up);
- ``teardown``: from the last epoch to ``fit``'s return (the best weights).

Then, at the configuration's batch size, the compute of one train step on one
batch held in memory (``train_on_batch``), for the whole network and for
parts of it (``branches="mlp"``, ``branches="cnn"``, ``ensemble_size=1``),
and one epoch of train steps fed three ways: the hybrid's own batches
(``_Batches``, gathered on demand), NumPy arrays handed to Keras, and one
batch repeated (the compute alone). Results are merged per configuration
into ``--out`` (``bench_profile.json``, with ``.md``); docs/hybrid.md, "Where
a fit's time goes", reads them. It measures; it never asserts.
"""

import argparse
import statistics
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from _profile_report import markdown
from _results import RESULTS, merge_dataset, parse_names

STEPS = "steps_per_execution"
THREADS = "tensorflow_threads"
# name: the hybrid's parameters (everything else at the library's defaults);
# STEPS_PER_EXECUTION, the train steps of one call of Keras's compiled train
# function, is the library's constant, not a parameter: set apart here; and
# TensorFlow's intra- and inter-op threads, set for the process (in a child
# process of its own, through TF_NUM_INTRAOP_THREADS/TF_NUM_INTEROP_THREADS)
CONFIGS = {
    "defaults": {},
    "one_step_a_call": {STEPS: 1},
    "e40": dict(epochs=40),
    "b512": dict(batch_size=512),
    "one_thread": {THREADS: 1},
}
# name: (the imager's name for make_imager, or None: the default image; whether
# the image is pooled to at most MAX_CONV_SIDE pixels a side, the library's rule)
IMAGES = {
    "igtd": (None, True),
    "supertml": ("supertml", True),
    "supertml_unpooled": ("supertml", False),
}
INFERENCE_ROWS = 10_000
# the parts of a train step, each a network of its own at the same batch size
PARTS = {
    "network": {},
    "mlp_branch_only": dict(branches="mlp"),
    "cnn_branch_only": dict(branches="cnn"),
    "one_member_head": dict(ensemble_size=1),
}
PACKAGES = ["tensorflow-cpu", "keras", "scikeras"]
DATASET = "puma8NH"


def _data(max_rows):
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    from skpermgrad.datasets import load_puma8nh

    X, y = load_puma8nh(return_X_y=True)
    X, y = np.asarray(X, dtype=np.float64)[:max_rows], np.asarray(y)[:max_rows]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, random_state=0
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def _timer():
    import keras

    class Timer(keras.callbacks.Callback):
        """Wall-clock marks of a fit's epochs, train steps and validation."""

        def on_train_begin(self, logs=None):
            self.begin, self.epochs = time.perf_counter(), []

        def on_epoch_begin(self, epoch, logs=None):
            self.epochs.append({"start": time.perf_counter(), "steps": 0.0})

        def on_train_batch_begin(self, batch, logs=None):
            self._step = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.epochs[-1]["steps"] += time.perf_counter() - self._step

        def on_test_begin(self, logs=None):
            self._test = time.perf_counter()

        def on_test_end(self, logs=None):
            self.epochs[-1]["validation"] = time.perf_counter() - self._test

        def on_epoch_end(self, epoch, logs=None):
            self.epochs[-1]["end"] = time.perf_counter()

        def on_train_end(self, logs=None):
            self.end = time.perf_counter()

    return Timer()


def profile_fit(params, X_train, X_test, y_train, y_test):
    """One fit, timed by part, and its test RMSE."""
    from skpermgrad import HybridRegressor

    timer = _timer()
    model = HybridRegressor(random_state=0, callbacks=[timer], **params)
    start = time.perf_counter()
    model.fit(X_train, y_train)
    end = time.perf_counter()
    epochs = timer.epochs
    later = epochs[1:] or epochs
    whole = [e["end"] - e["start"] for e in later]
    steps = [e["steps"] for e in later]
    validation = [e.get("validation", 0.0) for e in later]
    rmse = float(np.sqrt(np.mean((model.predict(X_test) - y_test) ** 2)))
    return model, {
        "fit_seconds": end - start,
        "epochs": len(epochs),
        "setup": timer.begin - start,
        "first_epoch": epochs[0]["end"] - epochs[0]["start"],
        "epoch_median": statistics.median(whole),
        "train_steps_median": statistics.median(steps),
        "validation_median": statistics.median(validation),
        "epoch_rest_median": statistics.median(
            w - s - v for w, s, v in zip(whole, steps, validation)
        ),
        "teardown": end - timer.end,
        "rmse": rmse,
    }


def _step_seconds(params, X, y, batch_size, repeats):
    """Seconds of one train step on one batch held in memory (the compute)."""
    import tensorflow as tf

    from skpermgrad import HybridRegressor

    params = {**params, "epochs": 1, "validation_fraction": None}
    model = HybridRegressor(random_state=0, **params).fit(
        X[: 2 * batch_size], y[: 2 * batch_size]
    )
    inputs = model.feature_encoder_.transform(X[:batch_size])
    batch = {k: tf.constant(v, tf.float32) for k, v in inputs.items()}
    target = tf.constant(model.target_encoder_.transform(y[:batch_size]))
    for _ in range(3):
        model.model_.train_on_batch(batch, target)
    start = time.perf_counter()
    for _ in range(repeats):
        model.model_.train_on_batch(batch, target)
    return (time.perf_counter() - start) / repeats


def _data_paths(model, X, y, batch_size):
    """One epoch of train steps of the fitted ``model``'s network, fed by its
    own batches, by NumPy arrays, and by one batch repeated."""
    import tensorflow as tf

    from skpermgrad.models._encoders import _Batches

    network = model.model_
    inputs = model.feature_encoder_.transform(X)
    target = model.target_encoder_.transform(y)
    rows = np.arange(len(target))
    batches = _Batches(inputs, target, None, rows, batch_size, seed=0)
    arrays = {k: np.asarray(v, np.float32) for k, v in inputs.items()}
    one = {k: tf.constant(v[:batch_size]) for k, v in arrays.items()}
    one_target = tf.constant(target[:batch_size])
    n_steps = len(batches)

    def repeated():
        for _ in range(n_steps):
            network.train_on_batch(one, one_target)

    feeds = {
        "own_batches": lambda: network.fit(batches, epochs=1, verbose=0),
        "numpy_arrays": lambda: network.fit(
            arrays, target, batch_size=batch_size, epochs=1, verbose=0
        ),
        "one_batch_repeated": repeated,
    }
    seconds = {}
    for name, feed in feeds.items():
        feed()  # traced
        times = []
        for _ in range(3):
            start = time.perf_counter()
            feed()
            times.append(time.perf_counter() - start)
        seconds[name] = min(times)
    return seconds


@contextmanager
def _steps_per_execution(params):
    """The hybrid's parameters of ``params``, with the library's train steps a
    call set to ``params[STEPS]`` (where given) while the block runs."""
    from skpermgrad.models import _base

    saved = _base.STEPS_PER_EXECUTION
    _base.STEPS_PER_EXECUTION = params.get(STEPS, saved)
    try:
        yield {k: v for k, v in params.items() if k != STEPS}
    finally:
        _base.STEPS_PER_EXECUTION = saved


def run_config(label, X_train, X_test, y_train, y_test, repeats, quick=False):
    if THREADS in CONFIGS[label]:
        return _in_child(label, CONFIGS[label][THREADS], quick)
    with _steps_per_execution(CONFIGS[label]) as params:
        return _run_config(label, params, X_train, X_test, y_train, y_test, repeats)


def _in_child(label, threads, quick):
    """``label``'s profile, measured by this script in a process whose
    TensorFlow runs on ``threads`` threads (it cannot change them once
    started)."""
    import json
    import os
    import subprocess
    import sys
    import tempfile

    env = {
        **os.environ,
        "TF_NUM_INTRAOP_THREADS": str(threads),
        "TF_NUM_INTEROP_THREADS": str(threads),
    }
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "child.json"
        command = [sys.executable, __file__, "--child", label, "--out", str(out)]
        command += ["--quick"] if quick else []
        subprocess.run(command, env=env, check=True)
        return json.loads(out.read_text())


def image_epochs(X_train, y_train):
    """Seconds an epoch of the default hybrid on each image of ``IMAGES``: the
    difference between fits of 3 and of 1 epoch (no validation), halved, so
    the tracing and set-up cancel out."""
    from skpermgrad import HybridRegressor
    from skpermgrad.imaging import make_imager
    from skpermgrad.models import _architecture

    seconds = {}
    saved = _architecture.MAX_CONV_SIDE
    for label, (name, pooled) in IMAGES.items():
        _architecture.MAX_CONV_SIDE = saved if pooled else 10**9
        try:
            fits = []
            for epochs in (1, 3):
                imager = None if name is None else make_imager(name, X_train.shape[1])
                model = HybridRegressor(
                    imager=imager,
                    epochs=epochs,
                    validation_fraction=None,
                    random_state=0,
                )
                start = time.perf_counter()
                model.fit(X_train, y_train)
                fits.append(time.perf_counter() - start)
        finally:
            _architecture.MAX_CONV_SIDE = saved
        seconds[label] = (fits[1] - fits[0]) / 2
        print(f"  image {label:18} {seconds[label]:.3f} s an epoch", flush=True)
    return seconds


def inference(X_train, X_test, y_train, y_test, rows):
    """Seconds of ``predict`` and of ``permgrad_importance`` (its defaults,
    and as published) on ``rows`` rows (the test rows repeated), with a
    default hybrid trained briefly (the time does not depend on how well);
    each the best of 3 after a first call (which traces)."""
    from skpermgrad import HybridRegressor, permgrad_importance

    model = HybridRegressor(epochs=3, random_state=0).fit(X_train, y_train)
    repeat = -(-rows // len(y_test))
    X, y = np.tile(X_test, (repeat, 1))[:rows], np.tile(y_test, repeat)[:rows]
    calls = {
        "predict": lambda: model.predict(X),
        "permgrad_importance": lambda: permgrad_importance(
            model, X, y, n_repeats=5, random_state=0
        ),
        "permgrad_importance_published": lambda: permgrad_importance(
            model,
            X,
            y,
            n_repeats=5,
            random_state=0,
            fusion="branch_weights",
            cnn_importance="gradcam",
            scale="minmax",
        ),
    }
    seconds = {}
    for label, call in calls.items():
        call()
        times = []
        for _ in range(3):
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
        seconds[label] = min(times)
        print(f"  {label:30} {seconds[label]:.2f} s on {rows} rows", flush=True)
    return seconds


def _run_config(label, params, X_train, X_test, y_train, y_test, repeats):
    model, fit = profile_fit(params, X_train, X_test, y_train, y_test)
    batch_size = model.batch_size
    steps = {
        part: _step_seconds({**params, **extra}, X_train, y_train, batch_size, repeats)
        for part, extra in PARTS.items()
    }
    paths = _data_paths(model, X_train, y_train, batch_size)
    print(
        f"  {label:14} fit {fit['fit_seconds']:.1f}s, {fit['epochs']} epochs, "
        f"{fit['epoch_median']:.3f}s an epoch (steps {fit['train_steps_median']:.3f}"
        f", validation {fit['validation_median']:.3f}), setup {fit['setup']:.2f}s, "
        f"first epoch {fit['first_epoch']:.2f}s; step {steps['network'] * 1e3:.1f}"
        f" ms; RMSE {fit['rmse']:.4f}",
        flush=True,
    )
    return {
        "params": CONFIGS[label],
        "batch_size": batch_size,
        "train_rows": len(y_train),
        **fit,
        "step_seconds": steps,
        "epoch_of_train_steps": paths,
    }


PARTS_OF_RUN = ("configs", "images", "inference")


def main(argv=None):
    import json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="600 rows, defaults")
    parser.add_argument("--configs", help=f"comma-separated, from {list(CONFIGS)}")
    parser.add_argument(
        "--parts", help=f"comma-separated, from {list(PARTS_OF_RUN)} (all)"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)  # see _in_child
    parser.add_argument("--out", default=str(RESULTS / "bench_profile.json"))
    args = parser.parse_args(argv)
    configs = list(CONFIGS)
    if args.configs:
        configs = parse_names(parser, args.configs, CONFIGS, "config")
    parts = list(PARTS_OF_RUN)
    if args.parts:
        parts = parse_names(parser, args.parts, dict.fromkeys(PARTS_OF_RUN), "part")
    max_rows, repeats = (600, 5) if args.quick else (None, 40)
    rows = 1000 if args.quick else INFERENCE_ROWS
    if args.quick:
        configs = configs[:1]
    data = _data(max_rows)
    if args.child:
        params = {k: v for k, v in CONFIGS[args.child].items() if k != THREADS}
        result = _run_config(args.child, params, *data, repeats)
        Path(args.out).write_text(json.dumps(result))
        return
    settings = {"split": "80/20", "max_rows": max_rows, "seed": 0}
    out = Path(args.out)
    sections = {}  # merged one level down: earlier configurations are kept

    def save(name, value):
        sections[name] = value
        merge_dataset(out, "bench_profile", PACKAGES, settings, DATASET, sections)

    if "configs" in parts:
        measured = {}
        for label in configs:
            measured[label] = run_config(label, *data, repeats, args.quick)
            save("configs", measured)
    if "images" in parts:
        save("images", image_epochs(data[0], data[2]))
    if "inference" in parts:
        save("inference", {"rows": rows, **inference(*data, rows)})
    result = json.loads(out.read_text())
    out.with_suffix(".md").write_text(markdown(result, DATASET, PARTS))
    print(f"wrote {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
