"""A Wasserstein critic for 28×28 images: the perception term of image training, as in Blau & Michaeli (2019) and
the seed's digits experiments, and the perception figure of their evaluation.

The critic ``f`` is trained to maximize ``E f(real) − E f(decoded)`` under a gradient penalty (WGAN-GP,
Gulrajani et al. 2017: ``10 · E (‖∇f(x̃)‖ − 1)²`` on points between real and decoded images), so that the gap
estimates the Wasserstein-1 distance between the two distributions. Training the codec adds ``−λ · E f(decoded)``
to its loss. Evaluation trains a fresh critic on the test split and reports its final gap. Training only: the
codec never imports this.
"""

from __future__ import annotations

import torch
from torch import nn

GP_WEIGHT = 10.0


class Critic(nn.Module):
    """Two strided convolutions and a linear read-out; no normalization across the batch (the gradient
    penalty is per sample)."""

    def __init__(self, channels: int = 32):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, channels, 4, stride=2, padding=1), nn.LeakyReLU(0.2),  # 14×14
            nn.Conv2d(channels, 2 * channels, 4, stride=2, padding=1), nn.LeakyReLU(0.2),  # 7×7
            nn.Flatten(), nn.Linear(2 * channels * 49, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.reshape(-1, 1, 28, 28)).squeeze(1)  # [B]


def gradient_penalty(critic: Critic, real: torch.Tensor, fake: torch.Tensor,
                     generator: torch.Generator) -> torch.Tensor:
    mix = torch.rand(len(real), 1, generator=generator)
    points = (mix * real + (1 - mix) * fake).requires_grad_(True)
    grad, = torch.autograd.grad(critic(points).sum(), points, create_graph=True)
    return ((grad.norm(dim=1) - 1) ** 2).mean()


def critic_step(critic: Critic, optimizer: torch.optim.Optimizer, real: torch.Tensor, fake: torch.Tensor,
                generator: torch.Generator) -> float:
    """One update of the critic; returns its current gap ``E f(real) − E f(fake)`` (the W1 estimate)."""
    fake = fake.detach()
    gap = critic(real).mean() - critic(fake).mean()
    loss = -gap + GP_WEIGHT * gradient_penalty(critic, real, fake, generator)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return float(gap.item())


def new_optimizer(critic: Critic) -> torch.optim.Optimizer:
    return torch.optim.Adam(critic.parameters(), lr=1e-4, betas=(0.5, 0.9))


def wasserstein_estimate(real: torch.Tensor, fake: torch.Tensor, steps: int = 600, batch: int = 256,
                         seed: int = 0) -> float:
    """W1 between two sets of images as a fresh critic sees it after ``steps`` updates: the gap on the whole
    sets, with the critic's weights fixed."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        critic = Critic()
    optimizer = new_optimizer(critic)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        a = torch.randint(0, len(real), (batch,), generator=generator)
        b = torch.randint(0, len(fake), (batch,), generator=generator)
        critic_step(critic, optimizer, real[a], fake[b], generator)
    with torch.no_grad():
        return float(critic(real).mean() - critic(fake).mean())
