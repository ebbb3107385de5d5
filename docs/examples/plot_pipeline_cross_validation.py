"""
Hybrid network in a Pipeline, cross-validated
=============================================

The imager is fitted inside each training fold, so nothing of the test fold leaks
into the scaling or the pixel layout.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skpermgrad import HybridRegressor, TintoImager
from skpermgrad.datasets import load_puma8nh

X, y = load_puma8nh(return_X_y=True)
X, y = X[:1000], y[:1000]

pipe = make_pipeline(
    StandardScaler(),
    HybridRegressor(TintoImager(pixels=8), n_conv_layers=2, epochs=5, random_state=0),
)
scores = cross_val_score(
    pipe, X, y, cv=KFold(3, shuffle=True, random_state=0), scoring="r2"
)
print(f"R² per fold: {scores.round(3)}")

# %%
# The same folds for gradient-boosted trees, for scale:
trees = cross_val_score(
    HistGradientBoostingRegressor(random_state=0),
    X,
    y,
    cv=KFold(3, shuffle=True, random_state=0),
    scoring="r2",
)
fig, ax = plt.subplots(figsize=(5, 3))
for i, (name, values) in enumerate({"hybrid": scores, "HistGB": trees}.items()):
    ax.plot([i] * len(values), values, "o", alpha=0.7)
    ax.plot([i - 0.2, i + 0.2], [values.mean()] * 2, "k-")
ax.set_xticks([0, 1], ["hybrid (5 epochs)", "HistGradientBoosting"])
ax.set_ylabel("R² per fold (line: mean)")
fig.tight_layout()
