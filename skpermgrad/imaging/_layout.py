"""Where each feature lands on TINTO's grid and what it draws there.

Pure functions of arrays: the 2-D coordinates of the features (PCA of the
transposed table), TINTO's square delimitation onto the grid, collisions, the
features' footprints (a pixel, or blurred rings) and how footprints combine.
"""

import math

import numpy as np
from sklearn.manifold import TSNE

# Rows rendered per block: keeps the float64 scratch space of ``transform`` in cache.
_CHUNK_ROWS = 1024


def _pca_2d(X):
    """Scores of the rows of ``X`` on its first two principal components.

    The exact PCA that ``sklearn.decomposition.PCA(n_components=2)`` computes
    (TINTOlib calls it on the transposed table), with the same sign convention
    (``svd_flip(u_based_decision=False)``: each component's largest-magnitude
    loading is positive). A table has few features and many rows, so the
    component scores come from the eigen-decomposition of the small
    ``(n_features, n_features)`` Gram matrix instead of a randomized SVD of the
    whole table: the same result, deterministic and about 30x faster.
    """
    centred = X - X.mean(axis=0)
    if centred.shape[0] <= centred.shape[1]:
        eigval, eigvec = np.linalg.eigh(centred @ centred.T)
        components = eigvec[:, np.argsort(eigval)[::-1][:2]].T @ centred
        norms = np.linalg.norm(components, axis=1, keepdims=True)
        # A direction without variance (e.g. 2 features) is rounding noise: drop it.
        noise = norms <= max(centred.shape) * np.finfo(float).eps * norms.max()
        components = np.where(noise, 0.0, components / np.where(noise, 1.0, norms))
    else:
        components = np.linalg.svd(centred, full_matrices=False)[2][:2]
    largest = components[np.arange(2), np.argmax(np.abs(components), axis=1)]
    components *= np.where(largest < 0, -1.0, 1.0)[:, None]
    return centred @ components.T


def _blur_filter(distance, steps, amplification):
    """TINTO's blurring stencil: rings of decreasing intensity around 1 at the centre.

    Identical to TINTOlib's ``TINTO.__createFilter``: ring ``k`` (radius
    ``distance * k``) holds ``min(amplification / (pi * radius**2), 1)`` and inner
    rings overwrite outer ones.
    """
    size = 2 * distance * steps + 1
    center = distance * steps
    ii, jj = np.ogrid[:size, :size]
    sq_dist = (center - ii) ** 2 + (center - jj) ** 2
    stencil = np.zeros((size, size))
    for step in reversed(range(steps)):
        radius = int(distance * (step + 1))
        stencil[sq_dist <= radius**2] = min(amplification * 1 / (np.pi * radius**2), 1)
    stencil[center, center] = 1
    return stencil


def _render_grid(values, weights, mode, out):
    """Write the ``(n_rows, pixels**2)`` grids of scaled ``values`` into ``out``.

    ``weights`` is each feature's footprint on the grid; ``mode`` says how the
    footprints combine: ``"linear"`` (no blur: a weighted sum over the few
    occupied pixels), ``"mean"`` (TINTOlib's blur: sum over the features whose
    contribution is positive, divided by their count) or ``"max"``.
    """
    if mode == "linear":
        cells = np.flatnonzero(weights.any(axis=0))
        out[...] = 0
        out[:, cells] = values @ weights[:, cells]
    elif mode == "max":
        grid = np.zeros(out.shape)
        for j in range(values.shape[1]):
            np.maximum(grid, values[:, j, None] * weights[j], out=grid)
        out[...] = grid
    else:
        footprint = (weights > 0).astype(np.float64)
        counts = (values > 0).astype(np.float64) @ footprint
        out[...] = (values @ weights) / np.maximum(counts, 1.0)
    return out


