"""
Explaining a classifier with PermGrad
=====================================

:func:`~skpermgrad.permgrad_importance` computes the four parts of PermGrad on
held-out rows; the displays plot them. For a classifier, Grad-CAM is computed per
class, from that class's own score.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

from skpermgrad import (
    GradCAMDisplay,
    HybridClassifier,
    PermGradDisplay,
    TintoImager,
    permgrad_importance,
)

rng = np.random.default_rng(0)
X = rng.uniform(-1, 1, size=(600, 6))
y = np.where(X[:, 0] > 0, "a", np.where(X[:, 3] > 0, "b", "c"))
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

clf = HybridClassifier(
    TintoImager(pixels=6),
    n_conv_layers=1,
    epochs=20,
    learning_rate=1e-2,
    random_state=0,
).fit(X_train, y_train)
result = permgrad_importance(
    clf, X_test, y_test, scoring="neg_log_loss", n_repeats=5, random_state=0
)
print(result.branch_weights)

# %%
# The fused score, stacked by branch, and the permutation drops with their spread:
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5), layout="constrained")
PermGradDisplay.from_result(result, ax=left)
PermGradDisplay.from_result(result, kind="permutation", ax=right)

# %%
# Grad-CAM per class over the mean image, each feature's pixel labelled:
fig, axes = plt.subplots(1, 3, figsize=(12, 3.8), layout="constrained")
for label, ax in zip(result.classes, axes):
    GradCAMDisplay.from_result(result, target=label, ax=ax)
