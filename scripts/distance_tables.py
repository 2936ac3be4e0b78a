"""Give a trained model the distance code (`ltc train --distance-code SHELLS` does this after training): the same
weights and tables, the distance code's table fitted on 65,536 fresh source vectors under the codec's dither, written
as a new model file (a new name: streams name the model they were coded with by its hash).

    .venv/bin/python scripts/distance_tables.py models/gaussian8-e8-sd-l2m --name gaussian8-e8-sd-l2x --shells 2
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import torch

from ltccodec.lab import modelio
from ltccodec.lab.sources import source_by_name
from ltccodec.lab.train import DISTANCE_VECTORS, distance_table
from ltccodec.randomness import Randomness


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="model path without extension (or with .json)")
    parser.add_argument("--name", required=True)
    parser.add_argument("--shells", type=int, choices=(1, 2), default=1)
    parser.add_argument("--out", default="runs/distance")
    parser.add_argument("--vectors", type=int, default=DISTANCE_VECTORS)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    model, card = modelio.load(Path(args.model))
    randomness = Randomness.parse(card.training.randomness)
    model.distance_table = distance_table(model, source_by_name(card.source), randomness, args.seed, args.shells,
                                          args.vectors)
    model.config = dataclasses.replace(model.config, coder="distance")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    saved = modelio.save(model, dataclasses.replace(card, name=args.name, coder="distance"), out / args.name)
    print(f"{args.name}: distance code over {args.shells} shell(s), fitted on {args.vectors:,} vectors -> "
          f"{out / args.name} ({saved.sha256[:12]})")


if __name__ == "__main__":
    main()
