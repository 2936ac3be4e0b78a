"""The speech benchmark's metrics and byte counting (`ltccodec.lab.bench.speech`), on synthetic signals: no trained
model, no recordings."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal
import soundfile

from ltccodec.lab.bench import speech as bench

RATE = 8000


def speech_like(seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    """A voiced, syllable-modulated signal PESQ and STOI accept as speech: a pulse train at ~120 Hz through three
    formant resonators, gated at 2.5 Hz."""
    rng = np.random.default_rng(seed)
    n = round(seconds * RATE)
    t = np.arange(n) / RATE
    phase = np.cumsum(120 + 20 * np.sin(2 * np.pi * 0.7 * t)) / RATE
    x = (np.diff(np.floor(phase), prepend=0) > 0).astype(np.float64) + 0.02 * rng.normal(size=n)
    for centre, bandwidth in ((700, 80), (1200, 100), (2600, 150)):
        r = np.exp(-np.pi * bandwidth / RATE)
        x = scipy.signal.lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * centre / RATE), r * r], x)
    x *= np.sqrt(np.clip(np.sin(2 * np.pi * 2.5 * t), 0, None))
    return 0.3 * x / np.abs(x).max()


def test_align_recovers_a_late_decoded_signal() -> None:
    x = np.random.default_rng(1).normal(size=4000)
    late = np.concatenate([np.zeros(37), x])[:4000]
    pair = bench.align(x, late, max_lag=200)
    assert pair.lag == 37
    assert pair.reference.size == pair.decoded.size == 4000 - 37
    np.testing.assert_array_equal(pair.reference, x[:4000 - 37])
    np.testing.assert_array_equal(pair.decoded, x[:4000 - 37])


def test_align_recovers_an_early_decoded_signal() -> None:
    x = np.random.default_rng(2).normal(size=4000)
    early = x[37:] + 0.01 * np.random.default_rng(3).normal(size=4000 - 37)
    pair = bench.align(x, early, max_lag=200)
    assert pair.lag == -37
    np.testing.assert_array_equal(pair.reference, x[37:])
    assert bench.snr_db(pair.reference, pair.decoded) > 30


def test_align_only_searches_within_max_lag() -> None:
    x = np.random.default_rng(4).normal(size=4000)
    late = np.concatenate([np.zeros(300), x])
    assert bench.align(x, late, max_lag=400).lag == 300
    assert abs(bench.align(x, late, max_lag=100).lag) <= 100


def test_snr_at_a_known_noise_power() -> None:
    n = 80_000
    x = 0.5 * np.sin(2 * np.pi * 400 * np.arange(n) / RATE)  # power 0.125 over whole periods
    noise = 0.05 * np.random.default_rng(5).normal(size=n)  # power 0.0025
    assert bench.snr_db(x, x + noise) == pytest.approx(10 * math.log10(0.125 / 0.0025), abs=0.1)
    assert bench.snr_db(x, x) == math.inf
    with pytest.raises(ValueError):
        bench.snr_db(x, x[:-1])


def test_segmental_snr_clamps_each_frame_and_skips_silence() -> None:
    frame = RATE * 20 // 1000
    tone = 0.5 * np.sin(2 * np.pi * 400 * np.arange(frame) / RATE)
    reference = np.concatenate([tone, tone, tone, np.zeros(frame)])
    decoded = np.concatenate([
        tone,  # exact: +inf dB, clamped to 35
        tone + 10 * tone,  # error 10× the signal: -20 dB, clamped to -10
        0.9 * tone,  # error 0.1× the signal: 20 dB, kept as is
        np.random.default_rng(6).normal(size=frame),  # silent in the reference: left out
    ])
    assert bench.segmental_snr_db(reference, decoded, RATE) == pytest.approx((35 - 10 + 20) / 3, abs=1e-9)
    # without the silent frame and with one frame only
    assert bench.segmental_snr_db(tone, 0.9 * tone, RATE) == pytest.approx(20.0, abs=1e-9)


def test_quality_of_identical_signals() -> None:
    x = speech_like()
    score = bench.quality(x, x, RATE)
    assert score.snr == math.inf
    assert score.segsnr == pytest.approx(35.0)
    assert score.stoi is not None and score.stoi > 0.99


def test_pesq_of_identical_signals() -> None:
    pytest.importorskip("pesq", reason="the pesq package is not installed")
    x = speech_like()
    score = bench.quality(x, x, RATE)
    assert score.pesq is not None and score.pesq > 4.4


def test_quality_aligns_before_scoring() -> None:
    x = speech_like(seconds=1.0)
    late = np.concatenate([np.zeros(37), x])
    assert bench.quality(x, late, RATE).snr == math.inf


def test_gsm610_round_trip_rate(tmp_path) -> None:
    if "GSM610" not in soundfile.available_subtypes("WAV"):
        pytest.skip("this libsndfile has no GSM 6.10 WAV subtype")
    peer = bench.SoundfilePeer("GSM 6.10", "GSM610")
    assert peer.missing() is None
    x = speech_like(seconds=1.0)
    wav = bench.write_clips([x], tmp_path)[0]
    coded = peer.code(wav, tmp_path)
    kbps = 8 * coded.payload_bytes / 1.0 / 1000
    assert 13.0 <= kbps <= 13.4
    assert coded.payload_bytes < len(coded.data)  # the WAV header is not payload
    assert coded.decoded.size >= x.size
    assert bench.quality(x, coded.decoded, RATE).segsnr > 10  # a real round trip, not noise


def test_ogg_packet_sizes_follow_lacing_across_pages() -> None:
    def page(lacing: list[int], continued: bool = False) -> bytes:
        header = b"OggS" + bytes([0, 1 if continued else 0]) + bytes(20) + bytes([len(lacing)])
        return header + bytes(lacing) + bytes(sum(lacing))

    data = page([19]) + page([255, 10, 255]) + page([3], continued=True)
    assert bench.ogg_packet_sizes(data) == [19, 265, 258]


def test_missing_tools_are_reported() -> None:
    assert bench.SoundfilePeer("none", "NO_SUCH_SUBTYPE").missing() is not None
    assert bench._missing_tools("ltc-no-such-tool") is not None


def test_format_table_lists_every_row() -> None:
    rows = [bench.Row("Opus NB", "8 kbit/s VBR", 2, 3.0, 9.5, 7.5, 11.3, 11.9, 3.89, 0.96),
            bench.Row("Codec2", "3200", 2, 3.0, 3.2, 3.2, 0.5, -1.0, None, None, "note")]
    table = bench.format_table(rows).splitlines()
    assert len(table) == 4
    assert "| 3.89 |" in table[2] and "| – |" in table[3]
