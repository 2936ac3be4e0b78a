"""Closed-form rate-distortion-perception bounds for a Gaussian source, and the W2 perception metrics.

Pure numpy (scipy only for the W2 of Gaussian fits), no model code; `evaluate` draws its reference curves and
measures perception with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatOrArray = float | NDArray[np.float64]


def _as_float(values: ArrayLike) -> NDArray[np.float64]:
    return np.asarray(values, dtype=np.float64)


def _result(values: NDArray[np.float64]) -> FloatOrArray:
    """A 0-d result comes back as a Python float, anything else as an array."""
    return float(values) if values.ndim == 0 else values


def _samples(values: ArrayLike) -> NDArray[np.float64]:
    """Samples as [N, n]; a 1-D array is N scalar samples."""
    values = _as_float(values)
    if values.ndim == 1:
        return values[:, None]
    if values.ndim != 2:
        raise ValueError(f"samples must be [N, n], got shape {values.shape}")
    return values


def _check(D: ArrayLike | None = None, P: ArrayLike | None = None, sigma2: ArrayLike = 1.0) -> None:
    if np.any(_as_float(sigma2) <= 0):
        raise ValueError("sigma2 (the source variance) must be positive")
    if D is not None and np.any(_as_float(D) < 0):
        raise ValueError("the distortion D must be non-negative")
    if P is not None and np.any(_as_float(P) < 0):
        raise ValueError("the perception P (a squared W2 distance) must be non-negative")


def _half_log2_ratio(numerator: NDArray[np.float64], denominator: NDArray[np.float64]) -> NDArray[np.float64]:
    """max(0, ½ log2(numerator / denominator)); +inf where the denominator is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = 0.5 * np.log2(numerator / denominator)
    return np.maximum(rate, 0.0)


def rate_distortion(D: ArrayLike, sigma2: ArrayLike = 1.0) -> FloatOrArray:
    """R(D, ∞) = max(0, ½ log2(σ²/D)) bits/dim: the classical Gaussian rate-distortion function."""
    _check(D=D, sigma2=sigma2)
    return _result(_half_log2_ratio(_as_float(sigma2), _as_float(D)))


def rdp_gaussian(D: ArrayLike, P: ArrayLike, sigma2: ArrayLike = 1.0) -> FloatOrArray:
    """R(D, P) in bits/dim for N(0, σ²), MSE distortion D and perception P = W2² (Zhang et al. 2021).

    With a = σ − √P and θ = (σ² + a² − D)/2 (the correlation E[X X̂] of the optimal reconstruction):

        R = ½ log2(σ²/D)                        if √P ≥ σ − √|σ² − D|  (perception inactive)
        R = ½ log2(σ²a² / (σ²a² − θ²))          otherwise
        R = 0                                   if D ≥ σ² + max(a, 0)²

    Both branches agree on the boundary, so R is continuous, decreasing in D and in P, and +inf at D = 0.
    The first branch goes negative exactly where D ≥ σ² and the second one is used only where θ > 0, so
    clamping at 0 gives the zero-rate region. Also Lei et al., arXiv 2503.17558, §2.
    """
    _check(D=D, P=P, sigma2=sigma2)
    D, P, sigma2 = np.broadcast_arrays(_as_float(D), _as_float(P), _as_float(sigma2))
    sigma = np.sqrt(sigma2)
    a = sigma - np.sqrt(P)
    inactive = np.sqrt(P) >= sigma - np.sqrt(np.abs(sigma2 - D))
    # In the active branch a > 0 and P < D < σ² + a², so 0 < θ < σa: the ratio is finite and above 1.
    theta = np.where(inactive, 0.0, (sigma2 + a**2 - D) / 2)
    active_rate = _half_log2_ratio(sigma2 * a**2, sigma2 * a**2 - theta**2)
    inactive_rate = _half_log2_ratio(sigma2, D)
    return _result(np.where(inactive, inactive_rate, active_rate))


def rdp_zero_perception(D: ArrayLike, sigma2: ArrayLike = 1.0) -> FloatOrArray:
    """R(D, 0) = ½ log2(σ⁴ / (σ⁴ − (σ² − D/2)²)) bits/dim, 0 for D ≥ 2σ² (perfect realism, shared randomness).

    The P = 0 case of `rdp_gaussian` (Zhang et al. 2021; Lei et al., arXiv 2503.17558).
    """
    _check(D=D, sigma2=sigma2)
    D, sigma2 = np.broadcast_arrays(_as_float(D), _as_float(sigma2))
    rate = _half_log2_ratio(sigma2**2, sigma2**2 - (sigma2 - D / 2) ** 2)
    return _result(np.where(D >= 2 * sigma2, 0.0, rate))


