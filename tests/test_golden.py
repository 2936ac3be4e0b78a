"""Golden streams (tests/data/golden): committed .ltc files must decode exactly as recorded, and encoding the
committed input with the recorded nonce must give the same bytes. ``v1/`` keeps the version-1 streams of the
first release and ``compact-v1/`` the compact profile's first version, which must keep decoding. Regenerate
(the current versions only) on purpose:

    LTC_REGENERATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest

from ltccodec import codec, media, registry

from .codec_models import make_audio_model, make_model

GOLDEN = Path(__file__).parent / "data" / "golden"
NONCE = bytes.fromhex("0f1e2d3c4b5a69788796a5b4c3d2e1f0")
CASES = [("golden-e8", m) for m in ("none", "pd", "1bits", "nesting3", "sd")] + [
    ("golden-leech", "sd"), ("golden-leech", "2bits"), ("golden-bw16", "nesting3"), ("golden-z", "pd")] + [
    ("golden-e8a", m) for m in ("none", "nesting3", "sd")] + [  # coder version 0.6: the anchor swap
    ("golden-e8r", m) for m in ("none", "nesting3", "sd")] + [  # coder version 0.7: the rank code
    ("golden-e8x", m) for m in ("none", "nesting3", "sd")]  # coder version 0.8: the distance code
_SOURCES = {"golden-e8": "test-e8", "golden-leech": "test-leech", "golden-bw16": "test-bw16", "golden-z": "test-z",
            "golden-e8a": "test-e8a", "golden-e8r": "test-e8r", "golden-e8x": "test-e8x"}
AUDIO_CASES = [("golden-audio", m) for m in ("none", "sd", "2bits")]
COMPACT_CASES = [("golden-e8", m) for m in ("none", "sd", "nesting3")] + [
    ("golden-e8a", "sd"), ("golden-e8r", "sd"), ("golden-e8x", "sd")]  # the compact profile, first 3 vectors
REGENERATE = os.environ.get("LTC_REGENERATE_GOLDEN") == "1"


def _audio_input() -> media.Audio:
    """0.2 s of stereo 8 kHz 16-bit: a chirp and faint noise."""
    t = np.arange(1600) / 8000
    chirp = 0.4 * np.sin(2 * np.pi * (200 + 4000 * t) * t)
    noise = 0.01 * np.random.default_rng(7).normal(size=len(t))
    samples = np.round(np.stack([chirp, noise], axis=1) * 32767) / 32768
    return media.Audio(samples.astype(np.float32), 8000)


def _input(n: int) -> np.ndarray:
    return np.random.default_rng(2026).normal(size=(200, n)).astype(np.float32)


def _regenerate() -> None:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for golden, source in _SOURCES.items():
        if (GOLDEN / f"{golden}.json").exists():
            continue
        card = make_model(GOLDEN, source, seed=11)
        # store under the golden name: the stream names the model it needs
        for suffix in (".json", ".safetensors"):
            (GOLDEN / f"{source}{suffix}").rename(GOLDEN / f"{golden}{suffix}")
        text = (GOLDEN / f"{golden}.json").read_text().replace(f'"name": "{source}"', f'"name": "{golden}"')
        (GOLDEN / f"{golden}.json").write_text(text)
        x = _input(card.source_dim)
        if golden == "golden-e8x":  # a few vectors far out, beyond both shells: the escape path
            x[::25] *= 4
        np.save(GOLDEN / f"{golden}.input.npy", x)
    if not (GOLDEN / "golden-audio.json").exists():
        make_audio_model(GOLDEN, "golden-audio", seed=11)
        (GOLDEN / "golden-audio.input.wav").write_bytes(media.write_audio(_audio_input()))
    for name, mode in AUDIO_CASES:
        data = _encode_audio(name, mode)
        (GOLDEN / f"{name}.{mode}.ltc").write_bytes(data)
        np.save(GOLDEN / f"{name}.{mode}.out.npy", codec.decode(data, seed=5, dirs=[GOLDEN]))
    for name, mode in COMPACT_CASES:
        data = _encode_compact(name, mode)
        (GOLDEN / f"{name}.{mode}.compact.ltc").write_bytes(data)
        np.save(GOLDEN / f"{name}.{mode}.compact.out.npy", codec.decode(data, seed=5, dirs=[GOLDEN]))
    for name, mode in CASES:
        x = np.load(GOLDEN / f"{name}.input.npy")
        data = codec.encode(x, registry.by_name(name, dirs=[GOLDEN]), mode, nonce=NONCE, frame_vectors=64)
        (GOLDEN / f"{name}.{mode}.ltc").write_bytes(data)
        np.save(GOLDEN / f"{name}.{mode}.out.npy", codec.decode(data, seed=5, dirs=[GOLDEN]))


def _encode_compact(name: str, mode: str) -> bytes:
    out = io.BytesIO()
    codec.encode_to(np.load(GOLDEN / f"{name}.input.npy")[:3], out, registry.by_name(name, dirs=[GOLDEN]), mode,
                    nonce=NONCE, compact=True)
    return out.getvalue()


def _encode_audio(name: str, mode: str) -> bytes:
    audio = media.read_audio((GOLDEN / f"{name}.input.wav").read_bytes(), "golden")
    out = io.BytesIO()
    codec.encode_audio(audio, out, registry.by_name(name, dirs=[GOLDEN]), mode, nonce=NONCE, frame_vectors=16)
    return out.getvalue()


if REGENERATE:
    _regenerate()


@pytest.mark.parametrize("name, mode, version", [
    (n, m, v) for n, m in COMPACT_CASES for v in (1, 2)
    if v == 2 or (GOLDEN / "compact-v1" / f"{n}.{m}.compact.ltc").exists()])
def test_golden_compact_stream_decodes_and_encodes_as_recorded(name, mode, version):
    folder = GOLDEN / "compact-v1" if version == 1 else GOLDEN
    data = (folder / f"{name}.{mode}.compact.ltc").read_bytes()
    assert data[:2] == b"\xc7\x4c" and data[2] & 0x07 == version and len(data) <= 40  # 3 vectors of 8
    expected = np.load(folder / f"{name}.{mode}.compact.out.npy")
    np.testing.assert_allclose(codec.decode(data, seed=5, dirs=[GOLDEN]), expected, rtol=0, atol=1e-5)
    if version == 2:
        assert _encode_compact(name, mode) == data


@pytest.mark.parametrize("name, mode", AUDIO_CASES)
def test_golden_audio_stream_decodes_and_encodes_as_recorded(name, mode):
    data = (GOLDEN / f"{name}.{mode}.ltc").read_bytes()
    assert data[4] == 2 and _encode_audio(name, mode) == data
    result = codec.decode_stream(io.BytesIO(data), seed=5, dirs=[GOLDEN])
    assert result.audio is not None and result.audio.samples.shape == (1600, 2)
    np.testing.assert_allclose(result.audio.samples, np.load(GOLDEN / f"{name}.{mode}.out.npy"), rtol=0, atol=1e-5)


@pytest.mark.parametrize("name, mode, version", [(n, m, v) for n, m in CASES for v in ("v1", "v2")
                                                 if v == "v2" or (GOLDEN / "v1" / f"{n}.{m}.ltc").exists()])
def test_golden_stream_decodes_as_recorded(name, mode, version):
    folder = GOLDEN / "v1" if version == "v1" else GOLDEN
    data = (folder / f"{name}.{mode}.ltc").read_bytes()
    assert data[4] == int(version[1])
    expected = np.load(folder / f"{name}.{mode}.out.npy")
    out = codec.decode(data, seed=5, dirs=[GOLDEN])  # raises if a frame's symbols differ from the record
    assert out.dtype == expected.dtype and out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("name, mode", CASES)
def test_golden_input_encodes_to_the_recorded_bytes(name, mode):
    x = np.load(GOLDEN / f"{name}.input.npy")
    data = codec.encode(x, registry.by_name(name, dirs=[GOLDEN]), mode, nonce=NONCE, frame_vectors=64)
    assert data == (GOLDEN / f"{name}.{mode}.ltc").read_bytes()


@pytest.mark.parametrize("mode", ["none", "sd"])
def test_silence_costs_only_its_gains_and_decodes_to_zeros(mode):
    model = registry.by_name("golden-audio", dirs=[GOLDEN])
    talk = _audio_input().samples
    samples = np.concatenate([np.zeros((8000, 2), np.float32), talk, np.zeros((8000, 2), np.float32)])
    streams = {}
    for name, x in (("silence", np.zeros_like(samples)), ("mixed", samples)):
        out = io.BytesIO()
        codec.encode_audio(media.Audio(x, 8000), out, model, mode, nonce=NONCE)
        streams[name] = out.getvalue()
    # 2402 silent vectors cost their 3 gain symbols each (1.1 bits at this model's p(0) = 0.46) and the header;
    # coding their coefficients too would take kilobytes
    assert len(streams["silence"]) < 2402 * 3 * 1.2 / 8 + 200
    assert len(streams["mixed"]) - len(streams["silence"]) > 1000  # 0.2 s of sound costs more than 2.4 s of silence
    y = codec.decode(streams["mixed"], seed=1, dirs=[GOLDEN])
    assert np.all(y[:7900] == 0) and np.all(y[-7900:] == 0)
    assert np.sqrt(np.mean((y[8000:9600] - talk) ** 2)) < 0.1 * np.sqrt(np.mean(talk**2)) + 0.05
