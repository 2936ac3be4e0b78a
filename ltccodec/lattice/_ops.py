"""Small exact helpers shared by the closest-point rules: fixed-order sums, parity-fixed rounding, HNF.

Every rule here uses element-wise IEEE arithmetic and first-index argmin/argmax only, so the same input
gives the same lattice point on every machine (numpy's reductions may sum in a build-dependent order).
"""

from __future__ import annotations

import numpy as np

from ltccodec import kernels


def sum_last(x: np.ndarray) -> np.ndarray:
    """Sum over the last axis in a fixed left-to-right order."""
    total = x[..., 0].copy()
    for j in range(1, x.shape[-1]):
        total += x[..., j]
    return total


def squared_distance(z: np.ndarray, p: np.ndarray) -> np.ndarray:
    d = z - p
    return sum_last(d * d)


def away_sign(residual: np.ndarray) -> np.ndarray:
    """+1 / -1: the direction from a rounded value toward the input (ties and zeros go up)."""
    return np.where(residual >= 0, 1.0, -1.0)


def round_with_parity(z: np.ndarray, parity: np.ndarray | int) -> np.ndarray:
    """Closest integer vector whose coordinate sum has the given parity (Conway & Sloane 1982, D_n rule).

    ``z`` float64 ``[B, n]``; ``parity`` 0/1 scalar or ``[B]``. Round every coordinate; if the sum has
    the wrong parity, move the coordinate with the largest rounding error one step the other way. (The sum of
    the rounded integers is exact in any order, so it may go through a matrix product; only the rows with the
    wrong parity are searched.)
    """
    compiled = kernels.active()
    if compiled is not None and z.ndim == 2 and z.shape[-1] and z.dtype == np.float64:
        f = np.empty_like(z)
        compiled.round_parity(np.ascontiguousarray(z), f, z.shape[-1],
                              np.ascontiguousarray(np.broadcast_to(parity, z.shape[:1]), dtype=np.float64))
        return f
    f = np.rint(z)
    wrong = np.flatnonzero((f @ np.ones(z.shape[-1]) - parity) % 2 != 0)
    if len(wrong):
        residual = z[wrong] - f[wrong]
        worst = np.argmax(np.abs(residual), axis=-1)
        f[wrong, worst] += away_sign(residual[np.arange(len(wrong)), worst])
    return f


def pick_closer(z: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise the candidate closer to ``z``; ``a`` wins ties."""
    use_b = squared_distance(z, b) < squared_distance(z, a)
    return np.where(use_b[:, None], b, a)


def lower_hnf(vectors: np.ndarray) -> np.ndarray:
    """Lower-triangular Hermite normal form of the lattice spanned by integer ``vectors`` ``[k, n]``.

    Returns int64 ``[n, n]`` with positive diagonal and off-diagonal entries reduced to
    ``[-d_j/2, d_j/2)``; rows are a basis of the same lattice (full rank assumed).
    """
    rows = [[int(v) for v in r] for r in vectors]
    n = len(rows[0])
    basis: list[list[int]] = [[0] * n for _ in range(n)]
    for j in range(n - 1, -1, -1):
        live = [r for r in rows if r[j] != 0]
        rest = [r for r in rows if r[j] == 0]
        while len(live) > 1:  # Euclid on column j across the live rows
            live.sort(key=lambda r: abs(r[j]))
            pivot = live[0]
            nxt = [pivot]
            for r in live[1:]:
                q = r[j] // pivot[j]
                r = [a - q * b for a, b in zip(r, pivot, strict=True)]
                (nxt if r[j] != 0 else rest).append(r)
            live = nxt
        if not live:
            raise ValueError("vectors do not span a full-rank lattice")
        pivot = live[0] if live[0][j] > 0 else [-a for a in live[0]]
        basis[j] = pivot
        rows = [r for r in rest if any(r)]
    for i in range(n):
        for j in range(i - 1, -1, -1):
            q = (2 * basis[i][j] + basis[j][j]) // (2 * basis[j][j])
            if q:
                basis[i] = [a - q * b for a, b in zip(basis[i], basis[j], strict=True)]
    return np.array(basis, dtype=np.int64)
