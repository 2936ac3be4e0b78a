"""Rate–distortion–perception of the speech models on the test recordings, from real streams: every model in
--models codes every test file (fixed nonce, seed 0) through `files.encode_file` / `files.decode_file`; the table
and the figure go to --out (.md, .csv, .png).

Distortion: PESQ-NB and SNR. Perception (0 = the decoded speech has the statistics of real speech), stated:
* spectral W2: per MDCT bin (96 bins of 12 ms frames), the squared 1-D Wasserstein-2 distance between the
  distributions, over all test frames, of the bin's log power (dB) in the original and in the decoded speech,
  averaged over bins (dB²);
* sliced W2: the squared sliced Wasserstein-2 distance between the sets of whole frames (log-power vectors, dB),
  mean over 256 fixed random directions (dB²).

    .venv/bin/python scripts/report_speech.py --models runs/speech/models --out docs/figures/speech
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import soundfile

from ltccodec import files
from ltccodec.lab.bench.speech import pesq_nb
from ltccodec.lab.sources import speech
from ltccodec.media import framing
from ltccodec.randomness import Randomness
from ltccodec.runtime import registry

NONCE = bytes(range(16))


def log_power_frames(clip: np.ndarray) -> np.ndarray:
    """[F, 96] MDCT log power in dB (floor −100 dB)."""
    return 10 * np.log10(framing.mdct(clip, 96) ** 2 + 1e-10)


def spectral_w2(reference: np.ndarray, decoded: np.ndarray) -> float:
    a, b = np.sort(reference, axis=0), np.sort(decoded, axis=0)
    return float(np.mean((a - b) ** 2))


def sliced_w2(reference: np.ndarray, decoded: np.ndarray, directions: np.ndarray) -> float:
    return spectral_w2(reference @ directions.T, decoded @ directions.T)


def measure(card, clips: list[np.ndarray], work: Path, directions: np.ndarray) -> dict:
    choice = registry.Choice(model=card.name, randomness=Randomness.parse(card.training.randomness))
    total_bytes = payload = 0
    seconds = signal = noise = 0.0
    scores, ref_frames, dec_frames = [], [], []
    for clip in clips:
        wav = work / "in.wav"
        soundfile.write(wav, clip, 8000, subtype="PCM_16")
        reference, _ = soundfile.read(wav)
        stats = files.encode_file(str(wav), str(work / "x.ltc"), choice, nonce=NONCE, force=True)
        files.decode_file(str(work / "x.ltc"), str(work / "y.wav"), seed=0, force=True)
        decoded, _ = soundfile.read(work / "y.wav")
        total_bytes += stats.output_bytes
        payload += stats.payload_bytes
        seconds += len(reference) / 8000
        signal += float(np.sum(reference**2))
        noise += float(np.sum((reference - decoded) ** 2))
        scores.append(pesq_nb(reference, decoded, 8000))
        ref_frames.append(log_power_frames(reference))
        dec_frames.append(log_power_frames(decoded))
    ref, dec = np.concatenate(ref_frames), np.concatenate(dec_frames)
    valid = [s for s in scores if s is not None and np.isfinite(s)]
    return {"model": card.name, "lattice": card.lattice, "randomness": card.training.randomness,
            "lambda_perception": card.training.lambda_perception, "kbps": 8 * total_bytes / seconds / 1000,
            "payload_kbps": 8 * payload / seconds / 1000, "pesq": float(np.mean(valid)) if valid else None,
            "snr": 10 * np.log10(signal / noise), "spectral_w2": spectral_w2(ref, dec),
            "sliced_w2": sliced_w2(ref, dec, directions), "files": len(clips)}


def _measure_job(job: tuple) -> dict:
    card, clips, directions = job
    print(f"{card.name} ...", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory() as folder:
        return measure(card, clips, Path(folder), directions)


def plot(rows: list[dict], out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    groups: dict[str, list[dict]] = {}
    for r in rows:  # one curve per ladder (name without randomness and rate point) and randomness
        ladder = r["model"].rsplit("-", 2)[0]
        groups.setdefault(f"{ladder} {r['randomness']}", []).append(r)
    for key, members in sorted(groups.items()):
        members.sort(key=lambda r: r["kbps"])
        style = "-o" if key.startswith("speech-z ") else ":^" if key.startswith("speech1g") else "--s"
        for ax, field in zip(axes, ("pesq", "snr", "spectral_w2"), strict=True):
            ax.plot([r["kbps"] for r in members], [r[field] for r in members], style, ms=4, label=key)
    for ax, label in zip(axes, ("PESQ-NB (higher is better)", "SNR dB", "perception: spectral W2 (dB², 0 = real)"),
                         strict=True):
        ax.set_xlabel("kbit/s (whole file)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[2].set_yscale("log")
    axes[0].legend(fontsize=7, ncol=2)
    fig.suptitle("speech: rate, distortion and perception per randomness budget and lattice (test recordings)")
    fig.tight_layout()
    path = out.with_suffix(".png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="runs/speech/models")
    parser.add_argument("--out", default="docs/figures/speech")
    parser.add_argument("--files", type=int, default=None, help="only the first N test files")
    parser.add_argument("--only", default="", help="only models whose name contains this")
    parser.add_argument("--jobs", type=int, default=2, help="models measured in parallel")
    parser.add_argument("--replot", action="store_true", help="only redraw OUT.png from OUT.csv")
    args = parser.parse_args()
    if args.replot:
        with Path(args.out).with_suffix(".csv").open() as handle:
            rows = [{k: (v if k in ("model", "lattice", "randomness") else float(v)) for k, v in r.items()}
                    for r in csv.DictReader(handle)]
        print(f"wrote {plot(rows, Path(args.out))}", file=sys.stderr)
        return
    cards = [c for c in registry.list_models([Path(args.models)]) if args.only in c.name]
    clips = speech.load_split("test")[: args.files]
    directions = np.random.default_rng(7).normal(size=(256, 96))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    os.environ["LTC_MODELS"] = args.models
    jobs = [(card, clips, directions) for card in sorted(cards, key=lambda c: c.name)]
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(_measure_job, jobs))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.with_suffix(".csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = ["| model | lattice | randomness | λ2 | kbit/s | payload kbit/s | PESQ-NB | SNR dB | spectral W2 "
             "| sliced W2 |", "|---|---|---|--:|--:|--:|--:|--:|--:|--:|"]
    for r in sorted(rows, key=lambda r: (r["lattice"], r["lambda_perception"], r["randomness"], r["kbps"])):
        lines.append(f"| {r['model']} | {r['lattice']} | {r['randomness']} | {r['lambda_perception']:g} | "
                     f"{r['kbps']:.2f} | {r['payload_kbps']:.2f} | {r['pesq']:.2f} | {r['snr']:.2f} | "
                     f"{r['spectral_w2']:.2f} | {r['sliced_w2']:.2f} |")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {out.with_suffix('.md')}, {out.with_suffix('.csv')}, {plot(rows, out)}", file=sys.stderr)


if __name__ == "__main__":
    main()
