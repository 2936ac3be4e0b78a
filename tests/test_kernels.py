"""Each compiled kernel against the numpy code that defines it: the same lattice points (sign of zero included),
the same integers, on continuous inputs and on the grids where ties happen (dither points are multiples of 1/a)."""

from __future__ import annotations

import numpy as np
import pytest

from ltccodec import kernels
from ltccodec.coding import box
from ltccodec.lattice import _ops, barnes_wall, e8, leech
from ltccodec.lattice.registry import by_name as lattice_by_name

pytestmark = pytest.mark.skipif(not kernels.built(), reason="the compiled kernels are not built in this install")


def _both(monkeypatch: pytest.MonkeyPatch, fn, *args):
    monkeypatch.setenv("LTC_KERNELS", "1")
    fast = fn(*args)
    monkeypatch.setenv("LTC_KERNELS", "0")
    reference = fn(*args)
    monkeypatch.delenv("LTC_KERNELS")
    return fast, reference


def _inputs(rng: np.random.Generator, dim: int) -> list[np.ndarray]:
    """Continuous, on half and quarter grids (ties between candidates), large, and small negative values (-0.0)."""
    return [rng.normal(0, 3, (3001, dim)), np.round(rng.normal(0, 3, (2000, dim)) * 2) / 2,
            np.round(rng.normal(0, 3, (2000, dim)) * 4) / 4, rng.normal(0, 1e13, (500, dim)),
            -np.abs(rng.normal(0, 0.2, (500, dim))), rng.normal(0, 3, (3, dim))]


def _same_bits(a: np.ndarray, b: np.ndarray) -> None:
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(np.signbit(a), np.signbit(b))


def test_e8_closest_point(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1)
    for z in _inputs(rng, 8):
        _same_bits(*_both(monkeypatch, e8._nearest_e8, z))


def test_barnes_wall_closest_point(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(6)
    for z in _inputs(rng, 16):
        _same_bits(*_both(monkeypatch, barnes_wall.nearest_barnes_wall, z))


def test_leech_closest_point(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(2)
    for z in _inputs(rng, 24):
        _same_bits(*_both(monkeypatch, leech.nearest_leech, z[:400]))


@pytest.mark.parametrize("dim", [1, 3, 8, 16])
def test_parity_rounding(monkeypatch: pytest.MonkeyPatch, dim: int) -> None:
    rng = np.random.default_rng(dim)
    for z in _inputs(rng, dim):
        for parity in (0, 1, rng.integers(0, 2, len(z))):
            _same_bits(*_both(monkeypatch, _ops.round_with_parity, z, parity))


@pytest.mark.parametrize("name", ["E8", "D4", "BW16", "Leech", "Z8"])
def test_native_points_of_coordinates(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    lattice = lattice_by_name(name)
    k = np.random.default_rng(3).integers(-1000, 1000, (700, lattice.dim))
    for fast, reference in zip(*_both(monkeypatch, lattice.native_from_coords, k), strict=True):
        np.testing.assert_array_equal(fast, reference)


def test_shift_and_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    """Random lower-triangular bases, dither and coordinates from small to near the 2^50 switch to division."""
    rng = np.random.default_rng(4)
    for _ in range(300):
        n = int(rng.integers(1, 9))
        basis = np.tril(rng.integers(-9, 9, (n, n)))
        diagonal = rng.integers(1, 30, n) if rng.random() < 0.5 else 2 ** rng.integers(0, 4, n)  # powers: shifts
        np.fill_diagonal(basis, diagonal)
        size = 10 ** int(rng.integers(0, 14))
        coords = rng.integers(-size, size, (257, n + 2))
        dither = rng.integers(-size, size, (257, n))
        nesting = int(rng.integers(1, 300)) if rng.random() < 0.5 else 2 ** int(rng.integers(0, 17))
        args = (basis, int(rng.integers(0, n)), coords, int(rng.integers(0, 3)), dither, nesting,
                int(rng.integers(1, 40)))
        condition = box.condition(*args)
        (shift, bucket), (shift_ref, bucket_ref) = _both(monkeypatch, box.shift_and_bucket, condition)
        np.testing.assert_array_equal(shift, shift_ref)
        np.testing.assert_array_equal(bucket, bucket_ref)


def test_wrong_element_types_are_refused() -> None:
    module = kernels.pick(True)
    with pytest.raises(TypeError, match="wrong element type"):
        module.nearest_e8(np.zeros((2, 8), dtype=np.float32), np.zeros((2, 8)))
    with pytest.raises(TypeError, match="wrong element type"):
        module.int_matmul(np.zeros((2, 8)), np.zeros((8, 8), dtype=np.int64), np.zeros((2, 8), dtype=np.int64), 8, 8)
    with pytest.raises(ValueError, match="inconsistent shapes"):
        module.nearest_e8(np.zeros((2, 7)), np.zeros((2, 7)))


def test_box_code_escapes_match_and_out_of_range_is_one_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fused box code writes each coordinate's escape words after its symbols, word for word as the numpy path
    with constriction does; a value beyond the escape's 32 bits is the same one-line error both ways."""
    from ltccodec import codec, keyed
    from ltccodec.coding import frame as frame_coding
    from ltccodec.errors import LtcError
    from ltccodec.randomness import Randomness
    from ltccodec.runtime import registry

    loaded = registry.by_name("gaussian8-e8-sd-l2m")
    coder = loaded.model.coder
    _, dither = codec.frame_dither(loaded, Randomness.parse("sd"), keyed.DEFAULT_KEY, bytes(16), 0, 300)
    coords = np.random.default_rng(4).integers(-3, 4, (300, 8))
    coords[::7, 3] = 1_000_000  # escapes
    coords[::11, 0] = -70_000

    def words() -> np.ndarray:
        return frame_coding.encode(coder, coords, dither)

    fast, reference = _both(monkeypatch, words)
    np.testing.assert_array_equal(fast, reference)
    back, _ = frame_coding.decode(coder, fast, 300, dither)
    np.testing.assert_array_equal(back, coords)
    coords[5, 2] = 1 << 40
    for setting in ("1", "0"):
        monkeypatch.setenv("LTC_KERNELS", setting)
        with pytest.raises(LtcError, match="latent values out of range"):
            words()
