"""Physics benchmark behind ``ltc bench physics``: our physics models on the test events of the ``physics`` source
(pp -> Z/γ* -> e+e-, 16 standardized features), next to uniform scalar quantization of the same standardized
features with an ideal entropy coder at the same rate.

Per setting: bits per event (ours: the whole stream of all test events, header included; USQ: the empirical entropy
of each feature's indices on the test events themselves, summed — a bound no real coder of those indices beats),
MSE on the standardized features, the mean over the 16 features of the 1-D Wasserstein-1 distance between the
decoded and the real distributions (standardized units), and the Z peak: the median and the interquartile range of
the pair mass (real events: printed with the table; a codec that piles every event onto one value has an IQR near
zero however well its median sits) and the W1 distance of the mass distributions in GeV.
`plot` draws every feature's distribution and the mass peak, real against decoded.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ltccodec import codec
from ltccodec.lab.sources import physics
from ltccodec.randomness import Randomness
from ltccodec.runtime import registry

NONCE = bytes(16)
SEED = 0
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Row:
    codec: str
    setting: str
    bits: float  # per event
    mse: float  # standardized features
    w1: float  # mean over features of the 1-D W1 (standardized)
    mass_median: float  # GeV
    mass_iqr: float  # GeV
    mass_w1: float  # GeV


@dataclass(frozen=True, eq=False)
class Decoded:
    row: Row
    values: np.ndarray  # standardized [N, 16]


def wasserstein_1d(a: np.ndarray, b: np.ndarray) -> float:
    """W1 between two equally sized samples of a real variable: the mean gap of their sorted values."""
    return float(np.mean(np.abs(np.sort(a) - np.sort(b))))


def score(name: str, setting: str, bits: float, real: np.ndarray, decoded: np.ndarray,
          scaling: physics.Scaling) -> Row:
    mass_real = scaling.unstandardize(real)[:, physics.MASS]
    mass = scaling.unstandardize(decoded)[:, physics.MASS]
    w1 = float(np.mean([wasserstein_1d(real[:, j], decoded[:, j]) for j in range(real.shape[1])]))
    median, iqr = peak(mass)
    return Row(name, setting, bits, float(np.mean((decoded - real) ** 2)), w1, median, iqr,
               wasserstein_1d(mass_real, mass))


def peak(mass: np.ndarray) -> tuple[float, float]:
    """(median, interquartile range) of pair masses in GeV."""
    low, median, high = np.percentile(mass, [25, 50, 75])
    return float(median), float(high - low)


def ours(name: str, randomness: str | None, real: np.ndarray, scaling: physics.Scaling) -> Decoded:
    loaded = registry.by_name(name)
    rand = Randomness.parse(randomness) if randomness else registry.trained_for(loaded.card)
    data = codec.encode(real, loaded, rand, nonce=NONCE)
    decoded = codec.open_stream(io.BytesIO(data), model=loaded).decode(seed=SEED).array
    assert decoded is not None
    return Decoded(score("ltc", f"{name} {rand}", 8 * len(data) / len(real), real, decoded, scaling), decoded)


def usq_bits(real: np.ndarray, step: float) -> float:
    """Bits per event of the indices ``round(x / step)``, each feature at its empirical entropy."""
    total = 0.0
    for column in np.rint(real / step).astype(np.int64).T:
        _, counts = np.unique(column, return_counts=True)
        p = counts / len(column)
        total -= float(np.sum(p * np.log2(p)))
    return total


def usq(real: np.ndarray, bits: float, scaling: physics.Scaling) -> Decoded:
    """Uniform scalar quantization with the one step (found by bisection) that spends ``bits`` per event."""
    low, high = 1e-4, 64.0  # steps: fine (many bits) .. coarse (few)
    for _ in range(60):
        mid = float(np.sqrt(low * high))
        low, high = (mid, high) if usq_bits(real, mid) > bits else (low, mid)
    step = float(np.sqrt(low * high))
    decoded = (np.rint(real / step) * step).astype(np.float32)
    return Decoded(score("usq+entropy", f"step {step:.3g}", usq_bits(real, step), real, decoded, scaling), decoded)


def run(models: Sequence[str], randomness: Sequence[str | None], count: int = 2000, peers: bool = True,
        progress: Progress | None = None) -> tuple[list[Decoded], np.ndarray, physics.Scaling]:
    """Every model under every randomness (None: what it was trained for), each followed by USQ at its rate;
    returns them with the real test events (standardized) and the scaling."""
    _, test, scaling = physics.load()
    real = scaling.standardize(test[:count])
    results = []
    for name in models:
        for rand in randomness:
            result = ours(name, rand, real, scaling)
            results.append(result)
            if progress is not None:
                progress(f"{result.row.setting}: {result.row.bits:.1f} bits/event, MSE {result.row.mse:.4f}")
            if peers:
                results.append(usq(real, result.row.bits, scaling))
    return results, real, scaling


def format_table(rows: Sequence[Row], real_peak: tuple[float, float]) -> str:
    lines = [f"real test events: pair mass median {real_peak[0]:.2f} GeV, interquartile range {real_peak[1]:.2f} GeV",
             "", "| codec | setting | bits/event | MSE | mean feature W1 | mass median (GeV) | mass IQR (GeV) | "
                 "mass W1 (GeV) |", "|---|---|--:|--:|--:|--:|--:|--:|"]
    for r in rows:
        lines.append(f"| {r.codec} | {r.setting} | {r.bits:.1f} | {r.mse:.4f} | {r.w1:.4f} | {r.mass_median:.2f} | "
                     f"{r.mass_iqr:.2f} | {r.mass_w1:.2f} |")
    return "\n".join(lines)


def real_peak(real: np.ndarray, scaling: physics.Scaling) -> tuple[float, float]:
    return peak(scaling.unstandardize(real)[:, physics.MASS])


def plot(real: np.ndarray, decoded: Sequence[Decoded], scaling: physics.Scaling, out: Path) -> tuple[Path, Path]:
    """``out``-features.png (the 16 features' histograms, standardized) and ``out``-mass.png (the pair mass in
    GeV): real events against each decoded set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(4, 4, figsize=(14, 11))
    for j, ax in enumerate(axes.flat):
        edges = np.linspace(*np.percentile(real[:, j], [0.5, 99.5]), 41)
        ax.hist(real[:, j], edges, histtype="stepfilled", color="0.8", label="real")
        for item in decoded:
            ax.hist(item.values[:, j], edges, histtype="step", label=_label(item.row))
        ax.set_title(f"{physics.FEATURES[j]}", fontsize=9)
        ax.tick_params(labelsize=7)
    axes.flat[0].legend(fontsize=6)
    fig.suptitle("physics test events: standardized features, real vs decoded")
    fig.tight_layout()
    features_png = out.with_name(out.name + "-features.png")
    fig.savefig(features_png, dpi=90)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    edges = np.linspace(60, 120, 61)
    ax.hist(scaling.unstandardize(real)[:, physics.MASS], edges, histtype="stepfilled", color="0.8", label="real")
    for item in decoded:
        ax.hist(scaling.unstandardize(item.values)[:, physics.MASS], edges, histtype="step", label=_label(item.row))
    ax.set_xlabel("e+e- invariant mass (GeV)")
    ax.set_ylabel("events per GeV")
    ax.legend(fontsize=7)
    fig.tight_layout()
    mass_png = out.with_name(out.name + "-mass.png")
    fig.savefig(mass_png, dpi=90)
    plt.close(fig)
    return features_png, mass_png


def _label(row: Row) -> str:
    return f"{row.codec} {row.setting} ({row.bits:.1f} b/event)"
