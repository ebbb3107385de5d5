"""
PermGradExplainer as a feature selector
=======================================

:class:`~skpermgrad.PermGradExplainer` fits the hybrid, explains it on held-out rows
and keeps the features whose fused PermGrad score reaches ``threshold`` (the mean by
default), like ``SelectFromModel``, so it can sit in a Pipeline before another model.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skpermgrad import HybridRegressor, PermGradExplainer, TintoImager
from skpermgrad.datasets import load_puma8nh

X, y = load_puma8nh(return_X_y=True, as_frame=True)
X_train, X_test, y_train, y_test = train_test_split(
    X.iloc[:3000], y.iloc[:3000], random_state=0
)

explainer = PermGradExplainer(
    HybridRegressor(TintoImager(pixels=12), epochs=10, random_state=0),
    random_state=0,
)
pipe = make_pipeline(explainer, HistGradientBoostingRegressor(random_state=0))
pipe.fit(X_train, y_train)
print("branch weights:", explainer.branch_weights_)
print("kept:", list(explainer.get_feature_names_out()))

# %%
# Each column's fused score, the threshold, and which columns are kept:
order = explainer.feature_importances_.argsort()
kept = explainer.get_support()[order]
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.barh(
    explainer.feature_names_in_[order],
    explainer.feature_importances_[order],
    color=["tab:blue" if k else "lightgray" for k in kept],
)
ax.axvline(explainer.threshold_, color="k", linestyle="--", label="threshold (mean)")
ax.set_xlabel("fused PermGrad score (blue: kept)")
ax.legend(loc="lower right")
fig.tight_layout()

# %%
# The permutation part and the Grad-CAM part can disagree: the fused score follows
# the branch weights. Compare the model on the kept columns with the one on all:
full = HistGradientBoostingRegressor(random_state=0).fit(X_train, y_train)
print(f"R² on the kept columns: {pipe.score(X_test, y_test):.3f}")
print(f"R² on all columns:      {full.score(X_test, y_test):.3f}")
