"""Low-rate Gaussian tables: for every model in the given folders, the coded rate (the box code, with or without
the distance code), the ideal code length of the same cells (`ltc bench cells`), and the bound, as a markdown table,
a CSV and a plot (rate against MSE, with R(D,0), R(D/2,∞) and each lattice's ideal).

    .venv/bin/python scripts/report_lowrate.py runs/lowrate2/g8/models runs/lowrate2/g8a/models ... \\
        --out docs/figures/gaussian-lowrate

Measured with fewer vectors for the big lattices (closest-point calls dominate: Leech 400 vectors × 2,048
samples, BW16 1,000 × 4,096, the others 2,000 × 8,192). Results are cached next to --out (OUT.json) per model file
and SHA-256, so rerunning after more models finish only measures the new ones.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ltccodec import theory  # noqa: E402
from ltccodec.lab.bench.cells import CellFigures, measure_cells  # noqa: E402
from ltccodec.runtime.modelfile import ModelCard  # noqa: E402

BUDGET = {"Leech": (400, 2048), "BW16": (1000, 4096)}
COLORS = {"pd": "tab:red", "1bits": "tab:orange", "nesting3": "tab:green", "sd": "tab:blue", "none": "k"}
MARKERS = {"Z1": "s", "E8": "o", "BW16": "^", "Leech": "D"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("docs/figures/gaussian-lowrate"))
    args = parser.parse_args()
    cache_path = args.out.with_suffix(".json")
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    rows: list[tuple[ModelCard, CellFigures]] = []
    for folder in args.folders:
        for path in sorted(p.with_suffix(".json") for p in folder.glob("*.safetensors")):
            card = ModelCard.from_json(path.read_text())
            key = f"{path}:{card.sha256}"
            if key not in cache:
                vectors, samples = BUDGET.get(card.lattice, (2000, 8192))
                print(f"measuring {path} ({vectors} vectors, {samples} samples)", flush=True)
                cache[key] = dataclasses.asdict(measure_cells(path, vectors, samples))
                cache_path.parent.mkdir(parents=True, exist_ok=True)
                cache_path.write_text(json.dumps(cache, indent=1))
            rows.append((card, CellFigures(**cache[key])))
    rows.sort(key=lambda r: (r[0].latent_dim, r[0].lattice, r[0].training.randomness, _coder(r[0]), r[1].mse))
    _write_csv(rows, args.out.with_suffix(".csv"))
    print(_table(rows))
    _plot(rows, args.out.with_suffix(".png"))


def _write_csv(rows: list[tuple[ModelCard, CellFigures]], path: Path) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["model", "lattice", "randomness", "coder", "mse", "coded", "ideal", "bound", "bound_name",
                    "pmf", "lattice_cost", "vectors", "samples", "convergence"])
        for card, r in rows:
            w.writerow([r.model, card.lattice, r.randomness, _coder(card), f"{r.mse:.4f}", f"{r.box_learned:.4f}",
                        f"{r.cell_true:.4f}", f"{r.bound:.4f}", r.bound_name, f"{r.pmf_cost:.4f}",
                        f"{r.lattice_cost:.4f}", r.vectors, r.samples, f"{r.cell_true_coarse - r.cell_true:.4f}"])


def _table(rows: list[tuple[ModelCard, CellFigures]]) -> str:
    lines = ["| lattice | randomness | coder | MSE | coded | ideal | bound | pmf (coded − ideal) | lattice (ideal − "
             "bound) |", "|---|---|---|--:|--:|--:|--:|--:|--:|"]
    for card, r in rows:
        loose = r.cell_true_coarse - r.cell_true > 0.01  # not converged: the estimate is an upper bound
        mark = "≤ " if loose else ""
        lines.append(f"| {card.lattice} | {r.randomness} | {_coder(card)} | {r.mse:.3f} | {r.box_learned:.3f} | "
                     f"{mark}{r.cell_true:.3f} | {r.bound:.3f} {r.bound_name} | "
                     f"{'≥ ' if loose else ''}{r.pmf_cost:+.3f} | {mark}{r.lattice_cost:+.3f} |")
    return "\n".join(lines)


def _coder(card: ModelCard) -> str:
    return card.coder


def _plot(rows: list[tuple[ModelCard, CellFigures]], path: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True)
    d = np.linspace(0.05, 1.99, 200)
    for ax, private in zip(axes, (False, True), strict=True):
        ax.plot(d, theory.rate_no_common_randomness(d) if private else theory.rdp_zero_perception(d), "k-",
                lw=1, label="R(D/2,∞)" if private else "R(D,0)")
        for card, r in rows:
            if (r.randomness == "pd") != private:
                continue
            style = dict(color=COLORS.get(r.randomness, "gray"), marker=MARKERS.get(card.lattice, "x"))
            fill = {"box": "none", "distance": style["color"]}[_coder(card)]
            ax.plot(r.mse, r.box_learned, ls="", markerfacecolor=fill, **style)
            ax.plot(r.mse, r.cell_true, ls="", alpha=0.35, markersize=4, **style)
        ax.set_xlabel("MSE")
        ax.set_title("private dither (pd)" if private else "shared dither (sd, 1bits, nesting3)")
        ax.set_ylim(0, 0.8)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("bits per value")
    handles = [plt.Line2D([], [], color="k", marker=m, ls="", label=k) for k, m in MARKERS.items()]
    handles += [plt.Line2D([], [], color=c, marker="o", ls="", label=k) for k, c in COLORS.items() if k != "none"]
    handles += [plt.Line2D([], [], color="gray", marker="o", ls="", markerfacecolor="none", label="box code"),
                plt.Line2D([], [], color="gray", marker="o", ls="", label="distance code"),
                plt.Line2D([], [], color="gray", marker="o", ls="", alpha=0.35, markersize=4,
                           label="ideal (true cell probability)")]
    axes[1].legend(handles=handles, fontsize=7, loc="upper right")
    fig.suptitle("Gaussian sources at low rate: coded rate vs the ideal code length of the same cells")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
