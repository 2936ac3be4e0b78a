"""Copy a ladder chosen by measurement (docs/results.md) from the training runs into models/: each model's integer
tables are frozen again at 16 phase buckets (measured on speech: +0.1 % coded bits against 32, and half the table
bytes) — a model with measured tables (`ltc train --measured-tables`) keeps its own —, and a card without a
description of its data (or, for physics, without its feature scaling) gains its source's. The weights are the
trained ones.

    .venv/bin/python scripts/ship.py --ladder speech-z --points q0,q1,q2,q3,q4,q5 [--runs runs/speech/models]
    .venv/bin/python scripts/ship.py --ladder digits-e8 --points q1,q2,q3 --runs runs/digits/models
    .venv/bin/python scripts/ship.py --ladder physics-e8 --points q1,q2,q3 --runs runs/physics/models
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from ltccodec.lab import modelio
from ltccodec.lab.sources import source_by_name

MODES = "none,pd,1bits,nesting3,sd"
BUCKETS = 16


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ladder", required=True)
    parser.add_argument("--points", required=True, help="comma-separated rate points, e.g. q1,q2,q3")
    parser.add_argument("--modes", default=MODES, help=f"comma-separated randomness members [{MODES}]")
    parser.add_argument("--runs", default="runs/speech/models")
    parser.add_argument("--out", default="models")
    args = parser.parse_args()
    sources: dict[str, object] = {}
    for point in args.points.split(","):
        for mode in args.modes.split(","):
            name = f"{args.ladder}-{mode}-{point}"
            model, card = modelio.load(Path(args.runs) / name)
            if not card.data or card.standardize is None:
                source = sources.setdefault(card.source, source_by_name(card.source))
                scaling = getattr(source, "scaling", None)
                card = dataclasses.replace(card, data=card.data or source.description,
                                           standardize=None if scaling is None else scaling.to_card())
            saved = modelio.save(model, card, Path(args.out) / name, buckets=BUCKETS)
            size = (Path(args.out) / f"{name}.safetensors").stat().st_size
            print(f"{name}: {size / 1024:.0f} KiB, sha256 {saved.sha256[:16]}…")


if __name__ == "__main__":
    main()
