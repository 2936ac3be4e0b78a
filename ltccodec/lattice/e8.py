"""The Gosset lattice E8 = D8 ∪ (D8 + ½), kept at twice its size (2D8 ∪ (2D8 + 1)) so points are integers.

Closest point after Conway & Sloane (1982): decode both D8 cosets, keep the closer. NSM 929/12960.
"""

from __future__ import annotations

import numpy as np

from ltccodec import kernels

from ._ops import lower_hnf, pick_closer, round_with_parity
from .base import Block


def gosset() -> Block:
    gens = np.vstack([4 * np.eye(8, dtype=np.int64)[:1],
                      2 * (np.eye(8, dtype=np.int64)[1:] + np.eye(8, k=-1, dtype=np.int64)[1:]),
                      np.ones((1, 8), dtype=np.int64)])
    return Block("E8", lower_hnf(gens), _nearest_e8, known_nsm=929.0 / 12960.0, bytes_per_vector=800)


def _nearest_e8(z: np.ndarray) -> np.ndarray:
    compiled = kernels.active()
    if compiled is not None and z.dtype == np.float64:
        out = np.empty(z.shape)
        compiled.nearest_e8(np.ascontiguousarray(z), out)
        return out
    even = 2.0 * round_with_parity(z * 0.5, 0)
    odd = 2.0 * round_with_parity((z - 1.0) * 0.5, 0) + 1.0
    return pick_closer(z, even, odd)
