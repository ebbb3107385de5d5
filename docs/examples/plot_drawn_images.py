"""
One row, seven drawings
=======================

The drawn imagers picture the whole row rather than give each feature a pixel.
The distance matrix shows every pairwise difference of the row's scaled values
(0.5 on the diagonal: brighter above it where the row's feature is larger);
the bar graph one bar per feature; the combination both, and each feature's
level, as the three channels of a colour image; BIE the float32 bits of each
value, a row a feature; the feature wrap each value's bin as one-hot bits,
packed 8 to a pixel; SuperTML writes each value as text in its own cell, or
(SuperTML-VF) at a font size by a random forest's importance of the feature
for the target, the most important first;
Clusters shows the row's distance to each of 16 k-means centres of the
training rows (close centres on neighbouring pixels), so no pixel is a
feature's own. The same four rows of puma8NH
are drawn by each; in the first row, each feature's name is written where it
is labelled, and the pixels ``theta1`` draws (its ``feature_masks_``, where
Grad-CAM is read for it) are tinted red.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from skpermgrad import (
    BarGraphImager,
    BIEImager,
    ClustersImager,
    CombinationImager,
    DistanceMatrixImager,
    FeatureWrapImager,
    SuperTMLImager,
)
from skpermgrad.datasets import load_puma8nh

X, y = load_puma8nh(return_X_y=True, as_frame=True)

imagers = {
    "DistanceMatrix": DistanceMatrixImager(),
    "BarGraph (2 px, gap 1)": BarGraphImager(pixel_width=2, gap=1),
    "Combination (RGB)": CombinationImager(),
    "BIE": BIEImager(),
    "FeatureWrap": FeatureWrapImager(),
    "SuperTML": SuperTMLImager(pixels=96, font_size=9),
    "SuperTML-VF": SuperTMLImager(
        pixels=96, font_size=14, feature_importance=True, random_state=0
    ),
    "Clusters (k-means)": ClustersImager(random_state=1),
}
fig, axes = plt.subplots(
    4,
    len(imagers),
    figsize=(19, 9),
    layout="constrained",
    width_ratios=[1, 1, 1, 2, 1, 1, 1, 1],
)
for col, (title, imager) in enumerate(imagers.items()):
    # y: read only by SuperTML-VF (its forest's importances)
    images = imager.fit(X, y).transform_images(X.iloc[:4])
    for k, image in enumerate(images):
        ax = axes[k, col]
        shown = image if image.shape[-1] == 3 else image[..., 0]
        ax.imshow(shown, cmap="viridis", vmin=0, vmax=1, aspect="equal")
        ax.set_xticks([])
        ax.set_yticks([])
        if k == 0:
            height, width, channels = imager.image_shape_
            ax.set_title(f"{title}\n{height}x{width}x{channels}", fontsize=10)
            layout = imager.get_feature_layout()
            bars = isinstance(imager, BarGraphImager)
            for name, row, c in layout.itertuples(index=False):
                if row < 0:  # no pixel of its own (Clusters)
                    continue
                ax.annotate(
                    name,
                    (c + bars / 2, row + bars),
                    color="white",
                    fontsize=6,
                    ha="center",
                    va="top",
                    rotation=90 if bars else 0,
                )
            mask = imager.feature_masks_[list(layout.feature).index("theta1")]
            ax.imshow(np.ma.masked_where(~mask, mask), cmap="autumn", alpha=0.45)
for k in range(4):
    axes[k, 0].set_ylabel(f"row {k}")

# %%
# How many pixels each feature draws, and whether a gradient reaches its value
# through the image (integrated gradients need one):
import pandas as pd  # noqa: E402

pd.DataFrame(
    {
        title: {
            "image": "x".join(map(str, imager.image_shape_)),
            "pixels per feature": int(np.mean(imager.feature_masks_.sum(axis=(1, 2)))),
            "pixels of its own": imager.feature_pixels,
            "differentiable": imager.differentiable,
        }
        for title, imager in imagers.items()
    }
)
