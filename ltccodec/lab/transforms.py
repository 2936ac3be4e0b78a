"""Analysis and synthesis transforms: linear (Gaussian sources), MLP (vectors such as physics events and
speech frames) and a small convolutional pair for 28×28 images. Used by `ltc`; no lattice or coding here."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import torch
from torch import nn


class TransformKind(str, Enum):
    LINEAR = "linear"
    MLP = "mlp"
    CONV28 = "conv28"
    DIAGONAL = "diagonal"  # per-coordinate scales; the synthesis adds an MLP correction (audio frames)


@dataclass(frozen=True)
class TransformConfig:
    """Shape of a transform pair: source dimension ``n`` -> latent dimension ``latent``."""

    kind: TransformKind
    n: int
    latent: int
    width: int = 100  # MLP hidden width (the seed's choice)
    depth: int = 3  # MLP layers, counting the output layer
    channels: int = 16  # conv28 feature maps
    centroid: bool = False  # decode to the prior's mean over each coordinate's cell instead of its center


def build(config: TransformConfig) -> tuple[nn.Module, nn.Module]:
    """``(g_a, g_s)``: ``[B, n] -> [B, latent]`` and back."""
    if config.kind is TransformKind.LINEAR:
        return nn.Linear(config.n, config.latent), nn.Linear(config.latent, config.n)
    if config.kind is TransformKind.MLP:
        return _mlp(config.n, config.latent, config), _mlp(config.latent, config.n, config)
    if config.kind is TransformKind.DIAGONAL:
        if config.n != config.latent:
            raise ValueError("diagonal transforms keep the dimension (latent = n)")
        return _Diagonal(config.n), _DiagonalSynthesis(config)
    if config.kind is TransformKind.CONV28:
        if config.n != 28 * 28:
            raise ValueError("conv28 transforms take 28×28 images (n = 784)")
        return _ConvAnalysis(config.latent, config.channels), _ConvSynthesis(config.latent, config.channels)
    raise ValueError(f"unknown transform kind {config.kind!r}")


def _mlp(n_in: int, n_out: int, config: TransformConfig) -> nn.Module:
    layers: list[nn.Module] = []
    width = n_in
    for _ in range(config.depth - 1):
        layers += [nn.Linear(width, config.width), nn.Softplus()]
        width = config.width
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


class _Diagonal(nn.Module):
    """``y = x · exp(log_scale)``: one step size per coordinate (an MDCT bin), so quantization noise stays in
    its own frequency band instead of spreading over the frame."""

    def __init__(self, n: int):
        super().__init__()
        self.log_scale = nn.Parameter(torch.zeros(n))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.exp(self.log_scale)  # [B, n]


class _DiagonalSynthesis(nn.Module):
    """``x̂ = y · exp(log_scale) + MLP(y)``: the inverse scaling plus a learned correction that sees the whole
    decoded frame (it can, for example, shrink dither noise in bands the frame leaves empty). The MLP's last
    layer starts at zero, so training starts from the plain inverse."""

    def __init__(self, config: TransformConfig):
        super().__init__()
        self.log_scale = nn.Parameter(torch.zeros(config.n))
        self.correction = _mlp(config.n, config.n, config)
        last = self.correction[-1]
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return y * torch.exp(self.log_scale) + self.correction(y)  # [B, n]


class _ConvAnalysis(nn.Module):
    def __init__(self, latent: int, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, channels, 5, stride=2, padding=2), nn.Softplus(),  # 14×14
            nn.Conv2d(channels, channels, 5, stride=2, padding=2), nn.Softplus(),  # 7×7
            nn.Flatten(), nn.Linear(channels * 49, latent),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.reshape(-1, 1, 28, 28))  # [B, latent]


class _ConvSynthesis(nn.Module):
    def __init__(self, latent: int, channels: int):
        super().__init__()
        self.channels = channels
        self.head = nn.Sequential(nn.Linear(latent, channels * 49), nn.Softplus())
        self.body = nn.Sequential(
            nn.ConvTranspose2d(channels, channels, 5, stride=2, padding=2, output_padding=1), nn.Softplus(),
            nn.ConvTranspose2d(channels, 1, 5, stride=2, padding=2, output_padding=1),
        )

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        h = self.head(y).reshape(-1, self.channels, 7, 7)
        return self.body(h).reshape(len(y), 28 * 28)  # [B, 784]
