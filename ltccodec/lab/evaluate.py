"""Test-set figures of models (rate, MSE, perception) and rate–distortion–perception plots with the Gaussian
theory curves. Used by `train` (figures on the card) and `ltc eval`."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ltccodec.lab import theory
from ltccodec.lab.ltc import LTCModel
from ltccodec.lab.sources import Source
from ltccodec.randomness import Randomness
from ltccodec.runtime.modelfile import Metrics, ModelCard

EVAL_SEED = 20_260_101
SW2_DIRECTIONS = 512
VORONOI_SAMPLES = 256
VORONOI_VECTORS = 2_000


def evaluate(model: LTCModel, source: Source, randomness: Randomness, count: int = 20_000,
             seed: int = EVAL_SEED) -> Metrics:
    """Figures of ``model`` on ``count`` test vectors of ``source`` (fixed test set, seeded dither)."""
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(source.test_set(count))
    rec = model.reconstruct(x, randomness, rng)
    x_np, x_hat = x.double().numpy(), rec.x_hat.double().numpy()
    n = source.dim
    directions = rng.normal(size=(SW2_DIRECTIONS, n))
    with torch.no_grad():
        voronoi = model.prior.voronoi_bits(rec.centers[:VORONOI_VECTORS].float(), model.lattice, VORONOI_SAMPLES, rng)
    return Metrics(
        randomness=str(randomness),
        rate=(table_code_bits(model, x.numpy(), randomness, rng) if _coded_by_tables(model)
              else float(rec.bits.double().mean())) / n,
        rate_voronoi=float(voronoi.double().mean()) / n,
        mse=float(((x_np - x_hat) ** 2).mean()),
        sw2=float(theory.sliced_w2_squared(x_np, x_hat, directions=directions)),
        w2_gaussian=float(theory.fitted_gaussian_w2_squared(x_np, x_hat)) / n if source.gaussian else None,
        vectors=count,
    )


def _coded_by_tables(model: LTCModel) -> bool:
    """Whether the float prior's box code length no longer describes what the coder writes: the distance code, or
    tables measured on the source (`train.measured_tables`)."""
    return model.distance_table is not None or model.config.measured


def table_code_bits(model: LTCModel, x: np.ndarray, randomness: Randomness, rng: np.random.Generator) -> float:
    """Mean code length (bits per vector) of ``x`` under the model's coder and integer tables, with the dither
    drawn on the codec's grid (the distance code is defined on exact dither)."""
    from ltccodec.codec import nesting_of
    from ltccodec.coding import FrameDither, coder_for
    from ltccodec.lab.prior import freeze_tables

    tables = model.tables if model.tables is not None else freeze_tables(model.prior, model.lattice)
    coder = coder_for(model.config.coder, tables, model.lattice, model.distance_table)
    u, dither = FrameDither.drawn(model.lattice, len(x), nesting_of(randomness), rng)
    return coder.bits(model.to_symbols(torch.from_numpy(x), u), dither) / len(x)


def evaluate_audio(model: LTCModel, source: Source, randomness: Randomness, seed: int = EVAL_SEED) -> Metrics:
    """`evaluate` on the source's test frames, plus whole-recording figures on its test clips: kbit/s of the
    lattice points' box code length and the gains' integer code length, SNR, and PESQ narrowband (when the
    ``pesq`` package is installed; None otherwise)."""
    from ltccodec.lab.bench.speech import pesq_nb
    from ltccodec.media import framing as fr

    metrics = evaluate(model, source, randomness, len(source.test), seed)
    rng = np.random.default_rng(seed)
    framing, clips = source.framing, source.test_clips
    gain_bits = -np.log2(model.gain_counts / float(1 << 16))
    bits, seconds, signal, noise, scores = 0.0, 0.0, 0.0, 0.0, []
    for clip in clips:
        vectors, gains = fr.to_vectors(clip, framing)
        rec = model.reconstruct(torch.from_numpy(vectors), randomness, rng)
        out = fr.from_vectors(rec.x_hat.double().numpy(), gains, framing, len(clip))
        symbols = fr.gain_deltas(gains, framing)
        bits += float(rec.bits.double().sum()) + float(gain_bits[np.arange(symbols.shape[1]), symbols].sum())
        seconds += len(clip) / framing.sample_rate
        signal += float(np.sum(clip**2))
        noise += float(np.sum((clip - out) ** 2))
        scores.append(pesq_nb(clip, out, framing.sample_rate))
    valid = [s for s in scores if s is not None]
    pesq = float(np.mean(valid)) if valid else None
    return dataclasses.replace(metrics, kbps=bits / seconds / 1000, snr=10 * math.log10(signal / max(noise, 1e-30)),
                               pesq=pesq)


@dataclasses.dataclass(frozen=True)
class Row:
    """One point of a sweep: which model, under which randomness, and its figures."""

    model: str
    lattice: str
    trained_for: str
    lambda_mse: float
    lambda_perception: float
    metrics: Metrics

    def flat(self) -> dict[str, object]:
        out: dict[str, object] = {k: v for k, v in dataclasses.asdict(self).items() if k != "metrics"}
        out.update(dataclasses.asdict(self.metrics))
        return out


