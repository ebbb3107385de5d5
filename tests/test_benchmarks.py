"""Smoke test of the benchmark runner (the benchmarks themselves are not tests)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

RUN = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"


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
    assert result["ratio_to_bare_forward"]["permgrad"] > 0