def _feature_coordinates(X_scaled, algorithm, *, times, perplexity, random_state):
    """2-D coordinates of the features (the rows of the transposed data)."""
    X_t = X_scaled.T
    if np.all(X_t == X_t[0]):  # identical features: one point, nothing to fit
        return np.zeros((X_t.shape[0], 2))
    if algorithm == "pca":
        return _pca_2d(X_t)
    n_features = X_t.shape[0]
    n_points = n_features * 2**times
    if n_points <= perplexity:
        needed = times
        while n_features * 2**needed <= perplexity:
            needed += 1
        raise ValueError(
            f"t-SNE needs more points than its perplexity ({perplexity}), "
            f"but TINTO gives it n_features * 2**times = {n_features} * "
            f"2**{times} = {n_points}. Use times >= {needed}, a smaller "
            "perplexity, or algorithm='pca'."
        )
    replicated = np.tile(X_t, (2**times, 1))
    tsne = TSNE(n_components=2, perplexity=perplexity, random_state=random_state)
    embedded = tsne.fit_transform(replicated)
    return embedded.reshape(2**times, n_features, 2).mean(axis=0)


def _grid_positions(coords, pixels):
    """TINTO's square delimitation: exact and rounded (row, col) per feature."""
    centred = coords - coords.mean(axis=0)
    radius = math.ceil(max((centred[:, 0] ** 2 + centred[:, 1] ** 2) ** 0.5))
    # All features on one point: any square works, they all collide.
    radius = max(radius, 1)
    shifted = centred - np.array([-radius, radius])
    exact = np.abs((shifted / (2 * radius)) * (pixels - 1))
    return exact, np.round(exact).astype(np.intp)


def _place_colliding(exact, grid, pixels, collisions, names):
    """Grid positions after ``collisions`` is applied, and the moved features.

    ``"mean"`` keeps shared pixels; ``"error"`` refuses the first one, naming
    both features; ``"resolve"`` moves each later feature of a shared pixel to
    the nearest free one (ties: lowest row, then column).
    """
    flat = grid[:, 0] * pixels + grid[:, 1]
    _, first, inverse = np.unique(flat, return_index=True, return_inverse=True)
    losers = np.flatnonzero(first[inverse.ravel()] != np.arange(len(flat)))
    if losers.size == 0 or collisions == "mean":
        return grid, np.array([], dtype=np.intp)
    if collisions == "error":
        j = losers[0]
        i = first[inverse.ravel()[j]]
        raise ValueError(
            f"Features {names[i]!r} and {names[j]!r} both land on pixel "
            f"{tuple(int(v) for v in grid[j])}. Use collisions='resolve' to move "
            "one to the nearest free pixel, collisions='mean' to share it, or a "
            "larger `pixels`."
        )
    taken = np.zeros(pixels**2, dtype=bool)
    taken[flat] = True
    rows, cols = np.divmod(np.arange(pixels**2), pixels)
    grid = grid.copy()
    for j in losers:  # only the displaced features, never the rows
        sq_dist = (rows - exact[j, 0]) ** 2 + (cols - exact[j, 1]) ** 2
        sq_dist[taken] = np.inf
        cell = int(np.argmin(sq_dist))  # first minimum: lowest row, then col
        taken[cell] = True
        grid[j] = rows[cell], cols[cell]
    return grid, losers


def _blurred_footprints(grid, pixels, distance, steps, amplification):
    """Each feature's blurred rings on the ``pixels x pixels`` grid, flattened."""
    # A pixel at distance d from a feature takes the innermost ring of
    # radius >= d: rings beyond the image's diagonal change no pixel, so
    # a huge ``steps`` draws the same image without a huge stencil.
    steps = min(steps, math.ceil(math.sqrt(2) * pixels / distance) + 1)
    stencil = _blur_filter(distance, steps, amplification)
    size, center = stencil.shape[0], distance * steps
    weights = np.zeros((len(grid), pixels * pixels))
    padded = np.zeros((size + pixels, size + pixels))
    for j, (row, col) in enumerate(grid):
        padded[:] = 0
        padded[row : row + size, col : col + size] = stencil
        weights[j] = padded[center : center + pixels, center : center + pixels].ravel()
    return weights


