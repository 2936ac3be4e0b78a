#!/usr/bin/env bash
# The main job on a bundled example: encode a Gaussian array with a shipped model under several randomness
# budgets, decode each in a separate process, and print a summary. Run from the repository root (make demo-gaussian).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ltc=.venv/bin/ltc
# Families: each randomness uses the member trained for it. The shared-dither member at this rate is l2m (tables
# measured on the source; it superseded sd-l2), which also codes 4 bits and more of QSD.
model_for() { if [[ -n "${MODEL:-}" ]]; then echo "$MODEL"; elif [[ $1 == sd || $1 == 4bits ]]; then
    echo gaussian8-e8-l2m; else echo gaussian8-e8-l2; fi; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== models"
$ltc models gaussian8-e8 | grep -E "^gaussian8-e8-[a-z0-9]+-l2m? " || true
for randomness in sd 4bits 1bits pd none; do
    $ltc encode examples/gaussian8.npy -o "$work/x.$randomness.ltc" --model "$(model_for "$randomness")" --randomness "$randomness" 2>/dev/null
    $ltc decode "$work/x.$randomness.ltc" -o "$work/y.$randomness.npy" 2>/dev/null
done
echo "== header of the sd stream"
$ltc info "$work/x.sd.ltc"
echo "== summary: examples/gaussian8.npy (4096 vectors of 8 N(0,1) values), λ1 = 2 models of gaussian8-e8"
.venv/bin/python - "$work" <<'PY'
import sys
from pathlib import Path

import numpy as np

from ltccodec import codec
from ltccodec.lab import theory

work = Path(sys.argv[1])
x = np.load("examples/gaussian8.npy").astype(np.float64)
print(f"{'randomness':>10} {'model used':>24} {'bytes':>6} {'bits/value':>10} {'MSE':>7} {'output var':>10} "
      f"{'R(D,0)':>7} {'R(D/2,inf)':>10}")
for r in ("sd", "4bits", "1bits", "pd", "none"):
    size = (work / f"x.{r}.ltc").stat().st_size
    with open(work / f"x.{r}.ltc", "rb") as handle:
        used = codec.read_info(handle).model_name
    y = np.load(work / f"y.{r}.npy").astype(np.float64)
    mse = float(((x - y) ** 2).mean())
    print(f"{r:>10} {used:>24} {size:6d} {8 * size / x.size:10.4f} {mse:7.4f} {y.var():10.4f} "
          f"{theory.rdp_zero_perception(mse):7.4f} {theory.rate_no_common_randomness(mse):10.4f}")
print("output var near 1.0 = realism (the decoded data has the source's spread); lower is blurrier")
PY