def rate_no_common_randomness(D: ArrayLike, sigma2: ArrayLike = 1.0) -> FloatOrArray:
    """R(D/2, ∞) = max(0, ½ log2(2σ²/D)) bits/dim: the best rate at P = 0 without shared randomness.

    PD-LTC (private dither only) reaches it as the lattice dimension grows (Lei et al., arXiv 2503.17558).
    """
    _check(D=D, sigma2=sigma2)
    return rate_distortion(_as_float(D) / 2, sigma2)


def distortion_at_rate(R: ArrayLike, P: ArrayLike = 0.0, sigma2: ArrayLike = 1.0) -> FloatOrArray:
    """D(R, P): the inverse in D of `rdp_gaussian`, for drawing bounds on rate-vs-MSE plots.

    Closed form per branch, with r = 2^(−2R), a = σ − √P:  D = σ² r where that D leaves perception inactive,
    else D = σ² + a² − 2σa √(1 − r). R is strictly decreasing in D, so exactly one branch is consistent.
    R ≤ 0 gives the largest useful distortion σ² + max(a, 0)²; R = inf gives 0.
    """
    _check(P=P, sigma2=sigma2)
    R, P, sigma2 = np.broadcast_arrays(_as_float(R), _as_float(P), _as_float(sigma2))
    sigma = np.sqrt(sigma2)
    a = sigma - np.sqrt(P)
    r = np.exp2(-2 * np.maximum(R, 0.0))
    inactive_distortion = sigma2 * r
    inactive = np.sqrt(P) >= sigma - np.sqrt(np.abs(sigma2 - inactive_distortion))
    active_distortion = sigma2 + a**2 - 2 * sigma * a * np.sqrt(1 - r)
    return _result(np.where(inactive, inactive_distortion, active_distortion))


def space_filling_loss(nsm: ArrayLike) -> FloatOrArray:
    """½ log2(2πe·NSM) bits/dim: how far a lattice's high-rate curve stays above the bound (Z: 0.254)."""
    nsm = _as_float(nsm)
    if np.any(nsm <= 0):
        raise ValueError("a normalized second moment must be positive")
    return _result(0.5 * np.log2(2 * np.pi * np.e * nsm))


@dataclass(frozen=True)
class SdConstruction:
    """The optimal SD-LTC code for N(0, σ²) at (D, P): identity analysis, x̂ = gain·(Q(x − u) + u).

    `lattice_second_moment` is η², the lattice's second moment per dim; `theta` is E[X X̂].
    """

    lattice_second_moment: FloatOrArray
    synthesis_gain: FloatOrArray
    theta: FloatOrArray


def sd_construction(D: ArrayLike, P: ArrayLike, sigma2: ArrayLike = 1.0) -> SdConstruction:
    """The seed's SD-LTC construction that reaches R(D, P) where the perception constraint is active.

    θ = (σ² + (σ−√P)² − D)/2,  η² = σ²[σ²(σ−√P)²/θ² − 1],  gain = (σ−√P)/√(σ² + η²).
    With subtractive dither Q(x − u) + u = x + e, e ~ Unif(V0) independent of x with variance η², so the
    output has variance (σ−√P)², MSE D, and I(X; X + e) = ½ log2(1 + σ²/η²) = R(D, P) as the lattice
    dimension grows (Lei et al., arXiv 2503.17558). Raises ValueError where the perception constraint is
    inactive (√P > σ − √|σ² − D|) or the rate is 0 (D ≥ σ² + (σ−√P)²): use the plain RD code there.
    """
    _check(D=D, P=P, sigma2=sigma2)
    D, P, sigma2 = np.broadcast_arrays(_as_float(D), _as_float(P), _as_float(sigma2))
    sigma = np.sqrt(sigma2)
    a = sigma - np.sqrt(P)
    theta = (sigma2 + a**2 - D) / 2
    # The boundary √P = σ − √|σ² − D| is allowed: both branches of R(D, P) agree there.
    active = (a > 0) & (theta > 0) & (np.sqrt(P) <= sigma - np.sqrt(np.abs(sigma2 - D)))
    if not np.all(active):
        raise ValueError(
            "sd_construction needs an active perception constraint and a positive rate: "
            "sqrt(P) <= sigma - sqrt(|sigma2 - D|) and D < sigma2 + (sigma - sqrt(P))**2"
        )
    eta2 = sigma2 * (sigma2 * a**2 / theta**2 - 1)
    gain = a / np.sqrt(sigma2 + eta2)
    return SdConstruction(
        lattice_second_moment=_result(eta2), synthesis_gain=_result(gain), theta=_result(theta)
    )


