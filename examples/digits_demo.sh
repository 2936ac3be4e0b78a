#!/usr/bin/env bash
# A digit as a tiny file: encode examples/digit7.png with the shipped digits models (each rate point, shared dither
# and deterministic), decode each in a separate process, and print bytes, bits per pixel and PSNR. The decoded
# digits are written side by side to digits_demo.png (original first). Run from the repository root
# (make demo-digits).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ltc=.venv/bin/ltc
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for point in q1 q2 q3; do
    for randomness in sd none; do
        $ltc encode examples/digit7.png -o "$work/$point.$randomness.ltc" --model "digits-bw16-$point" \
            --randomness "$randomness" 2>/dev/null
        $ltc decode "$work/$point.$randomness.ltc" -o "$work/$point.$randomness.png" 2>/dev/null
    done
done
echo "== header of the default stream (digits-bw16-q2, shared dither, compact profile)"
$ltc encode examples/digit7.png -o "$work/default.ltc" 2>/dev/null
$ltc info "$work/default.ltc"
.venv/bin/python - "$work" <<'PY'
import sys
from pathlib import Path

import numpy as np
from PIL import Image

work = Path(sys.argv[1])
original = np.asarray(Image.open("examples/digit7.png"), dtype=np.float64)
print(f"== examples/digit7.png: 784 pixels, PNG {Path('examples/digit7.png').stat().st_size} bytes")
print(f"{'model':>16} {'randomness':>10} {'bytes':>6} {'bits/pixel':>10} {'PSNR dB':>8}")
tiles = [original]
for point in ("q1", "q2", "q3"):
    for randomness in ("sd", "none"):
        size = (work / f"{point}.{randomness}.ltc").stat().st_size
        decoded = np.asarray(Image.open(work / f"{point}.{randomness}.png"), dtype=np.float64)
        psnr = 10 * np.log10(255 ** 2 / np.mean((decoded - original) ** 2))
        print(f"{'digits-bw16-' + point:>16} {randomness:>10} {size:>6} {8 * size / 784:>10.3f} {psnr:>8.2f}")
        tiles.append(decoded)
strip = np.concatenate([np.kron(t, np.ones((4, 4))) for t in tiles], axis=1)
Image.fromarray(strip.clip(0, 255).astype(np.uint8)).save("digits_demo.png")
print("decoded digits side by side (original first): digits_demo.png")
PY
