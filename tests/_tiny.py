"""Small, fast hybrid settings shared by the tests (checks fit dozens of
times), and the check that a drawing is drawn alike in and out of the graph."""

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


def curved(n_features, n_samples=240):
    """``n_samples`` rows of ``n_features`` uniform features in [-1, 1];
    ``y = 3 x0 + x1**2 + noise`` (seeded)."""
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(n_samples, n_features))
    y = 3 * X[:, 0] + X[:, 1] ** 2 + 0.05 * rng.normal(size=n_samples)
    return X, y


def assert_drawn_in_the_graph(imager, X, atol=1e-6):
    """The fitted drawn ``imager``'s drawing: ``DrawnRender`` and
    ``draw(xp=keras.ops)`` draw what ``transform_images`` and NumPy draw, and
    the layer's saved config draws the same."""
    import keras
    import numpy as np

    from skpermgrad.imaging import draw
    from skpermgrad.models import DrawnRender

    kind, params = imager.get_drawing()
    values = imager.transform_values(X)
    layer = DrawnRender(kind, params)
    np.testing.assert_allclose(layer(values), imager.transform_images(X), atol=atol)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(draw(kind, values, xp=keras.ops, **params)),
        draw(kind, values.astype(np.float64), **params),
        atol=atol,
    )
    again = DrawnRender.from_config(layer.get_config())
    np.testing.assert_array_equal(again(values), layer(values))


def assert_network_draws_the_image(reg, X, atol=1e-6):
    """The fitted hybrid ``reg``'s ``image`` layer, fed the values its imager
    scales, holds the imager's ``transform_images``."""
    import keras
    import numpy as np

    imager = reg.feature_encoder_.imager_
    rendered = keras.Model(
        reg.model_.get_layer("image_input").output,
        reg.model_.get_layer("image").output,
    )(imager.transform_values(X))
    np.testing.assert_allclose(rendered, imager.transform_images(X), atol=atol)
