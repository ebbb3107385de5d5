"""
Optuna search on the PermGrad notebook's space
==============================================

:func:`~skpermgrad.model_selection.hybrid_search_space` gives the notebook's space
as Optuna distributions for ``OptunaSearchCV``; a study on a storage makes the
search resumable and shareable between machines (see the user guide).
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import optuna
from optuna_integration import OptunaSearchCV

from skpermgrad import HybridRegressor, TintoImager
from skpermgrad.datasets import load_puma8nh
from skpermgrad.model_selection import hybrid_search_space

optuna.logging.set_verbosity(optuna.logging.WARNING)
X, y = load_puma8nh(return_X_y=True)
X, y = X[:600], y[:600]

# storage=JournalStorage(...) or a PostgreSQL URL to resume and share the study
study = optuna.create_study(direction="maximize")
search = OptunaSearchCV(
    HybridRegressor(TintoImager(pixels=16), epochs=3, random_state=0),
    hybrid_search_space(max_base_filters=16),
    study=study,
    n_trials=4,
    cv=2,
    random_state=0,
)
search.fit(X, y)
print(search.best_params_)

# %%
# Each trial's cross-validated R² and the best so far:
values = [t.value for t in study.trials if t.value is not None]
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(range(1, len(values) + 1), values, "o", label="trial")
ax.plot(range(1, len(values) + 1), np.maximum.accumulate(values), label="best so far")
ax.set_xlabel("trial")
ax.set_ylabel("R² (2-fold CV)")
ax.legend()
fig.tight_layout()
