"""A run's settings: the budgets, and what the command line gives or a stored
run holds."""

import json
from pathlib import Path

from .._validation import DEFAULT_CNN_IMPORTANCE, DEFAULT_FUSION
from ._common import (
    DEFAULT_IMAGES,
    SETTINGS_FILE,
    STUDY_SETTINGS,
    StudyError,
    clock,
    locked,
)
from ._tuning import DEFAULT_PRUNER
from ._workers import default_workers

MAX_BASE_FILTERS = 32  # the top of the tuned base_filters range on a CPU
# epochs None: the hybrid's own (100, with early stopping on 10% of the rows)
QUICK = {
    "trials": 0,
    "epochs": None,
    "cv": 3,
    "n_repeats": 2,
    "time_limit": None,
    "max_base_filters": MAX_BASE_FILTERS,
}
DEFAULT = {
    "trials": 8,
    "epochs": None,
    "cv": 3,
    "n_repeats": 5,
    "time_limit": 30 * 60,
    "max_base_filters": MAX_BASE_FILTERS,
}
_UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_duration(text) -> float:
    """``"90"`` or ``"90s"``, ``"10m"``, ``"1h"``, ``"1h30m"`` as seconds; the
    argparse type of ``--time-limit``."""
    import argparse
    import re

    piece = r"(\d+(?:\.\d+)?)\s*([smh]?)"
    whole = re.fullmatch(rf"\s*(?:{piece}\s*)+", text or "")
    seconds = sum(float(n) * _UNITS[u or "s"] for n, u in re.findall(piece, text or ""))
    if not whole or seconds <= 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a positive duration: write e.g. 90s, 10m, 1h or 1h30m"
        )
    return seconds


def parse_images(text) -> list[str]:
    """``"igtd,bie"`` as ``["igtd", "bie"]``, each a name
    :func:`skpermgrad.imaging.get_imager_names` knows; the argparse type of
    ``--images``."""
    import argparse

    from ..imaging import get_imager_names

    names = [name.strip() for name in (text or "").split(",")]
    known = get_imager_names()
    unknown = [name for name in names if name not in known]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown image method(s) {', '.join(map(repr, unknown))}: choose "
            f"among {', '.join(known)}, comma-separated"
        )
    if len(set(names)) < len(names):
        raise argparse.ArgumentTypeError(f"{text!r} names a method twice")
    return names


# what a resumed run keeps from the stored one besides STUDY_SETTINGS: the
# trial count, the time limit and the pruner may be given anew (applied, and
# said in the report); any other setting given anew must agree with the stored
# one
RESUMED = ("trials", "time_limit", "n_repeats", "fusion", "cnn_importance")
RESUMED += ("workers", "storage", "pruner")
CHANGEABLE_ON_RESUME = ("trials", "time_limit", "pruner")


def resolve_settings(args, out):
    """This run's settings and the stored run's (or None), refused if unsound.

    ``args`` holds the command line's options (None where not given): a new
    run takes them or the budget's defaults (``QUICK`` with ``args.quick``);
    ``--resume`` takes every setting of the run stored in ``out`` (see
    ``docs/cli.md``, "When a run is resumed"): a trial count or a time limit
    given anew is applied and recorded in ``settings["changed_on_resume"]``;
    any other setting given anew that differs from the stored one is refused.
    """
    stored = _stored_settings(out)
    given = {
        "data": None if args.data is None else str(Path(args.data).resolve()),
        "target": args.target,
        "task": args.task,
        "test_size": args.test_size,
        "seed": args.seed,
        "study_name": args.study_name,
        "epochs": args.epochs,
        "cv": args.cv,
        "max_base_filters": args.max_base_filters,
        "images": args.images,
        "trials": args.trials,
        "time_limit": args.time_limit,
        "n_repeats": QUICK["n_repeats"] if args.quick else None,
        "fusion": args.fusion,
        "cnn_importance": args.cnn_importance,
        "workers": args.workers,
        "storage": args.storage,
        "pruner": args.pruner,
    }
    if args.resume:
        settings = _resumed(stored, given, out)
    else:
        budget = QUICK if args.quick else DEFAULT
        defaults = {
            "task": "auto",
            "test_size": 0.2,
            "seed": 0,
            "study_name": "skpermgrad",
            "images": DEFAULT_IMAGES,
            **{k: budget[k] for k in ("trials", "epochs", "cv", "max_base_filters")},
            "time_limit": budget["time_limit"],
            "n_repeats": budget["n_repeats"],
            "fusion": DEFAULT_FUSION,
            "cnn_importance": DEFAULT_CNN_IMPORTANCE,
            "workers": None,  # default_workers, once the trials are known
            "pruner": DEFAULT_PRUNER,
            # None: the default study file inside --out, found wherever it is
            "storage": (stored or {}).get("storage"),
        }
        settings = {
            key: defaults.get(key) if value is None else value
            for key, value in given.items()
        }
    if settings["workers"] is None:
        settings["workers"] = default_workers(
            settings["trials"], settings["storage"], out
        )
    if settings["data"] is None and settings["target"] is None:
        settings["target"] = "values"
    if settings["target"] is None:
        raise StudyError("--target is required with DATA: name the column to predict.")
    if not 0 < settings["test_size"] < 1:  # a resumed run's too: run.json is text
        raise StudyError(f"--test-size {settings['test_size']} must be in (0, 1).")
    for key, minimum in (("trials", 0), ("epochs", 1), ("cv", 2)):
        value = settings[key]
        if value is not None and value < minimum:
            raise StudyError(f"--{key} {value} is too small.")
    if settings["max_base_filters"] < 8:
        raise StudyError(
            f"--max-base-filters {settings['max_base_filters']} is too small."
        )
    if len(settings["images"]) > 1 and not settings["trials"]:
        raise StudyError(
            f"--images names {len(settings['images'])} methods but no trial "
            "(--trials 0 or --quick) would choose among them: name one, or tune."
        )
    if settings["seed"] < 0:
        raise StudyError(f"--seed {settings['seed']} must be 0 or more.")
    if settings["workers"] < 1:
        raise StudyError(f"--workers {settings['workers']} must be 1 or more.")
    _check_explanation(settings)
    return settings, stored


