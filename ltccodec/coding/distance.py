"""The distance code: at low rate, price each candidate lattice point by a Gaussian of its place; the box code
(`box`) carries the points outside the candidates.

At low rate the latent sits near the prior's mode and the quantizer picks one of a handful of lattice points
around it. The box code prices them by generator boxes that do not match their Voronoi cells (0.07–0.26 bit/dim
above the ideal on the E8 shared-dither construction, docs/notes.md). The distance code orders the candidates —
the anchor's closest point ``p`` and its neighbours ``p + s`` — and gives every candidate an integer weight from a
diagonal quadratic form of its offset, a Gaussian around a shifted anchor:

    logit_j = Σ_i (−β_i s_ji² + s_ji (2 β_i e_i + γ_i)),    e = t − p (the anchor's offset from p, native units)

with ``β_i, γ_i`` per latent coordinate fitted by maximum likelihood when the model is made (`distance_fit`).

**The anchor** ``μ`` is read off the box code's tables, so it needs no extra model data: per coordinate, the centre
of the (bucket, symbol) interval with the largest count, ``(s + q/Q)·g`` (first in bucket-major order on ties). In
each block's native integer frame that is ``A / Q`` with integer ``A``; with the dither ``R / a`` the anchor's
offset is the exact fraction ``t = (A·a − R·Q) / (Q·a)`` and ``p`` its closest lattice point (the lattice's
closest-point rule on that fraction).

Everything the decoder computes is integer: with ``b_i = round(β_i 2^12)``, ``g_i = round(γ_i 2^12)``,
``diff = (t − p)·scale`` (``scale = Q·a``),

    Z_j = Σ_i s_ji (2 b_i diff_i + g_i scale) − scale Σ_i b_i s_ji²     (= 2^12 · scale · logit_j)

and candidate ``j`` weighs ``w_j = exp_table[k_j]`` with ``k_j = ⌊(max Z − Z_j) / (256 · scale)⌋`` (1/16 nat steps;
0 past the table). Counts at 24 bits: ``c_j = 1 + ⌊w_j (2^24 − E − M) / Σ w⌋`` for the ``M − 1`` candidates,
``E = max(2^16, escape)``, and the escape symbol (last) takes the rest (at least ``E + 1``, so every vector costs at
least 0.0056 bits: the decoder's bound on a frame's vector count holds). The symbol coded is the candidate's index
in candidate order (``p``, then each block's first shell, block by block, lexicographic in native coordinates, then
with ``shells = 2`` each block's second shell likewise); a point outside the candidates is the escape symbol and
goes through the box code after the frame's symbols. Lattices whose blocks are small (Z1, D4, E8 and their powers)
can use it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from ltccodec import kernels
from ltccodec.coding.base import FrameDither
from ltccodec.coding.box import BoxCoder
from ltccodec.coding.rangecoder import PmfTable, RangeDecoder, RangeEncoder
from ltccodec.coding.tables import CodingTables
from ltccodec.lattice import Lattice
from ltccodec.lattice.base import Block

MAX_BLOCK_DIM = 8
FRAC_BITS = 12  # b_i, g_i are β_i, γ_i in units of 2^-12 (nat per native unit², nat per native unit)
STEP_SHIFT = 8  # k_j = (max Z − Z_j) / (2^STEP_SHIFT · scale): 2^(12 − 8) = 16 steps per nat
TOTAL_BITS = 24  # the per-vector counts sum to 2^24
WEIGHT_ONE = 1 << 16  # exp_table[0]: the weight of the likeliest candidate
MIN_ESCAPE = 1 << 16  # at least 2^-8 of every vector's range is the escape's
MAX_TABLE = 4096
MAX_QUAD, MAX_LIN = 1 << 20, 1 << 24  # |b_i| and |g_i| bounds: keep every Z exact in float64
SCORE_BOUND = float(1 << 52)  # Σ_t |a_t| · max |s| must stay below this
CHUNK = 1024  # vectors per batch of per-vector tables (2 shells of E8: 2,402 symbols each)


def supports(lattice: Lattice) -> bool:
    """Whether the distance code is defined for ``lattice``: small blocks of one kind at one scale, native frame."""
    first = lattice.blocks[0]
    return all(b.name == first.name and b.embedding is None and b.dim <= MAX_BLOCK_DIM for b in lattice.blocks) \
        and len(set(lattice.scales)) == 1


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


@dataclass(frozen=True, eq=False)
class Candidates:
    """A frame's candidates: the anchor's closest point ``p`` (coordinates int64 ``[N, L]``) and ``diff`` =
    ``(t − p)·Q·a`` in the native frame (int64 ``[N, L]``), ``scale = Q·a``."""

    p: np.ndarray
    diff: np.ndarray
    scale: int


def frame_candidates(tables: CodingTables, lattice: Lattice, dither: FrameDither) -> Candidates:
    """The `Candidates` of a frame under ``dither``."""
    q_count, nesting = tables.buckets, dither.nesting
    p = np.empty((len(dither), lattice.dim), dtype=np.int64)
    offsets, lo = [], 0
    for i, (block, numer, r) in enumerate(zip(lattice.blocks, anchor_numerators(tables, lattice), dither.native,
                                              strict=True)):
        offset = numer[None, :] * nesting - r * q_count  # (μ − u)·Q·a, native
        p[:, lo:lo + block.dim] = lattice._coords_block(i, block.nearest_native(offset / (q_count * nesting)))
        offsets.append(offset)
        lo += block.dim
    scale = q_count * nesting
    diff = np.concatenate(offsets, axis=1) - scale * np.concatenate(lattice.native_from_coords(p), axis=1)
    return Candidates(p, diff, scale)


@lru_cache(maxsize=16)
def _block_shell(block: Block) -> np.ndarray:
    """The block's minimal nonzero vectors (native int64 points, lexicographic), found among native points with
    every entry in [-2, 2]."""
    grid = np.array(list(itertools.product(range(-2, 3), repeat=block.native_dim)), dtype=np.float64)
    grid = grid[np.any(grid != 0, axis=1)]
    members = grid[np.all(block.nearest_native(grid) == grid, axis=1)]
    norms = (members * members).sum(axis=1)
    return members[norms == norms.min()].astype(np.int64)  # already lexicographic (product order)


def index_in(delta: np.ndarray, offsets: np.ndarray, missing: int) -> np.ndarray:
    """The index of each row of ``delta`` among the rows of ``offsets`` (int64 ``[N]``), ``missing`` for none: rows
    are read as numbers in base ``2R + 1`` (R the largest offset coordinate) and looked up."""
    reach = int(np.abs(offsets).max())
    base = np.int64(2 * reach + 1) ** np.arange(delta.shape[1], dtype=np.int64)
    codes = (offsets + reach) @ base
    sort = np.argsort(codes)
    inside = np.all(np.abs(delta) <= reach, axis=1)
    query = (np.where(inside[:, None], delta, 0) + reach) @ base
    at = np.minimum(np.searchsorted(codes[sort], query), len(codes) - 1)
    found = inside & (codes[sort][at] == query)
    return np.where(found, sort[at], missing)



@dataclass(frozen=True, eq=False)
class DistanceTable:
    """A model's distance code: ``shells`` (1 or 2), ``quad`` int64 ``[L]`` (``b_i ≥ 1``), ``lin`` int64 ``[L]``
    (``g_i``), ``exp_table`` int64 ``[T]`` (``WEIGHT_ONE`` first, every entry in ``[0, WEIGHT_ONE]``) and
    ``escape`` (the escape's count in 2^-24, before the ``MIN_ESCAPE`` floor)."""

    shells: int
    quad: np.ndarray
    lin: np.ndarray
    exp_table: np.ndarray
    escape: int

    def validate(self, lattice: Lattice) -> None:
        t = self.exp_table
        if self.shells not in (1, 2) or self.quad.shape != (lattice.dim,) or self.lin.shape != (lattice.dim,) \
                or np.any(self.quad < 1) or np.any(self.quad > MAX_QUAD) or np.any(np.abs(self.lin) > MAX_LIN) \
                or t.ndim != 1 or not 1 <= len(t) <= MAX_TABLE or int(t[0]) != WEIGHT_ONE or np.any(t < 0) \
                or np.any(t > WEIGHT_ONE) or not 0 <= self.escape <= 1 << (TOTAL_BITS - 1) \
                or not supports(lattice):
            raise ValueError("the distance table does not fit the lattice")


@lru_cache(maxsize=16)
def _block_shells(block: Block) -> tuple[np.ndarray, np.ndarray]:
    """The block's first and second shells (native int64 points, each lexicographic)."""
    first = _block_shell(block)
    if block.native_dim <= 4:
        grid = np.array(list(itertools.product(range(-4, 5), repeat=block.native_dim)), dtype=np.int64)
    elif block.name == "E8":
        grid = _e8_norm16()
    else:
        raise ValueError(f"{block.name}: the second shell is defined for blocks of up to 4 dimensions and E8")
    grid = grid[np.any(grid != 0, axis=1)]
    members = grid[np.all(block.nearest_native(grid.astype(np.float64)) == grid, axis=1)]
    norms = (members * members).sum(axis=1)
    level = np.unique(norms)
    above = level[level > int((first * first).sum(axis=1)[0])]
    second = members[norms == above[0]]
    return first, second[np.lexsort(second.T[::-1])]


def _e8_norm16() -> np.ndarray:
    """Vectors of norm 16 of the shapes E8's second shell has in the native frame: (±4, 0⁷), (±2⁴, 0⁴), (±3, ±1⁷)
    (which of them are lattice points, the closest-point rule says)."""
    found = []
    for i, sign in itertools.product(range(8), (4, -4)):
        v = np.zeros(8, dtype=np.int64)
        v[i] = sign
        found.append(v)
    for where in itertools.combinations(range(8), 4):
        for signs in itertools.product((2, -2), repeat=4):
            v = np.zeros(8, dtype=np.int64)
            v[list(where)] = signs
            found.append(v)
    for i in range(8):
        for signs in itertools.product((1, -1), repeat=8):
            v = np.array(signs, dtype=np.int64)
            v[i] *= 3
            found.append(v)
    return np.array(found)


@lru_cache(maxsize=16)
def candidates(lattice: Lattice, shells: int) -> tuple[np.ndarray, np.ndarray]:
    """(native offsets int64 ``[K + 1, L]``, coordinate offsets int64 ``[K + 1, L]``) of the candidates from ``p``
    in candidate order: ``p`` (0), each block's first shell, then (``shells = 2``) each block's second shell."""
    if not supports(lattice):
        raise ValueError(f"{lattice.name}: the distance code needs small blocks of one kind (Z, D4, E8 powers)")
    native = [np.zeros((1, lattice.dim), dtype=np.int64)]
    for level in range(shells):
        lo = 0
        for block in lattice.blocks:
            s = _block_shells(block)[level]
            pad = np.zeros((len(s), lattice.dim), dtype=np.int64)
            pad[:, lo:lo + block.dim] = s
            native.append(pad)
            lo += block.dim
    offsets = np.concatenate(native)
    return offsets, _coords_of(lattice, offsets)


def _starts(lattice: Lattice) -> list[int]:
    return list(np.cumsum([0] + [b.dim for b in lattice.blocks[:-1]]))


def _coords_of(lattice: Lattice, native: np.ndarray) -> np.ndarray:
    """Integer coordinates of native lattice points (block by block, through the inverse basis; checked)."""
    parts = []
    for lo, block in zip(_starts(lattice), lattice.blocks, strict=True):
        part = native[:, lo:lo + block.dim]
        k = np.rint(part @ np.linalg.inv(block.basis.astype(np.float64))).astype(np.int64)
        if not np.array_equal(k @ block.basis, part):
            raise ValueError(f"{block.name}: candidate coordinates are not integral")
        parts.append(k)
    return np.concatenate(parts, axis=1)


def scores(table: DistanceTable, offsets: np.ndarray, diff: np.ndarray, scale: int) -> np.ndarray:
    """int64 ``[N, K + 1]``: ``Z_j`` of every candidate (module docstring), exact; ValueError where a vector's
    scores would leave the integers float64 holds exactly (no honest dither comes near)."""
    a = 2 * table.quad[None, :] * diff + table.lin[None, :] * scale
    norms = scale * ((offsets * offsets) @ table.quad)
    if np.any(np.abs(a).sum(axis=1) * np.abs(offsets).max() >= SCORE_BOUND):
        raise ValueError("distance code: candidate scores out of range")
    # every partial sum is an integer below 2^53 in magnitude: float64 is exact, in any order
    z = a.astype(np.float64) @ offsets.T.astype(np.float64)
    return z.astype(np.int64) - norms[None, :]


def counts(table: DistanceTable, offsets: np.ndarray, diff: np.ndarray, scale: int) -> np.ndarray:
    """int64 ``[N, K + 2]``: every vector's counts (candidates in order, the escape last), each ≥ 1, summing to
    2^24."""
    k = _steps(scores(table, offsets, diff, scale), scale)
    padded = np.append(table.exp_table, 0)
    w = padded[np.minimum(k, len(table.exp_table))]
    symbols = w.shape[1] + 1
    spread = (1 << TOTAL_BITS) - max(MIN_ESCAPE, table.escape) - symbols
    out = np.empty((len(w), symbols), dtype=np.int64)
    out[:, :-1] = 1 + (w * spread) // w.sum(axis=1, keepdims=True)
    out[:, -1] = (1 << TOTAL_BITS) - out[:, :-1].sum(axis=1)
    return out


def _steps(z: np.ndarray, scale: int) -> np.ndarray:
    """Each candidate's step ``k_j = ⌊(max Z − Z_j) / (256 · scale)⌋`` below the likeliest, from its scores."""
    return ((z.max(axis=1, keepdims=True) - z) >> STEP_SHIFT) // scale


def chunks(count: int) -> Iterable[slice]:
    for lo in range(0, count, CHUNK):
        yield slice(lo, min(lo + CHUNK, count))


@dataclass(frozen=True, eq=False)
class VectorTables:
    """The per-vector 24-bit tables of ``diff``'s rows (row ``i`` codes vector ``i``), what `RangeEncoder` and
    `RangeDecoder` take: `cdf` from the compiled kernel when it is active (`counts` stays the reference)."""

    table: DistanceTable
    offsets: np.ndarray
    diff: np.ndarray
    scale: int

    @property
    def size(self) -> int:
        return len(self.offsets) + 1

    @cached_property
    def counts(self) -> np.ndarray:
        return counts(self.table, self.offsets, self.diff, self.scale)

    @cached_property
    def cdf(self) -> np.ndarray:
        compiled = kernels.active()
        if compiled is None or len(self.diff) == 0:
            return PmfTable(self.counts, TOTAL_BITS).cdf
        offsets_t, norms = _kernel_offsets(self.table, self.offsets, self.scale)
        out = np.empty((len(self.diff), self.size + 1), dtype=np.uint32)
        compiled.distance_cdf(np.ascontiguousarray(self.diff, dtype=np.int64), offsets_t, norms, self.table.quad,
                              self.table.lin, self.scale, self.table.exp_table,
                              max(MIN_ESCAPE, self.table.escape), out)
        return out

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        return PmfTable(self.counts, TOTAL_BITS).probabilities(rows)


def _kernel_offsets(table: DistanceTable, offsets: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """(the native offsets as float64 columns ``[L, K + 1]``, ``scale·Σ_i b_i s_i²`` int64 ``[K + 1]``)."""
    return (np.ascontiguousarray(offsets.T, dtype=np.float64),
            np.ascontiguousarray(scale * ((offsets * offsets) @ table.quad), dtype=np.int64))


def pmf(table: DistanceTable, offsets: np.ndarray, diff: np.ndarray, scale: int) -> VectorTables:
    """The per-vector 24-bit tables of ``diff``'s rows (row ``i`` codes vector ``i``)."""
    return VectorTables(table, offsets, np.ascontiguousarray(diff, dtype=np.int64), scale)


def index_of(delta: np.ndarray, coord_offsets: np.ndarray) -> np.ndarray:
    """The candidate index of each row of ``delta = coords − p`` (int64 ``[N]``), ``K + 1`` (the escape) for none."""
    return index_in(delta, coord_offsets, len(coord_offsets))


def bits(table: DistanceTable, lattice: Lattice, candidates_: Candidates, coords: np.ndarray) -> tuple[
        float, np.ndarray]:
    """(the ideal code length in bits of the candidate symbols of ``coords``, which rows escaped)."""
    offsets, coord_offsets = candidates(lattice, table.shells)
    symbol = index_of(coords - candidates_.p, coord_offsets)
    total = 0.0
    for part in chunks(len(coords)):
        c = counts(table, offsets, candidates_.diff[part], candidates_.scale)
        total += float(np.sum(TOTAL_BITS - np.log2(c[np.arange(len(c)), symbol[part]].astype(np.float64))))
    return total, symbol == len(coord_offsets)


@dataclass(frozen=True, eq=False)
class DistanceCoder:
    """The distance code of a lattice: its table, and the box code for the points it escapes."""

    table: DistanceTable
    box: BoxCoder
    name: str = "distance"

    def __post_init__(self) -> None:
        self.table.validate(self.box.lattice)

    def _symbols(self, coords: np.ndarray, found: Candidates) -> np.ndarray:
        """Every vector's candidate index, the escape (``K + 1``) for none."""
        return index_of(coords - found.p, candidates(self.box.lattice, self.table.shells)[1])

    def _pmfs(self, found: Candidates) -> Iterable[tuple[slice, VectorTables]]:
        """The per-vector tables of the frame, a chunk of vectors at a time (row ``i`` of a chunk is its ``i``-th)."""
        offsets = candidates(self.box.lattice, self.table.shells)[0]
        for part in chunks(len(found.p)):
            yield part, pmf(self.table, offsets, found.diff[part], found.scale)

    def encode(self, encoder: RangeEncoder, coords: np.ndarray, dither: FrameDither) -> None:
        found = frame_candidates(self.box.tables, self.box.lattice, dither)
        symbol = self._symbols(coords, found)
        for part, tables in self._pmfs(found):
            encoder.categorical(symbol[part], tables, np.arange(part.stop - part.start))
        rest = symbol == len(candidates(self.box.lattice, self.table.shells)[1])
        self.box.encode(encoder, coords[rest], dither.rows(rest))

    def decode(self, decoder: RangeDecoder, count: int, dither: FrameDither) -> np.ndarray:
        found = frame_candidates(self.box.tables, self.box.lattice, dither)
        coord_offsets = candidates(self.box.lattice, self.table.shells)[1]
        symbol = np.zeros(count, dtype=np.int64)
        for part, tables in self._pmfs(found):
            symbol[part] = decoder.categorical(tables, np.arange(part.stop - part.start))
        rest = symbol == len(coord_offsets)
        points = found.p + coord_offsets[np.minimum(symbol, len(coord_offsets) - 1)]
        points[rest] = self.box.decode(decoder, int(rest.sum()), dither.rows(rest))
        return points

    def bits(self, coords: np.ndarray, dither: FrameDither) -> float:
        found = frame_candidates(self.box.tables, self.box.lattice, dither)
        length, rest = bits(self.table, self.box.lattice, found, coords)
        return length + self.box.bits(coords[rest], dither.rows(rest))

    def least_bits(self) -> float:
        """What the escape's floor leaves the likeliest candidate: 0.0056 bits."""
        return float(-np.log2(1.0 - MIN_ESCAPE / (1 << TOTAL_BITS)))
