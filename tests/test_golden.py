"""Golden streams (tests/data/golden): one or more per shipped model family, randomness budget and profile. The
committed .ltc files must decode exactly as recorded, and encoding the committed input with the recorded nonce
must give the same bytes — with the compiled kernels and on the numpy/constriction reference alike. The streams
name shipped models (name and SHA-256): retraining a model means regenerating its goldens, on purpose:

    LTC_REGENERATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest

from ltccodec import codec, media
from ltccodec.format import container
from ltccodec.runtime import registry

from .codec_models import make_audio_model

GOLDEN = Path(__file__).parent / "data" / "golden"
EXAMPLES = Path(__file__).parents[1] / "examples"
NONCE = bytes.fromhex("0f1e2d3c4b5a69788796a5b4c3d2e1f0")
FRAME = 64  # vectors per frame: 200 vectors make three full frames and a short one
# (model, randomness): every lattice, every coder, every randomness budget
ARRAY_CASES = [
    ("gaussian8-e8-none-l2", "none"), ("gaussian8-e8-pd-l2", "pd"), ("gaussian8-e8-1bits-l2", "1bits"),
    ("gaussian8-e8-nesting3-l2", "nesting3"), ("gaussian8-e8-sd-l2m", "sd"),  # measured box tables
    ("gaussian8-e8-sd-x1.3", "sd"), ("gaussian8-e8-sd-l0.5x", "sd"),  # the distance code, one and two shells
    ("gaussian16-bw16-nesting3-l2", "nesting3"), ("gaussian24-leech-sd-l2", "sd"), ("gaussian8-z1-pd-l2", "pd"),
    ("physics-e8-sd-q2", "sd"), ("physics-e8-none-q4", "none"),
]
COMPACT_CASES = [("gaussian8-e8-none-l2", "none"), ("gaussian8-e8-nesting3-l2", "nesting3"),
                 ("gaussian8-e8-sd-x1.3", "sd")]  # the compact profile, the first 3 vectors
IMAGE_CASES = [("digits-bw16-sd-q2", "sd", True), ("digits-e8-none-q2", "none", True),
               ("digits-bw16-1bits-q1", "1bits", False)]  # (model, randomness, compact)
AUDIO_CASES = [("speech-z-none-q3", "none"), ("speech-z-sd-q3", "sd"), ("speech-z-sd-q1", "2bits"),
               ("speech-z-pd-q5", "pd")]
AUDIO_COMPACT_CASES = [("speech-z-none-q3", "none"), ("speech-z-sd-q3", "sd")]  # the compact profile's audio
REGENERATE = os.environ.get("LTC_REGENERATE_GOLDEN") == "1"


def _array_input(model: str) -> np.ndarray:
    if model.startswith("physics"):
        return np.load(EXAMPLES / "physics200.npy")
    dim = registry.by_name(model).card.source_dim
    x = np.random.default_rng(2026).normal(size=(200, dim)).astype(np.float32)
    if "-x" in model:  # a few vectors far out, beyond both shells: the distance code's escape to the box code
        x[::25] *= 4
    return x


def _audio_input() -> media.Audio:
    """0.2 s of stereo 8 kHz 16-bit: a chirp and faint noise."""
    t = np.arange(1600) / 8000
    chirp = 0.4 * np.sin(2 * np.pi * (200 + 4000 * t) * t)
    noise = 0.01 * np.random.default_rng(7).normal(size=len(t))
    samples = np.round(np.stack([chirp, noise], axis=1) * 32767) / 32768
    return media.Audio(samples.astype(np.float32), 8000)


def _image_input() -> media.Image:
    """Three 28×28 grayscale images: the bundled 7, its mirror image, and a blank."""
    seven = media.read_image((EXAMPLES / "digit7.png").read_bytes(), "digit7.png").pixels[0]
    return media.Image(np.stack([seven, seven[:, ::-1], np.zeros_like(seven)]), media.ImageFormat.PNG)


def _encode(name: str, mode: str, profile: str) -> bytes:
    out = io.BytesIO()
    model = registry.by_name(name)
    if profile == "audio":
        codec.encode_audio(_audio_input(), out, model, mode, nonce=NONCE, frame_vectors=16)
    elif profile == "audio-compact":
        codec.encode_audio(_audio_input(), out, model, mode, nonce=NONCE, compact=True)
    elif profile in ("image", "image-compact"):
        codec.encode_images(_image_input(), out, model, mode, nonce=NONCE, frame_vectors=2,
                            compact=profile == "image-compact")
    else:
        x = _array_input(name)
        codec.encode_to(x[:3] if profile == "compact" else x, out, model, mode, nonce=NONCE, frame_vectors=FRAME,
                        compact=profile == "compact")
    return out.getvalue()


CASES = [(n, m, "array") for n, m in ARRAY_CASES] + [(n, m, "compact") for n, m in COMPACT_CASES] + [
    (n, m, "image-compact" if c else "image") for n, m, c in IMAGE_CASES] + [
    (n, m, "audio") for n, m in AUDIO_CASES] + [(n, m, "audio-compact") for n, m in AUDIO_COMPACT_CASES]


def _stem(name: str, mode: str, profile: str) -> Path:
    return GOLDEN / f"{name}.{mode}.{profile}"


if REGENERATE:
    for case in CASES:
        data = _encode(*case)
        _stem(*case).with_suffix(_stem(*case).suffix + ".ltc").write_bytes(data)
        np.save(str(_stem(*case)) + ".out.npy", codec.decode(data, seed=5))


def _recorded(name: str, mode: str, profile: str) -> tuple[bytes, np.ndarray]:
    stem = str(_stem(name, mode, profile))
    return Path(stem + ".ltc").read_bytes(), np.load(stem + ".out.npy")


@pytest.mark.parametrize("name, mode, profile", CASES)
def test_golden_stream_decodes_and_encodes_as_recorded(name, mode, profile, kernels_mode):
    data, expected = _recorded(name, mode, profile)
    if profile in ("compact", "image-compact", "audio-compact"):
        assert data[:2] == b"\xc7\x4c" and data[2] & 0x07 == 1
    else:
        assert data[:4] == container.MAGIC and data[4] == container.VERSION
    out = codec.decode(data, seed=5)  # raises if a frame's symbols differ from the encoder's record
    assert out.dtype == expected.dtype and out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-5)
    assert _encode(name, mode, profile) == data


def test_goldens_cover_every_shipped_family_and_coder():
    names = {n for n, _, _ in CASES}
    cards = {c.name: c for c in registry.list_models()}
    assert {cards[n].coder for n in names} == {"box", "distance"}
    families = {c.name.split("-")[0] + "-" + c.lattice for c in cards.values()}
    covered = {cards[n].name.split("-")[0] + "-" + cards[n].lattice for n in names}
    assert covered == families
    assert {m for _, m, _ in CASES} >= {"none", "pd", "1bits", "2bits", "nesting3", "sd"}


def test_a_newer_format_version_is_refused_with_a_clear_error():
    data = bytearray(_recorded("gaussian8-e8-none-l2", "none", "array")[0])
    data[4] = container.VERSION + 1
    with pytest.raises(container.FormatError, match="written by a newer ltc"):
        codec.decode(bytes(data))
    compact = bytearray(_recorded("gaussian8-e8-none-l2", "none", "compact")[0])
    compact[2] = compact[2] & 0xF8 | 2
    with pytest.raises(container.FormatError, match="written by a newer ltc"):
        codec.decode(bytes(compact))


@pytest.fixture(scope="module")
def audio_model(tmp_path_factory: pytest.TempPathFactory) -> registry.LoadedModel:
    """A small audio model whose framing declares silence (the shipped speech models do not)."""
    folder = tmp_path_factory.mktemp("audio-model")
    make_audio_model(folder, "silence-audio", seed=11)
    return registry.by_name("silence-audio", dirs=[folder])


@pytest.mark.parametrize("mode", ["none", "sd"])
def test_silence_costs_only_its_gains_and_decodes_to_zeros(mode, audio_model):
    talk = _audio_input().samples
    samples = np.concatenate([np.zeros((8000, 2), np.float32), talk, np.zeros((8000, 2), np.float32)])
    streams = {}
    for name, x in (("silence", np.zeros_like(samples)), ("mixed", samples)):
        out = io.BytesIO()
        codec.encode_audio(media.Audio(x, 8000), out, audio_model, mode, nonce=NONCE)
        streams[name] = out.getvalue()
    # 2402 silent vectors cost their 3 gain symbols each (1.1 bits at this model's p(0) = 0.46) and the header;
    # coding their coefficients too would take kilobytes
    assert len(streams["silence"]) < 2402 * 3 * 1.2 / 8 + 250
    assert len(streams["mixed"]) - len(streams["silence"]) > 1000  # 0.2 s of sound costs more than 2.4 s of silence
    reader = codec.open_stream(io.BytesIO(streams["mixed"]), model=audio_model)
    y = reader.decode(seed=1).audio.samples
    assert np.all(y[:7900] == 0) and np.all(y[-7900:] == 0)
    assert np.sqrt(np.mean((y[8000:9600] - talk) ** 2)) < 0.1 * np.sqrt(np.mean(talk**2)) + 0.05
