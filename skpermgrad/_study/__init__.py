"""The ``skpermgrad run`` study: read a table, tune, fit, explain, report.

The command line (:mod:`skpermgrad.cli`) parses and resolves settings, then
calls :func:`run_study` or :func:`predict_table`; everything a step can refuse
is checked before anything is written (:class:`StudyError`).
"""

from ._common import (
    SETTINGS_FILE,
    STUDY_DB,
    STUDY_JOURNAL,
    STUDY_SETTINGS,
    StudyError,
    clock,
    quiet_tensorflow,
)
from ._pipeline import metrics
from ._predict import predict_table
from ._run import run_study
from ._settings import (
    DEFAULT,
    MAX_BASE_FILTERS,
    QUICK,
    parse_duration,
    parse_images,
    resolve_settings,
)
from ._storage import optuna_storage, storage_url
from ._tuning import DEFAULT_PRUNER, PRUNERS

__all__ = [
    "DEFAULT",
    "DEFAULT_PRUNER",
    "MAX_BASE_FILTERS",
    "PRUNERS",
    "QUICK",
    "SETTINGS_FILE",
    "STUDY_DB",
    "STUDY_JOURNAL",
    "STUDY_SETTINGS",
    "StudyError",
    "clock",
    "metrics",
    "optuna_storage",
    "parse_duration",
    "parse_images",
    "predict_table",
    "quiet_tensorflow",
    "resolve_settings",
    "run_study",
    "storage_url",
]
