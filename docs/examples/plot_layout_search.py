"""
Grid search over the image layout
=================================

The best image differs from table to table, so the layout is a parameter like
any other: search ``imager=[...]`` over imager instances. Each candidate is
cloned and fitted on the training rows of each fold only.
"""

# %%
import pandas as pd
from sklearn.model_selection import GridSearchCV

from skpermgrad import (
    DeepInsightImager,
    HybridRegressor,
    IGTDImager,
    RefinedImager,
    TintoImager,
)
from skpermgrad.datasets import load_puma8nh

X, y = load_puma8nh(return_X_y=True)
X, y = X[:800], y[:800]

search = GridSearchCV(
    HybridRegressor(n_conv_layers=2, epochs=5, random_state=0),
    {
        "imager": [
            TintoImager(pixels=20, random_state=0),
            IGTDImager(random_state=0),
            RefinedImager(random_state=0),
            DeepInsightImager(random_state=0),
        ]
    },
    cv=2,
    scoring="neg_root_mean_squared_error",
)
search.fit(X, y)

# %%
# Cross-validated RMSE and fit time of each layout: the compact images (3x3
# for 8 features) convolve far fewer pixels than TINTO's 20x20.
results = pd.DataFrame(search.cv_results_)
pd.DataFrame(
    {
        "imager": [type(p["imager"]).__name__ for p in results.params],
        "rmse": -results.mean_test_score,
        "fit seconds": results.mean_fit_time,
    }
).round(3)
