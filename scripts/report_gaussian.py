"""Markdown tables for docs/results.md from a sweep's OUT/eval.json (see scripts/sweep_gaussian.py).

    .venv/bin/python scripts/report_gaussian.py runs/gaussian8
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ltccodec.lab.evaluate import Row, gap_table
from ltccodec.runtime.modelfile import Metrics

FIELDS = ("randomness", "rate", "rate_voronoi", "mse", "sw2", "w2_gaussian", "vectors")


def load_rows(path: Path) -> list[Row]:
    rows = []
    for r in json.loads(path.read_text()):
        metrics = Metrics(**{k: r[k] for k in FIELDS})
        rows.append(Row(r["model"], r["lattice"], r["trained_for"], r["lambda_mse"], r["lambda_perception"], metrics))
    return rows


def main() -> int:
    out = Path(sys.argv[1])
    rows = load_rows(out / "eval.json")
    print(gap_table(rows))
    print()
    print("| model | rate (box, coded) | rate (Voronoi MC) | MSE | SW2² | W2² Gaussian fit / dim |")
    print("|---|---|---|---|---|---|")
    for r in sorted(rows, key=lambda r: (r.lattice, r.metrics.randomness, r.lambda_mse)):
        m = r.metrics
        print(f"| {r.model} | {m.rate:.4f} | {m.rate_voronoi:.4f} | {m.mse:.4f} | {m.sw2:.5f} | {m.w2_gaussian:.5f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
