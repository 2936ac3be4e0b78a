"""Property tests (hypothesis) over the container parser and the decoder: whatever the bytes, the result is a
valid header or stream, or one `LtcError` — never another exception. Header fields edited with the header CRC
recomputed reach past the first check. `ltc bench fuzz` runs the same idea at scale."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ltccodec import codec, container
from ltccodec.errors import LtcError

GOLDEN = Path(__file__).parent / "data" / "golden"
SEEDS = {name: (GOLDEN / name).read_bytes() for name in
         ["golden-e8.1bits.ltc", "golden-leech.sd.ltc", "golden-audio.sd.ltc", "golden-z.pd.ltc"]}
QUICK = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


def _reseal(data: bytes) -> bytes:
    """Recompute the header CRC over whatever the header now holds."""
    if len(data) < 12:
        return data
    length = struct.unpack_from("<I", data, 8)[0]
    if not 16 < length <= len(data):
        return data
    return data[:length - 4] + struct.pack("<I", zlib.crc32(data[:length - 4])) + data[length:]


def _parse(data: bytes) -> container.Header | None:
    try:
        return container.read_header(io.BytesIO(data))
    except container.FormatError:
        return None


@QUICK
@given(st.binary(max_size=400))
def test_any_bytes_parse_to_a_header_or_a_format_error(data):
    _parse(data)
    _parse(container.MAGIC + struct.pack("<HHI", 2, 0, len(data) + 12) + data)  # past the magic and version


@QUICK
@given(name=st.sampled_from(sorted(SEEDS)), at=st.integers(12, 400), value=st.binary(min_size=1, max_size=8))
def test_header_fields_edited_with_a_resealed_crc_parse_or_fail_cleanly(name, at, value):
    data = SEEDS[name]
    edited = _reseal(data[:at] + value + data[at + len(value):])
    header = _parse(edited)
    if header is not None:  # what the parser accepts, it can write back to the same bytes
        assert container.pack_header(header) == edited[:len(container.pack_header(header))]


@QUICK
@given(name=st.sampled_from(sorted(SEEDS)), edits=st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)),
                                                              min_size=1, max_size=4),
       reseal=st.booleans(), cut=st.one_of(st.none(), st.integers(0, 1 << 20)))
def test_edited_streams_decode_or_fail_with_one_ltc_error(name, edits, reseal, cut):
    data = bytearray(SEEDS[name])
    for at, value in edits:
        data[at % len(data)] = value
    stream = bytes(data[: None if cut is None else cut % (len(data) + 1)])
    if reseal:
        stream = _reseal(stream)
    try:
        out = codec.decode(stream, seed=1, dirs=[GOLDEN])
    except LtcError as error:
        assert "\n" not in str(error)
        return
    assert out.size <= 4 * codec.decode(SEEDS[name], seed=1, dirs=[GOLDEN]).size + 64
    assert np.all(np.isfinite(out))


@QUICK
@given(vectors=st.integers(1, 3000), frame_vectors=st.integers(1, 1 << 12), nonce=st.binary(min_size=16, max_size=16))
def test_headers_round_trip(vectors, frame_vectors, nonce):
    frames = tuple(container.Frame(4 * i, i, 7 * i) for i in range(-(-vectors // frame_vectors)))
    header = container.Header("m-1.x", bytes(32), container.ModeCode.QUANTIZED, 3, nonce, b"abcd", 1, (0, 5, 0),
                               container.Kind.ARRAY, "float16", (vectors, 8), 8, 8, vectors, frame_vectors, frames)
    assert container.read_header(io.BytesIO(container.pack_header(header))) == header


def test_fields_that_contradict_each_other_are_refused():
    import dataclasses

    header = container.read_header(io.BytesIO(SEEDS["golden-e8.1bits.ltc"]))
    assert header.shape[-1] == header.source_dim == 8
    n = header.vectors
    cases = {
        "last axis is not the model's dimension": dict(shape=(2 * n, 4)),
        "no vectors at all": dict(shape=(0, 8), vectors=0, frames=()),
        "shape holds other vectors": dict(shape=(n + 1, 8)),
        "QSD without a nesting ratio": dict(nesting=1),
        "no randomness with a nesting ratio": dict(mode=container.ModeCode.NONE),
        "frame table one short": dict(frames=header.frames[:-1]),
    }
    for what, change in cases.items():
        edited = container.pack_header(dataclasses.replace(header, **change))
        assert _parse(edited) is None, what
