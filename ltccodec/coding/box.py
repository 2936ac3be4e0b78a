"""The box code: every lattice coordinate against the frozen integer tables of the prior (`tables`), conditioned
on the coordinates after it and the dither. The distance code (`distance`) uses it for the points it escapes.

Coordinate ``j`` of a lattice point with integer coordinates ``k`` (lower-triangular generator L) is
``k_j L_jj + Σ_{i>j} k_i L_ij``; with a shared dither ``u`` the cell grid of ``k_j`` is offset by
``o_j = Σ_{i>j} k_i L_ij + u_j``. Everything is computed in each block's native integer frame, where the
dither is ``R / a`` (``R`` integer, ``a`` the nesting ratio), so the offset in units of ``L_jj`` is the exact
fraction ``num/den`` and the symbol is ``s = k_j + round-down part`` with the phase bucket from the
remainder. Coordinates are decoded from the last to the first of each block; all vectors of a frame share
one coder call per coordinate (queue order), and values outside a table's range go through an escape symbol
followed by two 16-bit uniform words. docs/FORMAT.md states the rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from ltccodec import kernels
from ltccodec.coding.base import ESCAPE_RANGE_ERROR, FrameDither
from ltccodec.coding.rangecoder import RangeDecoder, RangeEncoder
from ltccodec.coding.tables import CodingTables, quantize_pmf
from ltccodec.errors import LtcError
from ltccodec.lattice import Lattice

_ESCAPE_BIAS = 1 << 31
PRIOR_WEIGHT = 256.0  # measured tables: the frozen tables count as this many vectors per row (they shape the tails)


def _order(lattice: Lattice) -> Iterator[tuple[int, int, int, int]]:
    """(block index, start of block, local coordinate, global coordinate) in coding order."""
    lo = 0
    for b, block in enumerate(lattice.blocks):
        for local in range(block.dim - 1, -1, -1):
            yield b, lo, local, lo + local
        lo += block.dim


def _plain(a: np.ndarray) -> bool:
    return a.dtype == np.int64 and a.ndim == 2 and a.flags.c_contiguous


def condition(basis: np.ndarray, local: int, coords: np.ndarray, lo: int, native: np.ndarray, nesting: int,
              buckets: int) -> tuple:
    """What the kernels take for coordinate ``local`` of the block with integer lower-triangular ``basis`` that starts
    at column ``lo`` of ``coords`` (int64 ``[N, L]``), given the dither's native coordinates ``native`` (int64
    ``[N, n]``): ``num = nesting · (later coordinates @ column) + native[:, local]`` over ``den``."""
    column = np.ascontiguousarray(basis[local + 1:, local], dtype=np.int64)
    return (coords, coords.shape[1], lo + local + 1, column, native, native.shape[1], local, nesting,
            nesting * int(basis[local, local]), buckets)


def shift_and_bucket(condition: tuple) -> tuple[np.ndarray, np.ndarray]:
    """The integer shift that maps ``k_local`` to the table symbol, and the phase bucket (`condition`)."""
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


@dataclass(frozen=True, eq=False)
class BoxCoder:
    """The box code of a lattice against its coding tables (one row per coordinate and phase bucket)."""

    tables: CodingTables
    lattice: Lattice
    name: str = "box"

    def __post_init__(self) -> None:
        if any(b.embedding is not None for b in self.lattice.blocks):
            raise LtcError(f"{self.lattice.name}: lattices outside their native frame (A_n) cannot be entropy coded")
        if self.tables.latent != self.lattice.dim:
            raise LtcError("the model's coding tables do not match its latent dimension")

    def _condition(self, b: int, local: int, coords: np.ndarray, lo: int, dither: FrameDither) -> tuple:
        return condition(self.lattice.blocks[b].basis, local, coords, lo, dither.native[b], dither.nesting,
                         self.tables.buckets)

    def conditions(self, coords: np.ndarray, dither: FrameDither) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """In coding order, ``(j, shift, bucket)`` for every coordinate. Lazy: each step reads ``coords`` as it is
        then, so a decoder can fill in coordinate ``j`` before the generator moves on to the next one."""
        for b, lo, local, j in _order(self.lattice):
            shift, bucket = shift_and_bucket(self._condition(b, local, coords, lo, dither))
            yield j, shift, bucket

    def symbols(self, j: int, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(the table symbols of coordinate ``j``'s shifted values ``k_j + shift``, the escape symbol for those
        outside the table's range; which of them escaped)."""
        symbols = values - self.tables.low[j]
        escape = (symbols < 0) | (symbols >= self.tables.size[j] - 1)
        return np.where(escape, self.tables.size[j] - 1, symbols), escape

    def encode(self, encoder: RangeEncoder, coords: np.ndarray, dither: FrameDither) -> None:
        if encoder.compiled and _plain(coords) and all(_plain(d) for d in dither.native):
            plan = tuple((self._condition(b, local, coords, lo, dither), j, int(self.tables.low[j]),
                          self.tables.pmf(j)) for b, lo, local, j in _order(self.lattice))
            if not encoder.box(plan, len(coords)):
                raise LtcError(ESCAPE_RANGE_ERROR)
            return
        for j, shift, bucket in self.conditions(coords, dither):
            symbols, escape = self.symbols(j, coords[:, j] + shift)
            encoder.categorical(symbols, self.tables.pmf(j), bucket)
            if escape.any():
                _encode_escapes(encoder, coords[escape, j] + shift[escape])

    def decode(self, decoder: RangeDecoder, count: int, dither: FrameDither) -> np.ndarray:
        coords = np.zeros((count, self.lattice.dim), dtype=np.int64)
        if decoder.compiled and all(_plain(d) for d in dither.native):
            for b, lo, local, j in _order(self.lattice):
                condition = self._condition(b, local, coords, lo, dither)
                escapes, shift, escaped = decoder.coordinate(condition, j, int(self.tables.low[j]), self.tables.pmf(j))
                if escapes:
                    rows = escaped.astype(bool)
                    coords[rows, j] = _decode_escapes(decoder, escapes) - shift[rows]
            return coords
        for j, shift, bucket in self.conditions(coords, dither):
            symbols = decoder.categorical(self.tables.pmf(j), bucket)
            values = symbols + self.tables.low[j]
            escape = symbols == self.tables.size[j] - 1
            if escape.any():
                values[escape] = _decode_escapes(decoder, int(escape.sum()))
            coords[:, j] = values - shift
        return coords

    def bits(self, coords: np.ndarray, dither: FrameDither) -> float:
        """Escapes at 32 extra bits."""
        total = 0.0
        for j, shift, bucket in self.conditions(coords, dither):
            index, escape = self.symbols(j, coords[:, j] + shift)
            counts = self.tables.counts[j, bucket, index].astype(np.float64)
            total += float(np.sum(self.tables.precision - np.log2(counts))) + 32.0 * int(escape.sum())
        return total

    def least_bits(self) -> float:
        """Per coordinate, the cost of its most probable symbol in its most favourable bucket."""
        t = self.tables
        most = np.array([t.counts[j, :, : t.size[j]].max() for j in range(t.latent)], dtype=np.float64)
        return float(np.sum(t.precision - np.log2(most)))


