"""``skpermgrad demo``: the bundled puma8NH drawn as labelled TINTO images."""

from pathlib import Path

from ._study import StudyError

MAX_IMAGES = 16  # rows drawn side by side in one picture
# each image is 3 inches at 120 dpi in the picture: 360 px show every pixel
MAX_PIXELS = 360


def demo(args):
    """Image puma8NH with TintoImager and save a labelled picture."""
    import numpy as np
    from matplotlib.figure import Figure

    from .datasets import load_puma8nh
    from .imaging import TintoImager

    if not 1 <= args.n_images <= MAX_IMAGES:
        raise StudyError(
            f"--n-images {args.n_images}: draw between 1 and {MAX_IMAGES} rows "
            "(they stand side by side in one picture)."
        )
    if args.pixels > MAX_PIXELS:
        raise StudyError(
            f"--pixels {args.pixels}: the picture shows each image {MAX_PIXELS} px "
            f"wide; choose --pixels {MAX_PIXELS} or less."
        )
    out = Path(args.out)
    figure_path = out / "puma8nh_tinto.png"
    layout_path = out / "puma8nh_layout.csv"
    if not args.overwrite and (figure_path.exists() or layout_path.exists()):
        raise StudyError(
            f"{out} already holds demo output; pass --overwrite or another --out."
        )
    data = load_puma8nh(as_frame=True)
    try:
        imager = TintoImager(
            pixels=args.pixels, blur=args.blur, random_state=args.seed
        ).fit(data.data)
    except ValueError as exc:  # the image side (InvalidParameterError too)
        raise StudyError(f"--pixels {args.pixels}: {exc}") from None
    images = imager.transform_images(data.data.iloc[: args.n_images])[..., 0]
    layout = imager.get_feature_layout()

    fig = Figure(figsize=(3 * args.n_images, 3.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, args.n_images))
    for k, (ax, image) in enumerate(zip(axes, images)):
        ax.imshow(image, cmap="viridis", vmin=0, vmax=1)
        ax.set_title(f"row {k}: y = {data.target.iloc[k]:.2f}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        for name, row, col in layout.itertuples(index=False):
            ax.annotate(name, (col, row), color="white", fontsize=6, ha="center")
    fig.suptitle(f"puma8NH rows as {imager.pixels}x{imager.pixels} TINTO images")
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(figure_path, dpi=120)
    layout.to_csv(layout_path, index=False)
    print(f"wrote {figure_path} and {layout_path}")
    return 0
