"""bench_faithfulness's designs: tables whose true feature importances are
known, each ``(rows, rng) -> X (array or DataFrame), y, truth per column,
task``."""

import numpy as np
import pandas as pd


def _linear(n, rng):
    X = rng.uniform(-1, 1, size=(n, 8))
    coef = np.array([4, 2, 1, 0.5, 0, 0, 0, 0])
    y = X @ coef + 0.05 * rng.normal(size=n)
    return X, y, np.abs(coef) * X.std(axis=0), "regression"


def _interaction(n, rng):
    X = rng.normal(size=(n, 8))
    product = 3 * X[:, 0] * X[:, 1]
    y = product + 1.5 * X[:, 2] + 0.5 * X[:, 3] + 0.1 * rng.normal(size=n)
    half = product.std() / 2
    truth = [half, half, 1.5 * X[:, 2].std(), 0.5 * X[:, 3].std(), 0, 0, 0, 0]
    return X, y, np.array(truth), "regression"


def _correlated_block(n, rng):
    X = rng.normal(size=(n, 9))
    for j in (2, 3):  # x1, x2, x3: one block, correlation about 0.9
        X[:, j] = X[:, 1] + 0.3 * rng.normal(size=n)
    block = X[:, 1:4].mean(axis=1)
    y = 3 * X[:, 0] + 3 * block + X[:, 4] + 0.1 * rng.normal(size=n)
    std = X.std(axis=0)
    truth = [3 * std[0], *(std[1:4]), std[4], 0, 0, 0, 0]
    return X, y, np.array(truth), "regression"


def _heavy_tailed(n, rng):
    X = np.column_stack(
        [
            rng.lognormal(0, 1, n),
            rng.standard_t(3, n),
            rng.exponential(1, n),
            rng.standard_t(3, n),
            rng.lognormal(0, 1, n),
            rng.standard_t(3, n),
            rng.exponential(1, n),
        ]
    )
    coef = np.array([1.0, 1.0, 0.5, 0.25, 0, 0, 0])
    y = X @ coef + 0.1 * rng.normal(size=n)
    return X, y, np.abs(coef) * X.std(axis=0), "regression"


def _categorical(n, rng):
    city = rng.choice(["Paris", "Rome", "Oslo", "Lima", "Kyiv"], n)
    grade = rng.choice(["a", "b", "c", "d"], n)
    color = rng.choice(["red", "green", "blue"], n)
    numbers = rng.uniform(-1, 1, size=(n, 3))
    city_effect = pd.Series(city).map(
        {"Paris": 2.0, "Rome": -1.0, "Oslo": 0.5, "Lima": -2.0, "Kyiv": 0.0}
    )
    grade_effect = pd.Series(grade).map({"a": 1.0, "b": 0.5, "c": -0.5, "d": -1.0})
    terms = [city_effect.to_numpy(), grade_effect.to_numpy(), 2 * numbers[:, 0]]
    y = sum(terms) + 0.05 * rng.normal(size=n)
    X = pd.DataFrame(
        {
            "city": city,
            "grade": grade,
            "color": color,
            "n0": numbers[:, 0],
            "n1": numbers[:, 1],
            "n2": numbers[:, 2],
        }
    )
    std = [t.std() for t in terms]
    return X, y, np.array([std[0], std[1], 0, std[2], 0, 0]), "regression"


def _multiclass(n, rng):
    X = rng.normal(size=(n, 8))
    weights = np.array(  # class scores: x0..x3 matter, x4..x7 are noise
        [
            [3, 0, 1, 0, 0, 0, 0, 0],
            [0, 3, 1, 0.5, 0, 0, 0, 0],
            [-3, -3, 0, 0, 0, 0, 0, 0],
        ]
    )
    scores = X @ weights.T + 0.3 * rng.gumbel(size=(n, 3))
    y = scores.argmax(axis=1)
    # softmax ignores a shift shared by all classes: centre each column
    centred = weights - weights.mean(axis=0)
    truth = np.linalg.norm(centred, axis=0) * X.std(axis=0)
    return X, y, truth, "classification"


def _local_interactions(n, rng):
    """Products of feature pairs that TINTO places side by side (each pair is
    correlated, so its features are neighbours in the image and a 3x3
    convolution sees both); the MLP must learn the products from the values."""
    X = rng.normal(size=(n, 10))
    for a, b in ((0, 1), (2, 3), (4, 5)):
        X[:, b] = 0.7 * X[:, a] + 0.7 * rng.normal(size=n)
    terms = [2 * X[:, 0] * X[:, 1], X[:, 2] * X[:, 3]]
    y = sum(terms) + 0.1 * rng.normal(size=n)
    h = [t.std() / 2 for t in terms]
    return X, y, np.array([h[0], h[0], h[1], h[1], 0, 0, 0, 0, 0, 0]), "regression"


DESIGNS = {
    "linear": _linear,
    "interaction": _interaction,
    "correlated_block": _correlated_block,
    "heavy_tailed": _heavy_tailed,
    "categorical": _categorical,
    "multiclass": _multiclass,
    "local_interactions": _local_interactions,
}
QUICK_DESIGNS = ("linear", "categorical")
