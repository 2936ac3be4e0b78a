"""Monte Carlo measurements of a lattice quantizer: normalized second moment and throughput."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Lattice


@dataclass(frozen=True)
class NsmEstimate:
    """Monte Carlo NSM with its standard error, from ``samples`` uniform points."""

    value: float
    stderr: float
    samples: int


def measure_nsm(lattice: Lattice, samples: int, rng: np.random.Generator, chunk: int = 1 << 16) -> NsmEstimate:
    """NSM = E|x - Q(x)|^2 / (m V^(2/m)) for x uniform over a fundamental cell (so x - Q(x) is uniform over
    the Voronoi cell)."""
    m = lattice.dim
    totals = []
    done = 0
    while done < samples:
        n = min(chunk, samples - done)
        x = rng.random((n, m)) @ lattice.generator
        e = x - lattice.nearest(x)
        totals.append((e * e).sum(axis=1) / m)
        done += n
    per_dim = np.concatenate(totals) / lattice.volume ** (2.0 / m)
    return NsmEstimate(float(per_dim.mean()), float(per_dim.std(ddof=1) / np.sqrt(samples)), samples)
