"""
Hybrid network in a Pipeline, cross-validated
=============================================

The imager is fitted inside each training fold, so nothing of the test fold leaks
into the scaling or the pixel layout.
"""

# %%
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
