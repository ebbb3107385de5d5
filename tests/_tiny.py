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
