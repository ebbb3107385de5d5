"""
Cross-validation on a Dask cluster
==================================

scikit-learn spreads the folds of ``cross_val_score``, ``GridSearchCV`` or
``cross_validate`` over joblib; joblib's ``"dask"`` backend sends them to the
workers of a Dask cluster. A hybrid pickles to the workers and, seeded, trains
there the same network as in this process: the scores are identical to the
sequential run's. Here the cluster is a ``LocalCluster`` of two worker
processes on this machine; for machines of their own, start
``dask scheduler`` and ``dask worker ADDRESS`` and pass ``Client(ADDRESS)``.
Needs ``pip install "skpermgrad[scale]"`` (``dask[distributed]``).
"""

# %%
import time

import joblib
import matplotlib.pyplot as plt
import numpy as np
from dask.distributed import Client, LocalCluster
from sklearn.model_selection import cross_val_score

from skpermgrad import HybridRegressor
from skpermgrad.datasets import load_puma8nh

X, y = load_puma8nh(return_X_y=True)
X, y = X[:600], y[:600]
hybrid = HybridRegressor(epochs=5, random_state=0)

start = time.perf_counter()
sequential = cross_val_score(hybrid, X, y, cv=4)
sequential_s = time.perf_counter() - start

# %%
# The same folds on two worker processes. One thread a worker: a hybrid's
# TensorFlow already uses the cores it is given.
with (
    LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
    Client(cluster),
    joblib.parallel_backend("dask"),
):
    start = time.perf_counter()
    on_dask = cross_val_score(hybrid, X, y, cv=4, n_jobs=-1)
    dask_s = time.perf_counter() - start

print("sequential:", np.round(sequential, 4), f"({sequential_s:.0f} s)")
print("on Dask:   ", np.round(on_dask, 4), f"({dask_s:.0f} s)")
print("identical:", np.array_equal(sequential, on_dask))

# %%
# Each fold's R², side by side:
fig, ax = plt.subplots(figsize=(5, 3))
folds = np.arange(1, len(sequential) + 1)
ax.bar(folds - 0.2, sequential, 0.4, label="sequential")
ax.bar(folds + 0.2, on_dask, 0.4, label="2 Dask workers")
ax.set_xticks(folds)
ax.set_xlabel("fold")
ax.set_ylabel("R²")
ax.legend()
fig.tight_layout()
