import numpy as np
import pytest
from _tiny import curved
from sklearn.datasets import make_regression


@pytest.fixture(scope="module")
def reg9():
    """60 rows, 9 features: a tiny regression table."""
    return make_regression(60, 9, noise=0.1, random_state=0)


@pytest.fixture(scope="module")
def puma_small():
    """The first 400 rows of the bundled puma8NH table as a DataFrame."""
    from skpermgrad.datasets import load_puma8nh

    data = load_puma8nh(as_frame=True)
    return data.data.iloc[:400], data.target.iloc[:400]


@pytest.fixture(scope="module")
def curved_task():
    """240 rows of 6 uniform features; y = 3 x0 + x1**2 + noise."""
    return curved(6)


@pytest.fixture
def pyplot():
    """pyplot on the Agg backend, with figures closed before and after."""
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.close("all")
    yield plt
    plt.close("all")


@pytest.fixture
def rng():
    return np.random.default_rng(0)
