"""Give a trained model coding tables measured on its source (`ltc train --measured-tables` does this after
training): the same weights, the tables' rows counted from 262,144 fresh source vectors under the codec's dither,
written as a new model file (a new name: streams name the model they were coded with by its hash).

    .venv/bin/python scripts/measure_tables.py models/gaussian8-e8-sd-l2 --name gaussian8-e8-sd-l2m --out runs/measured
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import torch

from ltccodec.lab import modelio
from ltccodec.lab.sources import source_by_name
from ltccodec.lab.train import MEASURE_VECTORS, measured_tables
from ltccodec.randomness import Randomness


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="model path without extension (or with .json)")
    parser.add_argument("--name", required=True)
    parser.add_argument("--out", default="runs/measured")
    parser.add_argument("--vectors", type=int, default=MEASURE_VECTORS)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    model, card = modelio.load(Path(args.model))
    randomness = Randomness.parse(card.training.randomness)
    model.tables = measured_tables(model, source_by_name(card.source), randomness, args.seed, args.vectors)
    model.config = dataclasses.replace(model.config, measured=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    saved = modelio.save(model, dataclasses.replace(card, name=args.name, measured_tables=True), out / args.name)
    print(f"{args.name}: tables measured on {args.vectors:,} vectors -> {out / args.name} ({saved.sha256[:12]})")


if __name__ == "__main__":
    main()
