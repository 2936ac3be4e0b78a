"""The Leech lattice Λ24, kept at √8 times its size so points are integers, decoded through the hexacode.

Native points: ``h + 2c + 4y`` with half ``h`` in {0, 1}, ``c`` a Golay codeword (0/1) and ``y`` an integer
vector whose sum has parity ``h`` (SPLAG ch. 4 §11). Minimum norm 32, volume 2^36.

Decoder: the Golay code's MOG structure (`golay`) turns "best codeword with the right parity of y" into a
shortest path. Per coordinate and bit we know the best value in ``h + 2v + 4Z`` and the cost of switching
the parity of its y. Per 4-bit column that gives a cost for each pattern and y-parity; per hexacode word a
dynamic program over the 6 columns tracks two parities (top row, y), 4 states. That scores all
2 × 4096 cosets of 4D24 with ~1k numbers per vector instead of 8192 × 24, in the spirit of the hexacode
decoders of Conway & Sloane ("Soft decoding techniques for codes and lattices, including the Golay code
and the Leech lattice", IEEE Trans. IT 32, 1986). The winning (half, parity, hexacode word) is traced back
to its codeword, and the y part is read off with a per-column parity repair.
"""

from __future__ import annotations

import numpy as np

from ltccodec import kernels

from ._ops import away_sign, lower_hnf, sum_last
from .base import Block
from .checkerboard import checkerboard
from .golay import column_patterns, golay_code, hexacode, pattern_table

LEECH_NSM = 0.0657710  # Conway & Sloane, SPLAG ch. 2 table 2.3 (quoted to 6 digits)

_PATTERNS = column_patterns()  # [16, 4]
_PATTERN_OF = pattern_table()  # [4 score, 2 parity, 2 top bit] -> pattern
_HEXACODE = hexacode()  # [64, 6]
_ROWS = np.arange(4)
_XOR = np.arange(4)[:, None] ^ np.arange(4)[None, :]  # [state, option] -> previous state


def leech() -> Block:
    golay = golay_code().astype(np.int64)
    odd = np.ones((1, 24), dtype=np.int64)
    odd[0, 0] = -3
    gens = np.vstack([2 * golay, 4 * checkerboard(24).basis, odd])
    return Block("Leech", lower_hnf(gens), nearest_leech, known_nsm=LEECH_NSM, bytes_per_vector=96_000)


