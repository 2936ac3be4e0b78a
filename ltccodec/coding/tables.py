"""Integer probability tables: the frozen form of the prior that encoder and decoder both read.

For latent coordinate ``j`` and phase bucket ``q`` (the position of the cell grid relative to the lattice
points, see `box`), ``counts[j, q, :size[j]]`` are integer weights summing to ``2**precision`` over the
symbols ``low[j], low[j]+1, ...`` and a final escape symbol for anything outside that range. No float ever
decides a coded probability: `prior.freeze_tables` makes these once, when a model is saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ltccodec.coding.rangecoder import PMF_BITS, PmfTable

PRECISION = 16
BUCKETS = 32


@dataclass(frozen=True, eq=False)
class CodingTables:
    counts: np.ndarray  # int32 [L, Q, A_max], each row sums to 2**precision over its first size[j] entries
    low: np.ndarray  # int64 [L] first regular symbol of each coordinate
    size: np.ndarray  # int64 [L] alphabet size, escape included (escape = size - 1)
    precision: int = PRECISION

    @property
    def buckets(self) -> int:
        return int(self.counts.shape[1])

    @property
    def latent(self) -> int:
        return int(self.counts.shape[0])

    def pmf(self, j: int) -> PmfTable:
        """Coordinate ``j``'s rows (one per phase bucket) as the range coder reads them."""
        return self._pmfs[j]

    @cached_property
    def _pmfs(self) -> list[PmfTable]:
        """Made once per model: the coder caches each table's cumulatives in it."""
        if self.precision != PMF_BITS:
            raise ValueError(f"the range coder reads {PMF_BITS}-bit tables")
        return [PmfTable(np.ascontiguousarray(self.counts[j, :, : self.size[j]])) for j in range(self.latent)]

    def validate(self) -> None:
        """Raise ValueError unless the tables are well formed (every symbol codable, rows normalized)."""
        if self.counts.ndim != 3 or self.low.shape != (self.latent,) or self.size.shape != (self.latent,):
            raise ValueError("coding tables have inconsistent shapes")
        if np.any(self.size < 2) or np.any(self.size > self.counts.shape[2]):
            raise ValueError("coding table alphabet sizes out of range")
        for j in range(self.latent):
            rows = self.counts[j, :, : self.size[j]].astype(np.int64)
            if np.any(rows < 1) or np.any(rows.sum(axis=1) != 1 << self.precision):
                raise ValueError(f"coding table of coordinate {j} is not a normalized integer pmf")


def pack(tables: CodingTables) -> dict[str, np.ndarray]:
    """Compact arrays for the model file: each coordinate's rows, flattened and concatenated, as int16
    ``count − 32768`` (counts lie in [1, 65535] at 16-bit precision), plus ``low``, ``size``, ``buckets``."""
    if tables.precision != 16:
        raise ValueError("packed tables are 16-bit")
    flat = np.concatenate([tables.counts[j, :, : tables.size[j]].ravel() for j in range(tables.latent)])
    return {"counts": (flat.astype(np.int32) - 32768).astype(np.int16), "low": tables.low.astype(np.int64),
            "size": tables.size.astype(np.int64), "buckets": np.array([tables.buckets], dtype=np.int64)}


def unpack(arrays: dict[str, np.ndarray]) -> CodingTables:
    """Inverse of `pack`; raises ValueError on inconsistent arrays (never allocates from unchecked sizes)."""
    size, low = arrays["size"].astype(np.int64), arrays["low"].astype(np.int64)
    buckets = int(arrays["buckets"][0])
    flat = arrays["counts"].astype(np.int32) + 32768
    if size.ndim != 1 or low.shape != size.shape or not 1 <= buckets <= 1 << 12 or np.any(size < 2) \
            or np.any(size > 1 << 16) or int(size.sum()) * buckets != len(flat):
        raise ValueError("packed coding tables are inconsistent")
    counts = np.zeros((len(size), buckets, int(size.max())), dtype=np.int32)
    start = 0
    for j, width in enumerate(size.tolist()):
        counts[j, :, :width] = flat[start:start + buckets * width].reshape(buckets, width)
        start += buckets * width
    tables = CodingTables(counts, low, size, 16)
    tables.validate()
    return tables


def quantize_pmf(pmf: np.ndarray, precision: int = PRECISION) -> np.ndarray:
    """Integer weights (int64, each >= 1) summing to ``2**precision`` in every row of ``pmf`` ``[..., A]``.

    Rounds, then moves the remainder onto the largest entries (never below 1). Deterministic in ``pmf``."""
    total = 1 << precision
    p = np.maximum(np.asarray(pmf, dtype=np.float64), 0.0)
    p = p / p.sum(axis=-1, keepdims=True)
    counts = np.maximum(np.rint(p * total).astype(np.int64), 1)
    flat = counts.reshape(-1, counts.shape[-1])
    for row in flat:
        excess = int(row.sum()) - total
        order = np.argsort(-row, kind="stable")
        i = 0
        while excess != 0:
            k = order[i % len(order)]
            step = min(excess, row[k] - 1) if excess > 0 else excess
            row[k] -= step
            excess -= step
            i += 1
    return flat.reshape(counts.shape)
