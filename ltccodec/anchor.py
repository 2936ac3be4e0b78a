"""The anchor swap: a coder option that removes most of the box pmf's cost at low rate.

At low rate the latent sits in a small region (around the prior's mode ``μ``) of cells that are large against it.
The quantizer then almost always picks ``p = Q(μ − u)``, the lattice point whose Voronoi cell around ``p + u``
holds ``μ``; but the box pmf gives each point the prior's mass over its generator *box* around ``point + u``, and
the box that holds ``μ`` usually belongs to another point ``b``. So the likeliest point is coded at the price of an
unlikely one (measured: 0.29 bit/dim for an E8 model whose ideal code length is below 0.02).

Encoder and decoder both compute ``p`` and ``b`` from the integer tables and the dither alone, and the coder codes
``b`` in place of ``p`` and ``p`` in place of ``b`` (every other point as itself). The swap is an involution on
lattice points, so the same tables still give a prefix code; at high rate ``p`` and ``b`` are near neighbours under
an almost flat prior and the swap changes nothing measurable.

The anchor ``μ`` is read off the tables, so it needs no extra model data: per coordinate, the centre of the
(bucket, symbol) interval with the largest count, ``(s + q/Q)·g`` (first in bucket-major order on ties). In each
block's native integer frame that is ``A / Q`` with integer ``A``; with the dither ``R / a`` the anchor's offset is
the exact fraction ``(A·a − R·Q) / (Q·a)``, and ``b`` is found by integer floor division, coordinate by coordinate
from the last (as the coder conditions). ``p`` goes through the lattice's closest-point rule on that fraction
(exact dyadic input for SD and power-of-two QSD, the same IEEE operations everywhere otherwise, as for the dither
itself). Numpy only; `ltc` uses `swap_float` in training, on continuous dither.
"""

from __future__ import annotations

import numpy as np

from ltccodec.lattice import Lattice
from ltccodec.tables import CodingTables


def anchor_numerators(tables: CodingTables, lattice: Lattice) -> list[np.ndarray]:
    """Per block, int64 ``[dim]``: ``A`` with the anchor at ``A / Q`` in the block's native frame."""
    q_count = tables.buckets
    out, lo = [], 0
    for block in lattice.blocks:
        a = np.empty(block.dim, dtype=np.int64)
        for local in range(block.dim):
            j = lo + local
            rows = tables.counts[j, :, : tables.size[j] - 1]  # regular symbols only
            q, s = np.unravel_index(int(np.argmax(rows)), rows.shape)
            a[local] = ((int(tables.low[j]) + int(s)) * q_count + int(q)) * int(block.basis[local, local])
        out.append(a)
        lo += block.dim
    return out


def anchor_latent(tables: CodingTables, lattice: Lattice) -> np.ndarray:
    """The anchor ``μ`` in latent units, float64 ``[L]``."""
    parts = [a / tables.buckets / scale for a, scale in zip(anchor_numerators(tables, lattice), lattice.scales,
                                                            strict=True)]
    return np.concatenate(parts)


def anchor_offsets(tables: CodingTables, lattice: Lattice, dither_native: list[np.ndarray],
                   nesting: int) -> tuple[np.ndarray, np.ndarray]:
    """(``(μ − u)·Q·a`` in each block's native frame, int64 ``[N, native dims]`` blocks side by side; the
    coordinates of ``p = Q(μ − u)``, int64 ``[N, L]``) for dither native coordinates ``R`` (per block int64
    ``[N, dim]``, ``u = R / a``; zeros without dither)."""
    count = len(dither_native[0]) if dither_native else 0
    q_count = tables.buckets
    offsets, p = [], np.empty((count, lattice.dim), dtype=np.int64)
    lo = 0
    for i, (block, numer, r) in enumerate(zip(lattice.blocks, anchor_numerators(tables, lattice), dither_native,
                                              strict=True)):
        offset = numer[None, :] * nesting - r * q_count
        p[:, lo:lo + block.dim] = lattice._coords_block(i, block.nearest_native(offset / (q_count * nesting)))
        offsets.append(offset)
        lo += block.dim
    return np.concatenate(offsets, axis=1), p


def anchor_points(tables: CodingTables, lattice: Lattice, dither_native: list[np.ndarray],
                  nesting: int) -> tuple[np.ndarray, np.ndarray]:
    """(coordinates of ``p``, coordinates of ``b``), int64 ``[N, L]``, for dither native coordinates ``R``
    (per block int64 ``[N, dim]``, ``u = R / a``; zeros without dither)."""
    offsets, p = anchor_offsets(tables, lattice, dither_native, nesting)
    denominator = tables.buckets * nesting
    b = np.empty_like(p)
    lo = 0
    for block in lattice.blocks:
        offset = offsets[:, lo:lo + block.dim]
        k = np.zeros((len(p), block.dim), dtype=np.int64)
        for local in range(block.dim - 1, -1, -1):
            later = k[:, local + 1:] @ block.basis[local + 1:, local] if local + 1 < block.dim else 0
            num = offset[:, local] - denominator * later
            den = denominator * int(block.basis[local, local])
            k[:, local] = np.floor_divide(2 * num + den, 2 * den)
        b[:, lo:lo + block.dim] = k
        lo += block.dim
    return p, b


def swap(coords: np.ndarray, p: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``coords`` with rows equal to ``p`` replaced by ``b`` and rows equal to ``b`` by ``p`` (an involution)."""
    is_p = np.all(coords == p, axis=1)
    is_b = np.all(coords == b, axis=1) & ~is_p
    return np.where(is_p[:, None], b, np.where(is_b[:, None], p, coords))


def float_points(anchor: np.ndarray, lattice: Lattice, dither: np.ndarray | None,
                 count: int) -> tuple[np.ndarray, np.ndarray]:
    """`anchor_points` for a float dither ``[count, L]`` (training and evaluation): ``p = Q(μ − u)`` and the box
    point of ``μ − u`` in float arithmetic — the same points except where ``μ − u`` sits exactly on a boundary."""
    target = np.broadcast_to(anchor, (count, lattice.dim)) if dither is None else anchor[None, :] - dither
    low = lattice.lower_generator
    k = np.zeros((count, lattice.dim), dtype=np.int64)
    for j in range(lattice.dim - 1, -1, -1):
        later = k[:, j + 1:] @ low[j + 1:, j] if j + 1 < lattice.dim else 0.0
        k[:, j] = np.floor((target[:, j] - later) / low[j, j] + 0.5)
    return lattice.nearest_coords(target), k


def swap_float(coords: np.ndarray, anchor: np.ndarray, lattice: Lattice, dither: np.ndarray | None) -> np.ndarray:
    """`swap` with the points of `float_points`."""
    return swap(coords, *float_points(anchor, lattice, dither, len(coords)))
