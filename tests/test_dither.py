"""Dither over the Voronoi cell, the QSD nested-lattice set, and the NSMs measured by Monte Carlo."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from ltccodec.lattice import (
    by_name,
    coset_coords,
    digits_to_index,
    index_to_digits,
    measure_nsm,
    qsd_dither,
    qsd_set,
    uniform_dither,
)

KNOWN_NSM = {"Z1": 0.083333, "A2": 0.080188, "D4": 0.076603, "E8": 0.071682, "BW16": 0.068299,
             "Leech": 0.065771}
# enough samples for a standard error near 0.25% of the value or less; the benchmark uses more
SAMPLES = {"Z1": 200_000, "A2": 200_000, "D4": 100_000, "E8": 50_000, "BW16": 30_000, "Leech": 20_000}


@pytest.mark.parametrize("name", list(KNOWN_NSM))
def test_monte_carlo_nsm_within_one_percent(name):
    lattice = by_name(name)
    estimate = measure_nsm(lattice, SAMPLES[name], np.random.default_rng(7))
    assert estimate.stderr < 0.003 * KNOWN_NSM[name]
    assert abs(estimate.value / KNOWN_NSM[name] - 1.0) < 0.01
    assert abs(lattice.nsm / KNOWN_NSM[name] - 1.0) < 1e-5


@pytest.mark.parametrize("name", ["A2", "D4", "E8", "BW16", "Leech"])
def test_uniform_dither_fills_the_cell(name, rng):
    lattice = by_name(name)
    u = uniform_dither(lattice, 20_000, rng)
    assert u.shape == (20_000, lattice.dim)
    np.testing.assert_allclose(lattice.nearest(u), 0.0, atol=1e-12)  # inside the Voronoi cell
    sigma2 = (u * u).mean()
    assert abs(sigma2 / lattice.second_moment - 1.0) < 0.02
    per_coord_se = np.sqrt(lattice.second_moment / len(u))
    assert np.all(np.abs(u.mean(axis=0)) < 5 * per_coord_se)


@pytest.mark.parametrize("name, nesting", [("Z3", 2), ("Z2", 5), ("A2", 2), ("A2", 3), ("A2", 4), ("D4", 2),
                                           ("D4", 3), ("D4*", 2), ("E8", 2), ("A2xZ1", 3)])
def test_qsd_set_is_the_fine_lattice_in_the_cell(name, nesting):
    lattice = by_name(name)
    m = lattice.dim
    digits = index_to_digits(np.arange(nesting**m), nesting, m)
    coords = coset_coords(lattice, digits, nesting)
    points = lattice.from_coords(coords) / nesting
    # a^m distinct points, one per coset of Λ/a mod Λ (the coordinates mod a give back the digits)
    assert len(np.unique(np.round(points, 9), axis=0)) == nesting**m
    np.testing.assert_array_equal(coords % nesting, digits)
    # each lies in the closed Voronoi cell of Λ: no lattice point is closer than the origin
    nearest = lattice.nearest(points)
    np.testing.assert_allclose(((points - nearest) ** 2).sum(1), (points**2).sum(1), atol=1e-9)
    np.testing.assert_allclose(qsd_set(lattice, nesting), points)


@pytest.mark.parametrize("name", ["A2", "D4", "E8"])
def test_qsd_second_moment_approaches_the_cell(name):
    lattice = by_name(name)
    # Λ/a ∩ V0 tends to uniform over V0 as a grows. For small a many points sit on the cell boundary and
    # the set's second moment is above σ²(Λ) (E8, a = 2: about 1.33×); at a = 64 it is within sampling noise.
    rng = np.random.default_rng(3)
    ratios = []
    for nesting in (2, 64):
        digits = rng.integers(0, nesting, size=(20_000, lattice.dim))
        u = qsd_dither(lattice, digits, nesting)
        ratios.append((u * u).mean() / lattice.second_moment)
    assert ratios[0] > 1.2
    assert abs(ratios[1] - 1.0) < 0.025


def test_digits_round_trip_for_huge_indices():
    index = 255**24 - 12345  # beyond 64 bits: Leech with a = 255
    digits = index_to_digits(index, 255, 24)
    assert digits.dtype == np.int64 and digits.max() < 255
    assert digits_to_index(digits, 255) == index
    np.testing.assert_array_equal(index_to_digits(np.array([5, 7]), 3, 2), [[2, 1], [1, 2]])
    with pytest.raises(ValueError):
        index_to_digits(9, 3, 2)


def test_bad_digits_are_rejected():
    with pytest.raises(ValueError):
        coset_coords(by_name("E8"), np.full((1, 8), 4), 4)
    with pytest.raises(TypeError):
        coset_coords(by_name("E8"), np.zeros((1, 8)), 4)


_FRESH = """
import json, sys
import numpy as np
from ltccodec.lattice import by_name, coset_coords, index_to_digits
out = {}
for name, nesting in [("Leech", 4), ("Leech", 3), ("BW16", 2), ("E8", 65536), ("A2", 3), ("E8xD4*", 2)]:
    lattice = by_name(name)
    digits = np.random.default_rng(11).integers(0, nesting, size=(64, lattice.dim))
    out[f"{name}/{nesting}"] = coset_coords(lattice, digits, nesting).tolist()
big = index_to_digits(2**190 + 99, 256, 24)
out["big"] = coset_coords(by_name("Leech"), big[None], 256).tolist()
json.dump(out, sys.stdout)
"""


def test_same_index_same_dither_in_a_fresh_process():
    here = json.loads(subprocess.run([sys.executable, "-c", _FRESH], capture_output=True, text=True,
                                     check=True).stdout)
    again = json.loads(subprocess.run([sys.executable, "-c", _FRESH], capture_output=True, text=True,
                                      check=True).stdout)
    assert here == again
    # and the same as this process computes
    lattice = by_name("Leech")
    digits = np.random.default_rng(11).integers(0, 4, size=(64, 24))
    assert coset_coords(lattice, digits, 4).tolist() == here["Leech/4"]
