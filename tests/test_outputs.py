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
from ltccodec.format import container
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


@pytest.mark.parametrize("frames, channels, span", [(10, 2, 3), (7, 1, 7), (1, 3, 4), (9, 4, 9)])
def test_time_spans_of_every_channel_and_back(frames, channels, span):
    from ltccodec.media import framing

    per_channel = [np.arange(frames)[:, None] * 10 + c for c in range(channels)]
    stacked = framing.by_time(per_channel, span)
    assert stacked[:span * channels, 0].tolist() == [f * 10 + c for c in range(channels)
                                                     for f in range(min(span, frames))]
    for back, original in zip(framing.by_channel(stacked, channels, span), per_channel, strict=True):
        np.testing.assert_array_equal(back, original)


def test_a_stereo_stream_keeps_its_channels_apart_and_each_record_covers_both():
    """Each frame record holds one stretch of time of every channel (FORMAT.md): with 16 vectors a record, 8 MDCT
    frames of each of the two channels; the channels come back in their order."""
    t = np.arange(16000) / 8000
    left = 0.4 * np.sin(2 * np.pi * 300 * t)
    right = 0.2 * np.sin(2 * np.pi * 1100 * t)
    audio = media.Audio(np.stack([left, right], axis=1).astype(np.float32), 8000)
    out = io.BytesIO()
    header = codec.encode_audio(audio, out, "speech-z-none-q3", "none", nonce=bytes(16), frame_vectors=16,
                                compact=False)
    assert header.frame_vectors == 16 and header.vectors == 2 * (-(-16000 // 96) + 1)
    back = codec.decode(out.getvalue())
    for c, signal in enumerate((left, right)):
        error = back[:, c] - signal
        assert np.sqrt(np.mean(error**2)) < 0.2 * np.sqrt(np.mean(signal**2)), c
    odd = io.BytesIO()
    codec.encode_audio(audio, odd, "speech-z-none-q3", "none", nonce=bytes(16), frame_vectors=17, compact=False)
    assert container.read_header(io.BytesIO(odd.getvalue())).frame_vectors == 16  # whole spans of both channels
