"""
The hybrid network, drawn from a fitted model
=============================================

A :class:`~skpermgrad.HybridRegressor` reads each row twice: the MLP branch reads
the scaled values, the CNN branch the TINTO image drawn from the same values
inside the network. The two branch outputs meet at ``concatenate`` and a dense
head predicts. The diagram below is drawn from the layers of a fitted model, with
their names (the ones explanations look up) and output shapes.
"""

# %%
import keras
import matplotlib.pyplot as plt

from skpermgrad import HybridRegressor, TintoImager
from skpermgrad.datasets import load_puma8nh

X, y = load_puma8nh(return_X_y=True)
reg = HybridRegressor(TintoImager(pixels=12), epochs=1, random_state=0)
model = reg.fit(X[:500], y[:500]).model_


def column(name):
    """Where a layer sits: the MLP branch (left), the CNN branch (right), the
    head (centre)."""
    if name == "tabular" or name.startswith("mlp"):
        return 0.0
    if name in ("image_input", "image", "last_conv", "cnn_output") or name.startswith(
        "conv"
    ):
        return 2.0
    return 1.0


columns = {0.0: [], 1.0: [], 2.0: []}
for layer in model.layers:
    columns[column(layer.name)].append(layer)

fig, ax = plt.subplots(figsize=(9, 9), layout="constrained")
position = {}
branch_rows = max(len(columns[0.0]), len(columns[2.0]))
for x, layers in columns.items():
    start = 0 if x != 1.0 else branch_rows
    for k, layer in enumerate(layers):
        y_pos = -(start + k)
        position[layer.name] = (x, y_pos)
        shape = tuple(layer.output.shape[1:])
        colour = {0.0: "tab:blue", 1.0: "tab:grey", 2.0: "tab:orange"}[x]
        ax.text(
            x,
            y_pos,
            f"{layer.name}\n{shape}",
            ha="center",
            va="center",
            fontsize=8,
            bbox={"boxstyle": "round", "facecolor": colour, "alpha": 0.25},
        )
producer = {id(layer.output): layer.name for layer in model.layers}
for layer in model.layers:
    if isinstance(layer, keras.layers.InputLayer):
        continue
    inputs = layer.input if isinstance(layer.input, list) else [layer.input]
    for tensor in inputs:
        (x0, y0), (x1, y1) = position[producer[id(tensor)]], position[layer.name]
        ax.annotate(
            "",
            (x1, y1 + 0.3),
            (x0, y0 - 0.3),
            arrowprops={"arrowstyle": "->", "color": "grey"},
        )
ax.set_xlim(-0.7, 2.7)
ax.set_ylim(-(branch_rows + len(columns[1.0])), 1)
ax.set_axis_off()
ax.set_title("MLP branch (left), CNN branch on the TINTO image (right), head (centre)")
plt.show()
