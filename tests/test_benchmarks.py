"""Smoke test of the benchmark runner (the benchmarks themselves are not tests)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

RUN = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"


@pytest.fixture
def bench_predictive(monkeypatch):
    """The predictive benchmark script as a module (benchmarks/ is a folder of
    scripts, not a package)."""
    monkeypatch.syspath_prepend(str(RUN.parent))
    import bench_predictive

    return bench_predictive


@pytest.fixture
def predictive(bench_predictive):
    """The predictive benchmark's modules by job: ``data`` (tables and folds),
    ``models``, ``report``."""
    from types import SimpleNamespace

    import _predictive_data
    import _predictive_models
    import _predictive_report

    return SimpleNamespace(
        data=_predictive_data, models=_predictive_models, report=_predictive_report
    )


def test_unknown_benchmark_is_refused():
    out = subprocess.run(
        [sys.executable, str(RUN), "--only", "nope"], capture_output=True, text=True
    )
    assert out.returncode == 2 and "unknown benchmark(s) ['nope']" in out.stderr


@pytest.mark.slow
def test_quick_run_writes_results(tmp_path):
    pytest.importorskip("keras")
    out = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--only", "explainer"]
        + ["--results", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    result = json.loads((tmp_path / "bench_explainer.json").read_text())
    assert result["benchmark"] == "bench_explainer"
    assert {"machine", "versions", "date"} <= set(result)
    assert " cores, " in result["machine"]["cpu"]  # which CPU timed it
    assert result["ratio_to_bare_forward"]["permgrad"] > 0


def _scores(**means):
    return {
        m: {
            "rmse": {"mean": v, "std": 0.0},
            "r2": {"mean": 1 / v, "std": 0.0},
            "fit_seconds": 1.0,
        }
        for m, v in means.items()
    }


def test_predictive_summary_ranks_the_hybrid(tmp_path):
    # --render rewrites the markdown of a results file without running anything
    models = _scores(
        hybrid=2.0,
        mlp_only=2.5,
        cnn_only=1.5,
        hist_gradient_boosting=3.0,
        random_forest=1.0,
        sklearn_mlp=2.0,
    )
    saved = {
        "settings": {"folds": 5, "max_rows": 100, "epochs": 3},
        "datasets": {"toy": {"task": "regression", "models": models}},
    }
    path = tmp_path / "bench_predictive.json"
    path.write_text(json.dumps(saved))
    script = RUN.parent / "bench_predictive.py"
    out = subprocess.run(
        [sys.executable, str(script), "--render", str(path)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    table = path.with_suffix(".md").read_text()
    # ranked 3rd of 6 (1.0, 1.5, then the tie at 2.0 in the models' order)
    # a tie with scikit-learn's MLP (2.0) is not beating it
    assert "| toy | rmse | 2 | 3 | random_forest | 1 | yes | no | yes | no |" in table
    assert (
        "beats both its MLP-only and CNN-only variants on 0 of 1 datasets, "
        "scikit-learn's MLP on 0 and HistGradientBoosting on 1." in table
    )


def test_layouts_are_ranked_by_the_hybrids_metric_ties_to_the_faster(predictive):
    models = _scores(
        hybrid=1.0,  # the default image, IGTD
        mlp_only=2.5,
        hybrid_tinto=2.0,
        hybrid_tinto_sized=3.0,
        hybrid_refined=2.0,
        hybrid_deepinsight=1.5,
        hybrid_fotomics=4.0,
    )
    models["hybrid_refined"]["fit_seconds"] = 0.5  # ties tinto, and is faster
    results = {"toy": {"task": "regression", "models": models}}
    ranks = predictive.report.layout_ranks(results)
    assert ranks == {
        "toy": {
            "igtd": 1,
            "deepinsight": 2,
            "refined": 3,
            "tinto": 4,
            "tinto_sized": 5,
            "fotomics": 6,
        }
    }
    partial = {"toy": {"task": "regression", "models": _scores(hybrid=1.0)}}
    assert predictive.report.layout_ranks(partial) == {}
    table = "\n".join(predictive.report.layout_markdown(results))
    assert "| toy | igtd | 1.0000 | — | — | 1.0 |" in table
    assert "| igtd | 1.00 |" in table
    # no drawing measured: the table has no row
    assert predictive.report.drawing_markdown(results)[-3:-2] == [
        "|---" + "|---:" * (len(predictive.models.DRAWINGS) + 2) + "|"
    ]
    models.update(_scores(hybrid_distance_matrix=0.5, hybrid_combination=1.2))
    table = "\n".join(predictive.report.drawing_markdown(results))
    # the default, then the drawings in DRAWINGS' order: two of them measured
    rest = len(predictive.models.DRAWINGS) - 3
    cells = "| toy | 1.0000 | **0.5000** | — | 1.2000 |" + " — |" * rest
    fits = " 1 / 1 / — / 1" + " / —" * rest + " |"
    assert cells + fits in table


def test_results_merge_per_dataset_across_runs(tmp_path, monkeypatch):
    # a long benchmark runs across sessions with --only: each run adds its
    # datasets (and, one level down, its models) to what the file holds
    monkeypatch.syspath_prepend(str(RUN.parent))
    from _results import merge_dataset

    path, settings = tmp_path / "bench.json", {"folds": 3}
    merge_dataset(path, "bench", [], settings, "a", {"models": {"m1": 1, "m2": 2}})
    merge_dataset(path, "bench", [], settings, "b", {"models": {"m1": 3}})
    merged = merge_dataset(path, "bench", [], settings, "a", {"models": {"m2": 5}})
    assert merged == {"a": {"models": {"m1": 1, "m2": 5}}, "b": {"models": {"m1": 3}}}
    saved = json.loads(path.read_text())
    assert set(saved["commits"]) == {"a", "b"} and saved["settings"] == settings
    # other settings: earlier results are not comparable and are not kept
    fresh = merge_dataset(path, "bench", [], {"folds": 5}, "b", {"models": {}})
    assert fresh == {"b": {"models": {}}}


def test_predictive_models_can_be_measured_alone(bench_predictive, predictive):
    # --models reruns some models (the hybrids after their defaults change);
    # the names it accepts are the models the benchmark builds
    pytest.importorskip("keras")
    for task in ("regression", "classification"):
        models = predictive.models._models(task, 1, 0, n_features=8)
        assert tuple(models) == predictive.models.MODELS
    script = RUN.parent / "bench_predictive.py"
    out = subprocess.run(
        [sys.executable, str(script), "--models", "hybrid,tabm"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2 and "tabm" in out.stderr


def test_image_choice_sets_the_chosen_image_beside_the_best_one(predictive):
    # issue 28's third goal: the image chosen inside each training fold
    # (hybrid_selected, where measured) and the best over the test folds,
    # each against HistGradientBoosting
    chosen = _scores(hybrid=2.0, hybrid_tinto=1.5, hist_gradient_boosting=1.8)
    chosen["hybrid_selected"] = {**_scores(s=1.7)["s"], "chosen": ["igtd", "tinto"]}
    plain = _scores(hybrid=2.0, hybrid_bie=1.9, hist_gradient_boosting=1.8)
    results = {
        "toy": {"task": "regression", "models": chosen},
        "other": {"task": "regression", "models": plain},
    }
    plain["hybrid_tuned"] = {**_scores(s=1.0)["s"], "fold_indices": [0]}
    table = "\n".join(predictive.report.image_choice_markdown(results))
    # lower RMSE is better; the searched hybrids are not images of their own
    assert "| toy | 1.7000 (igtd, tinto) | yes | 2 | tinto | 1.5000 | yes | " in table
    assert "| other | — | — | 2 | bie | 1.9000 | no | 1.8000 |" in table
    assert "training fold, on 1 of the 1 datasets measured so; on the image" in table
    assert "on the image best over the test folds, on 1 of 2." in table


def test_the_tuned_hybrid_is_compared_on_its_own_folds(predictive):
    # issue 52's tuning goal: hybrid_tuned runs on some folds only; the
    # default hybrid and HistGradientBoosting are compared on the same ones
    def folds(*values):
        return {"rmse": {"mean": float(np.mean(values)), "folds": list(values)}}

    models = {
        "hybrid": {**folds(2.0, 2.2, 9.0), "fit_seconds": 1.0},
        "hist_gradient_boosting": {**folds(2.0, 2.0, 0.5), "fit_seconds": 0.1},
        "hybrid_tuned": {
            **folds(1.9, 2.05),
            "fit_seconds": 350.0,
            "fold_indices": [0, 1],
            "trials": [12, 9],
            "params": [
                {"hybrid__ensemble_scope": "mlp", "hybrid__numeric_embedding": None},
                {"hybrid__ensemble_scope": "head", "hybrid__numeric_embedding": "x"},
            ],
        },
    }
    results = {"toy": {"task": "regression", "models": models}}
    table = "\n".join(predictive.report.tuned_markdown(results))
    # HistGB's mean over all three folds (1.5) would beat 1.975; on folds 1-2 it
    # is 2.0 and the tuned hybrid is ahead
    assert (
        "| toy | 1, 2 | 2.1000 | 1.9750 | 2.0000 | yes | 12, 9 | 350 | "
        "mlp/None, head/x |" in table
    )
    assert "ahead of HistGradientBoosting on 1 of 1 datasets" in table
    assert predictive.report.tuned_markdown({}) == []


def test_a_stopped_predictive_run_keeps_the_models_it_finished(
    bench_predictive, monkeypatch, predictive
):
    # each model's result is handed on as soon as its folds are done, so a
    # run of many hours killed midway keeps what it measured
    from sklearn.dummy import DummyRegressor
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.normal(size=40)

    class Stopped(LinearRegression):
        def fit(self, X, y):
            raise KeyboardInterrupt

    monkeypatch.setattr(bench_predictive, "_load", lambda *args: (X, y, "regression"))
    monkeypatch.setattr(
        bench_predictive,
        "_models",
        lambda *args: {
            "hist_gradient_boosting": DummyRegressor(),
            "random_forest": Stopped(),
        },
    )
    written = []
    with pytest.raises(KeyboardInterrupt):
        bench_predictive.run_dataset(
            "toy",
            None,
            2,
            None,
            1,
            0,
            ("hist_gradient_boosting", "random_forest"),
            measured=written.append,
        )
    assert [list(result["models"]) for result in written] == [
        ["hist_gradient_boosting"]
    ]
    models = written[0]["models"]
    assert written[0]["rows"] == 40 and "rmse" in models["hist_gradient_boosting"]
    # and the report of what it kept renders: the summary waits for all six
    partial = {"toy": written[0], "toy2": {**written[0], "models": {}}}
    table = predictive.report.markdown(
        partial, {"folds": 2, "max_rows": 40, "epochs": 1}
    )
    assert "on 0 of 0 datasets" in table
    assert "| toy2 | — |" in table  # a dataset with nothing measured yet


def test_a_stopped_model_goes_on_from_its_kept_folds(
    bench_predictive, monkeypatch, tmp_path, capsys, predictive
):
    # a model of more hours than a session keeps each fold as it ends; the
    # next run with the same settings fits only the folds still missing
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 3)), rng.normal(size=60)
    fits = []

    class Stops(LinearRegression):
        stop_at = 2  # the second fit is cut, as by a session's end

        def fit(self, X, y):
            fits.append(len(X))
            if len(fits) == Stops.stop_at:
                raise KeyboardInterrupt
            return super().fit(X, y)

    monkeypatch.setattr(bench_predictive, "_load", lambda *args: (X, y, "regression"))
    monkeypatch.setattr(bench_predictive, "_models", lambda *args: {"m": Stops()})
    settings = {"folds": 3, "seed": 0}
    kept = bench_predictive.KeptFolds(tmp_path / "toy", settings)

    def run(kept):
        return bench_predictive.run_dataset(
            "toy", None, 3, None, 1, 0, ("m",), kept=kept
        )["models"]["m"]

    with pytest.raises(KeyboardInterrupt):
        run(kept)
    saved = json.loads((tmp_path / "toy" / "m.json").read_text())
    assert saved["settings"] == settings and len(saved["folds"]) == 1
    first = saved["folds"][0]["result"][0]["rmse"]
    assert saved["folds"][0]["cpu"] == bench_predictive.cpu()
    Stops.stop_at = 0  # no more stops
    fits.clear()
    # the next session may run on another machine: its folds say which
    monkeypatch.setattr(bench_predictive, "cpu", lambda: "Other CPU, 2 cores, avx2")
    entry = run(kept)
    assert len(fits) == 2  # the two folds still missing
    assert len(entry["rmse"]["folds"]) == 3 and entry["rmse"]["folds"][0] == first
    assert entry["fold_cpus"][1:] == ["Other CPU, 2 cores, avx2"] * 2
    assert entry["fold_cpus"][0] != entry["fold_cpus"][1]
    assert len(entry["fold_fit_seconds"]) == 3
    report = predictive.report.provenance(
        {"datasets": {"toy": {"models": {"m": entry}}}}
    )
    assert "Entries whose folds ran on different CPUs" in report
    assert "toy m: fold 1" in report and "fold 3 0 s on Other CPU" in report
    assert "going on after 1 fold(s)" in capsys.readouterr().out
    assert not (tmp_path / "toy").exists()  # the kept folds are in the entry now
    # folds kept under other settings are set aside, in a line
    Stops.stop_at, fits[:] = 2, []
    with pytest.raises(KeyboardInterrupt):
        run(kept)
    other = bench_predictive.KeptFolds(tmp_path / "toy", {"folds": 3, "seed": 1})
    Stops.stop_at = 0
    fits.clear()
    run(other)
    assert len(fits) == 3
    assert "measured with other settings" in capsys.readouterr().out


# the docs' tables of predictive results: the header's start, each column's
# model in the results file, and the models left out of the bold (drawn.md
# bolds the best image); a table quotes the file's main metric, mean over folds
_QUOTED = {
    "README.md": (
        "| dataset | hybrid | MLP-only |",
        {
            "hybrid": "hybrid",
            "MLP-only": "mlp_only",
            "CNN-only": "cnn_only",
            "HistGradientBoosting": "hist_gradient_boosting",
            "RealMLP-TD": "realmlp_td",
            "TabM-D": "tabm_d",
        },
        (),
    ),
    "docs/drawn.md": (
        "| table | IGTD (default) |",
        {
            "IGTD (default)": "hybrid",
            "distance matrix": "hybrid_distance_matrix",
            "bar graph": "hybrid_bar_graph",
            "combination": "hybrid_combination",
            "BIE": "hybrid_bie",
            "feature wrap": "hybrid_feature_wrap",
            "SuperTML": "hybrid_supertml",
            "clusters": "hybrid_clusters",
            "HistGradientBoosting": "hist_gradient_boosting",
            "MLP-only variant": "mlp_only",
        },
        ("hist_gradient_boosting", "mlp_only"),
    ),
}


def _markdown_table(text, header):
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows[0], rows[2:]


@pytest.mark.parametrize("doc", sorted(_QUOTED))
def test_docs_quote_the_committed_predictive_results(doc, bench_predictive, predictive):
    # the tables are written by hand from bench_predictive.json: each number
    # must be the file's, to the digits shown, "—" where it has none, and the
    # bold cell the row's best (in drawn.md, the best image)
    root = RUN.parents[1]
    saved = json.loads((root / "benchmarks/results/bench_predictive.json").read_text())
    header, columns, unranked = _QUOTED[doc]
    names, rows = _markdown_table((root / doc).read_text(encoding="utf-8"), header)
    assert set(names[1:]) == set(columns), names
    assert rows, f"{doc}: the table has no rows"
    wrong = []
    for row in rows:
        result = saved["datasets"][row[0].split(" (")[0]]
        # the main metric, and sign +1 where lower is better
        metric, sign = predictive.models.PRIMARY[result["task"]]
        quoted = {}
        for name, cell in zip(names[1:], row[1:]):
            model = columns[name]
            if cell == "—":
                if model in result["models"]:
                    wrong.append(f"{row[0]}, {name}: — but measured")
                continue
            number = cell.strip("*")
            digits = len(number.split(".")[1]) if "." in number else 0
            mean = result["models"][model][metric]["mean"]
            if number != f"{mean:,.{digits}f}":
                wrong.append(f"{row[0]}, {name}: {number}, measured {mean:,.6f}")
            quoted[name] = (mean, cell.startswith("**"))
        ranked = [name for name in quoted if columns[name] not in unranked]
        top = min(ranked, key=lambda name: sign * quoted[name][0])
        bold = [name for name, (_, b) in quoted.items() if b]
        if bold != [top]:
            wrong.append(f"{row[0]}: bold {bold}, best {top}")
    assert not wrong, f"{doc}: " + "; ".join(wrong)


def _bench_wrapper(*args):
    return subprocess.run(
        [sys.executable, str(RUN.parent / "bench_wrapper.py"), *map(str, args)],
        capture_output=True,
        text=True,
    )


def test_wrapper_report_gives_each_part_against_the_default(tmp_path):
    # the committed results, rendered again from a copy: each part's best
    # epoch time and its share of the default's
    saved = json.loads((RUN.parent / "results" / "bench_wrapper.json").read_text())
    path = tmp_path / "bench_wrapper.json"
    path.write_text(json.dumps(saved))
    out = _bench_wrapper("--render", "--out", path)
    assert out.returncode == 0, out.stderr[-2000:]
    report = path.with_suffix(".md").read_text()
    seconds = saved["parts"]["epoch_s"]
    for name, s in seconds.items():
        share = s / seconds["default"]
        assert f"| {name} | {s:.3f} | {share:.0%} |" in report


def test_wrapper_only_needs_the_timing_it_keeps(tmp_path):
    out = _bench_wrapper("--only", "parts", "--out", tmp_path / "none.json")
    assert out.returncode == 2
    assert "--only parts keeps the fit timing already in" in out.stderr


@pytest.mark.slow
def test_the_tuned_hybrid_tunes_as_the_run_does_from_the_defaults(
    bench_predictive, predictive
):
    # hybrid_tuned (issue 52's tuning goal): the run's default search space
    # (the backbone's knobs too) and first trial, inside the training fold,
    # within its time; each fold's parameters and trials kept
    pytest.importorskip("optuna_integration")
    from skpermgrad import HybridClassifier, HybridRegressor

    X, y, task = bench_predictive._load("no-such-folder", "puma8NH", 120, 0)
    tuned = predictive.models._models(task, 1, 0, X.shape[1])["hybrid_tuned"]
    assert tuned.seconds == predictive.models.TUNED_SECONDS
    tuned.set_params(trials=2)
    half = np.arange(len(X)) % 2 == 0
    folds = [
        bench_predictive._fold(task, tuned, X, y, train, test)
        for train, test in ((half, ~half), (~half, half))
    ]
    entry = bench_predictive._summary(
        "toy", "hybrid_tuned", folds, None, indices=[0, 3]
    )
    assert "chosen" not in entry  # the image is IGTD's, not searched
    assert entry["fold_indices"] == [0, 3] and entry["trials"] == [2, 2]
    params = entry["params"][0]
    assert {
        "hybrid__learning_rate",
        "hybrid__ensemble_scope",
        "hybrid__numeric_embedding",
    } <= set(params)
    assert "hybrid__label_smoothing" not in params  # a regressor has none
    json.dumps(entry)  # the results file holds it as it is
    # the first trial is the hybrid's defaults
    fitted = tuned.fit(X, y)
    first = fitted.study_.trials[0].params
    defaults = HybridRegressor().get_params()
    assert first == {name: defaults[name.removeprefix("hybrid__")] for name in first}
    assert len(fitted.study_.trials) == 2
    # with its seconds spent, no trial starts after the defaults'
    tuned.set_params(trials=None, seconds=1e-3)
    assert len(tuned.fit(X, y).study_.trials) == 1
    # a classifier's space tunes the label smoothing too
    labels = (y > np.median(y)).astype(int)
    classifier = predictive.models._models("classification", 1, 0, X.shape[1])
    classifier = classifier["hybrid_tuned"].set_params(seconds=1e-3)
    first = classifier.fit(X, labels).study_.trials[0].params
    assert first["hybrid__label_smoothing"] == HybridClassifier().label_smoothing


def test_a_replayed_pruner_stops_a_hopeless_trial_and_counts_what_it_saves(
    monkeypatch,
):
    monkeypatch.syspath_prepend(str(RUN.parent))
    import bench_pruning

    def record(number, folds, seconds=10.0):
        return {"number": number, "folds": folds, "fit_seconds": seconds}

    # trial 2 scores far below the two complete before it on its first fold
    records = [
        record(0, [-1.0, -1.1, -1.0]),
        record(1, [-0.9, -1.0, -0.9]),
        record(2, [-5.0, -5.0, -5.0], seconds=40.0),
        record(3, [-0.8, -0.8, -0.8]),
    ]
    replayed = bench_pruning.replay(records, "median")
    assert replayed["pruned_trials"] == [2]
    assert replayed["fold_fits_saved"] == pytest.approx(2 / 12)
    # its two unrun folds were 80 of the 210 seconds of every fold's fit
    assert replayed["seconds_saved"] == pytest.approx(80 / 210)
    assert replayed["best_trial"] == 3
    assert bench_pruning.replay(records, "median_startup4")["pruned"] == 0


def test_the_peers_are_skipped_with_a_note_without_their_extra(
    bench_predictive, monkeypatch, capsys
):
    # pytabkit (the peers extra, with PyTorch) is never in CI's install: the
    # benchmark measures the rest and says why the peers are missing
    monkeypatch.setitem(sys.modules, "pytabkit", None)  # its import fails
    result = bench_predictive.run_dataset(
        "puma8NH",
        "no-such-folder",  # puma8NH is bundled
        folds=2,
        max_rows=120,
        epochs=1,
        seed=0,
        models=("realmlp_td", "tabm_d", "hist_gradient_boosting"),
    )
    assert set(result["models"]) == {"hist_gradient_boosting"}
    out = capsys.readouterr().out
    assert "skipped realmlp_td, tabm_d: the peers extra" in out
