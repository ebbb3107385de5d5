"""
Rows as TINTO images
====================

:class:`~skpermgrad.TintoImager` gives every feature of puma8NH a pixel (PCA of the
features) and draws each row's scaled values there. With ``blur=True`` each value
also spreads to its neighbours.
"""

# %%
import matplotlib.pyplot as plt

from skpermgrad import TintoImager
from skpermgrad.datasets import load_puma8nh

X, y = load_puma8nh(return_X_y=True, as_frame=True)

fig, axes = plt.subplots(2, 4, figsize=(10, 5.4), layout="constrained")
for blur, row_axes in zip((False, True), axes):
    imager = TintoImager(pixels=12, blur=blur, random_state=0).fit(X)
    images = imager.transform_images(X.iloc[:4])[..., 0]
    for k, (ax, image) in enumerate(zip(row_axes, images)):
        ax.imshow(image, cmap="viridis", vmin=0, vmax=1)
        ax.set_title(f"row {k}{', blurred' if blur else ''}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    for name, row, col in imager.get_feature_layout().itertuples(index=False):
        row_axes[0].annotate(name, (col, row), color="white", fontsize=7, ha="center")

# %%
# Where each feature lands, as (row, col) of the image:
TintoImager(pixels=12, random_state=0).fit(X).get_feature_layout()
