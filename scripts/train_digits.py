"""Train the digits models: writes one JSON config per model into configs/digits/ and runs `ltc train` on each
(two at a time, one torch thread each), logging to runs/digits/logs/. Rerunning skips finished models and resumes
interrupted ones. Prepare the data first: `ltc data digits`.

    .venv/bin/python scripts/train_digits.py [--only NAME_SUBSTRING] [--jobs 2] [--out runs/digits/models]

Convolutional transforms of 28×28 digits to a latent of 8 (the seed's n_L = 8), a WGAN-GP critic as the perception
term (λ2 = 0.05), rate points q1 < q2 < q3 set by λ1 (the MSE weight). Lattices: E8 (every randomness budget),
Z8 and D4² (sd, none). The default image family: latent 16 with BW16 (every budget), λ1 = 2/5/15.
"""

from __future__ import annotations

import sys
from pathlib import Path

LAMBDA_MSE = {"q1": 3.0, "q2": 10.0, "q3": 30.0}
BASE = {"source": "digits", "transform": "conv28", "latent": 8, "channels": 16, "perception": "critic",
        "lambda_perception": 0.05, "critic_steps": 2, "epochs": 4, "steps_per_epoch": 500, "batch_size": 64,
        "learning_rate": 2e-3, "final_learning_rate": 3e-4, "test_size": 1000, "seed": 0}
LATTICES = {"E8": ("e8", ["sd", "none", "pd", "1bits", "nesting3"]), "Z1": ("z", ["sd", "none"]),
            "D4": ("d4", ["sd", "none"])}
# Latent 16 with Barnes-Wall: a latent of 8 saturates at ~39 bits per digit (docs/results.md), too few for digits a
# classifier still reads; these points span 40-60 bits, the payload a 19-byte compact file leaves.
WIDE = {"BW16": ("bw16", ["sd", "none", "pd", "1bits", "nesting3"])}
WIDE_LAMBDA_MSE = {"q1": 2.0, "q2": 5.0, "q3": 15.0}


def plan() -> list[tuple[str, dict]]:
    from trainplan import grid

    # the default image family first, then E8 (the seed's latent of 8), Z8, D4²
    return grid("digits", dict(BASE, latent=16), WIDE, WIDE_LAMBDA_MSE) + grid("digits", BASE, LATTICES, LAMBDA_MSE)


sys.path.insert(0, str(Path(__file__).resolve().parent))

if __name__ == "__main__":
    from trainplan import main

    main("digits", plan, __doc__.splitlines()[0])
