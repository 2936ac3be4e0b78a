#!/usr/bin/env bash
# The main job on the bundled clip: encode examples/speech.wav, decode it in a separate process, and print the
# rate, the quality and the time. Run from the repository root (make demo). RANDOMNESS=4bits for shared dither.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ltc=.venv/bin/ltc
randomness=${RANDOMNESS:-none}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

start=$(date +%s.%N)
$ltc encode examples/speech.wav -o "$work/speech.ltc" --randomness "$randomness"
middle=$(date +%s.%N)
$ltc decode "$work/speech.ltc" -o "$work/speech.out.wav"
end=$(date +%s.%N)
echo "== header"
$ltc info "$work/speech.ltc"
echo "== summary"
.venv/bin/python - "$work" "$start" "$middle" "$end" <<'PY'
import sys
from pathlib import Path

import numpy as np
import soundfile

from ltccodec.lab.bench.speech import pesq_nb

work, start, middle, end = Path(sys.argv[1]), *map(float, sys.argv[2:])
x, rate = soundfile.read("examples/speech.wav")
y, _ = soundfile.read(work / "speech.out.wav")
seconds = len(x) / rate
size = (work / "speech.ltc").stat().st_size
snr = 10 * np.log10(np.sum(x**2) / np.sum((x - y) ** 2))
pesq = pesq_nb(x, y, rate)
print(f"examples/speech.wav: {seconds:.2f} s at {rate} Hz -> {size} bytes = {8 * size / seconds / 1000:.2f} kbit/s "
      f"(16-bit PCM: {rate * 16 / 1000:.0f} kbit/s)")
print(f"SNR {snr:.2f} dB, PESQ-NB {pesq if pesq is None else round(pesq, 2)}")
print(f"encode {middle - start:.2f} s, decode {end - middle:.2f} s (whole processes, "
      f"{seconds / (middle - start):.0f}x / {seconds / (end - middle):.0f}x real time)")
PY
