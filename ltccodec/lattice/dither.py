"""Dither over a lattice's Voronoi cell: continuous uniform (training), and the exact nested-lattice set of
quantized shared dither (QSD) that encoder and decoder rebuild from integers.

QSD with nesting ratio ``a``: the fine lattice Λ/a has ``a^m`` points in the Voronoi cell of Λ, one per coset
of Λ/a modulo Λ. Coset ``d`` (``d`` an integer vector in [0, a)^m, the base-a digits of the dither index)
is represented by the point ``p = d·G`` reduced into the cell: ``(p - a·Q(p/a)) / a``. Everything up to the
final division is integer, or exact dyadic arithmetic when ``a`` is a power of two; for other ``a`` it is
element-wise IEEE arithmetic, the same on every machine. The continuous SD dither used by the codec is the
same construction with ``a = 2^bits`` for a fine grid.
"""

from __future__ import annotations

import numpy as np

from .base import Lattice


def uniform_dither(lattice: Lattice, count: int | tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Float64 ``[*count, m]`` uniform over the Voronoi cell: a uniform point of the fundamental
    parallelepiped minus its closest lattice point. Not reproducible across machines: training only."""
    shape = (count,) if isinstance(count, int) else tuple(count)
    v = rng.random((*shape, lattice.dim)) @ lattice.generator
    return v - lattice.nearest(v)


def coset_coords(lattice: Lattice, digits: np.ndarray, nesting: int) -> np.ndarray:
    """Integer coordinates (int64 ``[..., m]``) of ``a·u``, where ``u`` is the QSD dither point of coset
    ``digits`` (int ``[..., m]``, each in ``[0, nesting)``). ``u = lattice.from_coords(result) / nesting``."""
    return coset_dither(lattice, digits, nesting)[0]


def coset_dither(lattice: Lattice, digits: np.ndarray, nesting: int) -> tuple[np.ndarray, np.ndarray]:
    """(`coset_coords`, and the dither points ``u`` float64 ``[..., m]``, equal bit for bit to
    ``lattice.from_coords(coords) / nesting`` but made from the reduced native points directly)."""
    coords, points, _ = coset_dither_native(lattice, digits, nesting)
    assert coords is not None
    return coords, points


def coset_dither_native(lattice: Lattice, digits: np.ndarray, nesting: int,
                        with_coords: bool = True) -> tuple[np.ndarray | None, np.ndarray, list[np.ndarray]]:
    """`coset_dither`, and per block the native points of the coordinates (int64 ``[N, n_i]``, equal to
    ``lattice.native_from_coords(coords)``: the reduced points themselves). ``with_coords=False``: the coordinates
    are not computed (None), for a coder that conditions on the native points alone."""
    d = np.asarray(digits)
    if not np.issubdtype(d.dtype, np.integer):
        raise TypeError("digits must be integers")
    if nesting < 1 or d.shape[-1] != lattice.dim or (d.size and (d.min() < 0 or d.max() >= nesting)):
        raise ValueError(f"digits must have last axis {lattice.dim} and lie in [0, {nesting})")
    flat = np.asarray(d.reshape(-1, lattice.dim), dtype=np.int64)
    coords, points, natives = np.empty_like(flat), np.empty(flat.shape), []
    lo = 0
    for i, (block, native) in enumerate(zip(lattice.blocks, lattice.native_from_coords(flat), strict=True)):
        hi = lo + block.dim
        reduced = native - nesting * block.nearest_native(native / nesting).astype(np.int64)
        natives.append(reduced)
        reduced = reduced.astype(np.float64)
        if with_coords:
            coords[:, lo:hi] = lattice._coords_block(i, reduced)
        points[:, lo:hi] = lattice._from_native(i, reduced)
        lo = hi
    return coords.reshape(d.shape) if with_coords else None, (points / nesting).reshape(d.shape), natives


def qsd_dither(lattice: Lattice, digits: np.ndarray, nesting: int) -> np.ndarray:
    """Float64 ``[..., m]``: the QSD dither points of the cosets ``digits`` (see `coset_coords`)."""
    return lattice.from_coords(coset_coords(lattice, digits, nesting)) / nesting


def qsd_set(lattice: Lattice, nesting: int) -> np.ndarray:
    """All ``nesting^m`` QSD dither points, float64 ``[nesting^m, m]``, in index order (small cases only)."""
    count = nesting**lattice.dim
    if count > 1 << 22:
        raise ValueError(f"{count} dither points is too many to list; index them with `index_to_digits`")
    return qsd_dither(lattice, index_to_digits(np.arange(count), nesting, lattice.dim), nesting)


def index_to_digits(index: np.ndarray | int, nesting: int, dim: int) -> np.ndarray:
    """Base-``nesting`` digits (least significant first) of dither indices: int64 ``[..., dim]``.

    Python ints of any size are accepted for a single index (``nesting^dim`` can exceed 2^63)."""
    if isinstance(index, int):
        if not 0 <= index < nesting**dim:
            raise ValueError("dither index out of range")
        out = np.empty(dim, dtype=np.int64)
        for j in range(dim):
            index, out[j] = divmod(index, nesting)
        return out
    idx = np.asarray(index, dtype=np.int64)
    return (idx[..., None] // nesting ** np.arange(dim, dtype=np.int64)) % nesting


def digits_to_index(digits: np.ndarray, nesting: int) -> int:
    """Inverse of `index_to_digits` for one digit vector, as a Python int."""
    return sum(int(v) * nesting**j for j, v in enumerate(np.asarray(digits).tolist()))
