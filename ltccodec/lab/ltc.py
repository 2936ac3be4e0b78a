"""The LTC model: analysis transform, lattice quantizer, learned prior, synthesis transform, and the four ways
of using randomness (deterministic, private dither, shared dither, quantized shared dither).

Three separate paths, after Lei, Hassani, Saeedi Bidokhti (arXiv 2503.17558):
* `training_step`: differentiable (straight-through quantization; for shared dither this is exact in
  distribution, the "noisy proxy"), returns the reconstruction and the rate to minimize;
* `reconstruct`: what encoder + decoder produce, in floating point, with the rate of the coded points;
* `to_symbols` / `from_symbols`: integer lattice coordinates, the values the entropy coder sees.
Dither values are arguments (`shared_dither`, `private_dither` draw them for training and evaluation; the
codec derives shared dither from a key instead). Depends on `lattice`, `prior`, `transforms`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from ltccodec.lab.prior import FactorizedPrior
from ltccodec.lab.transforms import TransformConfig, build
from ltccodec.lattice import Lattice, covering, uniform_dither
from ltccodec.randomness import Randomness, private_dither, shared_dither

if TYPE_CHECKING:  # the coder's tables are data the model carries; the torch model imports no coder
    from ltccodec.coding import DistanceTable
    from ltccodec.coding.tables import CodingTables


@dataclass(frozen=True)
class ModelConfig:
    """Everything that fixes a model's shape: transforms and the lattice of one latent block."""

    transform: TransformConfig
    lattice: str  # the block lattice, e.g. "E8"; the latent uses a power of it
    measured: bool = False  # the coding tables are measured on the source (`coding.box.measure_tables`), not frozen
    coder: str = "box"  # the coder of its streams (`coding.coder_for`): "box" or "distance"

    def latent_lattice(self) -> Lattice:
        return covering(self.lattice, self.transform.latent)


@dataclass(frozen=True)
class StepOutput:
    x_hat: torch.Tensor  # [B, n]
    bits: torch.Tensor  # [B] rate of each vector (differentiable)


@dataclass(frozen=True)
class Reconstruction:
    x_hat: torch.Tensor  # [B, n]
    bits: torch.Tensor  # [B] box code length of the coded points
    coords: np.ndarray  # int64 [B, latent]
    centers: torch.Tensor  # [B, latent] the cells' centers c (+ shared dither)


