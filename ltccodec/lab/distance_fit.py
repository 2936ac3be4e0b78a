"""Fitting the distance code's table (`coding.distance`) to the points a trained model's quantizer picks: a
lab step of training (torch), never of coding. Used by `train` and the tests' small models."""

from __future__ import annotations

import numpy as np

from ltccodec.coding.distance import (
    FRAC_BITS,
    MAX_LIN,
    MAX_QUAD,
    TOTAL_BITS,
    WEIGHT_ONE,
    Candidates,
    DistanceTable,
    _steps,
    candidates,
    chunks,
    index_of,
    scores,
)
from ltccodec.lattice import Lattice


def _profile(frames: list[tuple[Candidates, np.ndarray]], indices: list[np.ndarray], lattice: Lattice,
             shells: int, quad: np.ndarray, lin: np.ndarray, rounds: int = 200) -> np.ndarray:
    """The weight of each step (int64 ``[T]``, ``WEIGHT_ONE`` at 0) that maximizes the likelihood of the chosen
    candidates (``indices``, per frame) under the rounded ``β, γ``; steps never chosen keep a half count."""
    steps = int(16 * 16 * np.log(2)) + 2  # where 2^16 e^(−k/16) falls below 1/2
    start = DistanceTable(shells, quad, lin, np.rint(WEIGHT_ONE * np.exp(-np.arange(steps) / 16.0)).astype(
        np.int64), 0)
    offsets, _ = candidates(lattice, shells)
    present, chosen = [], np.zeros(steps + 1)
    for (cand, _), index in zip(frames, indices, strict=True):
        for part in chunks(len(index)):
            k = np.minimum(_steps(scores(start, offsets, cand.diff[part], cand.scale), cand.scale), steps)
            keep = index[part] < len(offsets)
            k = k[keep]
            present.append(np.apply_along_axis(np.bincount, 1, k, minlength=steps + 1)[:, :steps])
            np.add.at(chosen, k[np.arange(len(k)), index[part][keep]], 1.0)
    n = np.concatenate(present).astype(np.float64)
    w = start.exp_table.astype(np.float64)
    wins = chosen[:steps] + 0.5
    for _ in range(rounds):
        w = wins / ((n / (n @ w)[:, None]).sum(axis=0) + 1e-12)
        w = w / w[0]
    return np.clip(np.rint(w * WEIGHT_ONE), 0, WEIGHT_ONE).astype(np.int64)


def fit(frames: list[tuple[Candidates, np.ndarray]], lattice: Lattice, shells: int) -> DistanceTable:
    """The maximum-likelihood ``β, γ`` (then rounded to the integer table) for candidate sets and the coordinates
    the quantizer chose in them: a convex conditional-logit fit (torch L-BFGS). Then the weight of each step
    ``k``, starting from ``2^16 e^(−k/16)``, by the minorize-maximize iteration for choice models (Hunter 2004):
    the radial profile need not be Gaussian. The escape's count is the measured escape rate at 2^24."""
    import torch

    offsets, coord_offsets = candidates(lattice, shells)
    s = torch.from_numpy(offsets.astype(np.float64))
    indices = [index_of(coords - cand.p, coord_offsets) for cand, coords in frames]
    feats, chosen, escapes, total = [], [], 0, 0
    for (cand, _), index in zip(frames, indices, strict=True):
        keep = index < len(offsets)
        escapes, total = escapes + int((~keep).sum()), total + len(index)
        feats.append(torch.from_numpy(cand.diff[keep].astype(np.float64) / cand.scale))
        chosen.append(torch.from_numpy(index[keep]))
    e, pick = torch.cat(feats), torch.cat(chosen)
    theta = torch.zeros(2 * lattice.dim, dtype=torch.float64)
    theta[: lattice.dim] = 1.0
    theta.requires_grad_(True)
    opt = torch.optim.LBFGS([theta], max_iter=300, line_search_fn="strong_wolfe")
    rows = torch.arange(len(pick))

    def loss() -> torch.Tensor:
        opt.zero_grad()
        beta, gamma = theta[: lattice.dim].clamp(min=1e-3), theta[lattice.dim:]
        logits = (2 * beta * e + gamma) @ s.T - (s * s) @ beta
        out = -torch.log_softmax(logits, dim=1)[rows, pick].mean()
        out.backward()
        return out

    opt.step(loss)
    beta, gamma = theta.detach().numpy()[: lattice.dim], theta.detach().numpy()[lattice.dim:]
    quad = np.clip(np.rint(beta * (1 << FRAC_BITS)), 1, MAX_QUAD).astype(np.int64)
    lin = np.clip(np.rint(gamma * (1 << FRAC_BITS)), -MAX_LIN, MAX_LIN).astype(np.int64)
    exp_table = _profile(frames, indices, lattice, shells, quad, lin)
    escape = int(round(escapes / max(total, 1) * (1 << TOTAL_BITS)))
    table = DistanceTable(shells, quad, lin, exp_table, min(escape, 1 << (TOTAL_BITS - 1)))
    table.validate(lattice)
    return table
