"""The `Lattice` type: blocks of known lattices, scaled, with exact closest point and integer coordinates.

Each block lives in a *native frame* where its points have integer coordinates and its closest-point rule
needs only element-wise arithmetic; the public (user) frame is the native frame divided by a scale, and for
A_n also rotated out of the hyperplane it lives in. Families (`cubic`, `checkerboard`, `root`, `e8`,
`barnes_wall`, `leech`) build blocks; `registry.by_name` builds lattices; `dither` uses the native frames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TypeVar

import numpy as np

from ltccodec import kernels

ArrayT = TypeVar("ArrayT")

NativeNearest = Callable[[np.ndarray], np.ndarray]
"""Closest point in a native frame: float64 ``[B, N]`` -> float64 ``[B, N]`` (lattice points)."""


@dataclass(frozen=True, eq=False)
class Block:
    """One indecomposable lattice in its native frame.

    ``basis`` (int64 ``[m, N]``, rows are basis vectors) generates the native points; ``embedding`` (float64
    ``[m, N]``, orthonormal rows) maps user coordinates into the native space when ``N > m`` (A_n), else is
    None. ``nearest_native`` is the exact closest-point rule there; ``bytes_per_vector`` sizes chunks.
    """

    name: str
    basis: np.ndarray
    nearest_native: NativeNearest
    embedding: np.ndarray | None = None
    known_nsm: float | None = None
    bytes_per_vector: int = 512

    @property
    def dim(self) -> int:
        return int(self.basis.shape[0])

    @property
    def native_dim(self) -> int:
        return int(self.basis.shape[1])

    @property
    def native_volume(self) -> float:
        """Cell volume in the native frame (exact for the square lower-triangular integer bases)."""
        if self.embedding is None and np.array_equal(self.basis, np.tril(self.basis)):
            return float(abs(np.prod(np.diag(self.basis).astype(object))))
        b = self.basis.astype(np.float64)
        return float(np.sqrt(np.linalg.det(b @ b.T)))

    def native_generator(self) -> np.ndarray:
        """Float64 ``[m, m]`` lower-triangular generator in user orientation, native scale."""
        b = self.basis.astype(np.float64)
        return b if self.embedding is None else np.tril(b @ self.embedding.T)


@dataclass(frozen=True, eq=False)
class Lattice:
    """A lattice in R^m, a Cartesian product of scaled blocks.

    Points are rows of ``[..., m]`` arrays (numpy or torch). ``scales[i]`` divides block ``i``'s native
    frame; by default each block has unit cell volume, so the product has unit volume too.
    """

    name: str
    blocks: tuple[Block, ...]
    scales: tuple[float, ...]
    chunk_bytes: int = 64 << 20
    _pinv: tuple[np.ndarray, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        pinv = tuple(np.linalg.pinv(b.basis.astype(np.float64)) for b in self.blocks)
        object.__setattr__(self, "_pinv", pinv)

    # ----- geometry -----
    @property
    def dim(self) -> int:
        return sum(b.dim for b in self.blocks)

    @property
    def volume(self) -> float:
        return float(np.prod([b.native_volume / s ** b.dim for b, s in zip(self.blocks, self.scales, strict=True)]))

    @cached_property
    def generator(self) -> np.ndarray:
        """Float64 ``[m, m]``, rows are basis vectors (block diagonal over the product)."""
        g = np.zeros((self.dim, self.dim))
        for (lo, hi), b, s in zip(self._spans(), self.blocks, self.scales, strict=True):
            g[lo:hi, lo:hi] = b.native_generator() / s
        g.setflags(write=False)  # cached: shared by every caller
        return g

    @cached_property
    def lower_generator(self) -> np.ndarray:
        """A lower-triangular generator ``L = generator_of_same_lattice @ rotation`` (see ``rotation``)."""
        return _lower_triangular(self.generator)[0]

    @cached_property
    def rotation(self) -> np.ndarray:
        """Orthogonal ``O`` with ``lower_generator == generator @ O`` (the identity for every built-in lattice)."""
        return _lower_triangular(self.generator)[1]

    @property
    def second_moment(self) -> float | None:
        """Known second moment per dimension, from the known NSMs of the blocks (None if one is unknown)."""
        total = 0.0
        for b, s in zip(self.blocks, self.scales, strict=True):
            if b.known_nsm is None:
                return None
            total += b.dim * b.known_nsm * (b.native_volume / s ** b.dim) ** (2.0 / b.dim)
        return total / self.dim

    @property
    def nsm(self) -> float | None:
        """Known normalized second moment ``sigma^2 / V^(2/m)``, or None when not known in closed form."""
        sm = self.second_moment
        return None if sm is None else sm / self.volume ** (2.0 / self.dim)

    def scaled(self, factor: float) -> Lattice:
        """The same lattice with every point multiplied by ``factor``."""
        return replace(self, scales=tuple(s / factor for s in self.scales))

    def with_volume(self, volume: float) -> Lattice:
        return self.scaled((volume / self.volume) ** (1.0 / self.dim))

    # ----- quantization -----
    def nearest(self, x: ArrayT) -> ArrayT:
        """Exact closest lattice point of each row of ``x`` ``[..., m]`` (numpy or torch, same type out).

        Ties go the same way on every IEEE-754 machine: the native rules use only element-wise arithmetic
        and first-index argmin.
        """
        return _apply(x, lambda a: self._map_blocks(a, self._nearest_block))

    def nearest_coords(self, x: ArrayT) -> np.ndarray:
        """Integer coordinates (int64 ``[..., m]``) of the closest point: the symbols path."""
        a = _to_numpy(x)
        return self._map_blocks(a, lambda i, v: self._coords_block(i, self._nearest_native_chunked(i, v)),
                                out_dtype=np.int64)

    def to_coords(self, points: ArrayT) -> np.ndarray:
        """Integer coordinates ``k`` (int64 ``[..., m]``) with ``points == from_coords(k)``.

        ``points`` must be lattice points (up to float rounding); use ``nearest_coords`` for arbitrary input.
        """
        a = _to_numpy(points)
        return self._map_blocks(a, lambda i, v: self._coords_block(i, self._to_native(i, v)),
                                out_dtype=np.int64)

    def from_coords(self, coords: np.ndarray) -> np.ndarray:
        """Points (float64 ``[..., m]``) from integer coordinates; integer arithmetic up to the final scale."""
        k = np.asarray(coords)
        if not np.issubdtype(k.dtype, np.integer):
            raise TypeError("from_coords takes integer coordinates")
        return self._map_blocks(k.astype(np.int64, copy=False), self._from_coords_block, out_dtype=np.float64)

    def native_from_coords(self, coords: np.ndarray) -> list[np.ndarray]:
        """Per block, exact native points (int64 ``[..., N_i]``) of integer coordinates."""
        k = np.asarray(coords, dtype=np.int64)
        return [_int_product(k[..., lo:hi], b.basis) for (lo, hi), b in zip(self._spans(), self.blocks, strict=True)]

    # ----- internals -----
    def _spans(self) -> list[tuple[int, int]]:
        spans, lo = [], 0
        for b in self.blocks:
            spans.append((lo, lo + b.dim))
            lo += b.dim
        return spans

    def _map_blocks(self, a: np.ndarray, fn: Callable[[int, np.ndarray], np.ndarray],
                    out_dtype: type = np.float64) -> np.ndarray:
        if a.shape[-1] != self.dim:
            raise ValueError(f"{self.name} has dimension {self.dim}, got arrays with last axis {a.shape[-1]}")
        flat = a.reshape(-1, self.dim)
        out = np.empty(flat.shape, dtype=out_dtype)
        for i, (lo, hi) in enumerate(self._spans()):
            out[:, lo:hi] = fn(i, flat[:, lo:hi])
        return out.reshape(a.shape)

    def _to_native(self, i: int, v: np.ndarray) -> np.ndarray:
        b = self.blocks[i]
        z = np.asarray(v, dtype=np.float64) * self.scales[i]
        return z if b.embedding is None else z @ b.embedding

    def _from_native(self, i: int, z: np.ndarray) -> np.ndarray:
        b = self.blocks[i]
        v = z if b.embedding is None else z @ b.embedding.T
        return v / self.scales[i]

    def _nearest_native_chunked(self, i: int, v: np.ndarray) -> np.ndarray:
        b = self.blocks[i]
        z = self._to_native(i, v)
        rows = max(1, self.chunk_bytes // b.bytes_per_vector)
        if len(z) <= rows:
            return b.nearest_native(z)
        return np.concatenate([b.nearest_native(z[s:s + rows]) for s in range(0, len(z), rows)])

    def _nearest_block(self, i: int, v: np.ndarray) -> np.ndarray:
        return self._from_native(i, self._nearest_native_chunked(i, v))

    def _coords_block(self, i: int, z: np.ndarray) -> np.ndarray:
        return np.rint(z @ self._pinv[i]).astype(np.int64)

    def _from_coords_block(self, i: int, k: np.ndarray) -> np.ndarray:
        return self._from_native(i, _int_product(k, self.blocks[i].basis).astype(np.float64))


def _int_product(k: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """``k @ basis`` for int64 ``k`` ``[..., n]`` and an integer basis (wrapping in 64 bits either way)."""
    compiled = kernels.active()
    if compiled is None or k.ndim != 2 or k.dtype != np.int64:
        return k @ basis
    out = np.empty((len(k), basis.shape[1]), dtype=np.int64)
    compiled.int_matmul(np.ascontiguousarray(k), np.ascontiguousarray(basis, dtype=np.int64), out, basis.shape[0],
                        basis.shape[1])
    return out


def product(name: str, parts: list[Lattice]) -> Lattice:
    """Cartesian product, keeping each part's scaling."""
    return Lattice(name, tuple(b for p in parts for b in p.blocks), tuple(s for p in parts for s in p.scales))


