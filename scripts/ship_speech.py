"""Copy the speech ladder chosen by measurement (docs/results.md) from the training runs into models/: each
model's integer tables are frozen again at 16 phase buckets (measured +0.1 % coded bits against 32, and half the
table bytes), and its card gains the description of its data. The weights are the trained ones, unchanged.

    .venv/bin/python scripts/ship_speech.py [--ladder speech-z] [--runs runs/speech/models] [--out models]
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from ltccodec import modelfile
from ltccodec.sources import speech

MODES = ["none", "pd", "1bits", "nesting3", "sd"]
POINTS = ["q0", "q1", "q2", "q3", "q4", "q5"]
BUCKETS = 16


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ladder", default="speech-z")
    parser.add_argument("--runs", default="runs/speech/models")
    parser.add_argument("--out", default="models")
    args = parser.parse_args()
    data = speech.describe()
    for point in POINTS:
        for mode in MODES:
            name = f"{args.ladder}-{mode}-{point}"
            model, card = modelfile.load(Path(args.runs) / name)
            card = dataclasses.replace(card, data=data)
            saved = modelfile.save(model, card, Path(args.out) / name, buckets=BUCKETS)
            size = (Path(args.out) / f"{name}.safetensors").stat().st_size
            print(f"{name}: {size / 1024:.0f} KiB, sha256 {saved.sha256[:16]}…")


if __name__ == "__main__":
    main()
