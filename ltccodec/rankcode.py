"""The rank code (coder version 0.7): at low rate, code which of the anchor's nearest lattice points was picked.

At low rate the latent sits near the prior's mode ``μ`` and the quantizer picks one of a handful of lattice points
around ``μ − u``. The box pmf prices them by generator boxes that do not match their Voronoi cells, and costs
0.07–0.26 bit/dim more than the ideal on the E8 SD construction (docs/results.md). The rank code orders the
candidates — the anchor's closest point ``p`` (`anchor`) and its neighbours ``p + s``, ``s`` a minimal vector of one
block — by their distance to ``μ − u``, and codes the rank of the chosen point against a fixed integer pmf stored
with the model (``rank.counts``: one weight per rank and a last one for "none of them", summing to 2^16). A point
outside the candidates is coded with the box pmf after all ranks of the frame.

Distances are compared exactly: with the anchor's offset ``t·Q·a`` (integers, see `anchor`), each candidate's key is
``Q·a·|s|² − 2⟨(t − p)·Q·a, s⟩`` in the block's native frame (the squared distance minus that of ``p``, times
``Q·a``); ``p`` has key 0 and ties keep the candidate order (``p``, then the shell block by block in lexicographic
order of its native coordinates): the order of the integers ``key·(K + 1) + index``. Lattices whose blocks are
small (Z1, D4, E8 and their powers) can use it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from ltccodec import anchor as anchor_swap
from ltccodec import kernels
from ltccodec.lattice import Lattice, coset_dither
from ltccodec.lattice.base import Block
from ltccodec.tables import CodingTables

MAX_BLOCK_DIM = 8
CONTEXTS = 4  # rank pmfs per model, by how close the nearest other candidate is to the anchor (its margin)
EDGE_UNIT = 256  # context edges are in 1/256 of a native squared distance


@dataclass(frozen=True, eq=False)
class RankTable:
    """The rank code's integer pmfs: ``counts`` int64 ``[C, K + 2]`` (each row ≥ 1, summing to 2^16; the last
    column is "none of the candidates") and ``edges`` int64 ``[C − 1]``, nondecreasing: a vector is in context ``c``
    when ``c`` edges lie at or below its margin (in 1/256 native squared distance)."""

    counts: np.ndarray
    edges: np.ndarray

    def validate(self, candidates: int) -> None:
        if self.counts.ndim != 2 or self.counts.shape[1] != candidates + 2 or self.edges.shape != (
                self.counts.shape[0] - 1,) or np.any(self.counts < 1) or np.any(self.counts.sum(axis=1) != 1 << 16) \
                or np.any(np.diff(self.edges) < 0):
            raise ValueError("the rank table does not fit the lattice")


def contexts(keys: np.ndarray, table: RankTable, scale: int) -> np.ndarray:
    """Each vector's context (int64 ``[N]``) from its candidate keys (`candidate_keys`, ``scale = Q·a``): see
    `contexts_of_margins`."""
    margin = (keys[:, 1:] // keys.shape[1]).min(axis=1) if keys.shape[1] > 1 else np.zeros(len(keys), np.int64)
    return contexts_of_margins(margin, table, scale)


def contexts_of_margins(margin: np.ndarray, table: RankTable, scale: int) -> np.ndarray:
    """The number of edges ``e`` with ``256·margin ≥ e·scale``, ``margin`` the least distance key of the shell."""
    return (EDGE_UNIT * margin[:, None] >= table.edges[None, :] * scale).sum(axis=1).astype(np.int64)


def supports(lattice: Lattice) -> bool:
    """Whether the rank code is defined for ``lattice``: small blocks of one kind at one scale, native frame."""
    first = lattice.blocks[0]
    return all(b.name == first.name and b.embedding is None and b.dim <= MAX_BLOCK_DIM for b in lattice.blocks) \
        and len(set(lattice.scales)) == 1


@lru_cache(maxsize=16)
def _block_shell(block: Block) -> tuple[np.ndarray, np.ndarray]:
    """(native points, integer coordinates) of the block's minimal nonzero vectors, lexicographic in the native
    points; found among native points with every entry in [-2, 2]."""
    grid = np.array(list(itertools.product(range(-2, 3), repeat=block.native_dim)), dtype=np.float64)
    grid = grid[np.any(grid != 0, axis=1)]
    members = grid[np.all(block.nearest_native(grid) == grid, axis=1)]
    norms = (members * members).sum(axis=1)
    shell = members[norms == norms.min()].astype(np.int64)  # already lexicographic (product order)
    coords = np.rint(shell @ np.linalg.inv(block.basis.astype(np.float64))).astype(np.int64)
    if not np.array_equal(coords @ block.basis, shell):
        raise ValueError(f"{block.name}: shell coordinates are not integral")
    return shell, coords


def shell(lattice: Lattice) -> tuple[np.ndarray, np.ndarray]:
    """(native offsets int64 ``[K, L]``, coordinate offsets int64 ``[K, L]``) of the candidates other than ``p``:
    each block's minimal vectors in that block, blocks in order."""
    if not supports(lattice):
        raise ValueError(f"{lattice.name}: the rank code needs small blocks of one kind (Z, D4, E8 powers)")
    native, coords, lo = [], [], 0
    for block in lattice.blocks:
        s, k = _block_shell(block)
        pad_n = np.zeros((len(s), lattice.dim), dtype=np.int64)
        pad_k = np.zeros((len(s), lattice.dim), dtype=np.int64)
        pad_n[:, lo:lo + block.dim], pad_k[:, lo:lo + block.dim] = s, k
        native.append(pad_n)
        coords.append(pad_k)
        lo += block.dim
    return np.concatenate(native), np.concatenate(coords)


