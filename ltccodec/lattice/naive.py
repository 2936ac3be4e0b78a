"""Reference decoders for Λ16 and Λ24 that try every coset of a scaled D_n: test oracles and benchmark
baselines, not for production use.

The Leech version is the approach of a public implementation: score all 4096 Golay cosets of each half
at once, a ``[batch, 4096, 24]`` tensor; ``chunk`` rows at a time bounds its memory.
"""

from __future__ import annotations

import numpy as np

from ._ops import round_with_parity
from .golay import golay_code, reed_muller_1_4


def _best_coset(z: np.ndarray, shifts: np.ndarray, step: float, parity: int) -> tuple[np.ndarray, np.ndarray]:
    """Closest point of ``shift + step·{y : sum(y) ≡ parity}`` over all shifts: (points [B, n], dist [B])."""
    batch, n = z.shape
    scaled = (z[:, None, :] - shifts[None]) / step  # [B, S, n]
    y = round_with_parity(scaled.reshape(-1, n), parity).reshape(scaled.shape)
    cand = shifts[None] + step * y
    dist = ((z[:, None, :] - cand) ** 2).sum(axis=-1)
    best = np.argmin(dist, axis=1)
    rows = np.arange(batch)
    return cand[rows, best], dist[rows, best]


def _chunked(z: np.ndarray, chunk: int, fn) -> np.ndarray:  # noqa: ANN001 - internal helper
    return np.concatenate([fn(z[s:s + chunk]) for s in range(0, len(z), chunk)]) if len(z) else z.copy()


def naive_leech(z: np.ndarray, chunk: int = 64) -> np.ndarray:
    """Closest Leech point (native frame, as `leech.nearest_leech`) by scoring all 8192 cosets of 4D24."""
    code = 2.0 * golay_code().astype(np.float64)

    def decode(part: np.ndarray) -> np.ndarray:
        even, d_even = _best_coset(part, code, 4.0, 0)
        odd, d_odd = _best_coset(part, code + 1.0, 4.0, 1)
        return np.where((d_odd < d_even)[:, None], odd, even)

    return _chunked(z, chunk, decode)


def naive_barnes_wall(z: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Closest Λ16 point (native frame) by decoding all 32 cosets of 2·D16."""
    code = reed_muller_1_4().astype(np.float64)
    return _chunked(z, chunk, lambda part: _best_coset(part, code, 2.0, 0)[0])
