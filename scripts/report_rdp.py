"""A rate–distortion–perception table and plot from trained models' cards (their test-split figures), per
lattice and randomness budget: digits (bits per digit, MSE, a fresh WGAN-GP critic's W1) or physics (bits per
event, MSE on standardized features, sliced W2²).

    .venv/bin/python scripts/report_rdp.py digits [--runs runs/digits/models] [--out docs/figures/digits-rdp]
    .venv/bin/python scripts/report_rdp.py physics [--runs runs/physics/models] [--out docs/figures/physics-rdp]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ltccodec.runtime.modelfile import ModelCard  # noqa: E402

STYLES = {"E8": "-", "BW16": "-.", "Z1": "--", "D4": ":"}
COLORS = {"none": "k", "pd": "tab:red", "1bits": "tab:orange", "nesting3": "tab:green", "sd": "tab:blue"}
# source: (values per item, item, perception metric on the card, its label, what the items are)
SOURCES = {"digits": (784, "digit", "w1", "critic W1", "MSE (pixels in [0, 1])", "1,000 test digits"),
           "physics": (16, "event", "sw2", "sliced W2²", "MSE (standardized features)", "2,000 test events")}


def lattice_label(lattice: str, latent: int) -> str:
    block = {"Z1": ("Z", 1), "D4": ("D4", 4), "E8": ("E8", 8), "BW16": ("BW16", 16)}.get(lattice, (lattice, latent))
    copies = latent // block[1]
    if block[0] == "Z":
        return f"Z{latent}"
    return block[0] if copies == 1 else f"{block[0]}{'²³⁴'[copies - 2] if 2 <= copies <= 4 else f'^{copies}'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", choices=sorted(SOURCES))
    parser.add_argument("--runs", help="Folder of model cards [runs/SOURCE/models].")
    parser.add_argument("--out", help="OUT.md and OUT.png [docs/figures/SOURCE-rdp].")
    args = parser.parse_args()
    values, item, metric, metric_label, mse_label, test = SOURCES[args.source]
    runs = Path(args.runs or f"runs/{args.source}/models")
    out = args.out or f"docs/figures/{args.source}-rdp"
    cards = [ModelCard.from_json(p.read_text()) for p in sorted(runs.glob(f"{args.source}-*.json"))]
    rows = sorted(((lattice_label(c.lattice, c.latent_dim), c.lattice, c.training.randomness,
                    c.name.rsplit("-", 1)[1], c.metrics[0]) for c in cards), key=lambda r: r[:4])
    lines = [f"| lattice | randomness | point | bits/{item} | MSE | {metric_label} |", "|---|---|---|--:|--:|--:|"]
    lines += [f"| {label} | {mode} | {point} | {values * m.rate:.1f} | {m.mse:.4f} | {getattr(m, metric):.4f} |"
              for label, _, mode, point, m in rows]
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(f"{out}.md").write_text("\n".join(lines) + "\n")
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for label in sorted({r[0] for r in rows}):
        lattice = next(r[1] for r in rows if r[0] == label)
        for mode in COLORS:
            members = sorted((values * m.rate, m.mse, getattr(m, metric))
                             for lab, _, md, _, m in rows if lab == label and md == mode)
            if not members:
                continue
            bits, mse, perception = zip(*members, strict=True)
            style = STYLES.get(lattice, "-")
            left.plot(bits, mse, style, color=COLORS[mode], marker="o", ms=3, label=f"{label} {mode}")
            right.plot(bits, perception, style, color=COLORS[mode], marker="o", ms=3, label=f"{label} {mode}")
    left.set_xlabel(f"bits per {item}")
    left.set_ylabel(mse_label)
    right.set_xlabel(f"bits per {item}")
    right.set_ylabel(f"perception: {metric_label} (lower is more realistic)")
    right.set_yscale("log")
    right.legend(fontsize=7, ncol=2)
    fig.suptitle(f"{args.source}: rate–distortion–perception on {test} (model cards)")
    fig.tight_layout()
    fig.savefig(f"{out}.png", dpi=110)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
