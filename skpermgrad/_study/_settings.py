"""A run's settings: the budgets, and what the command line gives or a stored
run holds."""

import json
from pathlib import Path

from ._base import DEFAULT_IMAGES, SETTINGS_FILE, STUDY_SETTINGS, StudyError

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


def resolve_settings(args, out):
    """This run's settings and the stored run's (or None), refused if unsound.

    ``args`` holds the command line's options (None where not given): a new
    run takes them or the budget's defaults (``QUICK`` with ``args.quick``);
    ``--resume`` takes the run stored in ``out`` and refuses given settings
    that differ from it.
    """
    stored_path = out / SETTINGS_FILE
    if out.exists() and not out.is_dir():
        raise StudyError(f"--out {out} is a file; choose a folder.")
    stored = None
    if stored_path.is_file():
        try:
            stored = json.loads(stored_path.read_text())
        except (ValueError, UnicodeDecodeError) as exc:
            raise StudyError(
                f"{stored_path} is not a readable run ({exc}); restore it, or "
                "choose another --out."
            ) from None
        if not isinstance(stored, dict):
            raise StudyError(f"{stored_path} is not a run; choose another --out.")
        stored = {"images": DEFAULT_IMAGES, **stored}  # a run from before --images
    if out.exists() and any(out.iterdir()) and stored is None:
        raise StudyError(
            f"--out {out} exists and holds files that are not a skpermgrad run; "
            "choose another --out."
        )
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
    }
    if args.resume:
        if stored is None:
            raise StudyError(f"--resume: there is no run to resume in {out}.")
        clash = [k for k, v in given.items() if v is not None and v != stored.get(k)]
        if clash:
            raise StudyError(
                f"--resume continues the run stored in {out}, but "
                + ", ".join(
                    f"{k}={given[k]!r} (stored {stored.get(k)!r})" for k in clash
                )
                + " differ; drop them or choose another --out."
            )
        settings = {k: stored[k] for k in STUDY_SETTINGS if k in stored}
    else:
        settings = {
            "data": given["data"],
            "target": args.target,
            "task": args.task or "auto",
            "test_size": 0.2 if args.test_size is None else args.test_size,
            "seed": 0 if args.seed is None else args.seed,
            "study_name": args.study_name or "skpermgrad",
            "images": args.images or DEFAULT_IMAGES,
        }
    if settings["data"] is None and settings["target"] is None:
        settings["target"] = "values"
    if settings["target"] is None:
        raise StudyError("--target is required with DATA: name the column to predict.")
    if not 0 < settings["test_size"] < 1:
        raise StudyError(f"--test-size {settings['test_size']} must be in (0, 1).")
    budget = QUICK if args.quick else DEFAULT
    # cv, epochs and the search space define the study's trials: a resumed run
    # keeps the stored ones (a clash with given ones was refused above)
    for key in ("trials", "epochs", "cv", "max_base_filters"):
        value = getattr(args, key)
        if value is None:
            value = settings.get(key, budget[key])
        settings[key] = value
        minimum = {"trials": 0, "cv": 2, "max_base_filters": 8}.get(key, 1)
        if value is not None and value < minimum:
            raise StudyError(f"--{key.replace('_', '-')} {value} is too small.")
    if len(settings["images"]) > 1 and not settings["trials"]:
        raise StudyError(
            f"--images names {len(settings['images'])} methods but no trial "
            "(--trials 0 or --quick) would choose among them: name one, or tune."
        )
    settings["n_repeats"] = budget["n_repeats"]
    settings["time_limit"] = (
        budget["time_limit"] if args.time_limit is None else args.time_limit
    )
    if settings["seed"] < 0:
        raise StudyError(f"--seed {settings['seed']} must be 0 or more.")
    settings["workers"] = 1 if args.workers is None else args.workers
    if settings["workers"] < 1:
        raise StudyError(f"--workers {settings['workers']} must be 1 or more.")
    settings["fusion"] = args.fusion
    settings["cnn_importance"] = args.cnn_importance
    _check_explanation(settings)
    # None: the default sqlite file inside --out, found wherever the folder is
    settings["storage"] = args.storage or (stored or {}).get("storage")
    return settings, stored


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
