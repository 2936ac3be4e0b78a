"""The checkerboard lattice D_n (integer vectors with even sum) and its dual D_n* = Z^n ∪ (Z^n + ½).

Closest points after Conway & Sloane, "Fast quantizing and decoding algorithms for lattice quantizers and
codes", IEEE Trans. IT 28 (1982): round, then repair the parity at the worst coordinate; D_n* takes the
closer of its two Z^n cosets. D_n* is kept at twice its size so its points are integers.
"""

from __future__ import annotations

from fractions import Fraction
from math import comb, factorial

import numpy as np

from ._ops import lower_hnf, pick_closer, round_with_parity
from .base import Block


def checkerboard(n: int) -> Block:
    """D_n, n >= 2: NSM 2^(-2/n) (1/12 + 1/(2n(n+1))) (Conway & Sloane, SPLAG ch. 21)."""
    if n < 2:
        raise ValueError("D_n needs n >= 2")
    eye = np.eye(n, dtype=np.int64)
    gens = np.vstack([2 * eye[:1], eye[1:] + np.eye(n, k=-1, dtype=np.int64)[1:]])  # 2e_1, e_i + e_(i-1)
    nsm = 2.0 ** (-2.0 / n) * (1.0 / 12.0 + 1.0 / (2.0 * n * (n + 1)))
    return Block(f"D{n}", lower_hnf(gens), lambda z: round_with_parity(z, 0), known_nsm=nsm,
                 bytes_per_vector=48 * n)


def checkerboard_dual(n: int) -> Block:
    """D_n*, n >= 2, stored as 2·D_n* = 2Z^n ∪ (2Z^n + 1); its NSM is computed exactly (`dual_nsm`)."""
    if n < 2:
        raise ValueError("D_n* needs n >= 2")
    gens = np.vstack([2 * np.eye(n, dtype=np.int64), np.ones((1, n), dtype=np.int64)])
    return Block(f"D{n}*", lower_hnf(gens), _nearest_dual, known_nsm=dual_nsm(n),
                 bytes_per_vector=64 * n)


def _nearest_dual(z: np.ndarray) -> np.ndarray:
    even = 2.0 * np.rint(z * 0.5)
    odd = 2.0 * np.rint((z - 1.0) * 0.5) + 1.0
    return pick_closer(z, even, odd)


def dual_nsm(n: int) -> float:
    """NSM of D_n*, from an exact second moment.

    Its Voronoi cell (in the frame Z^n ∪ (Z^n + ½)) is the cube [-½, ½]^n cut by the cross-polytope
    sum|x_i| <= n/4. In one orthant that is a simplex of size t = n/4 with the corners beyond x_i = ½ removed;
    inclusion-exclusion over the removed corners gives volume and second moment as exact rationals.
    """
    t = Fraction(n, 4)
    volume = Fraction(0)
    moment = Fraction(0)
    for k in range(n + 1):
        tau = t - Fraction(k, 2)
        if tau <= 0:
            break
        sign = (-1) ** k * comb(n, k)
        volume += sign * tau**n / factorial(n)
        # |x + ½·1_S|^2 = |x|^2 + sum_{i in S} x_i + k/4, integrated over the simplex of size tau
        moment += sign * (n * 2 * tau ** (n + 2) / factorial(n + 2)
                          + k * tau ** (n + 1) / factorial(n + 1)
                          + Fraction(k, 4) * tau**n / factorial(n))
    cell_volume = volume * 2**n  # = 1/2
    sigma2 = moment * 2**n / (n * cell_volume)  # exact rational
    return float(sigma2) / float(cell_volume) ** (2.0 / n)
