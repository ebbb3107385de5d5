"""
Grid search over the image size
===============================

``imager__pixels`` tunes the TINTO image side like any other parameter. Pass an
imager instance (not ``None``) so there is a parameter to set.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GridSearchCV

from skpermgrad import HybridClassifier, TintoImager
from skpermgrad.datasets import load_puma8nh

X, y = load_puma8nh(return_X_y=True)
X, y = X[:600], y[:600] > 0  # a binary task: is the acceleration positive?

search = GridSearchCV(
    HybridClassifier(TintoImager(), n_conv_layers=1, epochs=3, random_state=0),
    {"imager__pixels": [4, 8], "dense_units": [16, 64]},
    cv=2,
    scoring="roc_auc",
)
search.fit(X, y)
print(search.best_params_, round(search.best_score_, 3))

# %%
# The cross-validated ROC AUC of each grid point:
results = search.cv_results_
fig, ax = plt.subplots(figsize=(5, 3))
for units in (16, 64):
    at = np.asarray(results["param_dense_units"]) == units
    ax.errorbar(
        np.asarray(results["param_imager__pixels"])[at],
        results["mean_test_score"][at],
        yerr=results["std_test_score"][at],
        marker="o",
        capsize=3,
        label=f"dense_units={units}",
    )
ax.set_xlabel("imager__pixels")
ax.set_ylabel("ROC AUC (2-fold CV)")
ax.legend()
fig.tight_layout()
