"""Train the speech models: writes one JSON config per model into configs/speech/ and runs `ltc train` on each
(two at a time, one torch thread each), logging to runs/speech/logs/. Rerunning skips finished models and resumes
interrupted ones from their checkpoints. Prepare the data first: `ltc data speech`.

    .venv/bin/python scripts/train_speech.py [--only NAME_SUBSTRING] [--jobs 2] [--out runs/speech/models]

The shipped ladder (models/speech-z-*) is copied from --out by scripts/ship.py after checking the figures
(docs/results.md says which).
"""

from __future__ import annotations

import sys
from pathlib import Path

# MDCT step sizes of the rate points: one gain per frame (deterministic members), gains per band (dithered ones)
STEPS = {"q0": 1.1, "q1": 0.6, "q2": 0.35, "q3": 0.2, "q4": 0.13, "q5": 0.08}
BAND_STEPS = {"q0": 1.6, "q1": 0.9, "q2": 0.55, "q3": 0.36, "q4": 0.24, "q5": 0.15}
DITHERED = ["pd", "1bits", "nesting3", "sd"]
BASE = {"source": "speech", "transform": "diagonal", "latent": 96, "lambda_mse": 16.0, "lambda_perception": 0.0,
        "epochs": 8, "steps_per_epoch": 100, "batch_size": 512, "learning_rate": 3e-3, "final_learning_rate": 3e-4,
        "train_analysis": False, "centroid": True, "seed": 0}
LATTICE_TOKENS = {"BW16": "bw16", "Z1": "z", "D16*": "d16s", "Leech": "leech"}


# The shipped deterministic default sits a little below the BW16 ladder's q3, so that whole files (header
# included) stay under 8 kbit/s on the test recordings.
SHIPPED_NONE_STEPS = dict(STEPS, q3=0.22)


def _config(lattice: str, mode: str, point: str, bands: bool, weight: float = 0.0,
            steps: dict[str, float] | None = None) -> dict:
    step = (steps or (BAND_STEPS if bands else STEPS))[point]
    return dict(BASE, source="speech:bands8" if bands else "speech", lattice=lattice, randomness=mode,
                init_scale=round(1.0 / step, 6), lambda_perception=weight)


def plan() -> list[tuple[str, dict]]:
    """(name, config) of every speech model, the shipped ladder first.

    The ladder speech-bw16 (the seed's lattice): the deterministic members with one gain per frame, the dithered
    members with gains per band (dither noise then follows the spectral envelope). speech1g-bw16-*: dithered members
    with one gain per frame, for that comparison. speech-z-*: the same ladder on the cubic lattice (shipped: it
    measured best). speech-{d16s,leech}-*: the rest of the lattice ablation. speech-bw16p300-*: λ2 = 300.
    """
    runs = []
    for point in ["q3", "q1", "q2", "q4", "q5"]:
        runs.append((f"speech-bw16-none-{point}", _config("BW16", "none", point, bands=False)))
        for mode in DITHERED:
            runs.append((f"speech1g-bw16-{mode}-{point}", _config("BW16", mode, point, bands=False)))
    for point in ["q3", "q1", "q2", "q4", "q5"]:
        for mode in DITHERED:
            runs.append((f"speech-bw16-{mode}-{point}", _config("BW16", mode, point, bands=True)))
    for point in ["q3", "q1", "q2", "q4", "q5", "q0"]:  # the cubic lattice, measured the best here; shipped
        runs.append((f"speech-z-none-{point}", _config("Z1", "none", point, bands=False, steps=SHIPPED_NONE_STEPS)))
        for mode in DITHERED:
            runs.append((f"speech-z-{mode}-{point}", _config("Z1", mode, point, bands=True)))
    for lattice in ["D16*", "Leech"]:
        token = LATTICE_TOKENS[lattice]
        for point in ["q2", "q4"]:
            runs.append((f"speech-{token}-none-{point}", _config(lattice, "none", point, bands=False)))
        runs.append((f"speech-{token}-sd-q3", _config(lattice, "sd", "q3", bands=True)))
    for mode in ["none", "pd", "sd"]:
        runs.append((f"speech-bw16p300-{mode}-q3", _config("BW16", mode, "q3", bands=mode != "none", weight=300.0)))
    learned = dict(_config("Z1", "none", "q3", bands=False, steps=SHIPPED_NONE_STEPS), train_analysis=True)
    runs.append(("speech-zlearn-none-q3", learned))  # the analysis scales learned too (MSE-driven allocation)
    return runs


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from trainplan import main

    main("speech", plan, __doc__.splitlines()[0])
