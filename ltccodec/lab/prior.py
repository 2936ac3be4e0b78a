"""The learned prior over the latent: a factorized density with a monotone learned CDF per coordinate.

After Ballé, Minnen, Singh, Hwang, Johnston, "Variational image compression with a scale hyperprior"
(ICLR 2018, appendix 6.1): each coordinate's CDF is a sigmoid of a monotone chain of small positive-weight
affine maps with tanh bumps. Cell probabilities of a lattice point come from the boxes of a lower-triangular
generator (boxes tile space, so they form an exact pmf over lattice points: `box_bits`), or from a Monte Carlo
integral of the density over the Voronoi cell (the seed paper's estimate: `voronoi_bits`). `ltc` uses it;
`freeze_tables` freezes it into the integer tables the coders read (`coding`).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ltccodec.coding.tables import BUCKETS, PRECISION, CodingTables, quantize_pmf
from ltccodec.lattice import Lattice, uniform_dither

PROBABILITY_FLOOR = 1e-9  # as in learned-compression practice: a cell never costs more than ~30 bits


class Prior(nn.Module):
    """A factorized density over ``[..., C]`` latents; subclasses give `interval_probability` and
    `log_density`, and this class turns them into code lengths of lattice cells."""

    def interval_probability(self, lower: torch.Tensor, upper: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def log_density(self, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def box_bits(self, centers: torch.Tensor, lattice: Lattice) -> torch.Tensor:
        """−log2 of the prior mass of the generator box around each center: bits per row of ``[N, C]``.

        The boxes have sides ``|diag(lower_generator)|`` (the lattices' generators are lower triangular, so the
        boxes are axis-aligned); centered on lattice points (optionally all shifted by a dither) they tile
        space, so these are an exact code length.
        """
        half = _box_sides(lattice, centers) / 2.0
        p = self.interval_probability(centers - half, centers + half)
        return -torch.log2(p.clamp_min(PROBABILITY_FLOOR)).sum(dim=-1)

    @torch.no_grad()
    def box_centroids(self, centers: torch.Tensor, lattice: Lattice, points: int = 16) -> torch.Tensor:
        """The prior's mean over each coordinate's generator box around ``centers`` ``[N, C]`` (midpoint rule
        with ``points`` nodes): where the latent most likely was, given its cell, rather than the cell's center.
        Coordinates whose box has no prior mass keep the center. Not differentiable (a decoder-side estimate)."""
        side = _box_sides(lattice, centers)  # [C]
        offsets = (torch.arange(points, dtype=centers.dtype) + 0.5) / points - 0.5  # [P]
        nodes = centers[..., None] + offsets * side[:, None]  # [N, C, P]
        log_p = self.log_density(nodes.transpose(-1, -2)).transpose(-1, -2)  # [N, C, P]
        weights = torch.softmax(log_p, dim=-1)
        mean = (weights * nodes).sum(-1)
        return torch.where(torch.isfinite(mean), mean, centers)

    def voronoi_bits(self, centers: torch.Tensor, lattice: Lattice, samples: int,
                     rng: np.random.Generator) -> torch.Tensor:
        """−log2 of the prior mass of the Voronoi cell around each center, by Monte Carlo over the cell
        (``samples`` uniform points shared by all rows): bits per row of ``[N, C]``. Evaluation only.

        A spiky density (a latent the transform collapsed) makes the estimate noisy; masses estimated above
        1 are cut to 1 so a block never counts negative bits."""
        u = torch.as_tensor(uniform_dither(lattice, samples, rng), dtype=centers.dtype)  # [K, C]
        log_p = torch.stack([self.log_density(centers + u[k]) for k in range(samples)])  # [K, N, C]
        total = torch.zeros(len(centers), dtype=centers.dtype)
        lo = 0
        for block, scale in zip(lattice.blocks, lattice.scales, strict=True):
            hi = lo + block.dim
            cell_volume = block.native_volume / scale**block.dim
            log_mass = torch.logsumexp(log_p[..., lo:hi].sum(-1), dim=0) - math.log(samples) + math.log(cell_volume)
            floor = block.dim * math.log(PROBABILITY_FLOOR)  # the box floor, per dimension
            total = total - torch.clamp(log_mass, min=floor, max=0.0) / math.log(2.0)
            lo = hi
        return total


class FactorizedPrior(Prior):
    """Independent learned densities for ``channels`` latent coordinates.

    ``filters`` are the hidden widths of the monotone chain; ``init_scale`` is about the width of the initial
    densities (in latent units).
    """

    def __init__(self, channels: int, filters: tuple[int, ...] = (3, 3, 3), init_scale: float = 10.0):
        super().__init__()
        widths = (1, *filters, 1)
        scale = init_scale ** (1.0 / (len(widths) - 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for k in range(len(widths) - 1):
            init = math.log(math.expm1(1.0 / scale / widths[k + 1]))
            self.matrices.append(nn.Parameter(torch.full((channels, widths[k + 1], widths[k]), init)))
            self.biases.append(nn.Parameter(torch.rand(channels, widths[k + 1], 1) - 0.5))
            if k < len(widths) - 2:
                self.factors.append(nn.Parameter(torch.zeros(channels, widths[k + 1], 1)))
        self.channels = channels

    def logits(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``h(y)`` with CDF = sigmoid(h), and its slope ``dh/dy`` (> 0); both shaped like ``y`` ``[..., C]``."""
        shape = y.shape
        x = y.reshape(-1, self.channels).T.unsqueeze(1)  # [C, 1, N]
        slope = torch.ones_like(x)
        for k, (matrix, bias) in enumerate(zip(self.matrices, self.biases, strict=True)):
            weight = F.softplus(matrix).to(x.dtype)  # evaluate in the input's precision
            x = weight @ x + bias.to(x.dtype)
            slope = weight @ slope
            if k < len(self.factors):
                factor = torch.tanh(self.factors[k]).to(x.dtype)
                bump = torch.tanh(x)
                slope = slope * (1.0 + factor * (1.0 - bump * bump))
                x = x + factor * bump
        return x.squeeze(1).T.reshape(shape), slope.squeeze(1).T.reshape(shape)

    def cdf(self, y: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(y)[0])

    def log_density(self, y: torch.Tensor) -> torch.Tensor:
        """Natural-log density of each coordinate, ``[..., C]``."""
        h, slope = self.logits(y)
        return F.logsigmoid(h) + F.logsigmoid(-h) + torch.log(slope)

    def interval_probability(self, lower: torch.Tensor, upper: torch.Tensor) -> torch.Tensor:
        """P(lower <= y_c < upper) per coordinate, computed on the tail that keeps precision."""
        h_low, h_up = self.logits(lower)[0], self.logits(upper)[0]
        sign = -torch.sign(h_low + h_up).detach()
        sign = torch.where(sign == 0, torch.ones_like(sign), sign)
        return torch.abs(torch.sigmoid(sign * h_up) - torch.sigmoid(sign * h_low))