def _encode_escapes(encoder: RangeEncoder, raw: np.ndarray) -> None:
    """Values outside a table's range: two 16-bit words each, after the coordinate's symbols."""
    if np.any(np.abs(raw) >= _ESCAPE_BIAS):
        raise LtcError(ESCAPE_RANGE_ERROR)
    words = raw + _ESCAPE_BIAS
    encoder.uniform16(np.stack([words >> 16, words & 0xFFFF], axis=1).reshape(-1))


def _decode_escapes(decoder: RangeDecoder, count: int) -> np.ndarray:
    pairs = decoder.uniform16(2 * count).reshape(-1, 2)
    return ((pairs[:, 0] << 16) | pairs[:, 1]) - _ESCAPE_BIAS


def measure_tables(coder: BoxCoder, frames: Iterable[tuple[np.ndarray, FrameDither]],
                   prior_weight: float = PRIOR_WEIGHT) -> CodingTables:
    """Tables of the same shape as ``coder.tables`` (the ones frozen from the prior) with each row's pmf measured:
    the box-code symbols of real frames — ``(coords, dither)`` pairs as the codec makes them — counted per
    coordinate and phase bucket, plus ``prior_weight`` vectors spread as the frozen row says. The learned prior
    is a factorized density fitted to a noisy proxy; the counts see the coded points themselves (docs/notes.md:
    0.003–0.007 bit/value less on the Gaussian models)."""
    tables = coder.tables
    counts = np.zeros(tables.counts.shape, dtype=np.float64)
    for coords, dither in frames:
        for j, shift, bucket in coder.conditions(coords, dither):
            np.add.at(counts[j], (bucket, coder.symbols(j, coords[:, j] + shift)[0]), 1.0)
    measured = np.zeros_like(tables.counts)
    for j in range(tables.latent):
        k = int(tables.size[j])
        prior = tables.counts[j, :, :k].astype(np.float64) / float(1 << tables.precision)
        measured[j, :, :k] = quantize_pmf(counts[j, :, :k] + prior_weight * prior, tables.precision)
    result = CodingTables(measured, tables.low.copy(), tables.size.copy(), tables.precision)
    result.validate()
    return result
