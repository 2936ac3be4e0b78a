"""The digits rate–distortion–perception table and plot from the trained models' cards (test split, 1,000
digits): bits per digit (box code length of the lattice points), MSE, and the W1 estimate of a fresh WGAN-GP
critic, per lattice and randomness budget.

    .venv/bin/python scripts/report_digits.py [--runs runs/digits/models] [--out docs/figures/digits-rdp]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ltccodec.modelfile import ModelCard  # noqa: E402

STYLES = {"E8": "-", "Z1": "--", "D4": ":"}
COLORS = {"none": "k", "pd": "tab:red", "1bits": "tab:orange", "nesting3": "tab:green", "sd": "tab:blue"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="runs/digits/models")
    parser.add_argument("--out", default="docs/figures/digits-rdp")
    args = parser.parse_args()
    cards = [ModelCard.from_json(p.read_text()) for p in sorted(Path(args.runs).glob("digits-*.json"))]
    rows = sorted(((c.lattice, c.training.randomness, c.name.rsplit("-", 1)[1], c.metrics[0]) for c in cards),
                  key=lambda r: (r[0], r[1], r[2]))
    lines = ["| lattice | randomness | point | bits/digit | MSE | W1 (critic) |", "|---|---|---|--:|--:|--:|"]
    lines += [f"| {'Z8' if lat == 'Z1' else 'D4²' if lat == 'D4' else lat} | {mode} | {point} | "
              f"{784 * m.rate:.1f} | {m.mse:.4f} | {m.w1:.3f} |" for lat, mode, point, m in rows]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(f"{args.out}.md").write_text("\n".join(lines) + "\n")
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for lattice in STYLES:
        for mode in COLORS:
            members = sorted((784 * m.rate, m.mse, m.w1) for lat, md, _, m in rows if lat == lattice and md == mode)
            if not members:
                continue
            bits, mse, w1 = zip(*members, strict=True)
            label = f"{'Z8' if lattice == 'Z1' else 'D4²' if lattice == 'D4' else lattice} {mode}"
            left.plot(bits, mse, STYLES[lattice], color=COLORS[mode], marker="o", ms=3, label=label)
            right.plot(bits, w1, STYLES[lattice], color=COLORS[mode], marker="o", ms=3, label=label)
    left.set_xlabel("bits per digit")
    left.set_ylabel("MSE (pixels in [0, 1])")
    right.set_xlabel("bits per digit")
    right.set_ylabel("perception: critic W1 (lower is more realistic)")
    right.legend(fontsize=7, ncol=2)
    fig.suptitle("digits: rate–distortion–perception on 1,000 test digits (model cards)")
    fig.tight_layout()
    fig.savefig(f"{args.out}.png", dpi=110)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
