"""The integer lattice Z^n: closest point is coordinate-wise rounding (ties to even)."""

from __future__ import annotations

import numpy as np

from .base import Block


def integer_lattice(n: int) -> Block:
    """Z^n in its own frame; NSM 1/12 in every dimension."""
    return Block(f"Z{n}", np.eye(n, dtype=np.int64), np.rint, known_nsm=1.0 / 12.0, bytes_per_vector=16 * n)
