"""Command-line entry point: ``skpermgrad`` / ``python -m skpermgrad``."""

import argparse
import sys
from pathlib import Path


def _demo(args):
    """Image puma8NH with TintoImager and save a labelled picture."""
    import numpy as np
    from matplotlib.figure import Figure

    from .datasets import load_puma8nh
    from .imaging import TintoImager

    out = Path(args.out)
    figure_path = out / "puma8nh_tinto.png"
    layout_path = out / "puma8nh_layout.csv"
    if not args.overwrite and (figure_path.exists() or layout_path.exists()):
        raise SystemExit(
            f"error: {out} already holds demo output; pass --overwrite or another "
            "--out."
        )
    data = load_puma8nh(as_frame=True)
    imager = TintoImager(
        pixels=args.pixels, blur=args.blur, random_state=args.seed
    ).fit(data.data)
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


def _parser():
    parser = argparse.ArgumentParser(
        prog="skpermgrad",
        description="Interpretable hybrid neural networks for tabular data.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo", help="image the bundled puma8NH table and save a labelled picture"
    )
    demo.add_argument("--out", default="tinto-demo", help="output folder")
    demo.add_argument("--pixels", type=int, default=20, help="image side")
    demo.add_argument("--blur", action="store_true", help="TINTO blurring")
    demo.add_argument("--n-images", type=int, default=4, help="rows to draw")
    demo.add_argument("--seed", type=int, default=0, help="layout seed")
    demo.add_argument(
        "--overwrite", action="store_true", help="replace earlier demo output"
    )
    demo.set_defaults(func=_demo)
    return parser


def main(argv=None):
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    if getattr(args, "n_images", 1) < 1:
        raise SystemExit("error: --n-images must be at least 1")
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
