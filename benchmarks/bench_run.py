"""``skpermgrad run`` within a time limit: is the limit kept, and does tuning
keep at least the defaults' CV score?

Usage: python benchmarks/bench_run.py [--data TABLE --target COL]
       [--time-limit 15m] [--trials N] [--quick] [--out FILE]

Runs the command line as a user does (its own process, a scratch ``--out``),
timing the whole command, and records from its ``metrics.json`` the trials
completed, the CV score of the defaults (trial 0) and of the best trial, and the
test verdicts. Writes JSON and a markdown table next to it. ``--quick``: the
bundled puma8NH with a 90 s limit and 3 trials.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _results import RESULTS, write_result

NOTE = ""  # what the run shared the machine with, said by hand when it did


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="table (default: the bundled puma8NH)")
    parser.add_argument("--target", help="target column")
    parser.add_argument("--time-limit", default="15m")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--note", default=NOTE, help="conditions of the run")
    parser.add_argument("--out", default=str(RESULTS / "bench_run.json"))
    args = parser.parse_args(argv)
    if args.quick:
        args.time_limit, args.trials = "90s", 3
    return args


def main(argv=None):
    from skpermgrad._study import parse_duration

    args = parse_args(argv)
    limit = parse_duration(args.time_limit)
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "run"
        command = [sys.executable, "-m", "skpermgrad", "run"]
        if args.data:
            command += [str(Path(args.data).resolve()), "--target", args.target]
        command += ["--time-limit", args.time_limit, "--trials", str(args.trials)]
        command += ["--out", str(out)]
        print(" ".join(command[1:]), flush=True)
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if done.returncode:
            sys.exit(f"skpermgrad run failed:\n{done.stderr[-3000:]}")
        metrics = json.loads((out / "metrics.json").read_text())
    summary = done.stdout.strip().splitlines()[-1]
    defaults, best = metrics["defaults_cv_score"], metrics["best_cv_score"]
    result = {
        "data": metrics["data"]["name"],
        "rows": metrics["data"]["rows"],
        "columns": metrics["data"]["columns"],
        "time_limit_seconds": limit,
        "wall_seconds": round(seconds, 1),
        "wall_over_limit": round(seconds / limit, 3),
        "trials_asked": args.trials,
        "trials_complete": metrics["n_trials_complete"],
        "trials_pruned": metrics.get("n_trials_pruned", 0),
        "workers": metrics["settings"]["workers"],
        "pruner": metrics["settings"].get("pruner", "none"),
        "defaults_cv_score": defaults,
        "best_cv_score": best,
        "best_trial": metrics["best_trial"],
        "tuned_at_least_defaults": None if best is None else best >= defaults,
        "verdicts": metrics["verdicts"],
        "summary": summary,
        # what the run said while tuning (its trials, the time limit's stop)
        "log": [line for line in done.stderr.splitlines() if "trial" in line][-40:],
        "note": args.note,
    }
    write_result(args.out, "bench_run", ("keras", "tensorflow", "optuna"), **result)
    Path(args.out).with_suffix(".md").write_text(markdown(result))


def markdown(r):
    verdicts = "\n".join(
        f"| {v['model']} | {v['hybrid']:.4g} | {v['other']:.4g} | "
        f"{v['difference']:+.3g} [{v['ci_low']:+.3g}, {v['ci_high']:+.3g}] | "
        f"{v['verdict']} |"
        for v in r["verdicts"]
    )
    wall = f"{r['wall_seconds']:.0f} s ({r['wall_over_limit']:.1%} of the limit)"
    return f"""# `skpermgrad run` within a time limit

{r["data"]} ({r["rows"]} rows, {r["columns"]} feature columns), `--time-limit`
{r["time_limit_seconds"]:.0f} s, `--trials {r["trials_asked"]}`; {r["workers"]} tuning
worker(s), pruner `{r["pruner"]}`.

| measure | result |
|---|---:|
| wall time of the command | {wall} |
| trials complete | {r["trials_complete"]} |
| trials pruned after a fold | {r["trials_pruned"]} |
| CV score of the defaults (trial 0) | {r["defaults_cv_score"]:.4g} |
| best CV score (trial {r["best_trial"]}) | {r["best_cv_score"]:.4g} |
| tuned at least as good as the defaults in CV | {r["tuned_at_least_defaults"]} |

Test rows, the hybrid against each model ({r["verdicts"][0]["metric"]}, difference
with its 95% bootstrap interval):

| model | hybrid | the model | difference | verdict |
|---|---:|---:|---:|---|
{verdicts}

{r["note"]}
"""


if __name__ == "__main__":
    main()