class LTCModel(nn.Module):
    """Transforms + lattice + prior + the private-dither scale ``s``."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.lattice = config.latent_lattice()
        self.analysis, self.synthesis = build(config.transform)
        self.prior = FactorizedPrior(config.transform.latent)
        self.log_dither_scale = nn.Parameter(torch.zeros(()))  # s = exp(.), theory: s > 1
        self.tables: CodingTables | None = None  # integer coding tables, set when loaded from a model file
        self.gain_counts: np.ndarray | None = None  # audio: integer pmf of the gain symbols (side information)
        self.distance_table: DistanceTable | None = None  # the distance code's table (`coding.distance`)

    @property
    def dither_scale(self) -> torch.Tensor:
        return torch.exp(self.log_dither_scale)

    # ----- dither draws (training and evaluation; the codec derives shared dither from a key) -----
    def shared_dither(self, randomness: Randomness, count: int, rng: np.random.Generator) -> np.ndarray | None:
        """``[count, latent]`` float64 (`randomness.shared_dither`)."""
        return shared_dither(self.lattice, randomness, count, rng)

    def private_dither(self, randomness: Randomness, count: int, rng: np.random.Generator) -> np.ndarray | None:
        """``[count, latent]`` float64, unscaled (`randomness.private_dither`)."""
        return private_dither(self.lattice, randomness, count, rng)

    # ----- training path -----
    def training_step(self, x: torch.Tensor, randomness: Randomness, rng: np.random.Generator) -> StepOutput:
        y = self.analysis(x)
        shared = self._tensor(self.shared_dither(randomness, len(x), rng), y)
        private = self._tensor(self.private_dither(randomness, len(x), rng), y)
        if shared is None:  # LTC, PD: rate on the noisy proxy y + u, decoder on straight-through Q(y)
            proxy = y + self._tensor(uniform_dither(self.lattice, len(x), rng), y)
            bits = self.prior.box_bits(proxy, self.lattice)
            center = y + (self.lattice.nearest(y.detach()) - y).detach()
        else:  # SD, QSD: center c + u, straight-through (exact in distribution for SD)
            c = self.lattice.nearest((y - shared).detach())
            center = y + (c + shared - y).detach()
            bits = self.prior.box_bits(center, self.lattice)
        if self.config.transform.centroid:  # a decoder-side shift, learned around but not through
            center = center + (self.prior.box_centroids(center.detach(), self.lattice, points=8) - center).detach()
        return StepOutput(self.synthesis(self._decoder_input(center, private)), bits)

    # ----- reconstruction path -----
    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, randomness: Randomness, rng: np.random.Generator) -> Reconstruction:
        """Encode and decode in floating point: what the codec produces, with the box code length."""
        shared = self.shared_dither(randomness, len(x), rng)
        private = self.private_dither(randomness, len(x), rng)
        coords = self.to_symbols(x, shared)
        center = self.centers(coords, shared).to(x.dtype)
        x_hat = self.synthesis(self._decoder_input(self._estimate(center), self._tensor(private, center)))
        return Reconstruction(x_hat, self.prior.box_bits(center, self.lattice), coords, center)

    # ----- symbols path -----
    @torch.no_grad()
    def to_symbols(self, x: torch.Tensor, shared: np.ndarray | None) -> np.ndarray:
        """Integer lattice coordinates ``[B, latent]`` of ``Q(g_a(x) − shared)``."""
        y = self.analysis(x).double().numpy()
        return self.lattice.nearest_coords(y if shared is None else y - shared)

    def centers(self, coords: np.ndarray, shared: np.ndarray | None) -> torch.Tensor:
        """Cell centers ``c + shared`` (float64 ``[B, latent]``) of integer coordinates."""
        c = self.lattice.from_coords(coords)
        return torch.from_numpy(c if shared is None else c + shared)

    @torch.no_grad()
    def from_symbols(self, coords: np.ndarray, shared: np.ndarray | None, private: np.ndarray | None) -> torch.Tensor:
        """Decoder: ``g_s(c + shared + s·private)`` ``[B, n]``."""
        center = self._estimate(self.centers(coords, shared)).float()
        return self.synthesis(self._decoder_input(center, self._tensor(private, center)))

    # ----- helpers -----
    def _estimate(self, center: torch.Tensor) -> torch.Tensor:
        """What the synthesis receives for a cell: its center, or with ``centroid`` the prior's mean over it."""
        if not self.config.transform.centroid:
            return center
        return self.prior.box_centroids(center.double(), self.lattice).to(center.dtype)

    def _decoder_input(self, center: torch.Tensor, private: torch.Tensor | None) -> torch.Tensor:
        return center if private is None else center + self.dither_scale * private

    @staticmethod
    def _tensor(value: np.ndarray | None, like: torch.Tensor) -> torch.Tensor | None:
        return None if value is None else torch.as_tensor(value, dtype=like.dtype)


def sliced_w2_squared(x: torch.Tensor, y: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
    """Mean over unit ``directions`` ``[K, n]`` of the squared 1-D W2 between the projections of two equal-size
    batches ``[B, n]`` (sorted projections; no 1/n factor). Differentiable in both batches."""
    px = torch.sort(x @ directions.T, dim=0).values
    py = torch.sort(y @ directions.T, dim=0).values
    return ((px - py) ** 2).mean()


def random_directions(count: int, dim: int, generator: torch.Generator) -> torch.Tensor:
    d = torch.randn(count, dim, generator=generator)
    return d / d.norm(dim=1, keepdim=True)
