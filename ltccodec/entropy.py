"""Range coding of lattice coordinates against the frozen integer tables (the coder itself is `rangecoder`:
constriction's queue coder, or the compiled kernel that reproduces it word for word).

Coordinate ``j`` of a lattice point with integer coordinates ``k`` (lower-triangular generator L) is
``k_j L_jj + Σ_{i>j} k_i L_ij``; with a shared dither ``u`` the cell grid of ``k_j`` is offset by
``o_j = Σ_{i>j} k_i L_ij + u_j``. Everything is computed in each block's native integer frame, where the
dither is ``R / a`` (``R`` integer, ``a`` the nesting ratio), so the offset in units of ``L_jj`` is the exact
fraction ``num/den`` and the symbol is ``s = k_j + round-down part`` with the phase bucket from the
remainder. Coordinates are decoded from the last to the first of each block; all vectors of a frame share
one coder call per coordinate (queue order; constriction's `Categorical(perfect=False)` models), and values
outside a table's range go through an escape symbol followed by two 16-bit uniform words.

Coder version 0.6 is 0.5 with the anchor swap (`anchor`): the coded coordinates are ``swap(k)`` instead of ``k``.
Coder version 0.7 is the rank code (`rankcode`): every vector's rank among its candidates first (one batch against
the model's rank pmf), then the box code above for the vectors that are none of them.
Coder version 0.8 is the distance code (`distcode`): every vector's candidate index against its own 24-bit table
(from the candidates' places), then the box code for the vectors that are none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np

from ltccodec import anchor as anchor_swap
from ltccodec import distcode, kernels, rankcode
from ltccodec.errors import LtcError
from ltccodec.lattice import Lattice
from ltccodec.rangecoder import PmfTable, RangeDecoder, RangeEncoder
from ltccodec.tables import CodingTables, quantize_pmf

CODER_ID = 1  # constriction queue (range) coder, categorical family with perfect=False
CODER_VERSION = (0, 5, 0)  # the box pmf as it is
ANCHOR_VERSION = (0, 6, 0)  # the box pmf with the anchor swap
RANK_VERSION = (0, 7, 0)  # the rank code, the box pmf for the rest
DISTANCE_VERSION = (0, 8, 0)  # the distance code, the box pmf for the rest
CODER_VERSIONS = (CODER_VERSION, ANCHOR_VERSION, RANK_VERSION, DISTANCE_VERSION)
_ESCAPE_BIAS = 1 << 31
ESCAPE_RANGE_ERROR = "latent values out of range: is the input finite and in the model's range?"
# what constriction raises for words that are not a valid encoding under the given models
DECODE_ERRORS = (ValueError, RuntimeError, OverflowError, AssertionError)


def version_for(anchor: bool, rank: bool = False, distance: bool = False) -> tuple[int, int, int]:
    return DISTANCE_VERSION if distance else RANK_VERSION if rank else ANCHOR_VERSION if anchor else CODER_VERSION


def _order(lattice: Lattice) -> Iterator[tuple[int, int, int, int]]:
    """(block index, start of block, local coordinate, global coordinate) in coding order."""
    lo = 0
    for b, block in enumerate(lattice.blocks):
        for local in range(block.dim - 1, -1, -1):
            yield b, lo, local, lo + local
        lo += block.dim


def native_dither(lattice: Lattice, dither_coords: np.ndarray | None, count: int) -> list[np.ndarray]:
    """Per block, the native integer coordinates ``R`` of ``a·u`` (zeros without dither)."""
    if dither_coords is None:
        return [np.zeros((count, b.native_dim), dtype=np.int64) for b in lattice.blocks]
    return lattice.native_from_coords(dither_coords)


def _check_codable(lattice: Lattice, tables: CodingTables) -> None:
    if any(b.embedding is not None for b in lattice.blocks):
        raise LtcError(f"{lattice.name}: lattices outside their native frame (A_n) cannot be entropy coded")
    if tables.latent != lattice.dim:
        raise LtcError("the model's coding tables do not match its latent dimension")


def _condition(basis: np.ndarray, local: int, coords: np.ndarray, lo: int, dither: np.ndarray, nesting: int,
               buckets: int) -> tuple:
    """What the kernels take for coordinate ``local`` of the block with integer lower-triangular ``basis`` that starts
    at column ``lo`` of ``coords`` (int64 ``[N, L]``), given the dither's native coordinates ``dither`` (int64
    ``[N, n]``): ``num = nesting · (later coordinates @ column) + dither[:, local]`` over ``den``."""
    column = np.ascontiguousarray(basis[local + 1:, local], dtype=np.int64)
    return (coords, coords.shape[1], lo + local + 1, column, dither, dither.shape[1], local, nesting,
            nesting * int(basis[local, local]), buckets)


def _shift_and_bucket(condition: tuple) -> tuple[np.ndarray, np.ndarray]:
    """The integer shift that maps ``k_local`` to the table symbol, and the phase bucket (`_condition`)."""
    coords, _, first, column, dither, _, local, nesting, den, buckets = condition
    compiled = kernels.active()
    if compiled is not None and _plain(coords) and _plain(dither):
        shift, bucket = np.empty(len(coords), dtype=np.int64), np.empty(len(coords), dtype=np.int64)
        compiled.shift_bucket(condition, shift, bucket)
        return shift, bucket
    later = coords[:, first: first + len(column)]
    num = nesting * (later @ column if len(column) else np.zeros(len(dither), dtype=np.int64)) + dither[:, local]
    shift = np.floor_divide(num, den)
    rem = num - shift * den  # in [0, den)
    bucket = (2 * rem * buckets + den) // (2 * den)  # nearest bucket, exact
    wrap = bucket == buckets
    return shift + wrap, np.where(wrap, 0, bucket)


def _plain(a: np.ndarray) -> bool:
    return a.dtype == np.int64 and a.ndim == 2 and a.flags.c_contiguous


def _conditions(tables: CodingTables, lattice: Lattice, coords: np.ndarray, dither: list[np.ndarray],
                nesting: int) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """In coding order, ``(j, shift, bucket)`` for every coordinate, given the dither's native coordinates
    (`native_dither`). Lazy: each step reads ``coords`` as it is then, so a decoder can fill in coordinate ``j``
    before the generator moves on to the next one."""
    for b, lo, local, j in _order(lattice):
        shift, bucket = _shift_and_bucket(_condition(lattice.blocks[b].basis, local, coords, lo, dither[b], nesting,
                                                     tables.buckets))
        yield j, shift, bucket


def _fused(coder: RangeEncoder | RangeDecoder, coords: np.ndarray, dither: list[np.ndarray]) -> bool:
    """Whether the box code can run one kernel call per coordinate (condition and coding together)."""
    return coder.compiled and _plain(coords) and all(_plain(d) for d in dither)


def _prepared(tables: CodingTables, lattice: Lattice, coords: np.ndarray, dither_coords: np.ndarray | None,
              nesting: int, anchor: bool,
              dither_native: list[np.ndarray] | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
    """(the coordinates as coded — swapped with the anchor's under version 0.6 —, the dither's native
    coordinates)."""
    _check_codable(lattice, tables)
    dither = dither_native if dither_native is not None else native_dither(lattice, dither_coords, len(coords))
    if anchor:
        coords = anchor_swap.swap(coords, *anchor_swap.anchor_points(tables, lattice, dither, nesting))
    return coords, dither


def _rank_candidates(tables: CodingTables, lattice: Lattice, dither: list[np.ndarray], nesting: int,
                     table: rankcode.RankTable) -> tuple[rankcode.Candidates, np.ndarray]:
    """Under the rank code: (the frame's candidates, each vector's context)."""
    candidates = rankcode.frame_candidates(tables, lattice, dither, nesting)
    return candidates, rankcode.contexts_of_margins(candidates.margins(), table, candidates.scale)


def _ranks_and_rest(tables: CodingTables, lattice: Lattice, coords: np.ndarray, dither: list[np.ndarray],
                    nesting: int, table: rankcode.RankTable) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                     list[np.ndarray]]:
    """(ranks, contexts, and the coordinates and dither of the vectors that are none of their candidates: what
    the box code carries after the ranks)."""
    candidates = rankcode.frame_candidates(tables, lattice, dither, nesting)
    rank, margin = candidates.ranks_and_margins(coords)
    context = rankcode.contexts_of_margins(margin, table, candidates.scale)
    rest = rank == table.counts.shape[1] - 1
    return rank, context, coords[rest], [d[rest] for d in dither]


def encode(tables: CodingTables, lattice: Lattice, coords: np.ndarray, dither_coords: np.ndarray | None,
           nesting: int, side: np.ndarray | None = None, side_counts: np.ndarray | None = None,
           anchor: bool = False, rank_table: rankcode.RankTable | None = None,
           dither_native: list[np.ndarray] | None = None,
           distance_table: distcode.DistanceTable | None = None) -> np.ndarray:
    """Compress integer coordinates (int64 ``[N, L]``) to uint32 words; ``side`` symbols (audio gains, ``[N, B]``),
    if given, go first in row-major order, column ``b`` against the fixed integer pmf ``side_counts[b]`` (each row
    summing to 2^16). ``anchor``: coder version 0.6 (the anchor swap); ``rank_table``: version 0.7 (the rank code
    with this pmf); ``distance_table``: version 0.8 (the distance code). ``dither_native``: the dither's native
    coordinates when the caller has them (as `lattice.native_from_coords(dither_coords)` gives them)."""
    coords, dither = _prepared(tables, lattice, coords, dither_coords, nesting, anchor, dither_native)
    encoder = RangeEncoder()
    if side is not None:
        if side_counts is None:
            raise ValueError("side symbols need their table")
        encoder.categorical(side.reshape(-1), PmfTable(side_counts), _side_rows(len(side_counts), len(side)))
    if rank_table is not None:
        rank, context, coords, dither = _ranks_and_rest(tables, lattice, coords, dither, nesting, rank_table)
        for c, pmf in enumerate(_rank_pmfs(rank_table)):  # context by context, each in vector order
            encoder.categorical(rank[context == c], pmf)
    if distance_table is not None:
        symbol, candidates = _distance_symbols(tables, lattice, coords, dither, nesting, distance_table)
        for part, pmf in _distance_pmfs(distance_table, lattice, candidates):
            encoder.categorical(symbol[part], pmf, np.arange(part.stop - part.start))
        rest = symbol == len(distcode.candidates(lattice, distance_table.shells)[0])
        coords, dither = coords[rest], [d[rest] for d in dither]
    if _fused(encoder, coords, dither):
        plan = tuple((_condition(lattice.blocks[b].basis, local, coords, lo, dither[b], nesting, tables.buckets), j,
                      int(tables.low[j]), tables.pmf(j)) for b, lo, local, j in _order(lattice))
        if not encoder.box(plan, len(coords)):
            raise LtcError(ESCAPE_RANGE_ERROR)
        return encoder.words()
    for j, shift, bucket in _conditions(tables, lattice, coords, dither, nesting):
        symbols, escape = _box_symbols(tables, j, coords[:, j] + shift)
        encoder.categorical(symbols, tables.pmf(j), bucket)
        if escape.any():
            _encode_escapes(encoder, coords[escape, j] + shift[escape])
    return encoder.words()


def _box_symbols(tables: CodingTables, j: int, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the table symbols of coordinate ``j``'s shifted values ``k_j + shift``, the escape symbol for those outside
    the table's range; which of them escaped)."""
    symbols = values - tables.low[j]
    escape = (symbols < 0) | (symbols >= tables.size[j] - 1)
    return np.where(escape, tables.size[j] - 1, symbols), escape


