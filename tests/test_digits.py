"""The shipped digits models on 20 real test digits (tests/data/digits20.npz, two per class, from the test split):
each digit its own compact file, rate and distortion inside the bands measured when the models were shipped, and
the user's command on examples/digit7.png in separate processes."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ltccodec import codec, media
from ltccodec.runtime import registry

DATA = Path(__file__).parent / "data" / "digits20.npz"
EXAMPLE = Path(__file__).parent.parent / "examples" / "digit7.png"
LTC = str(Path(sys.executable).parent / "ltc")
NONCE = bytes(16)
# model: (mean whole-file bytes per digit, mean squared error of the pixels in [0, 1]) measured with `_code`
BANDS = {"digits-e8-sd-q1": (16.15, 0.03907), "digits-e8-none-q1": (13.2, 0.03613), "digits-e8-sd-q2": (16.9, 0.02869),
         "digits-e8-nesting3-q2": (17.6, 0.02866), "digits-e8-pd-q2": (13.95, 0.02902),
         "digits-e8-1bits-q3": (18.05, 0.02656),
         "digits-bw16-sd-q1": (16.9, 0.03245), "digits-bw16-sd-q2": (18.55, 0.02058),
         "digits-bw16-none-q2": (15.3, 0.02190), "digits-bw16-pd-q3": (17.4, 0.01652),
         "digits-bw16-nesting3-q2": (19.55, 0.02185), "digits-bw16-1bits-q1": (17.9, 0.03026)}


def _code(name: str) -> tuple[float, float]:
    loaded = registry.by_name(name)
    with np.load(DATA) as data:
        images = data["images"]
    sizes, errors = [], []
    for i, pixels in enumerate(images):
        out = io.BytesIO()
        codec.encode_images(media.Image(pixels[None, :, :, None]), out, loaded, registry.trained_for(loaded.card),
                            nonce=NONCE[:15] + bytes([i]))
        decoded = codec.open_stream(io.BytesIO(out.getvalue()), model=loaded).decode(seed=i).image
        sizes.append(len(out.getvalue()))
        errors.append(np.mean((decoded.pixels[0, :, :, 0] / 255.0 - pixels / 255.0) ** 2))
    return float(np.mean(sizes)), float(np.mean(errors))


@pytest.mark.parametrize("name", sorted(BANDS))
def test_shipped_digits_models_inside_their_bands(name):
    size, mse = _code(name)
    expected_size, expected_mse = BANDS[name]
    assert size == pytest.approx(expected_size, abs=0.5)
    assert mse == pytest.approx(expected_mse, rel=0.05)


def test_one_digit_is_a_tiny_file_in_two_processes(tmp_path):
    done = subprocess.run([LTC, "encode", str(EXAMPLE), "-o", str(tmp_path / "d.ltc")], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "digits-bw16-sd-q2" in done.stderr  # the default: ≥ 90 % classifier agreement at ≤ 19 bytes
    assert (tmp_path / "d.ltc").stat().st_size <= 19  # ≤ 0.2 bits per pixel, whole file
    done = subprocess.run([LTC, "decode", str(tmp_path / "d.ltc"), "-o", str(tmp_path / "d.png")], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    original = np.asarray(Image.open(EXAMPLE), dtype=np.float64) / 255
    decoded = np.asarray(Image.open(tmp_path / "d.png"), dtype=np.float64) / 255
    assert decoded.shape == (28, 28) and np.mean((decoded - original) ** 2) < 0.08
