"""The Barnes–Wall lattice Λ16 = RM(1,4) + 2·D16 (integer frame, minimum norm 8, volume 2^12).

Decoder: for each coordinate and code bit, the best value in ``v + 2Z`` and the cost of switching the
parity of its ``y``; every one of the 32 Reed–Muller codewords is then scored with one sum and at most one
parity switch (the D16 rule of Conway & Sloane 1982 applied per coset, sharing the rounding work).
"""

from __future__ import annotations

import numpy as np

from ltccodec import kernels

from ._ops import away_sign, lower_hnf, sum_last
from .base import Block
from .checkerboard import checkerboard
from .golay import reed_muller_1_4

BW16_NSM = 0.0682989  # Conway & Sloane, SPLAG ch. 2 table 2.3 (quoted to 6 digits)

_CODE = reed_muller_1_4().astype(np.int64)  # [32, 16]
_COLS = np.arange(16)


def barnes_wall() -> Block:
    gens = np.vstack([_CODE, 2 * checkerboard(16).basis])
    return Block("BW16", lower_hnf(gens), nearest_barnes_wall, known_nsm=BW16_NSM, bytes_per_vector=24_000)


_CODE_FLAT = np.ascontiguousarray(_CODE.reshape(-1))


def nearest_barnes_wall(z: np.ndarray) -> np.ndarray:
    """float64 [B, 16] (native frame) -> closest Λ16 point, float64 [B, 16]."""
    compiled = kernels.active()
    if compiled is not None and z.dtype == np.float64:
        out = np.empty(z.shape)
        compiled.nearest_bw16(np.ascontiguousarray(z), out, _CODE_FLAT)
        return out
    offset = np.arange(2, dtype=np.float64)[None, :, None]
    zz = z[:, None, :]
    q = 2.0 * np.rint((zz - offset) * 0.5) + offset  # [B, v, 16]
    cost = (zz - q) ** 2
    parity = np.mod((q - offset) * 0.5, 2.0)
    alt = q + 2.0 * away_sign(zz - q)
    switch = (zz - alt) ** 2 - cost

    per_word = (slice(None), _CODE, _COLS[None, :])  # [B, 32, 16]
    wrong = np.mod(sum_last(parity[per_word]), 2.0) != 0
    word_switch = switch[per_word]
    total = sum_last(cost[per_word]) + np.where(wrong, word_switch.min(axis=-1), 0.0)
    best = np.argmin(total, axis=1)

    rows = np.arange(len(z))
    pick = (rows[:, None], _CODE[best], _COLS[None, :])
    point = q[pick]
    worst = np.argmin(switch[pick], axis=1)
    fix = wrong[rows, best]
    point[rows, worst] = np.where(fix, alt[pick][rows, worst], point[rows, worst])
    return point