def _stored_settings(out):
    """The settings of the run stored in ``out`` (None for none), or a
    StudyError where ``out`` holds something else."""
    if out.exists() and not out.is_dir():
        raise StudyError(f"--out {out} is a file; choose a folder.")
    if not out.exists():
        return None
    # under the folder's lock: a run starting there writes its study and its
    # settings under it, so both are read, or neither
    with locked(out):
        return _read_stored(out)


def _read_stored(out):
    stored_path = out / SETTINGS_FILE
    if not stored_path.is_file():
        if out.exists() and any(out.iterdir()):
            raise StudyError(
                f"--out {out} exists and holds files that are not a skpermgrad "
                "run; choose another --out."
            )
        return None
    try:
        stored = json.loads(stored_path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise StudyError(
            f"{stored_path} is not a readable run ({exc}); restore it, or "
            "choose another --out."
        ) from None
    if not isinstance(stored, dict):
        raise StudyError(f"{stored_path} is not a run; choose another --out.")
    # a stored run without "images" read the default image, one without
    # "pruner" ran every trial's folds
    return {"images": DEFAULT_IMAGES, "pruner": "none", **stored}


def _resumed(stored, given, out):
    """The stored run's settings, with the trial count and time limit given
    anew applied (and recorded); a StudyError names any other given setting
    that differs from the stored one."""
    if stored is None:
        raise StudyError(f"--resume: there is no run to resume in {out}.")
    clash = [
        k
        for k, v in given.items()
        if v is not None and v != stored.get(k) and k not in CHANGEABLE_ON_RESUME
    ]
    if clash:
        raise StudyError(
            f"--resume continues the run stored in {out}, but "
            + ", ".join(
                f"{_option(k)} {_shown(k, given[k])} (stored "
                f"{_shown(k, stored.get(k))})"
                for k in clash
            )
            + " differ; drop them, or choose another --out for a new run."
        )
    keep = (*STUDY_SETTINGS, *RESUMED)
    missing = [k for k in keep if k not in stored]
    if missing:
        raise StudyError(
            f"--resume: {out / SETTINGS_FILE} lacks the setting(s) {missing} (a run "
            "of an older skpermgrad, or an edited file); run the command that "
            "started it again, with every option, to continue it."
        )
    settings = {k: stored[k] for k in keep}
    changed = {
        k: [stored[k], given[k]]
        for k in CHANGEABLE_ON_RESUME
        if given[k] is not None and given[k] != stored[k]
    }
    for key, (_, new) in changed.items():
        settings[key] = new
    if changed:
        settings["changed_on_resume"] = changed
    return settings


def _option(key):
    return "--quick" if key == "n_repeats" else "--" + key.replace("_", "-")


def _shown(key, value):
    if key == "time_limit":
        return "none" if value is None else clock(value)
    if key == "images":
        return ",".join(value)
    if key == "n_repeats":
        return f"({value} permutation repeats)"
    return "default" if value is None else str(value)


def _check_explanation(settings):
    """Refuse, before any tuning, an explanation one of the run's images
    cannot give (the explanations' own rule: Grad-CAM needs pixels of each
    feature's own, integrated gradients an image the gradient crosses)."""
    from .._validation import image_shortfall
    from ..imaging import make_imager

    if settings["fusion"] != "branch_weights":
        return  # the CNN part is read only by PermGrad's branch-weighted sum
    for name in settings["images"]:
        shortfall = image_shortfall(make_imager(name, 1), settings["cnn_importance"])
        if shortfall is not None:
            raise StudyError(
                f"--cnn-importance {settings['cnn_importance']}: the image "
                f"method {name} {shortfall}; use --cnn-importance permutation, or "
                "drop it from --images."
            )
