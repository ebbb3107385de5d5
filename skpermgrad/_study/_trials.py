"""The study's search space and trials: the space, the defaults' trial first,
which trials count towards ``--trials`` (complete, or pruned after a fold),
which finished last."""

DEFAULTS_ATTR = "skpermgrad_defaults"  # the user attribute of the defaults' trial
# the user attribute of a trial pruned before it ran: the budget was reached
OVER_BUDGET_ATTR = "skpermgrad_over_budget"


def _over_budget(trial):
    return bool(trial.user_attrs.get(OVER_BUDGET_ATTR))


def completed_trials(study):
    from optuna.trial import TrialState

    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


def pruned_trials(study):
    """The trials the pruner stopped after a fold (not those stopped before
    they ran because the budget was reached)."""
    from optuna.trial import TrialState

    return [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.PRUNED,))
        if not _over_budget(t)
    ]


def tried_trials(study):
    """The trials that count towards ``--trials``: complete or pruned."""
    return completed_trials(study) + pruned_trials(study)


def defaults_trial(study):
    """The study's trial of the hybrid's defaults, if complete (else None)."""
    for trial in completed_trials(study):
        if trial.user_attrs.get(DEFAULTS_ATTR):
            return trial
    return None


def finished_last(study, ran) -> bool:
    """Whether the study's last trial to finish (complete, pruned after a fold
    or failed) is one of ``ran``: the worker that ran it refits and reports,
    the others stop."""
    from optuna.trial import TrialState

    failed = study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
    done = [t for t in tried_trials(study) + failed if t.datetime_complete]
    if not done:
        return True
    last = max(done, key=lambda t: (t.datetime_complete, t.number))
    return last.number in ran


def defaults_of(pipeline, space):
    """The pipeline's own values of the tuned parameters (trial 0's)."""
    params = pipeline.get_params()
    return {name: params[name] for name in space}


def study_space(settings):
    """The study's search space: the hybrid's (up to ``max_base_filters``, a
    classifier's for the task ``"classification"``), and the image method
    among the run's ``images`` when it names several (chosen, as the rest, by
    the training split's CV)."""
    from optuna.distributions import CategoricalDistribution

    from ..model_selection import hybrid_search_space

    space = hybrid_search_space(
        "hybrid__",
        max_base_filters=settings["max_base_filters"],
        classifier=settings["task"] == "classification",
    )
    if len(settings["images"]) > 1:
        space["hybrid__imager"] = CategoricalDistribution(settings["images"])
    return space


def enqueue_defaults(pipeline, study, space):
    """Make the hybrid's defaults the study's next trial, unless it has them
    (so the tuned model's CV score is never below theirs)."""
    study.enqueue_trial(
        defaults_of(pipeline, space),
        user_attrs={DEFAULTS_ATTR: True},
        skip_if_exists=True,
    )
