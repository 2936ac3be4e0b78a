"""Audio framing (MDCT, gains), media files and the version-2 audio header: exact round trips and the errors."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
import soundfile

from ltccodec import media
from ltccodec.errors import UsageError
from ltccodec.format import container
from ltccodec.media import framing


@pytest.mark.parametrize("samples", [1, 95, 96, 97, 1000, 8000])
def test_mdct_reconstructs_exactly(samples, rng):
    x = rng.normal(size=samples)
    c = framing.mdct(x, 96)
    assert c.shape == (framing.Framing().frames_for(samples), 96)
    np.testing.assert_allclose(framing.imdct(c, 96, samples), x, atol=1e-12)


def test_mdct_is_orthonormal_energy_preserving(rng):
    x = rng.normal(size=96 * 50)
    # TDAC with a sine window is an orthogonal lapped transform: energy is kept exactly
    assert np.sum(framing.mdct(x, 96) ** 2) == pytest.approx(np.sum(x**2), rel=1e-12)


def test_vectors_round_trip_and_gain_normalization(rng):
    spec = framing.Framing()
    x = np.concatenate([0.5 * rng.normal(size=4000), 1e-3 * rng.normal(size=4000)])
    vectors, gains = framing.to_vectors(x, spec)
    np.testing.assert_allclose(framing.from_vectors(vectors, gains, spec, len(x)), x, atol=1e-6)
    assert gains.shape == (len(vectors), 1)
    loud, quiet = gains[5, 0], gains[-5, 0]
    assert loud - quiet == pytest.approx(2 * np.log2(500), abs=1.5)  # two steps per octave of RMS
    # exponent ½: a 500× quieter frame is divided by √500 less, so it stays about √500 smaller
    ratio = np.sqrt(np.mean(vectors[5] ** 2) / np.mean(vectors[-5] ** 2))
    assert 12 < ratio < 40


def test_silence_takes_the_lowest_gain():
    spec = framing.Framing()
    _, gains = framing.to_vectors(np.zeros(500), spec)
    assert np.all(gains == spec.gain_min)


def test_gain_deltas_round_trip_and_reject_out_of_range():
    spec = framing.Framing()
    gains = np.array([[spec.gain_min, -10, -3, spec.gain_max, spec.gain_min]]).T
    symbols = framing.gain_deltas(gains, spec)
    assert symbols.min() >= 0 and symbols.max() < 2 * spec.gain_symbols - 1
    np.testing.assert_array_equal(framing.gain_indices_from_deltas(symbols, spec), gains)
    with pytest.raises(ValueError, match="out of range"):
        framing.gain_indices_from_deltas(np.array([[2 * spec.gain_symbols - 2]] * 2), spec)


def test_band_gains_follow_the_spectral_envelope(rng):
    from ltccodec.lab.sources.speech import FRAMINGS

    spec = FRAMINGS["speech:bands8"]
    t = np.arange(8000) / 8000
    x = 0.3 * np.sin(2 * np.pi * 300 * t) + 0.003 * rng.normal(size=len(t))  # a loud tone over faint noise
    vectors, gains = framing.to_vectors(x, spec)
    assert gains.shape == (len(vectors), 8)
    middle = gains[len(gains) // 2]
    assert middle[2] - middle[-1] >= 6  # the tone's band (bins 6-9) is 6 octaves above the top band
    np.testing.assert_allclose(framing.from_vectors(vectors, gains, spec, len(x)), x, atol=1e-6)
    symbols = framing.gain_deltas(gains, spec)
    np.testing.assert_array_equal(framing.gain_indices_from_deltas(symbols, spec), gains)
    pmf = framing.gain_pmf([gains], spec)
    assert pmf.shape == (8, 2 * spec.gain_symbols - 1) and np.allclose(pmf.sum(axis=1), 1.0)


def test_band_edges_must_rise_to_the_hop():
    with pytest.raises(ValueError, match="must rise"):
        framing.Framing(bands=(4, 3, 96))
    with pytest.raises(ValueError, match="must rise"):
        framing.Framing(bands=(4, 90))


@pytest.mark.parametrize("subtype, fmt, tolerance", [
    ("PCM_16", "WAV", 2**-15), ("PCM_24", "WAV", 2**-23), ("FLOAT", "WAV", 0.0), ("PCM_U8", "WAV", 2**-7),
    ("PCM_16", "FLAC", 2**-15), ("PCM_24", "FLAC", 2**-23)])
def test_audio_read_write_keeps_rate_channels_format(subtype, fmt, tolerance, rng):
    x = np.clip(0.3 * rng.normal(size=(441, 2)), -1, 1).astype(np.float32)
    raw = io.BytesIO()
    soundfile.write(raw, x, 44100, subtype=subtype, format=fmt)
    audio = media.read_audio(raw.getvalue(), "x")
    assert (audio.sample_rate, audio.channels, len(audio.samples)) == (44100, 2, 441)
    assert audio.sample_format.name == subtype and audio.file_format.name == fmt
    np.testing.assert_allclose(audio.samples, x, atol=tolerance + 1e-7)
    again = media.read_audio(media.write_audio(audio), "y")
    np.testing.assert_array_equal(again.samples, audio.samples)
    assert again.sample_format == audio.sample_format


@pytest.mark.parametrize("data, fragment", [(b"RIFF\x00\x00\x00\x00WAVEjunk", "nor an audio file"),
                                            (b"hello, this is text", "nor an audio file")])
def test_unreadable_audio_is_a_usage_error(data, fragment):
    with pytest.raises(UsageError, match=fragment):
        media.read_audio(data, "x.wav")


def test_resample_keeps_a_tone(rng):
    t = np.arange(44100) / 44100
    tone = np.sin(2 * np.pi * 440 * t)[:, None].astype(np.float32)
    down = media.resample(tone, 44100, 8000)
    assert abs(len(down) - 8000) <= 1
    expected = np.sin(2 * np.pi * 440 * np.arange(len(down)) / 8000)
    assert np.sqrt(np.mean((down[200:-200, 0] - expected[200:-200]) ** 2)) < 1e-3


def _audio_header(**changes: int) -> container.Header:
    info = container.AudioInfo(44100, 2, 44100, 1, 1, 8000, 8000)
    info = dataclasses.replace(info, **changes)
    vectors = info.channels * info.frames_per_channel(96)
    return container.Header("speech-test", bytes(32), container.CoderCode.BOX, container.ModeCode.NONE, 1, bytes(16),
                            bytes(4), container.Kind.AUDIO, 96, 96, 4096, vectors, audio=info)


def test_audio_header_round_trips():
    header = _audio_header()
    parsed = container.read_header(io.BytesIO(container.pack_header(header)))
    assert parsed == header and parsed.audio.frames_per_channel(96) == 85


@pytest.mark.parametrize("changes, fragment", [
    ({"samples": 88200}, "do not match the sample rates"),
    ({"channels": 65}, "out of range"),
    ({"sample_rate": 10**7}, "out of range"),
])
def test_inconsistent_audio_headers_are_refused(changes, fragment):
    bad = container.pack_header(_audio_header(**changes))
    with pytest.raises(container.FormatError, match=fragment):
        container.read_header(io.BytesIO(bad))


def test_audio_frame_count_must_match_the_length():
    header = dataclasses.replace(_audio_header(), audio=container.AudioInfo(44100, 2, 88200, 1, 1, 8000, 16000))
    with pytest.raises(container.FormatError, match="number of coded frames"):
        container.read_header(io.BytesIO(container.pack_header(header)))
    unknown = dataclasses.replace(_audio_header(), audio=container.AudioInfo(44100, 2, container.UNKNOWN, 1, 1, 8000,
                                                                             container.UNKNOWN))
    with pytest.raises(container.FormatError, match="known only in part"):  # the vector count is still stated
        container.read_header(io.BytesIO(container.pack_header(unknown)))
    streamed = dataclasses.replace(unknown, vectors=container.UNKNOWN)  # as written before the length is known
    assert container.read_header(io.BytesIO(container.pack_header(streamed))) == streamed


@pytest.mark.parametrize("name", ["../../etc/passwd", "/tmp/model", "a" * 200, "bad name", ""])
def test_header_model_names_are_names_not_paths(name):
    header = dataclasses.replace(_audio_header(), model_name=name)
    with pytest.raises(container.FormatError, match="not a valid model name"):
        container.read_header(io.BytesIO(container.pack_header(header)))