def row_for(card: ModelCard, metrics: Metrics) -> Row:
    t = card.training
    return Row(card.name, card.lattice, t.randomness, t.lambda_mse, t.lambda_perception, metrics)


def gaussian_bounds(mse: float) -> dict[str, float]:
    """The bounds at distortion ``mse`` (unit-variance Gaussian), bits/dim."""
    return {"R(D,0)": float(theory.rdp_zero_perception(mse)),
            "R(D/2,inf)": float(theory.rate_no_common_randomness(mse)),
            "R(D,inf)": float(theory.rate_distortion(mse))}


def write_rows(rows: Sequence[Row], out: Path) -> tuple[Path, Path]:
    """``out.csv`` and ``out.json`` with one record per row."""
    out.parent.mkdir(parents=True, exist_ok=True)
    flat = [r.flat() for r in rows]
    csv_path, json_path = Path(f"{out}.csv"), Path(f"{out}.json")
    with csv_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(flat[0]))
        writer.writeheader()
        writer.writerows(flat)
    json_path.write_text(json.dumps(flat, indent=1) + "\n")
    return csv_path, json_path


def plot_rows(rows: Sequence[Row], out: Path, gaussian: bool, title: str = "") -> Path:
    """Two panels: rate vs MSE and rate vs perception (sliced W2²), one curve per (lattice, randomness);
    the Gaussian bounds R(D,0), R(D/2,∞), R(D,∞) on the first panel when the source is Gaussian."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    groups: dict[tuple[str, str], list[Row]] = {}
    for r in rows:
        groups.setdefault((r.lattice, r.metrics.randomness), []).append(r)
    for (lattice, randomness), members in sorted(groups.items()):
        members.sort(key=lambda r: r.metrics.mse)
        label = f"{lattice} {randomness}"
        style = "-o" if lattice.startswith(("E8", "BW", "Leech")) else "--s"
        left.plot([r.metrics.mse for r in members], [r.metrics.rate for r in members], style, ms=4, label=label)
        right.plot([r.metrics.sw2 for r in members], [r.metrics.rate for r in members], style, ms=4, label=label)
    if gaussian and rows:
        lowest, highest = min(r.metrics.mse for r in rows), max(r.metrics.mse for r in rows)
        d = np.linspace(max(1e-3, lowest * 0.8), min(1.99, highest * 1.2), 200)
        left.plot(d, theory.rdp_zero_perception(d), "k-", lw=2, label="R(D,0)")
        left.plot(d, theory.rate_no_common_randomness(d), "k:", lw=2, label="R(D/2,∞)")
        left.plot(d, theory.rate_distortion(d), "k--", lw=1, label="R(D,∞)")
    left.set_xlabel("MSE per dimension")
    left.set_ylabel("rate (bits per dimension)")
    right.set_xlabel("perception: sliced W2²")
    right.set_xscale("log")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    left.legend(fontsize=7, ncol=2)
    fig.suptitle(title or "rate–distortion–perception")
    fig.tight_layout()
    path = Path(f"{out}.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def gap_table(rows: Sequence[Row]) -> str:
    """Markdown table of gaps (rate of the coded points − bound, bits/dim) per randomness × lattice, one
    column per λ1; each cell also gives the rate and MSE. SD, QSD and none are measured against R(D,0),
    PD against R(D/2,∞)."""
    lambdas = sorted({r.lambda_mse for r in rows})
    cells: dict[tuple[str, str], dict[float, Row]] = {}
    for r in rows:
        cells.setdefault((r.metrics.randomness, r.lattice), {})[r.lambda_mse] = r
    head = "| randomness | lattice | bound | " + " | ".join(f"λ1 = {lam:g}" for lam in lambdas) + " |"
    lines = [head, "|---|---|---|" + "---|" * len(lambdas)]
    for mode, lattice in sorted(cells, key=lambda k: (_mode_order(k[0]), k[1])):
        bound = "R(D/2,∞)" if mode == "pd" else "R(D,0)"
        key = "R(D/2,inf)" if mode == "pd" else "R(D,0)"
        out = []
        for lam in lambdas:
            r = cells[(mode, lattice)].get(lam)
            if r is None:
                out.append("-")
                continue
            gap = r.metrics.rate - gaussian_bounds(r.metrics.mse)[key]
            out.append(f"{gap:+.3f} ({r.metrics.rate:.2f} b, D {r.metrics.mse:.3f})")
        lines.append(f"| {mode} | {lattice} | {bound} | " + " | ".join(out) + " |")
    return "\n".join(lines)


def _mode_order(mode: str) -> float:
    return {"none": -1.0, "pd": 0.0, "sd": math.inf}.get(mode, float(Randomness.parse(mode).shared_bits))
