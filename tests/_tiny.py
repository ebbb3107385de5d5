"""Small, fast hybrid settings shared by the tests: checks fit dozens of times."""

TINY = dict(
    n_dense_layers=1,
    dense_units=8,
    n_conv_layers=1,
    base_filters=4,
    n_head_layers=1,
    head_units=8,
    epochs=2,
    validation_fraction=None,
    random_state=0,
)

# eager execution: faster than tracing for the few batches the checks run
FAST = {**TINY, "run_eagerly": True}
# the network's size only, for code that sets its own seed and validation
SMALL = {
    k: v for k, v in TINY.items() if k not in ("random_state", "validation_fraction")
}
