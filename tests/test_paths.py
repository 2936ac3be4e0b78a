"""The compiled kernels and the numpy/constriction reference write the same bytes: a few small streams from each
shipped model family (the E8 models with the distance code and with the box code, BW16, Leech, Z1, digits, physics,
speech), encoded with a fixed key and nonce under ``LTC_KERNELS=1`` and ``LTC_KERNELS=0``, must be identical, and
each must decode to the same values either way. The golden tests pin the bytes; this pins that both paths agree on
the models users get."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from ltccodec import codec, kernels, keyed, media
from ltccodec.runtime import registry

pytestmark = pytest.mark.skipif(not kernels.built(), reason="the compiled kernels are not built in this install")

ROOT = Path(__file__).resolve().parent.parent
KEY = keyed.Key.from_material(b"tests/test_paths.py", "test")
NONCE = bytes.fromhex("5a17c0de00112233445566778899aabb")
ARRAYS = {  # shipped model: vectors of its input (a few far out, for the escape paths)
    "gaussian8-e8-sd-x1.3": 160, "gaussian8-e8-sd-l2m": 160, "gaussian8-e8-1bits-l2": 100,
    "gaussian8-e8-nesting3-l0.5": 100, "gaussian8-z1-pd-l2": 100, "gaussian16-bw16-sd-l2": 80,
    "gaussian16-bw16-nesting3-l8": 80, "gaussian24-leech-sd-l2": 60, "gaussian24-leech-pd-l0.5": 60,
}
PHYSICS = ["physics-e8-sd-q2", "physics-e8-none-q4"]
DIGITS = ["digits-e8-sd-q2", "digits-bw16-sd-q2", "digits-bw16-1bits-q1"]
SPEECH = ["speech-z-sd-q2", "speech-z-none-q4", "speech-z-nesting3-q0"]


def _array(name: str, loaded: registry.LoadedModel) -> np.ndarray:
    rng = np.random.default_rng(sum(map(ord, name)))
    if name.startswith("physics"):
        return np.load(ROOT / "examples" / "physics200.npy")[:50]
    x = rng.normal(size=(ARRAYS[name], loaded.card.source_dim)).astype(np.float32)
    x[::9] *= 4  # beyond the shells: the escape words
    return x


def _encode(name: str) -> bytes:
    loaded = registry.by_name(name)
    randomness = registry.trained_for(loaded.card)
    out = io.BytesIO()
    if name.startswith("digits"):
        with np.load(ROOT / "tests" / "data" / "digits20.npz") as data:
            pixels = data["images"][:2]
        codec.encode_images(media.Image(pixels[:, :, :, None]), out, loaded, randomness, key=KEY, nonce=NONCE)
    elif name.startswith("speech"):
        samples = media.read_audio((ROOT / "examples" / "speech.wav").read_bytes(), "speech.wav").samples
        audio = media.Audio(samples[8000:10400], 8000)  # 0.3 s, mid-word
        codec.encode_audio(audio, out, loaded, randomness, key=KEY, nonce=NONCE, frame_vectors=16)
    else:
        codec.encode_to(_array(name, loaded), out, loaded, randomness, key=KEY, nonce=NONCE, frame_vectors=64)
    return out.getvalue()


def _both(monkeypatch: pytest.MonkeyPatch, fn):
    """``fn()`` with the kernels, then on the reference path."""
    results = []
    for setting in ("1", "0"):
        monkeypatch.setenv("LTC_KERNELS", setting)
        assert (kernels.active() is not None) == (setting == "1")
        results.append(fn())
    monkeypatch.delenv("LTC_KERNELS")
    return results


def _difference(fast: bytes, reference: bytes) -> str:
    shorter = min(len(fast), len(reference))
    at = next((i for i in range(shorter) if fast[i] != reference[i]), shorter)
    return f"the kernels wrote {len(fast)} bytes, the reference {len(reference)}; they differ from byte {at}"


@pytest.mark.parametrize("name", [*ARRAYS, *PHYSICS, *DIGITS, *SPEECH])
def test_kernels_and_reference_write_the_same_bytes_and_decode_alike(monkeypatch: pytest.MonkeyPatch, name: str):
    fast, reference = _both(monkeypatch, lambda: _encode(name))
    assert fast == reference, _difference(fast, reference)
    out_fast, out_reference = _both(monkeypatch, lambda: codec.decode(fast, key=KEY, seed=3))
    assert out_fast.dtype == out_reference.dtype and out_fast.shape == out_reference.shape
    np.testing.assert_array_equal(out_fast, out_reference)
    assert out_fast.size > 0