def _coordinate_options(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For each coordinate, half h and bit v: best value in h + 2v + 4Z, its cost, the parity of its y,
    the best value with the other y parity, and the extra cost of that switch. Shapes [B, 2, 2, 24]."""
    offset = (np.arange(2)[:, None] + 2 * np.arange(2)[None, :])[None, :, :, None].astype(np.float64)
    zz = z[:, None, None, :]
    q = 4.0 * np.rint((zz - offset) * 0.25) + offset
    cost = (zz - q) ** 2
    parity = np.mod((q - offset) * 0.25, 2.0)
    alt = q + 4.0 * away_sign(zz - q)
    switch = (zz - alt) ** 2 - cost
    return q, cost, parity, alt, switch


_HEXACODE_FLAT = np.ascontiguousarray(_HEXACODE.reshape(-1), dtype=np.int64)
_PATTERN_OF_FLAT = np.ascontiguousarray(_PATTERN_OF.reshape(-1), dtype=np.int64)


def nearest_leech(z: np.ndarray) -> np.ndarray:
    """float64 [B, 24] (native frame) -> closest Leech point, float64 [B, 24]."""
    compiled = kernels.active()
    if compiled is not None and z.dtype == np.float64:
        out = np.empty(z.shape)
        compiled.nearest_leech(np.ascontiguousarray(z), out, _HEXACODE_FLAT, _PATTERN_OF_FLAT)
        return out
    batch = len(z)
    q, cost, parity, alt, switch = _coordinate_options(z)

    # Per column (6) and pattern (16): cost for each y-parity of the column. [B, 2, 6, 16, 2]
    def by_pattern(a: np.ndarray) -> np.ndarray:  # [B, 2, 2, 24] -> [B, 2, 6, 16, 4]
        a = a.reshape(batch, 2, 2, 6, 4).transpose(0, 1, 3, 4, 2)  # [B, h, col, row, v]
        return a[:, :, :, _ROWS[None, :], _PATTERNS]

    base = sum_last(by_pattern(cost))
    col_parity = np.mod(sum_last(by_pattern(parity)), 2.0)
    cheapest_switch = by_pattern(switch).min(axis=-1)
    col_cost = base[..., None] + np.where(col_parity[..., None] == np.arange(2), 0.0, cheapest_switch[..., None])
    table = col_cost[:, :, :, _PATTERN_OF, :]  # [B, h, col, score, π, t, P]

    # Dynamic program over columns for every (half, hexacode word, parity π); state (T, R) = parities of
    # the top row and of y so far, kept as four contiguous [B, h, word, π] arrays.
    def column(k: int) -> np.ndarray:  # [t, P, B, h, word, π]
        return np.ascontiguousarray(table[:, :, k][:, :, _HEXACODE[:, k]].transpose(4, 5, 0, 1, 2, 3))

    first = column(0)
    state = [[first[t, p] for p in range(2)] for t in range(2)]
    for k in range(1, 6):
        step = column(k)
        nxt = [[np.empty(0), np.empty(0)], [np.empty(0), np.empty(0)]]
        for t in range(2):
            for p in range(2):
                best = state[t][p] + step[0, 0]
                np.minimum(best, state[t ^ 1][p] + step[1, 0], out=best)
                np.minimum(best, state[t][p ^ 1] + step[0, 1], out=best)
                np.minimum(best, state[t ^ 1][p ^ 1] + step[1, 1], out=best)
                nxt[t][p] = best
        state = nxt
    pis = np.arange(2)
    # T = π, R = h: [B, h, word, π]
    total = np.stack([np.stack([state[pi][h][:, h, :, pi] for pi in pis], axis=-1) for h in range(2)], axis=1)
    total = total.reshape(batch, 256)
    best = np.argmin(total, axis=1)
    h, word, pi = best // 128, (best // 2) % 64, best % 2

    # Trace the winner back to one option (t, P) per column.
    rows = np.arange(batch)
    chosen = table[rows[:, None], h[:, None], np.arange(6)[None, :], _HEXACODE[word], pi[:, None]]
    chosen = chosen.reshape(batch, 6, 4)  # option o = 2t + P
    forward = [chosen[:, 0]]
    choice = []
    for k in range(1, 6):
        cand = forward[-1][:, _XOR] + chosen[:, k, None, :]  # [B, state, option]
        choice.append(np.argmin(cand, axis=2))
        forward.append(np.min(cand, axis=2))
    s = 2 * pi + h
    options = np.empty((batch, 6), dtype=np.int64)
    for k in range(5, 0, -1):
        options[:, k] = choice[k - 1][rows, s]
        s = s ^ options[:, k]
    options[:, 0] = s
    top, col_y_parity = options >> 1, options & 1
    pattern = _PATTERN_OF[_HEXACODE[word], pi[:, None], top]  # [B, 6]
    bits = _PATTERNS[pattern].reshape(batch, 24)

    # Read off y: best value per coordinate, one switch per column whose y parity is off.
    pick = (rows[:, None], h[:, None], bits, np.arange(24)[None, :])
    point = q[pick].reshape(batch, 6, 4)
    y_parity = np.mod(sum_last(parity[pick].reshape(batch, 6, 4)), 2.0)
    worst = np.argmin(switch[pick].reshape(batch, 6, 4), axis=2)
    fix = y_parity != col_y_parity
    cols = np.arange(6)[None, :]
    point[rows[:, None], cols, worst] = np.where(fix, alt[pick].reshape(batch, 6, 4)[rows[:, None], cols, worst],
                                                 point[rows[:, None], cols, worst])
    return point.reshape(batch, 24)
