"""The Optuna study: its storage, its sampler, the tuning run and its errors."""

import warnings
from pathlib import Path

import numpy as np

from ._base import STUDY_DB, StudyError


def storage_url(storage, out) -> str:
    """The study's storage: ``storage`` as given, or (``None``) the sqlite file
    in ``out`` wherever the folder now is, so a copied or moved folder resumes
    its own study and never writes into the original's."""
    if storage is not None:
        return storage
    return f"sqlite:///{(Path(out) / STUDY_DB).resolve()}"


def open_study(storage, name, seed):
    """Create or load the Optuna study (``maximize`` the CV score).

    The TPE sampler's seed is drawn from ``seed`` and the number of trials the
    study already holds: a run is reproducible, yet a continued study, or a
    second worker joining it, never replays the trials of the first.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(
            storage=storage,
            study_name=name,
            direction="maximize",
            load_if_exists=True,
        )
    except Exception as exc:  # Optuna's, or SQLAlchemy's (a bad URL, no permission)
        lines = str(exc).strip().splitlines()
        raise StudyError(
            f"cannot open the study in --storage {storage}: "
            f"{type(exc).__name__}: {lines[0] if lines else ''}"
        ) from None
    sampler_seed = np.random.SeedSequence([seed, len(study.trials)]).generate_state(1)
    study.sampler = optuna.samplers.TPESampler(seed=int(sampler_seed[0]))
    return study


def completed_trials(study):
    from optuna.trial import TrialState

    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


def tune(
    pipeline, X, y, study, *, trials, cv, scoring, seed, max_base_filters, timeout
):
    """Run trials until ``trials`` are complete in the study (shared or not).

    Each process runs at most the trials still missing; ``MaxTrialsCallback``
    stops every process sharing the storage once the total is reached.
    """
    import optuna
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState
    from optuna_integration import OptunaSearchCV
    from tqdm.auto import tqdm

    from ..model_selection import hybrid_search_space

    missing = trials - len(completed_trials(study))
    if missing <= 0:
        return
    bar = tqdm(
        total=trials,
        initial=trials - missing,
        desc="trials",
        unit="trial",
        disable=None,
    )

    def progress(study, trial):
        bar.update(1)
        if len(completed_trials(study)):
            bar.set_postfix(best=f"{study.best_value:.4g}")

    with warnings.catch_warnings():  # OptunaSearchCV is marked experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        search = OptunaSearchCV(
            pipeline,
            hybrid_search_space("hybrid__", max_base_filters=max_base_filters),
            cv=cv,
            n_trials=missing,
            timeout=timeout,
            scoring=scoring,
            study=study,
            refit=False,
            random_state=seed,
            error_score="raise",
            callbacks=[
                progress,
                MaxTrialsCallback(trials, states=(TrialState.COMPLETE,)),
            ],
        )
    try:
        with warnings.catch_warnings():  # optuna_integration's own deprecations
            warnings.filterwarnings("ignore", category=FutureWarning, module="optuna")
            search.fit(X, y)
    except (ValueError, TypeError) as exc:
        message = _trial_error(pipeline, X, y, study, cv, scoring, exc)
        raise StudyError(message) from None
    finally:
        bar.close()


def _trial_error(pipeline, X, y, study, cv, scoring, exc):
    """One line on why tuning failed, with the error a trial really raised.

    optuna-integration's OptunaSearchCV swallows a ValueError from inside a
    trial and fails later on its own (``TypeError ... add.reduce``): the
    failed trial's parameters are cross-validated again here with the error
    raised, to name the cause.
    """
    from optuna.trial import TrialState
    from sklearn.base import clone
    from sklearn.model_selection import cross_validate

    failed = study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
    cause = exc
    if failed:
        try:
            cross_validate(
                clone(pipeline).set_params(**failed[-1].params),
                X,
                y,
                cv=cv,
                scoring=scoring,
                error_score="raise",
            )
        except Exception as raised:  # noqa: BLE001 - reported, not handled
            cause = raised
    message = str(cause).strip().splitlines()
    return (
        f"tuning failed: {type(cause).__name__}: "
        f"{message[0] if message else 'no message'}"
    )
