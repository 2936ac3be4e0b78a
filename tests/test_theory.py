"""Gaussian RDP bounds against the reference values, their orderings, the SD construction, and W2 metrics."""

from __future__ import annotations

import numpy as np
import pytest

from ltccodec.lab.theory import (
    distortion_at_rate,
    fitted_gaussian_w2_squared,
    gaussian_w2_squared,
    pd_optimal_scale,
    rate_distortion,
    rate_no_common_randomness,
    rdp_gaussian,
    rdp_zero_perception,
    sd_construction,
    sliced_w2_squared,
    space_filling_loss,
)

D_GRID = np.linspace(0.01, 2.5, 250)
P_GRID = np.array([0.0, 0.01, 0.05, 0.1, 0.3, 0.6, 1.0, 2.0])


@pytest.mark.parametrize(("D", "zero_perception", "no_common"), [
    (0.25, 1.047, 1.500),
    (0.5, 0.596, 1.000),
    (1.0, 0.208, 0.500),
])
def test_reference_values(D, zero_perception, no_common):
    assert rdp_zero_perception(D) == pytest.approx(zero_perception, abs=5e-4)
    assert rdp_gaussian(D, 0.0) == pytest.approx(zero_perception, abs=5e-4)
    assert rate_no_common_randomness(D) == pytest.approx(no_common, abs=5e-4)


def test_scalars_in_floats_out_arrays_in_arrays_out():
    assert isinstance(rdp_gaussian(0.5, 0.1), float)
    assert rdp_gaussian(D_GRID[:, None], P_GRID[None, :]).shape == (D_GRID.size, P_GRID.size)


@pytest.mark.parametrize("sigma2", [1.0, 3.0])
def test_zero_perception_is_the_p0_case(sigma2):
    D = D_GRID * sigma2
    np.testing.assert_allclose(rdp_gaussian(D, 0.0, sigma2), rdp_zero_perception(D, sigma2), atol=1e-12)


@pytest.mark.parametrize("sigma2", [1.0, 3.0])
def test_large_perception_budget_gives_rate_distortion(sigma2):
    D = D_GRID * sigma2
    np.testing.assert_allclose(rdp_gaussian(D, 10.0 * sigma2, sigma2), rate_distortion(D, sigma2), atol=1e-12)


def test_rates_finite_non_negative_and_zero_exactly_past_the_last_useful_distortion():
    D, P = np.meshgrid(np.linspace(1e-4, 5.0, 400), np.linspace(0.0, 2.0, 120), indexing="ij")
    rate = rdp_gaussian(D, P)
    assert np.all(np.isfinite(rate)) and np.all(rate >= 0)
    last_useful = 1.0 + np.maximum(1.0 - np.sqrt(P), 0.0) ** 2
    assert np.all((rate == 0) == (D >= last_useful))


def test_rdp_is_continuous_across_the_branch_boundary():
    for D in (0.2, 0.7, 1.0, 1.3):
        boundary = (1 - np.sqrt(abs(1 - D))) ** 2  # where sqrt(P) = sigma - sqrt(|sigma2 - D|)
        below, at, above = rdp_gaussian(D, boundary * np.array([1 - 1e-9, 1.0, 1 + 1e-9]))
        assert below == pytest.approx(at, abs=1e-6) and above == pytest.approx(at, abs=1e-6)
        assert at == pytest.approx(rate_distortion(D), abs=1e-9)


def test_monotone_in_distortion_and_perception():
    rate = rdp_gaussian(D_GRID[:, None], P_GRID[None, :])
    assert np.all(np.diff(rate, axis=0) <= 1e-12)
    assert np.all(np.diff(rate, axis=1) <= 1e-12)
    positive = rate[:-1] > 0
    assert np.all(np.diff(rate, axis=0)[positive] < 0)  # strictly, while the rate is positive


def test_ordering_of_the_bounds():
    for P in P_GRID:
        rate = rdp_gaussian(D_GRID, P)
        assert np.all(rate_distortion(D_GRID) <= rate + 1e-12)
        assert np.all(rate <= rdp_zero_perception(D_GRID) + 1e-12)
    assert np.all(rdp_zero_perception(D_GRID) <= rate_no_common_randomness(D_GRID) + 1e-12)


@pytest.mark.parametrize("P", [0.0, 0.05, 0.3])
def test_distortion_at_rate_inverts_rdp(P):
    D = np.linspace(0.02, 0.98 * (1 + (1 - np.sqrt(P)) ** 2), 100)
    np.testing.assert_allclose(distortion_at_rate(rdp_gaussian(D, P), P), D, rtol=1e-9)
    R = np.linspace(0.0, 4.0, 50)
    np.testing.assert_allclose(rdp_gaussian(distortion_at_rate(R, P), P), R, atol=1e-9)