def candidate_offsets(lattice: Lattice) -> np.ndarray:
    """int64 ``[K + 1, L]``: the candidates' coordinate offsets from ``p``, ``p`` itself (0) first, then the shell."""
    _, shell_coords = shell(lattice)
    return np.concatenate([np.zeros((1, lattice.dim), dtype=np.int64), shell_coords])


@dataclass(frozen=True, eq=False)
class Candidates:
    """A frame's candidates: the anchor's closest point ``p`` (coordinates int64 ``[N, L]``) and ``diff`` =
    ``(t − p)·Q·a`` in the native frame (int64 ``[N, L]``), ``scale = Q·a``. `keys` materializes every candidate's
    key (numpy); the compiled kernel works from ``diff`` alone, one vector at a time."""

    p: np.ndarray
    diff: np.ndarray
    scale: int
    lattice: Lattice

    @cached_property
    def keys(self) -> np.ndarray:
        """int64 ``[N, K + 1]``: candidate ``i``'s key is its distance key times ``K + 1`` plus ``i`` (index 0 is
        ``p`` with distance key 0, ``i ≥ 1`` shell vector ``i − 1``): distinct, in the candidates' rank order."""
        native_shell, _ = shell(self.lattice)
        # |t − p| is within the covering radius, so every distance key is an integer far below 2^53: exact in float64
        distance = float(self.scale) * (native_shell * native_shell).sum(axis=1)[None, :] \
            - 2.0 * (self.diff.astype(np.float64) @ native_shell.T.astype(np.float64))
        width = len(native_shell) + 1
        keys = np.empty((len(self.p), width), dtype=np.int64)
        keys[:, 0] = 0
        keys[:, 1:] = distance.astype(np.int64) * width + np.arange(1, width)
        return keys

    def _scan(self, mode: int, given: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        compiled = kernels.active()
        assert compiled is not None
        shell_t, norms = _shell_columns(self.lattice, self.scale)
        out, margin = np.empty(len(self.p), dtype=np.int64), np.empty(len(self.p), dtype=np.int64)
        compiled.rank_scan(np.ascontiguousarray(self.diff), shell_t, norms, mode,
                           np.ascontiguousarray(given, dtype=np.int64), out, margin)
        return out, margin

    def margins(self) -> np.ndarray:
        """int64 ``[N]``: the least distance key of the shell (what picks the context)."""
        if kernels.active() is None or len(self.p) == 0:
            keys = self.keys
            return (keys[:, 1:] // keys.shape[1]).min(axis=1) if keys.shape[1] > 1 else np.zeros(len(keys), np.int64)
        return self._scan(0, np.zeros(len(self.p), dtype=np.int64))[1]

    def ranks_and_margins(self, coords: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(`ranks` of ``coords`` among these candidates, `margins`): one pass of the kernel."""
        if kernels.active() is None or len(self.p) == 0:
            return ranks(coords, self.p, self.keys, self.lattice), self.margins()
        return self._scan(1, _candidate_index(coords - self.p, self.lattice))

    def points(self, rank: np.ndarray) -> np.ndarray:
        """`points` of these ranks (rows with the escape rank are left at ``p``)."""
        if kernels.active() is None or len(self.p) == 0:
            return points(rank, self.p, self.keys, self.lattice)
        index = self._scan(2, rank)[0]
        return self.p + np.where((index >= 0)[:, None], candidate_offsets(self.lattice)[np.maximum(index, 0)], 0)


@lru_cache(maxsize=16)
def _shell_columns(lattice: Lattice, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """(the shell's native vectors as columns, float64 ``[L, K]``; ``scale·|s|²``, float64 ``[K]``) for the kernel."""
    native_shell, _ = shell(lattice)
    norms = float(scale) * (native_shell * native_shell).sum(axis=1).astype(np.float64)
    return np.ascontiguousarray(native_shell.T, dtype=np.float64), np.ascontiguousarray(norms)


def frame_candidates(tables: CodingTables, lattice: Lattice, dither_native: list[np.ndarray],
                     nesting: int) -> Candidates:
    """The `Candidates` of a frame, for dither native coordinates ``R`` (per block int64 ``[N, dim]``)."""
    offsets, p = anchor_swap.anchor_offsets(tables, lattice, dither_native, nesting)
    scale = tables.buckets * nesting
    diff = offsets - scale * np.concatenate(lattice.native_from_coords(p), axis=1)  # (t − p)·Q·a, native
    return Candidates(p, diff, scale, lattice)


def candidate_keys(tables: CodingTables, lattice: Lattice, dither_native: list[np.ndarray],
                   nesting: int) -> tuple[np.ndarray, np.ndarray]:
    """(``p`` coordinates int64 ``[N, L]``, keys int64 ``[N, K + 1]``, see `Candidates.keys`)."""
    candidates = frame_candidates(tables, lattice, dither_native, nesting)
    return candidates.p, candidates.keys


def ranks(coords: np.ndarray, p: np.ndarray, keys: np.ndarray, lattice: Lattice) -> np.ndarray:
    """The rank of each row of ``coords`` among its candidates (int64 ``[N]``), ``K + 1`` for none of them."""
    index = _candidate_index(coords - p, lattice)
    mine = keys[np.arange(len(keys)), np.maximum(index, 0)]
    return np.where(index >= 0, (keys < mine[:, None]).sum(axis=1), keys.shape[1])


def points(rank: np.ndarray, p: np.ndarray, keys: np.ndarray, lattice: Lattice, head: int = 8) -> np.ndarray:
    """Inverse of `ranks` for the rows whose rank is a candidate's: their coordinates ``[N, L]`` (rows with the
    escape rank are left at ``p``). Ranks below ``head`` (most, at low rate) need only a partial sort."""
    offsets = candidate_offsets(lattice)
    width = keys.shape[1]
    index = np.zeros(len(rank), dtype=np.int64)
    near = rank < min(head, width)
    if near.any():
        first = np.sort(np.partition(keys[near], min(head, width) - 1, axis=1)[:, :head], axis=1)
        index[near] = first[np.arange(int(near.sum())), rank[near]] % width
    far = (rank >= head) & (rank < width)
    if far.any():
        index[far] = np.sort(keys[far], axis=1)[np.arange(int(far.sum())), rank[far]] % width
    return p + np.where((rank < width)[:, None], offsets[index], 0)


def _candidate_index(delta: np.ndarray, lattice: Lattice) -> np.ndarray:
    """The candidate index of each row of ``delta = coords − p`` (0 for ``p``, ``i`` for shell vector ``i − 1``),
    −1 for none."""
    return index_in(delta, candidate_offsets(lattice), -1)


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


def grid_dither(lattice: Lattice, count: int, nesting: int,
                rng: np.random.Generator) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(dither coordinates of ``a·u``, dither ``u``) drawn as the codec draws them (uniform digits on the
    ``nesting`` grid; SD uses its 2^16 grid), or (None, None) without shared dither."""
    if nesting == 1:
        return None, None
    return coset_dither(lattice, rng.integers(0, nesting, size=(count, lattice.dim)), nesting)


def estimate_table(to_symbols: Callable[[np.ndarray, np.ndarray | None], np.ndarray], tables: CodingTables,
                   lattice: Lattice, x: np.ndarray, nesting: int, rng: np.random.Generator,
                   count: int = CONTEXTS) -> RankTable:
    """The rank pmfs, from the ranks of source vectors ``x`` under dither drawn as the codec draws it (uniform
    digits on the ``nesting`` grid), in ``count`` contexts split at the quantiles of the margin."""
    from ltccodec.tables import quantize_pmf

    dither_coords, u = grid_dither(lattice, len(x), nesting, rng)
    native = [np.zeros((len(x), b.native_dim), dtype=np.int64) for b in lattice.blocks] if dither_coords is None \
        else lattice.native_from_coords(dither_coords)
    coords = to_symbols(x, u)
    p, keys = candidate_keys(tables, lattice, native, nesting)
    scale = tables.buckets * nesting
    margin = (keys[:, 1:] // keys.shape[1]).min(axis=1) * EDGE_UNIT / scale
    edges = np.floor(np.quantile(margin, np.arange(1, count) / count)).astype(np.int64)
    table = RankTable(np.zeros((count, keys.shape[1] + 1), dtype=np.int64), edges)
    rank, context = ranks(coords, p, keys, lattice), contexts(keys, table, scale)
    counts = np.zeros((count, keys.shape[1] + 1)) + 0.5
    np.add.at(counts, (context, rank), 1.0)
    return RankTable(quantize_pmf(counts), edges)
