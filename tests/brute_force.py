"""Brute-force closest-point check for small lattices: enumerate every lattice vector in a ball."""

from __future__ import annotations

import numpy as np

from ltccodec.lattice import Lattice


def short_vectors(lattice: Lattice, radius: float) -> np.ndarray:
    """All lattice vectors ``v`` with ``|v| <= radius`` (float64 ``[k, m]``), by Fincke–Pohst enumeration on
    the lower-triangular generator (coordinates from the last down)."""
    low = lattice.lower_generator
    m = lattice.dim
    found: list[np.ndarray] = []
    coords = np.zeros(m)

    def visit(j: int, budget: float) -> None:
        if j < 0:
            found.append(coords @ low)
            return
        center = coords[j + 1:] @ low[j + 1:, j]  # partial coordinate j from k_(j+1..)
        step = low[j, j]
        span = np.sqrt(max(budget, 0.0)) / step
        for k in range(int(np.ceil((-center / step) - span - 1e-9)), int(np.floor((-center / step) + span + 1e-9)) + 1):
            value = k * step + center
            if value * value <= budget + 1e-9:
                coords[j] = k
                visit(j - 1, budget - value * value)
        coords[j] = 0

    visit(m - 1, radius * radius)
    return np.array(found) @ lattice.rotation.T


def assert_closest(lattice: Lattice, x: np.ndarray, points: np.ndarray) -> None:
    """Fail unless each row of ``points`` is a lattice point at least as close to ``x`` as any other.

    Any closer point lies within twice the found distance of the found point, so the ball of that radius
    around it holds every competitor."""
    dist = np.sqrt(((x - points) ** 2).sum(axis=1))
    vectors = short_vectors(lattice, 2.0 * dist.max() + 1e-9)
    residual = x - points
    for chunk in range(0, len(x), 256):
        r = residual[chunk:chunk + 256, None, :] - vectors[None]
        best = (r * r).sum(axis=2).min(axis=1)
        assert np.all(best >= dist[chunk:chunk + 256] ** 2 - 1e-9), "a closer lattice point exists"
    back = lattice.from_coords(lattice.to_coords(points))
    np.testing.assert_allclose(back, points, atol=1e-9, err_msg="not a lattice point")


def covering_coords(lattice: Lattice, half_width: float) -> np.ndarray:
    """Integer coordinates (int64 ``[k, m]``) of every lattice point whose generator-box center lies in the
    cube ``[-half_width, half_width]^m`` (frame of the lower-triangular generator), last coordinate first."""
    low = lattice.lower_generator
    m = lattice.dim
    partial = np.zeros((1, 0), dtype=np.int64)  # columns: k_(j+1) .. k_(m-1)
    for j in range(m - 1, -1, -1):
        offset = partial @ low[j + 1:, j] if partial.shape[1] else np.zeros(len(partial))
        step = low[j, j]
        first = np.ceil((-half_width - offset) / step).astype(np.int64)
        last = np.floor((half_width - offset) / step).astype(np.int64)
        counts = np.maximum(last - first + 1, 0)
        rows = np.repeat(np.arange(len(partial)), counts)
        k = first[rows] + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
        partial = np.hstack([k[:, None], partial[rows]])
    return partial
