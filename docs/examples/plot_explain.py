"""
Explaining a classifier with PermGrad
=====================================

:func:`~skpermgrad.permgrad_importance` computes the four parts of PermGrad on
held-out rows, with bootstrap intervals; the displays plot them. For a classifier,
Grad-CAM is computed per class, from that class's own score.
:func:`~skpermgrad.explain_rows` explains single rows.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

from skpermgrad import (
    GradCAMDisplay,
    HybridClassifier,
    PermGradDisplay,
    RowExplanationDisplay,
    TintoImager,
    explain_rows,
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
for name, value, flat in zip(
    result.feature_names, result.importances, result.indistinguishable_from_zero
):
    print(f"{name}: {value:.3f}" + (" (indistinguishable from 0)" if flat else ""))

# %%
# The fused score, stacked by branch (intervals as error bars, features that cannot
# be told from zero hatched), and the MLP branch's permutation drops:
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5), layout="constrained")
PermGradDisplay.from_result(result, ax=left)
_ = PermGradDisplay.from_result(result, kind="permutation", ax=right)

# %%
# Grad-CAM per class over the mean image, each feature's pixel labelled:
fig, axes = plt.subplots(1, 3, figsize=(12, 3.8), layout="constrained")
for label, ax in zip(result.classes, axes):
    GradCAMDisplay.from_result(result, target=label, ax=ax)

# %%
# One test row: each feature's attribution to the probability of the row's most
# probable class (integrated gradients through both branches from 16 training rows,
# averaged, summing to the probability minus their mean probability), next to the
# row's image and its Grad-CAM:
rows = explain_rows(clf, X_test[:5], background=X_train, random_state=0)
_ = RowExplanationDisplay.from_result(rows, row=0)
