"""Every Python block of the README and of docs/*.md runs, as written.

Each document's blocks run in order in one namespace (a page reads top to
bottom), in a scratch folder. Only the scale is changed: the bundled table is
cut to 300 rows, the hybrids train 2 epochs of a small network and a search
runs 1 trial of 2 folds, so the text is checked against the code without the
hours its settings would take.
"""

import re
from pathlib import Path

import pytest

pytest.importorskip("keras")
pytestmark = pytest.mark.slow  # every document's code: minutes

import matplotlib  # noqa: E402
from _tiny import SMALL  # noqa: E402

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _blocks(path):
    return BLOCK.findall(path.read_text())


@pytest.fixture
def small_scale(monkeypatch, tmp_path):
    import skpermgrad
    import skpermgrad.datasets
    from skpermgrad import HybridClassifier, HybridRegressor

    load = skpermgrad.datasets.load_puma8nh

    def load_small(**kwargs):
        data = load(**kwargs)
        if kwargs.get("return_X_y"):
            return tuple(part[:300] for part in data)
        data.data, data.target = data.data[:300], data.target[:300]
        return data

    def small(estimator):
        def make(*args, **params):
            return estimator(*args, **{**params, **SMALL})

        return make

    import optuna_integration

    search = optuna_integration.OptunaSearchCV

    def one_trial(*args, **params):
        return search(*args, **{**params, "n_trials": 1, "cv": 2})

    monkeypatch.setattr(optuna_integration, "OptunaSearchCV", one_trial)
    monkeypatch.setattr(skpermgrad.datasets, "load_puma8nh", load_small)
    monkeypatch.setattr(skpermgrad, "HybridRegressor", small(HybridRegressor))
    monkeypatch.setattr(skpermgrad, "HybridClassifier", small(HybridClassifier))
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(
    "document",
    [d for d in DOCUMENTS if _blocks(d)],
    ids=lambda d: d.relative_to(ROOT).as_posix(),
)
def test_python_blocks_run(document, small_scale):
    import matplotlib.pyplot as plt

    namespace = {"__name__": "__docs__"}
    for k, code in enumerate(_blocks(document)):
        exec(compile(code, f"{document.name}[block {k}]", "exec"), namespace)
    plt.close("all")
