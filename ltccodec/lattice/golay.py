"""Binary codes behind the big lattices: the hexacode, the extended Golay code C24 (built on the MOG), and
the first-order Reed–Muller code RM(1,4).

Golay via the Miracle Octad Generator (Conway & Sloane, SPLAG ch. 11): lay 24 bits out as 4 rows × 6
columns (bit ``4*col + row``); the word is in C24 iff every column has the parity of the top row and the
columns' "scores" (sum of the GF(4) row labels 0, 1, ω, ω̄ of their set bits) form a hexacode word.
GF(4) elements are 0, 1, 2 = ω, 3 = ω̄; addition is XOR.
"""

from __future__ import annotations

import itertools

import numpy as np

GF4_MUL = np.array([[0, 0, 0, 0], [0, 1, 2, 3], [0, 2, 3, 1], [0, 3, 1, 2]], dtype=np.int64)
ROW_LABELS = np.array([0, 1, 2, 3], dtype=np.int64)


def hexacode() -> np.ndarray:
    """int64 [64, 6]: the words (a, b, c, φ(1), φ(ω), φ(ω̄)) with φ(x) = a x² + b x + c over GF(4)."""
    words = []
    for a, b, c in itertools.product(range(4), repeat=3):
        phi = [GF4_MUL[a, GF4_MUL[x, x]] ^ GF4_MUL[b, x] ^ c for x in (1, 2, 3)]
        words.append([a, b, c, *phi])
    return np.array(words, dtype=np.int64)


def column_patterns() -> np.ndarray:
    """int64 [16, 4]: the 4-bit column pattern with index b (bit r = row r)."""
    return (np.arange(16)[:, None] >> np.arange(4)) & 1


def column_scores() -> np.ndarray:
    """int64 [16]: the GF(4) score of each column pattern."""
    pats = column_patterns()
    score = np.zeros(16, dtype=np.int64)
    for r in range(4):
        score ^= pats[:, r] * ROW_LABELS[r]
    return score


def pattern_table() -> np.ndarray:
    """int64 [4, 2, 2]: the column pattern with score s, weight parity p and top bit t (unique)."""
    pats = column_patterns()
    table = np.full((4, 2, 2), -1, dtype=np.int64)
    for b, s in enumerate(column_scores()):
        table[s, pats[b].sum() % 2, pats[b, 0]] = b
    assert (table >= 0).all()
    return table


def golay_code() -> np.ndarray:
    """uint8 [4096, 24]: every codeword of the extended Golay code, bit ``4*col + row``."""
    pats = column_patterns()
    table = pattern_table()
    words = []
    for h in hexacode():
        for parity in (0, 1):
            for tops in itertools.product((0, 1), repeat=6):
                if sum(tops) % 2 != parity:
                    continue
                cols = [pats[table[s, parity, t]] for s, t in zip(h, tops, strict=True)]
                words.append(np.concatenate(cols))
    return np.array(words, dtype=np.uint8)


def reed_muller_1_4() -> np.ndarray:
    """uint8 [32, 16]: RM(1,4), the affine Boolean functions of 4 variables evaluated at v = 0..15."""
    v = (np.arange(16)[:, None] >> np.arange(4)) & 1
    words = [(a0 + v @ np.array(a)) % 2 for a0 in (0, 1) for a in itertools.product((0, 1), repeat=4)]
    return np.array(words, dtype=np.uint8)