def unit_volume(name: str, block: Block) -> Lattice:
    """A single block scaled to unit cell volume."""
    return Lattice(name, (block,), (block.native_volume ** (1.0 / block.dim),))


def _lower_triangular(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(L, O)`` with ``L = g @ O`` lower triangular with a positive diagonal and ``O`` orthogonal.

    Every block's basis is lower triangular already (Hermite normal form, or the Cholesky frame of A_n), and so
    is a product of blocks, so ``O`` is the identity; the check keeps it that way."""
    if not (np.array_equal(g, np.tril(g)) and np.all(np.diag(g) > 0)):
        raise ValueError("lattice generator is not lower triangular with a positive diagonal")
    low, rotation = g.copy(), np.eye(len(g))
    low.setflags(write=False)  # cached on the lattice
    rotation.setflags(write=False)
    return low, rotation


def _is_tensor(x: object) -> bool:
    """A torch tensor, recognised without importing torch (numpy-only users never load it)."""
    return type(x).__module__.startswith("torch")


def _to_numpy(x: object) -> np.ndarray:
    if _is_tensor(x):
        return x.detach().cpu().numpy().astype(np.float64, copy=False)  # type: ignore[attr-defined]
    return np.asarray(x, dtype=np.float64)


def _apply(x: ArrayT, fn: Callable[[np.ndarray], np.ndarray]) -> ArrayT:
    out = fn(_to_numpy(x))
    if _is_tensor(x):
        import torch

        return torch.from_numpy(out).to(dtype=x.dtype, device=x.device)  # type: ignore[attr-defined,return-value]
    return out  # type: ignore[return-value]
