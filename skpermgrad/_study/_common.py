"""What every part of the study shares: its files, its settings, its error,
Ctrl-C."""

import os
import signal
import sys
import time
from contextlib import contextmanager

from ..imaging import DEFAULT_IMAGER

MODEL_FILE = "model.joblib"
# the model file's SHA-256 beside it (as sha256sum writes it), which
# ``skpermgrad predict`` checks before loading: a pickle runs code on load
CHECKSUM_SUFFIX = ".sha256"
REPORT_FILES = (
    "report.md",
    "metrics.json",
    "importances.csv",
    "importance.png",
    "gradcam.png",
    "trials.csv",
    MODEL_FILE,
    MODEL_FILE + CHECKSUM_SUFFIX,
)
SETTINGS_FILE = "run.json"
STUDY_DB = "study.db"  # one worker's study (SQLite)
STUDY_JOURNAL = "study.journal"  # parallel workers' study (Optuna's JournalStorage)
# settings that define a study: a run in --out continues only if they agree
STUDY_SETTINGS = (
    "data",
    "target",
    "task",
    "test_size",
    "seed",
    "study_name",
    "epochs",
    "cv",
    "max_base_filters",
    "images",
)
TARGET_CLASSES_MAX = 10  # an integer target with at most this many values is a class
# a text feature column with more distinct values is refused (one input each)
MAX_CATEGORIES = 100
# a text column of which this share reads as numbers is numbers with typos
NUMERIC_SHARE = 0.9


class StudyError(Exception):
    """A problem with the user's input; the CLI prints it and exits with 2."""


# the image methods a run chooses among when it names none (and what a stored
# run without "images" read): the hybrids' default image
DEFAULT_IMAGES = [DEFAULT_IMAGER]


def settings_conflicts(stored, wanted):
    """Names of settings that differ between a stored run and this one."""
    keys = (*STUDY_SETTINGS, "fingerprint")
    return [k for k in keys if stored.get(k) != wanted.get(k)]


def interrupted(out, kept=None) -> str:
    """The one line an interrupted run ends with: what is kept in ``out``
    (``kept`` complete trials, when known) and the command that resumes it."""
    import shlex

    trials = "the complete trials" if kept is None else f"{kept} complete trial(s)"
    return (
        f"interrupted: {trials} are kept in {out} and no report was written; "
        f"continue with: skpermgrad run --out {shlex.quote(str(out))} --resume"
    )


def file_sha256(path) -> str:
    """The SHA-256 of the file ``path``, read in chunks."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def resume_changes(settings) -> str:
    """What a resumed run changed of the stored one's settings, in words
    (``""`` for none): ``"--trials 4 -> 8, --time-limit 30m 00s -> 1h 00m"``."""
    words = []
    for key, (old, new) in settings.get("changed_on_resume", {}).items():
        if key == "time_limit":
            old, new = (("none" if v is None else clock(v)) for v in (old, new))
        words.append(f"--{key.replace('_', '-')} {old} -> {new}")
    return ", ".join(words)


def elapsed(start):
    return clock(time.perf_counter() - start)


def clock(seconds) -> str:
    """``1h 02m``, ``12m 03s`` or ``45s``."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


def quiet_tensorflow(verbose=False):
    """Import TensorFlow and Keras for a process of the command line (or one
    of its workers), its C++ logs kept to fatal errors and its Python logs to
    errors (all of them with ``--verbose``): a fit of the default network
    logs a spurious C++ error line on oneDNN's int32 support on CPUs that
    have AVX-512.

    TensorFlow's C++ runtime prints a few lines while it loads (oneDNN, absl),
    whatever ``TF_CPP_MIN_LOG_LEVEL`` says, straight to file descriptor 2;
    that descriptor points at /dev/null while TensorFlow and Keras import. An
    import error is still raised, and shown, after it is restored.
    """
    if verbose:
        import tensorflow  # noqa: F401

        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import keras  # noqa: F401
        import tensorflow as tf
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    tf.get_logger().setLevel("ERROR")


@contextmanager
def ctrl_c(stopping=None, last_words=None):
    """How Ctrl-C (SIGINT) stops the run while the block runs.

    With a list ``stopping`` (tuning), a first Ctrl-C lets the running trial
    finish and be recorded (``stopping`` gets an item; the tuning stops
    after it); without one, a first Ctrl-C raises ``KeyboardInterrupt`` as
    usual. A second Ctrl-C stops the process at once, from the handler
    (``os._exit(130)``), after printing ``last_words()`` (a line saying what
    is kept, or nothing): a ``KeyboardInterrupt`` raised inside a trial
    could be swallowed by a finaliser ("Exception ignored") and the trial
    run on, or unwind through pages of Optuna and TensorFlow frames. The
    trial it leaves running is failed when the study is next opened (its
    process is gone: :func:`._storage.fail_dead_trials`).
    """
    pressed = []

    def handler(signum, frame):
        if pressed:
            if last_words is not None:
                print(f"\n{last_words()}", file=sys.stderr)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)
        pressed.append(True)
        if stopping is None:
            raise KeyboardInterrupt
        stopping.append(True)
        print(
            "\nCtrl-C: stopping after the running trial is recorded (Ctrl-C "
            "again to stop now and lose it)",
            file=sys.stderr,
            flush=True,
        )

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: Ctrl-C keeps its default
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def locked(folder):
    """Hold an exclusive lock on ``folder`` (``flock``, where the system has
    it) while the block runs: what one run writes into ``--out`` together,
    another reads together."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; the moves are not serialised
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock
