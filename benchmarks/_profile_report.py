"""bench_profile's report: one fit's time by part, the configurations, the
images and inference, as markdown."""

from _results import describe_machine


def markdown(result, dataset, parts):
    """The report of ``result`` on ``dataset``, its train steps by ``parts``."""
    configs = result["datasets"][dataset]["configs"]
    machine = describe_machine(result["machine"])
    lines = [
        "# Where one fit of the hybrid spends its time",
        "",
        f"puma8NH, 80/20 split, one fit (seed 0) per configuration; {machine}; "
        f"commit {result['commits'].get(dataset)}, {result['date']}. Seconds.",
        "",
        "| configuration | fit | epochs | setup | first epoch | epoch (median) "
        "| its train steps | its validation | its rest | teardown | test RMSE |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, r in configs.items():
        lines.append(
            f"| `{label}` | {r['fit_seconds']:.1f} | {r['epochs']} | {r['setup']:.2f}"
            f" | {r['first_epoch']:.2f} | {r['epoch_median']:.3f} | "
            f"{r['train_steps_median']:.3f} | {r['validation_median']:.3f} | "
            f"{r['epoch_rest_median']:.3f} | {r['teardown']:.2f} | {r['rmse']:.4f} |"
        )
    feeds = ("own_batches", "numpy_arrays", "one_batch_repeated")
    lines += _table(
        "One train step on one batch held in memory (milliseconds), the whole "
        "network and its parts, at each configuration's batch size:",
        ["batch", *parts],
        {
            label: [
                r["batch_size"],
                *(f"{r['step_seconds'][p] * 1e3:.2f}" for p in parts),
            ]
            for label, r in configs.items()
        },
    )
    lines += _table(
        "One epoch of train steps (no validation, no callbacks), fed three ways "
        "(seconds):",
        feeds,
        {
            label: [f"{r['epoch_of_train_steps'][f]:.3f}" for f in feeds]
            for label, r in configs.items()
        },
    )
    images = result["datasets"][dataset].get("images")
    if images:
        lines += [
            "",
            "Seconds an epoch of the default hybrid on other images (fits of 3 and "
            "of 1 epoch, no validation: their difference halved), SuperTML's "
            "60x60 drawing pooled to 30x30 before the convolutions (the library's "
            "rule: at most 32 pixels a side) and not pooled (as before):",
            "",
            "| image | s an epoch | of the default image's |",
            "|---|---:|---:|",
        ]
        base = images.get("igtd")
        for label, seconds in images.items():
            ratio = f"{seconds / base:.1f}x" if base else "—"
            lines.append(f"| `{label}` | {seconds:.3f} | {ratio} |")
    timed = result["datasets"][dataset].get("inference")
    if timed:
        lines += [
            "",
            f"Inference on {timed['rows']:,} rows (the test rows repeated) with a "
            "default hybrid, best of 3 after a first call (seconds): "
            + ", ".join(
                f"`{label}` {seconds:.2f}"
                for label, seconds in timed.items()
                if label != "rows"
            )
            + " (`permgrad_importance` with `n_repeats=5`; published: "
            '`fusion="branch_weights", cnn_importance="gradcam", scale="minmax"`).',
        ]
    if result.get("note"):
        lines += ["", result["note"]]
    lines.append("")
    return "\n".join(lines)


def _table(intro, columns, rows):
    """A paragraph and a table of one row per configuration."""
    lines = ["", intro, "", "| configuration | " + " | ".join(columns) + " |"]
    lines.append("|---|" + "---:|" * len(columns))
    for label, cells in rows.items():
        lines.append(f"| `{label}` | " + " | ".join(map(str, cells)) + " |")
    return lines
