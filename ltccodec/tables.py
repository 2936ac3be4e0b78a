"""Integer probability tables: the frozen form of the prior that encoder and decoder both read.

For latent coordinate ``j`` and phase bucket ``q`` (the position of the cell grid relative to the lattice
points, see `entropy`), ``counts[j, q, :size[j]]`` are integer weights summing to ``2**precision`` over the
symbols ``low[j], low[j]+1, ...`` and a final escape symbol for anything outside that range. No float ever
decides a coded probability: `prior.freeze_tables` makes these once, when a model is saved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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

    def probabilities(self, j: int, buckets: np.ndarray) -> np.ndarray:
        """float64 ``[N, size[j]]`` exact dyadic probabilities of coordinate ``j`` in the given buckets."""
        return self.counts[j, buckets, : self.size[j]].astype(np.float64) / float(1 << self.precision)

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
