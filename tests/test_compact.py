"""The compact profile: tiny streams for tiny items — its size, that it decodes as the full format does, and that
every damaged byte, a wrong key, an unknown or ambiguous model id end in one clear error."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest

from ltccodec import codec
from ltccodec.errors import LtcError
from ltccodec.format import compact, container
from ltccodec.runtime import registry

from .codec_models import make_image_model, make_model

NONCE = bytes(range(16))


def _compact(x: np.ndarray, model: str, mode: str, dirs=None, nonce: bytes = NONCE) -> bytes:
    out = io.BytesIO()
    loaded = registry.by_name(model, dirs=dirs)
    codec.encode_to(x, out, loaded, mode, nonce=nonce, compact=True)
    return out.getvalue()


@pytest.mark.parametrize("mode, header", [("none", 9), ("pd", 9), ("sd", 12), ("nesting3", 13)])
def test_one_vector_costs_about_its_information_and_nine_to_thirteen_bytes(mode, header):
    rng = np.random.default_rng(0)
    model = registry.by_name(f"gaussian8-e8-{mode}-l0.5" + ("x" if mode == "sd" else ""))
    bodies = []
    for _ in range(40):
        x = rng.normal(size=(1, 8)).astype(np.float32)
        out = io.BytesIO()
        codec.encode_to(x, out, model, mode, nonce=NONCE, compact=True)
        data = out.getvalue()
        bodies.append(len(data) - header)  # magic 2, flags 1, model id 2, [nesting 1], [nonce 3], seal 4
        frame = full_frame(codec.encode(x, model, mode, nonce=NONCE))
        assert 1 <= bodies[-1] <= 2 < len(frame.payload) and len(data) < len(frame.payload) + header
        # the payload is as short as it can be: one byte less (resealed) no longer decodes to the coded symbols
        if bodies[-1] > 1:
            with pytest.raises(LtcError, match="checksum"):
                codec.decode(_resealed(data[:-5] + data[-4:], frame.symbols))
    # these vectors carry 4-8 bits of lattice symbols (l0.5): one byte each, sometimes two (measured 1.02-1.19)
    assert np.mean(bodies) <= 1.3


def _resealed(data: bytes, symbols: int) -> bytes:
    """A compact stream with its seal recomputed over what it now holds (the seal is over header, payload and the
    coded symbols' check): a shorter end that happens to decode would pass."""
    import struct
    import zlib

    body_end = len(data) - 4
    seal = zlib.crc32(struct.pack("<I", symbols), zlib.crc32(data[:body_end]))
    return data[:body_end] + struct.pack("<I", seal)


def full_frame(full: bytes) -> container.Frame:
    """The first frame record of a full stream."""
    stream = io.BytesIO(full)
    return next(container.read_frames(stream, container.read_header(stream)))


def test_deterministic_compact_decodes_to_what_the_full_stream_decodes_to():
    x = np.random.default_rng(1).normal(size=(3, 5, 8))
    data = _compact(x, "gaussian8-e8-none-l2", "none")
    y = codec.decode(data)
    assert y.shape == x.shape and y.dtype == x.dtype
    np.testing.assert_array_equal(y, codec.decode(codec.encode(x, "gaussian8-e8-none-l2", "none", nonce=NONCE)))


def test_shared_dither_compact_stays_in_the_quality_band():
    x = np.random.default_rng(2).normal(size=(4096, 8)).astype(np.float32)
    data = _compact(x, "gaussian8-e8-sd-l2m", "sd")
    assert float(np.mean((codec.decode(data) - x) ** 2)) == pytest.approx(0.2564, rel=0.03)  # test_quality's band
    with pytest.raises(LtcError, match="up to 4096 vectors"):
        _compact(np.zeros((4097, 8), np.float32), "gaussian8-e8-sd-l2m", "sd")


def test_every_damaged_bit_and_every_truncation_is_one_error():
    data = _compact(np.random.default_rng(3).normal(size=(2, 8)).astype(np.float32), "gaussian8-e8-sd-l2m", "sd")
    for i in range(len(data)):
        for bit in range(8):
            damaged = bytearray(data)
            damaged[i] ^= 1 << bit
            with pytest.raises(LtcError):
                codec.decode(bytes(damaged))
    for cut in range(len(data)):
        with pytest.raises(LtcError):
            codec.decode(data[:cut])
    with pytest.raises(LtcError):
        codec.decode(data + b"\0")


def test_a_wrong_key_is_a_checksum_mismatch():
    from ltccodec.keyed import Key

    data = _compact(np.ones((1, 8), np.float32), "gaussian8-e8-sd-l2m", "sd")
    with pytest.raises(LtcError, match="not the key it was encoded with"):
        codec.decode_from(io.BytesIO(data), key=Key.from_material(b"other", "test"))


def test_model_ids_unknown_and_ambiguous(tmp_path):
    card = make_model(tmp_path / "a", "test-e8")
    data = _compact(np.ones((1, 8), np.float32), "test-e8", "sd", dirs=[tmp_path / "a"])
    with pytest.raises(LtcError, match="no installed model has the compact id"):
        codec.decode(data, dirs=[tmp_path / "empty"])
    # a second model file under a name with the same 16-bit id
    sha = bytes.fromhex(card.sha256)
    wanted = compact.model_id("test-e8", sha)
    twin = next(f"twin{i}" for i in range(1 << 20) if compact.model_id(f"twin{i}", sha) == wanted)
    (tmp_path / "b").mkdir()
    shutil.copy(tmp_path / "a" / "test-e8.safetensors", tmp_path / "b" / f"{twin}.safetensors")
    text = (tmp_path / "a" / "test-e8.json").read_text().replace('"name": "test-e8"', f'"name": "{twin}"')
    (tmp_path / "b" / f"{twin}.json").write_text(text)
    with pytest.raises(LtcError, match="names several installed models"):
        codec.decode(data, dirs=[tmp_path / "a", tmp_path / "b"])


def test_the_shipped_models_have_distinct_compact_ids():
    cards = registry.list_models()
    ids = {compact.model_id(c.name, bytes.fromhex(c.sha256)) for c in cards}
    assert len(ids) == len(cards)


def test_one_image_is_compact_by_default(tmp_path):
    from ltccodec import media

    make_image_model(tmp_path, "test-digits")
    loaded = registry.by_name("test-digits", dirs=[tmp_path])
    image = media.Image(np.random.default_rng(4).integers(0, 256, (1, 28, 28, 1), dtype=np.uint8))
    out = io.BytesIO()
    codec.encode_images(image, out, loaded, "sd", nonce=NONCE)
    data = out.getvalue()
    assert data[:2] == compact.MAGIC and len(data) < 40
    decoded = codec.decode_stream(io.BytesIO(data), dirs=[tmp_path]).image
    assert decoded is not None and decoded.pixels.shape == (1, 28, 28, 1)
    full = io.BytesIO()
    codec.encode_images(image, full, loaded, "sd", nonce=NONCE, compact=False)
    assert full.getvalue()[:4] == b"LTC\x1a" and len(full.getvalue()) > 150


def test_info_reports_the_profile_and_the_payload_as_stored():
    from ltccodec import files

    data = _compact(np.ones((1, 8), np.float32), "gaussian8-e8-sd-l2m", "sd")
    header, frames, end = codec.read_frame_table(io.BytesIO(data))
    fields = files.describe(header, frames, end, len(data))
    # magic 2, flags 1, model id 2, nonce 3 (one item: no sizes), seal 4: the rest is payload
    assert fields["profile"] == "compact" and fields["payload_bytes"] == len(data) - 12
    words = len(frames[0].payload)
    assert words % 4 == 0 and words >= fields["payload_bytes"]  # zero-padded words


@pytest.mark.parametrize("low, expected", [("123456789a000000", "123456789a"),  # the prefix itself
                                           ("123456789abc0000", "123456789b")])  # the prefix plus one
def test_the_shortest_end_is_the_shortest_number_inside_the_final_interval(low, expected):
    # a range decoder decodes the coded symbols from any number in the final interval [low, high), which holds the
    # number the coder wrote (0x123456789abcdef0)
    high = int("12345678a0000000", 16)

    def decodes_same(words: bytes) -> bool:
        return int(low, 16) <= int.from_bytes(compact._swap_words(words), "big") < high

    payload = compact._swap_words(bytes.fromhex("123456789abcdef0"))  # little-endian words, as the coder gives
    body = compact.shortest_end(payload, decodes_same)
    assert body.hex() == expected and decodes_same(compact.payload_words(body))
    assert compact.shortest_end(b"", lambda words: True) == b"\0"  # no word at all: one zero byte


def _clip(seconds: float, channels: int = 1) -> np.ndarray:
    from ltccodec import media

    speech = media.read_audio((Path(__file__).parents[1] / "examples" / "speech.wav").read_bytes(), "speech")
    samples = speech.samples[8000:8000 + int(8000 * seconds), 0]
    return np.stack([samples * (0.5 + 0.5 * c) for c in range(channels)], axis=1)


@pytest.mark.parametrize("seconds, channels", [(0.1, 1), (1.0, 1), (1.0, 2)])
def test_a_short_clip_is_compact_by_itself_and_decodes_as_the_full_stream(seconds, channels):
    """Measured: 18 bytes besides the payload (magic, flags, model id, six varints, seal) against 195 in the full
    format; the target is 40."""
    from ltccodec import media

    audio = media.Audio(_clip(seconds, channels), 8000)
    auto, full = io.BytesIO(), io.BytesIO()
    codec.encode_audio(audio, auto, "speech-z-none-q3", "none")
    codec.encode_audio(audio, full, "speech-z-none-q3", "none", compact=False)
    data = auto.getvalue()
    assert data[:2] == compact.MAGIC and (data[2] >> 4) & 3 == 2  # kind audio
    assert len(data) - codec.payload_size(data) <= 40 < len(full.getvalue()) - codec.payload_size(full.getvalue())
    out = codec.decode(data)
    assert out.shape == (len(audio.samples), channels)
    np.testing.assert_array_equal(out, codec.decode(full.getvalue()))


def test_long_audio_and_asked_for_full_stay_full():
    from ltccodec import media

    out = io.BytesIO()
    codec.encode_audio(media.Audio(_clip(4.0), 8000), out, "speech-z-none-q3", "none")
    assert out.getvalue()[:4] == container.MAGIC  # over COMPACT_AUDIO_SECONDS
    with pytest.raises(Exception, match="compact profile holds up to"):
        codec.encode_audio(media.Audio(np.zeros((8000 * 60, 1), np.float32), 8000), io.BytesIO(), "speech-z-none-q3",
                           "none", compact=True)


def test_a_compact_audio_stream_with_another_key_fails_its_seal():
    from ltccodec import keyed, media

    out = io.BytesIO()
    codec.encode_audio(media.Audio(_clip(1.0), 8000), out, "speech-z-sd-q3", "sd")
    with pytest.raises(LtcError, match="checksum mismatch"):
        codec.decode(out.getvalue(), key=keyed.Key.from_material(b"another", "test"))