def test_distortion_at_rate_ends():
    assert distortion_at_rate(0.0, 0.0) == pytest.approx(2.0)
    assert distortion_at_rate(0.0, 4.0) == pytest.approx(1.0)
    assert distortion_at_rate(np.inf, 0.1) == 0.0


@pytest.mark.parametrize(("D", "P"), [(0.25, 0.0), (0.5, 0.0), (1.0, 0.0), (1.5, 0.0), (0.5, 0.05)])
def test_sd_construction_meets_distortion_and_perception(D, P, rng):
    code = sd_construction(D, P)
    step = np.sqrt(12 * code.lattice_second_moment)  # Z lattice: second moment step²/12
    x = rng.standard_normal(200_000)
    u = rng.uniform(-step / 2, step / 2, size=x.shape)
    x_hat = code.synthesis_gain * (step * np.round((x - u) / step) + u)
    assert np.mean((x - x_hat) ** 2) == pytest.approx(D, rel=0.03)
    assert np.var(x_hat) == pytest.approx((1 - np.sqrt(P)) ** 2, rel=0.03)


def test_sd_construction_information_rate_is_the_bound():
    D = np.linspace(0.05, 1.9, 40)
    code = sd_construction(D, 0.0)
    np.testing.assert_allclose(0.5 * np.log2(1 + 1 / code.lattice_second_moment), rdp_zero_perception(D))


@pytest.mark.parametrize(("D", "P"), [(0.5, 0.5), (2.5, 0.0), (0.5, 1.5)])
def test_sd_construction_refuses_where_perception_is_inactive_or_rate_zero(D, P):
    with pytest.raises(ValueError, match="sd_construction"):
        sd_construction(D, P)


def test_negative_arguments_are_refused():
    with pytest.raises(ValueError):
        rdp_gaussian(0.5, -0.1)
    with pytest.raises(ValueError):
        rate_distortion(-1.0)


def test_pd_scale_and_space_filling_loss():
    assert pd_optimal_scale(1.0) == pytest.approx(np.sqrt(2))
    assert pd_optimal_scale(2.0) == np.inf
    # ½ log2(2πe·NSM) from the known NSMs; DESIGN.md §1 quotes Z, E8 and Leech this way but its A2, D4 and
    # BW16 figures (0.233, 0.208, 0.109) do not follow from its own formula and NSMs
    for nsm, loss in [(1 / 12, 0.2546), (0.080188, 0.2269), (0.076603, 0.1939), (0.071682, 0.1460),
                      (0.068299, 0.1111), (0.065771, 0.0839)]:
        assert space_filling_loss(nsm) == pytest.approx(loss, abs=1e-4)


def test_gaussian_w2_closed_form():
    cov = np.array([[2.0, 0.3], [0.3, 1.0]])
    assert gaussian_w2_squared(np.zeros(2), cov, np.zeros(2), cov) == pytest.approx(0.0, abs=1e-10)
    assert gaussian_w2_squared(0.0, 1.0, 0.0, 4.0) == pytest.approx(1.0)
    assert gaussian_w2_squared([1.0, 0.0], np.eye(2), [0.0, 2.0], np.eye(2)) == pytest.approx(5.0)


def test_fitted_gaussian_w2(rng):
    x = rng.standard_normal((50_000, 1))
    assert fitted_gaussian_w2_squared(x, 2 * x) == pytest.approx(1.0, rel=0.02)
    assert fitted_gaussian_w2_squared(x, x) == pytest.approx(0.0, abs=1e-10)


def test_sliced_w2_of_a_shift(rng):
    x = rng.standard_normal((4_000, 2))
    c = 0.7
    shifted = x + c * np.array([1.0, 0.0])
    assert sliced_w2_squared(x, x, 64, rng=rng) == 0.0
    # every projection of the shifted batch moves by c·θ1, so SW2² = c²·mean(θ1²) exactly
    angles = np.linspace(0, np.pi, 1000, endpoint=False)
    directions = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    assert sliced_w2_squared(x, shifted, directions=directions) == pytest.approx(c**2 / 2, rel=1e-9)
    assert sliced_w2_squared(x, shifted, 4000, rng=rng) == pytest.approx(c**2 / 2, rel=0.05)


def test_sliced_w2_needs_a_seed_or_directions():
    x = np.zeros((10, 2))
    with pytest.raises(ValueError, match="rng"):
        sliced_w2_squared(x, x, 8)
