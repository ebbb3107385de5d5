"""PermGrad explanation time against the predictions it needs and a notebook loop.

Usage: python benchmarks/bench_explainer.py [--rows N] [--repeats N] [--quick]
       [--out FILE]

A default HybridRegressor is trained briefly on puma8NH (timings do not depend
on how well) and explained on ``--rows`` held-out rows with ``n_repeats=5``.

1. Ratio: the wall time of one ``permgrad_importance`` call (building and
   tracing its compiled pieces included; defaults, and PermGrad as published:
   ``fusion="branch_weights", cnn_importance="gradcam", scale="minmax"``) over
   the time of the ``1 + n_features * n_repeats`` batched predictions of those
   rows that a permutation importance needs. Target: <= 1.5. Two references: a warm
   ``keras.Model.predict`` (batch 1024), and the stricter bare compiled
   forward pass (the whole network as one traced ``tf.function`` over
   1024-row blocks, warm), which has none of ``predict``'s per-call overhead.
2. Speed-up over the PermGrad notebook's loops on the same model and rows: one
   ``model.predict`` per feature and repeat, then a Grad-CAM per row that
   builds a gradient model and runs a tape on that one row.

Medians of ``--repeats`` runs. It measures and writes results; it never
asserts a target.
"""

import argparse
import statistics
import time

import numpy as np
from _results import RESULTS, write_result

N_REPEATS = 5


def _median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _notebook_loop(model, values, y, n_repeats, rng):
    """The notebook's permutation and per-row Grad-CAM loops on our network."""
    import keras
    import tensorflow as tf

    from skpermgrad import models as arch

    def predict(tabular):
        inputs = {arch.INPUT_TABULAR: tabular, arch.INPUT_IMAGE: values}
        return model.predict(inputs, verbose=0).ravel()

    baseline = np.mean((y - predict(values)) ** 2)
    for j in range(values.shape[1]):
        for _ in range(n_repeats):
            permuted = values.copy()
            permuted[:, j] = rng.permutation(permuted[:, j])
            np.mean((y - predict(permuted)) ** 2) - baseline
    for i in range(len(values)):
        grad_model = keras.Model(
            model.inputs, [model.get_layer(arch.LAST_CONV).output, model.output]
        )
        row = values[i : i + 1]
        with tf.GradientTape() as tape:
            conv, out = grad_model({arch.INPUT_TABULAR: row, arch.INPUT_IMAGE: row})
            target = out[:, 0]
        grads = tape.gradient(target, conv)
        pooled = tf.reduce_mean(grads, axis=(0, 1, 2))
        heatmap = tf.maximum(tf.squeeze(conv[0] @ pooled[..., None]), 0).numpy()
        del heatmap


def _compiled_forward(model, values):
    """A warm bare forward pass over 1024-row blocks, as a callable."""
    import tensorflow as tf

    from skpermgrad import models as arch

    spec = tf.TensorSpec((None, values.shape[1]), tf.float32)

    @tf.function(input_signature=[spec])
    def forward(v):
        return model({arch.INPUT_TABULAR: v, arch.INPUT_IMAGE: v}, training=False)

    def run():
        for start in range(0, len(values), 1024):
            forward(values[start : start + 1024]).numpy()

    run()
    return run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="500 rows, 1 repeat")
    parser.add_argument("--out", default=str(RESULTS / "bench_explainer.json"))
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.repeats = 500, 1

    from sklearn.model_selection import train_test_split

    from skpermgrad import HybridRegressor, permgrad_importance
    from skpermgrad import models as arch
    from skpermgrad.datasets import load_puma8nh

    X, y = load_puma8nh(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=args.rows, random_state=0
    )
    reg = HybridRegressor(epochs=2, random_state=0).fit(X_train, y_train)
    values = reg.feature_encoder_.imager_.transform_values(X_test)
    inputs = {arch.INPUT_TABULAR: values, arch.INPUT_IMAGE: values}
    n_features = X.shape[1]
    n_predictions = 1 + n_features * N_REPEATS

    reg.model_.predict(inputs, batch_size=1024, verbose=0)  # warm
    t_predict = _median_time(
        lambda: reg.model_.predict(inputs, batch_size=1024, verbose=0),
        max(args.repeats, 5),
    )
    t_forward = _median_time(
        _compiled_forward(reg.model_, values), max(args.repeats, 5)
    )
    times = {}
    for label, kwargs in {
        "permgrad": {},
        "permgrad_n_jobs_2": {"n_jobs": 2},
        "permgrad_model_mode": {"permutation": "model"},
        "permgrad_published": {
            "fusion": "branch_weights",
            "cnn_importance": "gradcam",
            "scale": "minmax",
        },
    }.items():
        times[label] = _median_time(
            lambda kwargs=kwargs: permgrad_importance(
                reg, X_test, y_test, n_repeats=N_REPEATS, random_state=0, **kwargs
            ),
            args.repeats,
        )
    scaled_y = reg.target_encoder_.transform(y_test).ravel()
    t_notebook = _median_time(
        lambda: _notebook_loop(
            reg.model_, values, scaled_y, N_REPEATS, np.random.default_rng(0)
        ),
        1,
    )

    needed = n_predictions * t_predict
    needed_bare = n_predictions * t_forward
    labels = {
        "permgrad": "permgrad_importance",
        "permgrad_n_jobs_2": "permgrad_importance, n_jobs=2",
        "permgrad_model_mode": 'permgrad_importance, permutation="model"',
        "permgrad_published": "permgrad_importance, as published (Grad-CAM)",
    }
    print(f"\n{args.rows} rows x {n_features} features, n_repeats={N_REPEATS}")
    print(
        f"one batched prediction: keras predict {t_predict:.4f} s, "
        f"bare {t_forward:.4f} s"
    )
    print(f"{'':42} {'seconds':>8} {'/ predict':>10} {'/ bare':>8}")
    for key, seconds in [*times.items(), ("notebook", t_notebook)]:
        label = labels.get(key, "notebook-style loops")
        print(
            f"{label:42} {seconds:8.3f} {seconds / needed:10.2f} "
            f"{seconds / needed_bare:8.2f}"
        )
    print(f"speed-up over the notebook loops: {t_notebook / times['permgrad']:.1f}x")
    write_result(
        args.out,
        "bench_explainer",
        ["tensorflow-cpu", "keras"],
        rows=args.rows,
        n_features=n_features,
        n_repeats=N_REPEATS,
        predict_seconds=t_predict,
        bare_forward_seconds=t_forward,
        needed_predictions=n_predictions,
        seconds=times,
        ratio_to_predictions={k: v / needed for k, v in times.items()},
        ratio_to_bare_forward={k: v / needed_bare for k, v in times.items()},
        notebook_seconds=t_notebook,
        speedup_over_notebook=t_notebook / times["permgrad"],
        target_ratio=1.5,
    )


if __name__ == "__main__":
    main()