def pd_optimal_scale(D: ArrayLike, sigma2: ArrayLike = 1.0) -> FloatOrArray:
    """s = σ / √(σ² − D/2): the decoder's private-dither scale for N(0, σ²) at P = 0 (Lei et al., 2503.17558).

    +inf for D ≥ 2σ², where the code carries no information and the output is pure noise.
    """
    _check(D=D, sigma2=sigma2)
    D, sigma2 = np.broadcast_arrays(_as_float(D), _as_float(sigma2))
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.sqrt(sigma2) / np.sqrt(sigma2 - D / 2)
    return _result(np.where(D >= 2 * sigma2, np.inf, scale))


def gaussian_w2_squared(mean1: ArrayLike, cov1: ArrayLike, mean2: ArrayLike, cov2: ArrayLike) -> float:
    """W2²(N(m1, C1), N(m2, C2)) = |m1 − m2|² + tr(C1 + C2 − 2 (C1^½ C2 C1^½)^½).

    Means are [n], covariances [n, n]; for n = 1 scalars will do (a scalar covariance is a variance).
    """
    mean1, mean2 = np.atleast_1d(_as_float(mean1)), np.atleast_1d(_as_float(mean2))
    cov1, cov2 = np.atleast_2d(_as_float(cov1)), np.atleast_2d(_as_float(cov2))
    if mean1.shape != mean2.shape or cov1.shape != cov2.shape or cov1.shape != mean1.shape * 2:
        raise ValueError(
            f"shape mismatch: means {mean1.shape}, {mean2.shape}; covariances {cov1.shape}, {cov2.shape}"
        )
    import scipy.linalg  # here, not at the top: the bounds need only numpy (`make demo-gaussian` has no scipy)

    root1 = scipy.linalg.sqrtm(cov1).real
    cross = scipy.linalg.sqrtm(root1 @ cov2 @ root1).real
    w2 = np.sum((mean1 - mean2) ** 2) + np.trace(cov1 + cov2 - 2 * cross)
    return max(float(w2), 0.0)  # sqrtm round-off can leave a tiny negative for equal covariances


def fitted_gaussian_w2_squared(x: ArrayLike, y: ArrayLike) -> float:
    """`gaussian_w2_squared` between Gaussians fitted (mean, unbiased covariance) to x [N, n] and y [M, n]."""
    x, y = _samples(x), _samples(y)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must have the same dimension, got {x.shape[1]} and {y.shape[1]}")
    return gaussian_w2_squared(
        x.mean(axis=0), np.cov(x, rowvar=False), y.mean(axis=0), np.cov(y, rowvar=False)
    )


def sliced_w2_squared(
    x: ArrayLike,
    y: ArrayLike,
    projections: int = 256,
    rng: np.random.Generator | None = None,
    directions: ArrayLike | None = None,
) -> float:
    """SW2²: mean over unit directions θ of (1/N) Σ_i (sort(x·θ)_i − sort(y·θ)_i)², no extra 1/n.

    x, y: [N, n] samples (same N; [N] means n = 1). Directions are `directions` [K, n] (normalized here)
    or, if not given, `projections` directions drawn uniformly on the sphere from `rng` (required then).
    """
    x, y = _samples(x), _samples(y)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape [N, n], got {x.shape} and {y.shape}")
    if directions is None:
        if rng is None:
            raise ValueError("sliced_w2_squared needs rng (a seeded numpy Generator) or explicit directions")
        directions = rng.standard_normal((projections, x.shape[1]))
    directions = np.atleast_2d(_as_float(directions))  # [K, n]
    if directions.shape[1] != x.shape[1]:
        raise ValueError(f"directions must be [K, {x.shape[1]}], got {directions.shape}")
    directions = directions / np.linalg.norm(directions, axis=1, keepdims=True)
    x_sorted = np.sort(x @ directions.T, axis=0)  # [N, K]
    y_sorted = np.sort(y @ directions.T, axis=0)  # [N, K]
    return float(np.mean((x_sorted - y_sorted) ** 2))
