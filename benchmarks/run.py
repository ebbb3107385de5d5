"""Run every benchmark, each in its own process, and list what they wrote.

Usage: python benchmarks/run.py [--quick] [--only NAME,...]

Full runs write ``benchmarks/results/<name>.json`` (and ``.md`` where there is a
table); ``--quick`` runs everything small in minutes and writes to
``benchmarks/results/quick/`` instead, leaving the full results alone. Every
result records the machine, package versions and the date. Needs the
``bench`` extra (``pip install -e ".[bench]"``: TINTOlib for the imager
comparison, shap for the faithfulness comparison).
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

from _results import RESULTS, parse_names

HERE = Path(__file__).resolve().parent

# name: (script, arguments of the quick run). The quick run checks that every
# script runs end to end (CI runs it): one method of each kind of image, not
# all thirteen (6 minutes on all of them), and the memory of two images on
# 20,000 rows (nine on 100,000 rows ran past 15 minutes, SuperTML's unfinished).
BENCHMARKS = {
    "imager": (
        "bench_imager.py",
        ["--repeats", "1", "--tintolib-repeats", "1"]
        + ["--only", "tinto-pca,igtd,bar_graph"],
    ),
    "wrapper": (
        "bench_wrapper.py",
        ["--epochs", "1", "--repeats", "1", "--rows", "20000"]
        + ["--imagers", "tinto,bar_graph"],
    ),
    "explainer": ("bench_explainer.py", ["--quick"]),
    "predictive": ("bench_predictive.py", ["--quick"]),
    "defaults": ("bench_defaults.py", ["--quick"]),
    "profile": ("bench_profile.py", ["--quick"]),
    "pruning": ("bench_pruning.py", ["--quick"]),
    "faithfulness": ("bench_faithfulness.py", ["--quick"]),
    "run": ("bench_run.py", ["--quick"]),
    "scaling": ("bench_scaling.py", ["--quick"]),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="everything small")
    parser.add_argument("--only", help=f"comma-separated, from {list(BENCHMARKS)}")
    parser.add_argument("--results", help="folder for the results (default: above)")
    args = parser.parse_args(argv)
    names = list(BENCHMARKS)
    if args.only:
        names = parse_names(parser, args.only, BENCHMARKS, "benchmark")
    folder = Path(args.results) if args.results else RESULTS
    if args.quick and not args.results:
        folder = RESULTS / "quick"
    failed, timings = [], {}
    for name in names:
        script, quick_args = BENCHMARKS[name]
        command = [sys.executable, str(HERE / script)]
        if args.quick:
            command += quick_args
        command += ["--out", str(folder / f"bench_{name}.json")]
        print(f"== {name}: {' '.join(command[1:])}", flush=True)
        start = time.perf_counter()
        status = subprocess.call(command, cwd=HERE)
        timings[name] = time.perf_counter() - start
        if status:
            failed.append(name)
            print(f"== {name} FAILED (exit {status})", flush=True)
    print("\n== summary")
    for name, seconds in timings.items():
        state = "FAILED" if name in failed else "ok"
        print(f"{name:14} {state:7} {seconds:8.1f} s")
    print(f"results in {folder}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
