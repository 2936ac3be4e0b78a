"""Lattice quantizers: exactness against brute force and oracles, algebraic properties, coordinates."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from ltccodec.errors import UsageError
from ltccodec.lattice import by_name
from ltccodec.lattice.barnes_wall import nearest_barnes_wall
from ltccodec.lattice.leech import nearest_leech
from ltccodec.lattice.naive import naive_barnes_wall, naive_leech

from .brute_force import assert_closest

SMALL = ["Z1", "Z3", "A1", "A2", "A3", "A5", "D2", "D4", "D5", "D3*", "D4*", "D6*", "E8", "A2xD3", "Z2^2"]
ALL = SMALL + ["BW16", "Leech", "E8^2", "E8xBW16"]


def _samples(lattice, rng, count):
    """Points at several scales, including far from the origin."""
    scale = np.repeat([0.3, 1.0, 3.0, 1e3], count // 4)[:, None]
    return rng.normal(size=(len(scale), lattice.dim)) * scale


@pytest.mark.parametrize("name", SMALL)
def test_nearest_is_closest_by_brute_force(name, rng):
    lattice = by_name(name)
    x = _samples(lattice, rng, 400)
    assert_closest(lattice, x, lattice.nearest(x))


@pytest.mark.parametrize("scale", [0.5, 2.0, 10.0])
def test_leech_matches_coset_enumeration(scale, rng):
    z = rng.normal(size=(300, 24)) * scale * 4
    np.testing.assert_array_equal(nearest_leech(z), naive_leech(z))


def test_leech_matches_oracle_near_lattice_points(rng):
    lattice = by_name("Leech")
    z = lattice.native_from_coords(rng.integers(-3, 4, size=(200, 24)))[0] + rng.normal(size=(200, 24)) * 0.9
    np.testing.assert_array_equal(nearest_leech(z), naive_leech(z))


@pytest.mark.parametrize("scale", [0.3, 1.0, 5.0])
def test_barnes_wall_matches_coset_enumeration(scale, rng):
    z = rng.normal(size=(2000, 16)) * scale * 2
    np.testing.assert_array_equal(nearest_barnes_wall(z), naive_barnes_wall(z))


@pytest.mark.parametrize("name", ["BW16", "Leech"])
def test_big_lattice_points_are_lattice_points(name, rng):
    lattice = by_name(name)
    x = _samples(lattice, rng, 200)
    p = lattice.nearest(x)
    np.testing.assert_allclose(lattice.from_coords(lattice.to_coords(p)), p, atol=1e-9)


@pytest.mark.parametrize("name", ALL)
def test_translation_by_lattice_vectors_and_idempotence(name, rng):
    lattice = by_name(name)
    x = rng.normal(size=(200, lattice.dim))
    v = lattice.from_coords(rng.integers(-5, 6, size=x.shape))
    p = lattice.nearest(x)
    np.testing.assert_allclose(lattice.nearest(x + v), p + v, atol=1e-9)
    np.testing.assert_allclose(lattice.nearest(p), p, atol=1e-12)


@pytest.mark.parametrize("name", ALL)
def test_coordinates_round_trip_exactly(name, rng):
    lattice = by_name(name)
    k = rng.integers(-1000, 1001, size=(100, lattice.dim))
    np.testing.assert_array_equal(lattice.to_coords(lattice.from_coords(k)), k)
    x = rng.normal(size=(50, lattice.dim)) * 4
    np.testing.assert_array_equal(lattice.nearest_coords(x), lattice.to_coords(lattice.nearest(x)))
    assert lattice.nearest_coords(x).dtype == np.int64


@pytest.mark.parametrize("name", ALL)
def test_generators(name):
    lattice = by_name(name)
    g, low, rot = lattice.generator, lattice.lower_generator, lattice.rotation
    assert g.shape == (lattice.dim, lattice.dim)
    assert abs(abs(np.linalg.det(g)) - 1.0) < 1e-9 and abs(lattice.volume - 1.0) < 1e-9
    np.testing.assert_allclose(low, np.tril(low), atol=1e-12)
    np.testing.assert_allclose(rot @ rot.T, np.eye(lattice.dim), atol=1e-12)
    np.testing.assert_allclose(g @ rot, low, atol=1e-12)
    # rows of the generator are lattice points with unit-vector coordinates
    np.testing.assert_array_equal(lattice.to_coords(g), np.eye(lattice.dim, dtype=np.int64))


def test_scaling_changes_volume_not_nsm():
    lattice = by_name("E8").with_volume(3.0)
    assert abs(lattice.volume - 3.0) < 1e-9
    assert abs(lattice.nsm - 929 / 12960) < 1e-12
    p = lattice.nearest(np.full((1, 8), 0.4))
    np.testing.assert_allclose(lattice.from_coords(lattice.to_coords(p)), p, atol=1e-12)


def test_torch_in_torch_out(rng):
    lattice = by_name("E8")
    x = torch.from_numpy(rng.normal(size=(3, 5, 8))).float()
    out = lattice.nearest(x)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and out.shape == x.shape
    np.testing.assert_allclose(out.numpy(), lattice.nearest(x.double().numpy()), atol=1e-6)


@pytest.mark.parametrize("name", ["E8", "BW16", "Leech", "A3xD4*"])
def test_chunking_does_not_change_results(name, rng):
    lattice = by_name(name)
    tiny = dataclasses.replace(lattice, chunk_bytes=1)  # one vector per chunk
    x = rng.normal(size=(37, lattice.dim))
    np.testing.assert_array_equal(tiny.nearest(x), lattice.nearest(x))


def test_ties_are_deterministic():
    lattice = by_name("Z4")
    x = np.array([[0.5, 1.5, -0.5, 2.5]])
    np.testing.assert_array_equal(lattice.nearest(x), [[0.0, 2.0, -0.0, 2.0]])  # half to even
    d4 = by_name("D4")
    # a deep hole of D4 (native (1,0,0,0) is equidistant from 8 lattice points): always the same one
    hole = np.array([[1.0, 0.0, 0.0, 0.0]]) / d4.scales[0]
    first = d4.nearest(hole)
    for _ in range(3):
        np.testing.assert_array_equal(d4.nearest(hole), first)


@pytest.mark.parametrize("name, dim", [("Z8", 8), ("A2", 2), ("D4*", 4), ("E8^2", 16), ("E8xD4", 12),
                                       ("lambda24", 24), ("bw16", 16), ("Leech", 24), ("E8×A2", 10)])
def test_names(name, dim):
    assert by_name(name).dim == dim


@pytest.mark.parametrize("name", ["E9", "Q8", "D1", "Z0", "", "E8^0", "Z99999"])
def test_bad_names_raise_usage_error(name):
    with pytest.raises(UsageError):
        by_name(name)


def test_wrong_dimension_is_a_clear_error():
    with pytest.raises(ValueError, match="dimension 8"):
        by_name("E8").nearest(np.zeros((2, 7)))
