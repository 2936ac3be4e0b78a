"""Where the bits go: the coder's box code length against the true probability of each coded cell.

The coder codes a lattice point ``c`` (with shared dither ``u``: the cell ``c + u + V0``) by the prior's mass
over the axis-aligned *generator box* around ``c + u`` (sides ``diag(L)``, `prior.Prior.box_bits`), which tiles
space like the Voronoi cells but is not the cell the quantizer used. For a Gaussian source and a linear analysis
the latent is exactly Gaussian, ``y ~ N(b, W Wᵀ)``, so the ideal code length of the coded points,
``−log2 P(y ∈ c + u + V0)``, is known up to an integral over the cell. It is estimated here by defensive importance
sampling: half the samples uniform over the cell (a scrambled Sobol sequence on the fundamental parallelepiped,
reduced by the closest-point rule: right when the density is flat over the cell, at high rate), a quarter drawn
from the latent density itself (quasi-random normal points, kept when they fall in the cell: right when the cell is
large against the density, at low rate), and a quarter from a Gaussian fitted to density × cell around each center
(right in between, which 16- and 24-dimensional cells need); each sample weighs ``p / q`` under the mixture ``q``,
so the estimate is unbiased in every regime. The box is measured the same way.

The gap between the coded rate and ``R(D, 0)`` (``R(D/2, ∞)`` without shared randomness) splits into two measured
parts: pmf = coded − true cell (what any better entropy model could save, at most) and lattice = true cell − bound
(what no entropy model can save with this lattice at this rate). The boxes' mass under the true density is shown
too: the learned prior is fitted to the box code, so it can beat the true density on boxes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.special import logsumexp
from scipy.stats import qmc

from ltccodec.errors import LtcError
from ltccodec.lab import modelio, theory
from ltccodec.lattice import Lattice
from ltccodec.randomness import Mode, Randomness
from ltccodec.runtime import modelfile

CELL_SEED = 20_261_130


@dataclass(frozen=True)
class CellFigures:
    """Bits per source dimension of the same coded points under four code lengths, and the bound."""

    model: str
    lattice: str
    randomness: str
    vectors: int
    samples: int
    mse: float
    box_learned: float  # the coder's code length: the box code under the learned prior (the distance code, or
    # measured tables, when the model uses them), as in the model card
    box_true: float  # the same boxes under the true latent density
    cell_true: float  # the coded Voronoi cells under the true latent density: the ideal code length
    cell_true_coarse: float  # the same with a quarter of the samples: how far the estimate has converged
    bound: float  # R(D,0), or R(D/2,∞) for pd and none
    bound_name: str

    @property
    def pmf_cost(self) -> float:
        return self.box_learned - self.cell_true

    @property
    def lattice_cost(self) -> float:
        return self.cell_true - self.bound


def latent_gaussian(model: object) -> tuple[np.ndarray, np.ndarray]:
    """(mean, covariance) of the latent ``W x + b`` for ``x ~ N(0, I)``: float64 ``[L]``, ``[L, L]``."""
    from ltccodec.lab.transforms import TransformKind

    transform = model.config.transform  # type: ignore[attr-defined]
    if transform.kind is not TransformKind.LINEAR:
        raise LtcError("the true cell probability needs a linear analysis transform (Gaussian models)")
    weight = model.analysis.weight.detach().double().numpy()  # type: ignore[attr-defined]
    bias = model.analysis.bias.detach().double().numpy()  # type: ignore[attr-defined]
    return bias, weight @ weight.T


def sobol(count: int, dim: int, seed: int = CELL_SEED) -> np.ndarray:
    """``count`` (a power of two) scrambled Sobol points in ``[0, 1)^dim``, float64."""
    return qmc.Sobol(dim, scramble=True, seed=seed).random_base2(int(round(math.log2(count))))


def cell_offsets(lattice: Lattice, unit: np.ndarray) -> np.ndarray:
    """Points ``unit`` of ``[0, 1)^L`` mapped uniformly onto the Voronoi cell of the lattice at 0."""
    v = unit @ lattice.generator
    return v - lattice.nearest(v)


def box_sides(lattice: Lattice) -> np.ndarray:
    return np.abs(np.diag(lattice.lower_generator))


def box_offsets(lattice: Lattice, unit: np.ndarray) -> np.ndarray:
    """Points ``unit`` of ``[0, 1)^L`` mapped uniformly onto the generator box centred at 0."""
    return (unit - 0.5) * box_sides(lattice)


@dataclass(frozen=True)
class Region:
    """A region around 0 that is translated to each coded center: uniform samples of it, its volume, and a
    membership test of offsets ``[K, L]`` from the center."""

    offsets: np.ndarray
    volume: float
    inside: Callable[[np.ndarray], np.ndarray]


def voronoi_region(lattice: Lattice, unit: np.ndarray) -> Region:
    def inside(delta: np.ndarray) -> np.ndarray:
        return np.all(lattice.nearest_coords(delta) == 0, axis=-1)

    return Region(cell_offsets(lattice, unit), float(lattice.volume), inside)


def box_region(lattice: Lattice, unit: np.ndarray) -> Region:
    half = box_sides(lattice) / 2.0

    def inside(delta: np.ndarray) -> np.ndarray:
        return np.all((delta >= -half) & (delta < half), axis=-1)

    return Region(box_offsets(lattice, unit), float(np.prod(2.0 * half)), inside)


def gaussian_points(mean: np.ndarray, cov: np.ndarray, count: int, seed: int = CELL_SEED) -> np.ndarray:
    """``count`` quasi-random points of ``N(mean, cov)`` (scrambled Sobol through the normal quantile)."""
    return qmc.MultivariateNormalQMC(mean, cov, seed=seed).random(count)


def region_bits(centers: np.ndarray, region: Region, mean: np.ndarray, cov: np.ndarray, draws: np.ndarray,
                tilted: np.ndarray | None = None, rows: int = 32) -> np.ndarray:
    """−log2 of the ``N(mean, cov)`` mass of each region ``center + R`` (float64 ``[N]``).

    Samples: ``region.offsets`` ``[K1, L]`` uniform over ``R``; ``draws`` ``[K2, L]`` from the density; and, with
    ``tilted`` (standard normal points ``[K3, L]``), draws from a Gaussian fitted to density × region per center
    (precision ``cov⁻¹ + D⁻¹``, D the region's per-coordinate variance: between the two, it follows the mass when
    neither the cell nor the density is small against the other). Under the mixture ``q`` of the three (weights
    ``K_i / K``) each sample inside the region weighs ``p / q`` and the mass is their mean: unbiased whatever the
    scales, with bounded weights."""
    dim = len(mean)
    chol = np.linalg.cholesky(cov)
    whiten = np.linalg.inv(chol).T
    log_norm = -0.5 * dim * math.log(2.0 * math.pi) - float(np.log(np.diag(chol)).sum())
    tilted = np.zeros((0, dim)) if tilted is None else tilted
    counts = np.array([len(region.offsets), len(draws), len(tilted)], dtype=np.float64)
    total = counts.sum()
    with np.errstate(divide="ignore"):
        log_share = np.log(counts / total)
    log_uniform = log_share[0] - math.log(region.volume)
    # the tilted Gaussian: precision cov⁻¹ + D⁻¹, mean S (cov⁻¹ μ + D⁻¹ c)
    precision = np.linalg.inv(cov)
    variances = np.maximum(region.offsets.var(axis=0), 1e-300)
    spread = np.linalg.inv(precision + np.diag(1.0 / variances))
    root = np.linalg.cholesky(spread)
    whiten_t = np.linalg.inv(root).T
    log_norm_t = -0.5 * dim * math.log(2.0 * math.pi) - float(np.log(np.diag(root)).sum())
    pull = spread @ precision @ mean  # the fixed part of every center's tilted mean

    def quad(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # |a_i + b_k|² for rows a [n, L] and b [K, L]
        return np.einsum("nl,nl->n", a, a)[:, None] + 2.0 * (a @ b.T) + np.einsum("kl,kl->k", b, b)[None, :]

    def log_q(log_p: np.ndarray, log_t: np.ndarray) -> np.ndarray:
        return np.logaddexp(np.logaddexp(log_uniform, log_share[1] + log_p), log_share[2] + log_t)

    u_w, u_t = region.offsets @ whiten, region.offsets @ whiten_t
    g_w, g_t = (draws - mean) @ whiten, draws @ whiten_t
    log_p_draws = log_norm - 0.5 * np.einsum("kl,kl->k", g_w, g_w)
    t_steps = tilted @ root.T  # root · z_k
    t_w = t_steps @ whiten
    log_t_tilted = log_norm_t - 0.5 * np.einsum("kl,kl->k", tilted, tilted)
    out = np.empty(len(centers))
    for start in range(0, len(centers), rows):
        c = centers[start:start + rows]
        m = pull[None, :] + (c / variances[None, :]) @ spread.T  # tilted means [n, L]
        parts = []
        lp = log_norm - 0.5 * quad((c - mean) @ whiten, u_w)  # uniform samples c + r_k
        parts.append(lp - log_q(lp, log_norm_t - 0.5 * quad((c - m) @ whiten_t, u_t)))
        if len(draws):
            lt = log_norm_t - 0.5 * quad(-m @ whiten_t, g_t)
            hit = region.inside((draws[None, :, :] - c[:, None, :]).reshape(-1, dim)).reshape(len(c), len(draws))
            parts.append(np.where(hit, log_p_draws[None, :] - log_q(log_p_draws[None, :], lt), -np.inf))
        if len(tilted):
            lp = log_norm - 0.5 * quad((m - mean) @ whiten, t_w)
            points = (m - c)[:, None, :] + t_steps[None, :, :]
            hit = region.inside(points.reshape(-1, dim)).reshape(len(c), len(tilted))
            parts.append(np.where(hit, lp - log_q(lp, log_t_tilted[None, :]), -np.inf))
        log_mass = logsumexp(np.concatenate(parts, axis=1), axis=1) - math.log(total)
        out[start:start + rows] = -np.minimum(log_mass, 0.0) / math.log(2.0)
    return out


def measure_cells(path: Path, vectors: int = 2_000, samples: int = 8_192,
                  randomness: str | None = None) -> CellFigures:
    """The four code lengths of model ``path`` (a Gaussian model with a linear analysis) on ``vectors`` test
    vectors, under its own randomness unless ``randomness`` is given."""
    import torch

    from ltccodec.lab.sources import source_by_name

    model, card = modelio.load(path)
    source = source_by_name(card.source)
    if not source.gaussian:
        raise LtcError(f"{card.name}: the true cell probability is known for Gaussian sources only")
    rand = Randomness.parse(randomness or card.training.randomness)
    mean, cov = latent_gaussian(model)
    rng = np.random.default_rng(CELL_SEED)
    x = torch.from_numpy(source.test_set(vectors))
    with torch.no_grad():
        rec = model.reconstruct(x, rand, rng)
    centers = rec.centers.double().numpy()
    coded = float(rec.bits.double().mean())
    lattice = model.lattice
    if model.distance_table is not None or model.config.measured:
        # what the integer tables code is defined on the codec's dither grid: code the vectors there, and measure the
        # cells of those very points (paired, so the pmf cost is not blurred by a second dither draw)
        from ltccodec.codec import nesting_of
        from ltccodec.coding import FrameDither, coder_for
        from ltccodec.lab.prior import freeze_tables

        tables = model.tables if model.tables is not None else freeze_tables(model.prior, lattice)
        coder = coder_for(model.config.coder, tables, lattice, model.distance_table)
        u, dither = FrameDither.drawn(lattice, vectors, nesting_of(rand), np.random.default_rng(CELL_SEED + 1))
        coords = model.to_symbols(x, u)
        centers = lattice.from_coords(coords) + (0.0 if u is None else u)
        coded = coder.bits(coords, dither) / vectors
    half, quarter = max(1, samples // 2), max(1, samples // 4)
    unit, draws = sobol(half, lattice.dim), gaussian_points(mean, cov, quarter)
    tilted = gaussian_points(np.zeros(lattice.dim), np.eye(lattice.dim), quarter, seed=CELL_SEED + 2)
    n = source.dim
    cell = region_bits(centers, voronoi_region(lattice, unit), mean, cov, draws, tilted)
    coarse = region_bits(centers, voronoi_region(lattice, unit[:half // 4]), mean, cov, draws[:quarter // 4],
                         tilted[:quarter // 4])
    box = region_bits(centers, box_region(lattice, unit), mean, cov, draws, tilted)
    mse = float(((x.double().numpy() - rec.x_hat.double().numpy()) ** 2).mean())
    private = rand.mode in (Mode.PRIVATE, Mode.DETERMINISTIC)
    return CellFigures(card.name, card.lattice, str(rand), vectors, samples, mse,
                       coded / n, float(box.mean()) / n, float(cell.mean()) / n,
                       float(coarse.mean()) / n,
                       float(theory.rate_no_common_randomness(mse) if private else theory.rdp_zero_perception(mse)),
                       "R(D/2,inf)" if private else "R(D,0)")


def bench_cells(paths: Sequence[Path], vectors: int = 2_000, samples: int = 8_192,
                progress: Callable[[str], None] = lambda _: None) -> list[CellFigures]:
    rows = []
    for path in paths:
        progress(f"{modelfile.stem_of(path).name}: {vectors} vectors, {samples} cell samples")
        rows.append(measure_cells(path, vectors, samples))
    return rows


def format_cells(rows: Sequence[CellFigures]) -> str:
    head = (f"{'model':<34} {'random':>8} {'mse':>6} {'coded':>7} {'cell*':>7} {'bound':>7} {'pmf':>7}"
            f" {'lattice':>7} {'box*':>7} {'conv.':>7}")
    lines = [head, "(bits per source value; coded = box code length under the learned prior (under the integer "
                   "tables for distance-coded models and models with measured tables), cell* = the coded "
                   "Voronoi cells under the true latent density, the ideal; bound R(D,0), R(D/2,inf) for pd/none; "
                   "pmf = coded − cell*, lattice = cell* − bound; box* = the boxes under the true density; "
                   "conv. = cell* from a quarter of the samples − cell*)"]
    for r in rows:
        lines.append(f"{r.model:<34} {r.randomness:>8} {r.mse:6.3f} {r.box_learned:7.4f} {r.cell_true:7.4f} "
                     f"{r.bound:7.4f} {r.pmf_cost:+7.4f} {r.lattice_cost:+7.4f} {r.box_true:7.4f} "
                     f"{r.cell_true_coarse - r.cell_true:+7.4f}")
    return "\n".join(lines)
