"""
One row, five layouts
=====================

Every imager gives each feature of puma8NH a pixel; they differ in where. TINTO
projects the features into a circle on a large grid; IGTD and REFINED fill the
smallest square; DeepInsight and Fotomics bin a projection onto a grid about
twice the number of features. The same four rows are drawn by each, each
feature's name at its pixel.
"""

# %%
import matplotlib.pyplot as plt

from skpermgrad import (
    DeepInsightImager,
    FotomicsImager,
    IGTDImager,
    RefinedImager,
    TintoImager,
)
from skpermgrad.datasets import load_puma8nh

X, y = load_puma8nh(return_X_y=True, as_frame=True)

imagers = {
    "TINTO": TintoImager(pixels=12, random_state=0),
    "IGTD": IGTDImager(random_state=0),
    "REFINED": RefinedImager(random_state=0),
    "DeepInsight": DeepInsightImager(random_state=0),
    "Fotomics": FotomicsImager(),
}
fig, axes = plt.subplots(4, 5, figsize=(11, 9), layout="constrained")
for col, (title, imager) in enumerate(imagers.items()):
    images = imager.fit(X).transform_images(X.iloc[:4])[..., 0]
    for k, image in enumerate(images):
        ax = axes[k, col]
        ax.imshow(image, cmap="viridis", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        if k == 0:
            side = imager.image_shape_[0]
            ax.set_title(f"{title}\n{side}x{side}", fontsize=10)
            for name, row, c in imager.get_feature_layout().itertuples(index=False):
                ax.annotate(name, (c, row), color="white", fontsize=7, ha="center")
for k in range(4):
    axes[k, 0].set_ylabel(f"row {k}")

# %%
# Where each feature sits in each layout, as (row, col):
import pandas as pd  # noqa: E402

pd.concat(
    {
        title: imager.get_feature_layout().set_index("feature").apply(tuple, axis=1)
        for title, imager in imagers.items()
    },
    axis=1,
)
