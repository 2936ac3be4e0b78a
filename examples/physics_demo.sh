#!/usr/bin/env bash
# Particle-physics events as a stream: encode examples/physics200.npy (200 Pythia pp -> Z -> e+e- test events, 16
# standardized features each) with the shipped physics models (each rate point, shared dither and deterministic) in
# the compact profile (one frame, a 12-byte header), decode each in a separate process, and print bits per event,
# MSE and the Z peak (median and interquartile range of the e+e- mass, in GeV, through the scaling on the model's
# card). Run from the repository root (make demo-physics).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ltc=.venv/bin/ltc
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for point in q1 q2 q3 q4; do
    for randomness in sd none; do
        $ltc encode examples/physics200.npy -o "$work/$point.$randomness.ltc" --model "physics-e8-$point" \
            --randomness "$randomness" --compact 2>/dev/null
        $ltc decode "$work/$point.$randomness.ltc" -o "$work/$point.$randomness.npy" 2>/dev/null
    done
done
.venv/bin/python - "$work" <<'PY'
import sys
from pathlib import Path

import numpy as np

from ltccodec.runtime import registry
from ltccodec.lab.sources import physics

work = Path(sys.argv[1])
real = np.load("examples/physics200.npy")
scaling = physics.Scaling.of_card(registry.by_name("physics-e8-sd-q1").card)


def peak(values):
    q1, median, q3 = np.percentile(scaling.unstandardize(values)[:, physics.MASS], [25, 50, 75])
    return f"{median:6.2f} {q3 - q1:6.2f}"


print(f"== examples/physics200.npy: {len(real)} events × 16 features; e+e- mass median, IQR (GeV): {peak(real)}")
print(f"{'model':>13} {'randomness':>10} {'bytes':>6} {'bits/event':>10} {'MSE':>7} {'median':>6} {'IQR':>6}")
for point in ("q1", "q2", "q3", "q4"):
    for randomness in ("sd", "none"):
        size = (work / f"{point}.{randomness}.ltc").stat().st_size
        decoded = np.load(work / f"{point}.{randomness}.npy")
        mse = float(np.mean((decoded - real) ** 2))
        print(f"{'physics-e8-' + point:>13} {randomness:>10} {size:>6} {8 * size / len(real):>10.1f} {mse:>7.4f} "
              f"{peak(decoded)}")
PY
