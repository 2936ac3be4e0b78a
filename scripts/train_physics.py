"""Train the physics models: writes one JSON config per model into configs/physics/ and runs `ltc train` on each
(two at a time, one torch thread each), logging to runs/physics/logs/. Rerunning skips finished models and resumes
interrupted ones. Make the events first: `ltc data physics` (needs pythia8mc).

    .venv/bin/python scripts/train_physics.py [--only NAME_SUBSTRING] [--jobs 2] [--out runs/physics/models]

The seed's setup for its 16-dimensional particle-physics data: MLP transforms (depth 3, width 100, softplus) to a
latent of 8, sliced W2² as the perception term (λ2 = 100, as for the Gaussian models), rate points q1 < q2 < q3 < q4 set
by λ1 (the MSE weight on standardized features). Lattices: E8 (every randomness budget), Z8 and D4² (sd, none).
"""

from __future__ import annotations

import sys
from pathlib import Path

LAMBDA_MSE = {"q1": 0.5, "q2": 2.0, "q3": 8.0, "q4": 32.0}
BASE = {"source": "physics", "transform": "mlp", "latent": 8, "perception": "sw2", "lambda_perception": 100.0,
        "epochs": 10, "steps_per_epoch": 300, "batch_size": 1024, "learning_rate": 1e-2,
        "final_learning_rate": 1e-3, "test_size": 2000, "seed": 0}
LATTICES = {"E8": ("e8", ["sd", "none", "pd", "1bits", "nesting3"]), "Z1": ("z", ["sd", "none"]),
            "D4": ("d4", ["sd", "none"])}


def plan() -> list[tuple[str, dict]]:
    from trainplan import grid

    return grid("physics", BASE, LATTICES, LAMBDA_MSE)  # E8 first: the shipped family


sys.path.insert(0, str(Path(__file__).resolve().parent))

if __name__ == "__main__":
    from trainplan import main

    main("physics", plan, __doc__.splitlines()[0])
