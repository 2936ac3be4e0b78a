"""The root lattice A_n (A2 is the hexagonal lattice), native in the hyperplane sum(x) = 0 of Z^(n+1).

Closest point after Conway & Sloane (1982): round every coordinate, then undo the excess sum on the
coordinates that rounding moved the most. The user frame is R^n through the Cholesky factor of the Gram
matrix, so the generator is lower triangular.
"""

from __future__ import annotations

import numpy as np

from .base import Block


def root_lattice(n: int) -> Block:
    """A_n, n >= 1: NSM (n+1)^(-1/n) (1/12 + 1/(6(n+1))) (SPLAG ch. 21)."""
    if n < 1:
        raise ValueError("A_n needs n >= 1")
    basis = np.eye(n, n + 1, dtype=np.int64) - np.eye(n, n + 1, k=1, dtype=np.int64)  # e_i - e_(i+1)
    b = basis.astype(np.float64)
    chol = np.linalg.cholesky(b @ b.T)
    embedding = np.linalg.solve(chol, b)  # orthonormal rows; basis @ embedding.T == chol
    nsm = (n + 1.0) ** (-1.0 / n) * (1.0 / 12.0 + 1.0 / (6.0 * (n + 1)))
    return Block(f"A{n}", basis, _nearest_root, embedding=embedding, known_nsm=nsm, bytes_per_vector=96 * (n + 1))


def _nearest_root(z: np.ndarray) -> np.ndarray:
    """z float64 [B, n+1] on (or near) the hyperplane sum = 0 -> closest point of A_n."""
    f = np.rint(z)
    excess = np.rint(f.sum(axis=-1))  # integer-valued, so the order of summation does not matter
    residual = z - f
    rank = np.argsort(np.argsort(residual, axis=-1, kind="stable"), axis=-1, kind="stable")
    width = z.shape[-1]
    down = (excess[:, None] > 0) & (rank < excess[:, None])
    up = (excess[:, None] < 0) & (rank >= width + excess[:, None])
    return f - down + up
