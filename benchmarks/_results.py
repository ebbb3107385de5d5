"""What every benchmark records next to its numbers: machine, versions, date."""

import functools
import json
import os
import platform
import subprocess
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


@functools.cache
def _commit():
    """The commit checked out when the process started (the code it imported),
    marked ``+dirty`` when tracked files changed (other than the results
    themselves, which a run across datasets writes). Read once: a commit made
    while a long run goes on does not relabel what the run measures."""
    here = Path(__file__).parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ":/"]
            + [":(exclude,top)benchmarks/results"],
            cwd=here,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return None
    return (head + "+dirty" if dirty else head) or None


_commit()  # read now, as the process starts: the code it is about to import

# the vector instructions that set a fit's speed on a CPU, widest last
_VECTOR_FLAGS = ("avx2", "avx512f", "amx_tile")


@functools.cache
def cpu():
    """The CPU the numbers were measured on, in a short line: its model name,
    the cores this process may use and the vector instructions of
    ``_VECTOR_FLAGS`` it has (read from ``/proc/cpuinfo`` on Linux). Two
    machines of one platform string can differ 4x in a convolution's time
    (AVX2 against AVX-512 and AMX): fit seconds compare on one CPU only."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and value.strip():
            model = value.strip()
        elif key.strip() == "flags":  # after the model name, as in every block
            flags = set(value.split())
            break
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:
        cores = os.cpu_count()
    vector = " ".join(f for f in _VECTOR_FLAGS if f in flags) or "no AVX2"
    return f"{model}, {cores} cores, {vector}"


def describe_machine(machine):
    """A results file's ``machine`` in words, for its markdown report: the CPU
    where it was recorded (the processor's bare name before), the platform and
    Python."""
    return (
        f"{machine.get('cpu') or machine.get('processor', '?')} "
        f"({machine.get('platform', '?')}, Python {machine.get('python', '?')})"
    )


def write_result(path, benchmark, packages, **fields):
    """Write ``fields`` as JSON with the machine, package versions and the date."""
    versions = {}
    for name in ("skpermgrad", "numpy", "scikit-learn", *packages):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    result = dict(
        benchmark=benchmark,
        date=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        commit=_commit(),
        machine=dict(
            platform=platform.platform(),
            processor=platform.processor() or platform.machine(),
            python=platform.python_version(),
            cpu=cpu(),
        ),
        versions=versions,
        **fields,
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")


def merge_dataset(
    path, benchmark, packages, settings, name, measured, own_commits=False
):
    """Add one dataset's results to the file at ``path`` and write it back.

    Earlier results in the file are kept when they were measured with the same
    ``settings`` (a long benchmark runs across sessions with ``--only``); a
    dataset measured again replaces its entries (merged one level down, so a
    run of some models or configurations keeps the others). Each dataset
    records the commit it was measured on under ``commits`` (with
    ``own_commits``, each entry records its own, and a dataset measured before
    keeps the commit of its other entries); a ``note`` written into the file by
    hand is kept. Returns all datasets now in the file.
    """
    path = Path(path)
    datasets, commits, extra = {}, {}, {}
    if path.is_file():
        saved = json.loads(path.read_text())
        if saved.get("settings") == settings:
            datasets, commits = saved.get("datasets", {}), saved.get("commits", {})
            extra = {"note": saved["note"]} if "note" in saved else {}
    previous = datasets.get(name, {})
    merged = dict(measured)
    for key, value in measured.items():
        if isinstance(value, dict) and isinstance(previous.get(key), dict):
            merged[key] = {**previous[key], **value}
    datasets[name] = merged
    if not (own_commits and name in commits):
        commits[name] = _commit()
    write_result(
        path,
        benchmark,
        packages,
        settings=settings,
        datasets=datasets,
        commits=commits,
        **extra,
    )
    return datasets


def parse_names(parser, text, known, kind):
    """A comma-separated ``--only``-style list, each name checked against ``known``."""
    names = [n.strip() for n in text.split(",")]
    unknown = sorted(set(names) - set(known))
    if unknown:
        parser.error(f"unknown {kind}(s) {unknown}; known: {list(known)}")
    return names
