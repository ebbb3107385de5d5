"""What every benchmark records next to its numbers: machine, versions, date."""

import json
import platform
import subprocess
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def _commit():
    """The checked-out commit, marked ``+dirty`` when tracked files changed."""
    here = Path(__file__).parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return None
    return (head + "+dirty" if dirty else head) or None


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
        ),
        versions=versions,
        **fields,
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")