def _render_images(values, weights, mode, pixels, zoom, channels):
    """Scaled ``values`` drawn as float32 images (n_rows, height, width, channels).

    Rendered by blocks of ``_CHUNK_ROWS`` rows; a 1x zoom, 1-channel grid is
    written in place, a zoomed or multi-channel one repeated into its blocks.
    """
    n_samples, p, z = len(values), pixels, zoom
    images = np.empty((n_samples, p * z, p * z, channels), dtype=np.float32)
    if z == 1 and channels == 1:  # the grid is the image: write it in place
        grids = images.reshape(n_samples, p * p)
    else:
        blocks = images.reshape(n_samples, p, z, p, z, channels)
    for start in range(0, n_samples, _CHUNK_ROWS):
        chunk = values[start : start + _CHUNK_ROWS]
        rows = slice(start, start + len(chunk))
        if z == 1 and channels == 1:
            _render_grid(chunk, weights, mode, out=grids[rows])
        else:
            grid = _render_grid(chunk, weights, mode, out=np.empty((len(chunk), p * p)))
            blocks[rows] = grid.reshape(-1, p, 1, p, 1, 1)
    return images


def _min_area_rotation(coords):
    """The coordinates rotated into their minimum-area bounding rectangle.

    TINTOlib's ``get_minimum_rectangle`` (DeepInsight, Fotomics): the convex
    hull's edge angles, each tried as a rotation, the one whose axis-aligned
    box is smallest kept. Fewer than 3 points, or points on one line, have no
    hull and are left as they are.
    """
    from scipy.spatial import ConvexHull, QhullError

    try:
        hull = ConvexHull(coords)
    except (QhullError, ValueError):
        return coords
    limits = coords[hull.vertices]
    edges = limits[1:] - limits[:-1]
    angles = np.unique(np.abs(np.mod(np.arctan2(edges[:, 1], edges[:, 0]), np.pi / 2)))
    rotations = np.vstack(
        [np.cos(angles), -np.sin(angles), np.sin(angles), np.cos(angles)]
    ).T.reshape((-1, 2, 2))
    rotated = np.dot(rotations, limits.T)
    areas = (np.nanmax(rotated[:, 0], axis=1) - np.nanmin(rotated[:, 0], axis=1)) * (
        np.nanmax(rotated[:, 1], axis=1) - np.nanmin(rotated[:, 1], axis=1)
    )
    return np.dot(rotations[np.argmin(areas)], coords.T).T


def _assign_cells(coords, side, assignment):
    """DeepInsight's assignment of 2-D coordinates to the cells of a grid.

    Returns each point's continuous cell position (for moving colliding
    points to the nearest free cell) and its ``(row, col)`` cell:

    - ``"bin"``: coordinates scaled to [0, side], floored (TINTOlib's
      ``BinAssigner``);
    - ``"bin_digitize"``: ``np.digitize`` into ``side`` equal bins between the
      extremes (``BinDigitizeAssigner``);
    - ``"lsa"``: one point a cell, by the assignment that minimises the summed
      squared distance to the cell centres (``PixelsCentroidsAssigner`` with
      ``linear_sum_assignment``).
    """
    low, high = coords.min(axis=0), coords.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    scaled = (coords - low) / span * side
    exact = np.clip(scaled - 0.5, 0, side - 1)
    if assignment == "bin":
        grid = np.minimum(np.floor(scaled).astype(np.intp), side - 1)
    elif assignment == "bin_digitize":
        grid = np.column_stack(
            [
                np.digitize(coords[:, k], np.linspace(low[k], high[k], side)) - 1
                for k in range(2)
            ]
        ).astype(np.intp)
        grid = np.clip(grid, 0, side - 1)
    else:
        from scipy.optimize import linear_sum_assignment
        from scipy.spatial.distance import cdist

        cells = np.argwhere(np.zeros((side, side)) == 0)
        cost = cdist(scaled, cells + 0.5, metric="euclidean") ** 2
        rows, picked = linear_sum_assignment(cost)
        grid = np.empty((len(coords), 2), dtype=np.intp)
        grid[rows] = cells[picked]
    return exact, grid