class GaussianPrior(Prior):
    """Independent N(0, scale²) coordinates: a fixed prior for reference constructions and tests."""

    def __init__(self, scale: torch.Tensor):
        super().__init__()
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))

    def interval_probability(self, lower: torch.Tensor, upper: torch.Tensor) -> torch.Tensor:
        scale = self.scale.to(lower.dtype)
        normal = torch.distributions.Normal(torch.zeros_like(scale), scale)
        # upper tail differences keep precision far from the mean
        flip = (lower + upper) > 0
        lo, up = torch.where(flip, -upper, lower), torch.where(flip, -lower, upper)
        return normal.cdf(up) - normal.cdf(lo)

    def log_density(self, y: torch.Tensor) -> torch.Tensor:
        scale = self.scale.to(y.dtype)
        return torch.distributions.Normal(torch.zeros_like(scale), scale).log_prob(y)


def _box_sides(lattice: Lattice, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(np.abs(np.diag(lattice.lower_generator)), dtype=like.dtype)


@torch.no_grad()
def freeze_tables(prior: Prior, lattice: Lattice, buckets: int = BUCKETS, precision: int = PRECISION,
                  tail: float = 2.0**-16, max_symbols: int = 4096) -> CodingTables:
    """Integer tables of the box pmf for every latent coordinate and phase bucket (see `tables`).

    Coordinate ``j``'s cells have width ``g = |L_jj|`` (L the lower-triangular generator); in bucket ``q``
    the grid is shifted by ``q/Q`` of a cell, so symbol ``s`` is the interval ``[(s + q/Q − ½)g, (s + q/Q + ½)g)``.
    Symbols cover the prior's mass down to ``tail`` on each side; the rest goes to the escape symbol.
    """
    if not np.array_equal(lattice.rotation, np.eye(lattice.dim)):
        raise ValueError("integer tables need a lattice whose generator is lower triangular")
    side = np.abs(np.diag(lattice.lower_generator))  # [L]
    low_q, high_q = _quantiles(prior, lattice.dim, tail)
    low = np.floor(low_q / side).astype(np.int64) - 1
    high = np.ceil(high_q / side).astype(np.int64) + 1
    high = np.minimum(high, low + max_symbols - 1)
    regular = high - low + 1
    widest = int(regular.max())
    # edges [Q, E, L]: cell s spans edges s and s+1 (E = widest + 1, coordinates beyond their range padded)
    phase = np.arange(buckets)[:, None, None] / buckets
    steps = np.arange(widest + 1)[None, :, None]
    edges = (low[None, None, :] + np.minimum(steps, regular[None, None, :]) + phase - 0.5) * side
    edges_t = torch.from_numpy(edges)
    mass = prior.interval_probability(edges_t[:, :-1], edges_t[:, 1:]).numpy()  # [Q, widest, L]
    cdf = prior.cdf(edges_t).numpy()
    counts = np.zeros((lattice.dim, buckets, widest + 1), dtype=np.int32)
    for j in range(lattice.dim):
        r = int(regular[j])
        below, above = cdf[:, 0, j], 1.0 - cdf[:, r, j]
        pmf = np.concatenate([mass[:, :r, j], (below + above)[:, None]], axis=1)  # [Q, r + 1]
        counts[j, :, : r + 1] = quantize_pmf(pmf, precision)
    tables = CodingTables(counts, low, regular + 1, precision)
    tables.validate()
    return tables


def _quantiles(prior: Prior, channels: int, tail: float) -> tuple[np.ndarray, np.ndarray]:
    """Per channel, the points where the CDF crosses ``tail`` and ``1 − tail`` (bisection, float64)."""
    out = []
    for target in (tail, 1.0 - tail):
        lo = torch.full((channels,), -1e6, dtype=torch.float64)
        hi = torch.full((channels,), 1e6, dtype=torch.float64)
        for _ in range(80):
            mid = (lo + hi) / 2
            above = prior.cdf(mid[None])[0] > target
            hi = torch.where(above, mid, hi)
            lo = torch.where(above, lo, mid)
        out.append(((lo + hi) / 2).numpy())
    return out[0], out[1]
