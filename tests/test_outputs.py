"""What a decode writes: an output name the stream's kind cannot take is one clear error before any work; μ-law and
A-law WAV come back as they came; integer formats are clipped to [-1, 1] and float formats keep their level; a
stream without shared dither decodes under any key (docs/FORMAT.md, keys), one with shared dither only under its own."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from ltccodec import codec, files, keyed, media
from ltccodec.errors import LtcError, UsageError
from ltccodec.format.container import Kind
from ltccodec.runtime import registry

GOLDEN = Path(__file__).parent / "data" / "golden"
LTC = str(Path(sys.executable).parent / "ltc")


@pytest.mark.parametrize("stream, name, fragment", [
    ("speech-z-none-q3.none.audio.ltc", "out.mp3", "holds audio, which ltc writes as .wav"),
    ("digits-bw16-sd-q2.sd.image-compact.ltc", "out.gif", "holds images, which ltc writes as .png"),
    ("gaussian8-e8-none-l2.none.array.ltc", "out.csv", "holds an array, which ltc writes as .npy, not .csv"),
])
def test_an_output_name_the_stream_cannot_take_is_one_error_and_no_file(tmp_path, stream, name, fragment):
    done = subprocess.run([LTC, "decode", str(GOLDEN / stream), "-o", str(tmp_path / name)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode != 0 and done.stderr.strip().count("\n") == 0 and fragment in done.stderr, done.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["out.WAV", "out.flac", "out", "out.npy"])
def test_names_the_kind_can_take_decode(tmp_path, name):
    stats = files.decode_file(str(GOLDEN / "speech-z-none-q3.none.audio.ltc"), str(tmp_path / name))
    assert stats.kind == "audio" and (tmp_path / name).stat().st_size == stats.output_bytes


def _speech(seconds: float = 1.0, peak: float = 0.5) -> np.ndarray:
    t = np.arange(int(8000 * seconds)) / 8000
    tone = np.sin(2 * np.pi * 220 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    return (peak * tone).astype(np.float32)[:, None]


@pytest.mark.parametrize("subtype", ["ULAW", "ALAW"])
def test_mu_law_and_a_law_come_back_as_they_came(tmp_path, subtype):
    soundfile.write(tmp_path / "in.wav", _speech(), 8000, subtype=subtype)
    files.encode_file(str(tmp_path / "in.wav"), str(tmp_path / "x.ltc"))
    files.decode_file(str(tmp_path / "x.ltc"), str(tmp_path / "out.wav"))
    info = soundfile.info(str(tmp_path / "out.wav"))
    assert info.subtype == subtype and info.samplerate == 8000 and info.frames == 8000
    back, _ = soundfile.read(tmp_path / "out.wav", dtype="float32")
    assert np.sqrt(np.mean((back - _speech()[:, 0]) ** 2)) < 0.1 * np.sqrt(np.mean(_speech() ** 2))


def test_integer_output_is_clipped_and_float_output_keeps_its_level():
    """A float input above full scale keeps its level through the codec (it is not clipped); the same signal as
    16-bit PCM is written inside [-1, 1]."""
    loud = np.clip(_speech(peak=1.0) * 1.6, -1.5, 1.5)
    decoded = {}
    for fmt in (media.SampleFormat.FLOAT, media.SampleFormat.PCM_16):
        out = io.BytesIO()
        codec.encode_audio(media.Audio(loud, 8000, fmt), out, "speech-z-none-q3", "none", nonce=bytes(16))
        audio = codec.decode_stream(io.BytesIO(out.getvalue()), seed=0).audio
        written, _ = soundfile.read(io.BytesIO(media.write_audio(audio)), dtype="float32")
        decoded[fmt] = written
    assert np.abs(decoded[media.SampleFormat.FLOAT]).max() > 1.3  # the level is kept
    assert np.abs(decoded[media.SampleFormat.PCM_16]).max() <= 1.0


def test_only_shared_dither_needs_the_key():
    loaded = registry.by_name("gaussian8-e8-none-l2")
    x = np.random.default_rng(3).normal(size=(300, 8)).astype(np.float32)
    other = keyed.Key.from_material(b"another key", "test")
    for mode in ("none", "pd"):
        name = "gaussian8-e8-none-l2" if mode == "none" else "gaussian8-e8-pd-l2"
        data = codec.encode(x, name, mode, nonce=bytes(16))
        np.testing.assert_array_equal(codec.decode(data, key=other, seed=1), codec.decode(data, seed=1))
    shared = codec.encode(x, registry.by_name("gaussian8-e8-sd-l2m"), "sd", nonce=bytes(16))
    with pytest.raises(LtcError, match="wrong key"):
        codec.decode(shared, key=other)
    assert loaded.card.coder == "box"
    with pytest.raises(UsageError):
        files.check_output_name("x.mp3", Kind.AUDIO)