def _encode_escapes(encoder: RangeEncoder, raw: np.ndarray) -> None:
    """Values outside a table's range: two 16-bit words each, after the coordinate's symbols."""
    if np.any(np.abs(raw) >= _ESCAPE_BIAS):
        raise LtcError(ESCAPE_RANGE_ERROR)
    words = raw + _ESCAPE_BIAS
    encoder.uniform16(np.stack([words >> 16, words & 0xFFFF], axis=1).reshape(-1))


def _decode_escapes(decoder: RangeDecoder, count: int) -> np.ndarray:
    pairs = decoder.uniform16(2 * count).reshape(-1, 2)
    return ((pairs[:, 0] << 16) | pairs[:, 1]) - _ESCAPE_BIAS


def decode(tables: CodingTables, lattice: Lattice, words: np.ndarray, count: int,
           dither_coords: np.ndarray | None, nesting: int, side_count: int = 0,
           side_counts: np.ndarray | None = None, coded: Callable[[np.ndarray], np.ndarray] | None = None,
           anchor: bool = False, rank_table: rankcode.RankTable | None = None,
           dither_native: list[np.ndarray] | None = None,
           distance_table: distcode.DistanceTable | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Inverse of `encode`: int64 ``[count, L]`` coordinates, and the side symbols (int64 ``[side_count, B]``, B
    the rows of ``side_counts``) or None when ``side_count`` is 0. With ``coded``, a function of the side symbols
    that says (bool ``[count]``) which vectors the encoder coded, only those rows' coordinates are read (the
    encoder was given just those rows, with their dither) and returned."""
    decoder = RangeDecoder(words)
    side = None
    if side_count:
        if side_counts is None:
            raise ValueError("side symbols need their table")
        side = decoder.categorical(PmfTable(side_counts), _side_rows(len(side_counts), side_count))
        side = side.reshape(side_count, len(side_counts))
    if coded is not None and side is not None:
        mask = coded(side)
        count = int(mask.sum())
        dither_coords = None if dither_coords is None else dither_coords[mask]
        dither_native = None if dither_native is None else [d[mask] for d in dither_native]
    _check_codable(lattice, tables)
    dither = dither_native if dither_native is not None else native_dither(lattice, dither_coords, count)
    if rank_table is not None:
        candidates, context = _rank_candidates(tables, lattice, dither, nesting, rank_table)
        rank = np.zeros(count, dtype=np.int64)
        for c, pmf in enumerate(_rank_pmfs(rank_table)):
            rank[context == c] = decoder.categorical(pmf, int(np.sum(context == c)))
        ranked = candidates.points(rank)
        rest = rank == rank_table.counts.shape[1] - 1
        ranked[rest] = _decode_box(decoder, tables, lattice, int(rest.sum()), [d[rest] for d in dither], nesting,
                                   False)
        return ranked, side
    if distance_table is not None:
        candidates = rankcode.frame_candidates(tables, lattice, dither, nesting)
        coord_offsets = distcode.candidates(lattice, distance_table.shells)[1]
        symbol = np.zeros(count, dtype=np.int64)
        for part, pmf in _distance_pmfs(distance_table, lattice, candidates):
            symbol[part] = decoder.categorical(pmf, np.arange(part.stop - part.start))
        rest = symbol == len(coord_offsets)
        found = candidates.p + coord_offsets[np.minimum(symbol, len(coord_offsets) - 1)]
        found[rest] = _decode_box(decoder, tables, lattice, int(rest.sum()), [d[rest] for d in dither], nesting,
                                  False)
        return found, side
    return _decode_box(decoder, tables, lattice, count, dither, nesting, anchor), side


def _distance_symbols(tables: CodingTables, lattice: Lattice, coords: np.ndarray, dither: list[np.ndarray],
                      nesting: int, table: distcode.DistanceTable) -> tuple[np.ndarray, rankcode.Candidates]:
    """Under the distance code: (every vector's candidate index, the escape for none; the frame's candidates)."""
    candidates = rankcode.frame_candidates(tables, lattice, dither, nesting)
    return distcode.index_of(coords - candidates.p, distcode.candidates(lattice, table.shells)[1]), candidates


def _distance_pmfs(table: distcode.DistanceTable, lattice: Lattice,
                   candidates: rankcode.Candidates) -> Iterator[tuple[slice, distcode.VectorTables]]:
    """The per-vector tables of the frame, a chunk of vectors at a time (row ``i`` of a chunk is its ``i``-th)."""
    offsets = distcode.candidates(lattice, table.shells)[0]
    for part in distcode.chunks(len(candidates.p)):
        yield part, distcode.pmf(table, offsets, candidates.diff[part], candidates.scale)


def _rank_pmfs(table: rankcode.RankTable) -> list[PmfTable]:
    """One single-row table per context."""
    return [PmfTable(row[None, :]) for row in table.counts]


def _decode_box(decoder: RangeDecoder, tables: CodingTables, lattice: Lattice, count: int, dither: list[np.ndarray],
                nesting: int, anchor: bool) -> np.ndarray:
    """The box-coded coordinates of ``count`` vectors (swapped back under the anchor swap)."""
    coords = np.zeros((count, lattice.dim), dtype=np.int64)
    if _fused(decoder, coords, dither):
        for b, lo, local, j in _order(lattice):
            condition = _condition(lattice.blocks[b].basis, local, coords, lo, dither[b], nesting, tables.buckets)
            escapes, shift, escaped = decoder.coordinate(condition, j, int(tables.low[j]), tables.pmf(j))
            if escapes:
                rows = escaped.astype(bool)
                coords[rows, j] = _decode_escapes(decoder, escapes) - shift[rows]
    else:
        for j, shift, bucket in _conditions(tables, lattice, coords, dither, nesting):
            symbols = decoder.categorical(tables.pmf(j), bucket)
            values = symbols + tables.low[j]
            escape = symbols == tables.size[j] - 1
            if escape.any():
                values[escape] = _decode_escapes(decoder, int(escape.sum()))
            coords[:, j] = values - shift
    if anchor:
        coords = anchor_swap.swap(coords, *anchor_swap.anchor_points(tables, lattice, dither, nesting))
    return coords


def _side_rows(columns: int, count: int) -> np.ndarray:
    """The table row of each of ``count`` rows of ``columns`` side symbols, in row-major order."""
    return np.tile(np.arange(columns, dtype=np.int64), count)


PRIOR_WEIGHT = 256.0  # measured tables: the frozen tables count as this many vectors per row (they shape the tails)


def measure_tables(tables: CodingTables, lattice: Lattice, frames: Iterable[tuple[np.ndarray, np.ndarray | None]],
                   nesting: int, prior_weight: float = PRIOR_WEIGHT) -> CodingTables:
    """Tables of the same shape as ``tables`` (the ones frozen from the prior) with each row's pmf measured: the
    box-code symbols of real frames — ``(coords, dither_coords)`` pairs as the codec makes them — counted per
    coordinate and phase bucket, plus ``prior_weight`` vectors spread as the frozen row says. The learned prior
    is a factorized density fitted to a noisy proxy; the counts see the coded points themselves (docs/results.md:
    0.003–0.007 bit/value less on the Gaussian models)."""
    counts = np.zeros(tables.counts.shape, dtype=np.float64)
    for coords, dither_coords in frames:
        dither = native_dither(lattice, dither_coords, len(coords))
        for j, shift, bucket in _conditions(tables, lattice, coords, dither, nesting):
            np.add.at(counts[j], (bucket, _box_symbols(tables, j, coords[:, j] + shift)[0]), 1.0)
    measured = np.zeros_like(tables.counts)
    for j in range(tables.latent):
        k = int(tables.size[j])
        prior = tables.counts[j, :, :k].astype(np.float64) / float(1 << tables.precision)
        measured[j, :, :k] = quantize_pmf(counts[j, :, :k] + prior_weight * prior, tables.precision)
    result = CodingTables(measured, tables.low.copy(), tables.size.copy(), tables.precision)
    result.validate()
    return result


def table_bits(tables: CodingTables, lattice: Lattice, coords: np.ndarray, dither_coords: np.ndarray | None,
               nesting: int, anchor: bool = False, rank_table: rankcode.RankTable | None = None,
               distance_table: distcode.DistanceTable | None = None) -> float:
    """The ideal code length (bits) of ``coords`` under the integer tables (and the rank pmf or the distance
    code), escapes at 32 extra bits."""
    coords, dither = _prepared(tables, lattice, coords, dither_coords, nesting, anchor)
    total = 0.0
    if rank_table is not None:
        rank, context, coords, dither = _ranks_and_rest(tables, lattice, coords, dither, nesting, rank_table)
        total += float(np.sum(16 - np.log2(rank_table.counts[context, rank].astype(np.float64))))
    if distance_table is not None:
        candidates = rankcode.frame_candidates(tables, lattice, dither, nesting)
        length, rest = distcode.bits(distance_table, lattice, candidates, coords)
        total += length
        coords, dither = coords[rest], [d[rest] for d in dither]
    for j, shift, bucket in _conditions(tables, lattice, coords, dither, nesting):
        index, escape = _box_symbols(tables, j, coords[:, j] + shift)
        counts = tables.counts[j, bucket, index].astype(np.float64)
        total += float(np.sum(tables.precision - np.log2(counts))) + 32.0 * int(escape.sum())
    return total
