"""
Grid search over the image size
===============================

``imager__pixels`` tunes the TINTO image side like any other parameter. Pass an
imager instance (not ``None``) so there is a parameter to set.
"""

# %%
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
