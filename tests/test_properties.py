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

from ltccodec import codec
from ltccodec.errors import LtcError
from ltccodec.format import container

GOLDEN = Path(__file__).parent / "data" / "golden"
SEEDS = {name: (GOLDEN / name).read_bytes() for name in
         ["gaussian8-e8-1bits-l2.1bits.array.ltc", "gaussian24-leech-sd-l2.sd.array.ltc",
          "speech-z-sd-q3.sd.audio.ltc", "gaussian8-z1-pd-l2.pd.array.ltc", "digits-bw16-1bits-q1.1bits.image.ltc"]}
ARRAY = "gaussian8-e8-1bits-l2.1bits.array.ltc"
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
    _parse(container.MAGIC + struct.pack("<HHI", container.VERSION, 0, len(data) + 12) + data)  # past the version


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
        out = codec.decode(stream, seed=1)
    except LtcError as error:
        assert "\n" not in str(error)
        return
    assert out.size <= 4 * codec.decode(SEEDS[name], seed=1).size + 64
    assert np.all(np.isfinite(out))


@QUICK
@given(vectors=st.integers(1, 3000), frame_vectors=st.integers(1, 1 << 12), nonce=st.binary(min_size=16, max_size=16))
def test_headers_round_trip(vectors, frame_vectors, nonce):
    header = container.Header("m-1.x", bytes(32), container.CoderCode.DISTANCE, container.ModeCode.QUANTIZED, 3,
                              nonce, b"abcd", container.Kind.ARRAY, 8, 8, frame_vectors, vectors, "float16",
                              (vectors, 8))
    assert container.read_header(io.BytesIO(container.pack_header(header))) == header


def test_fields_that_contradict_each_other_are_refused():
    import dataclasses

    header = container.read_header(io.BytesIO(SEEDS[ARRAY]))
    assert header.shape[-1] == header.source_dim == 8
    n = header.vectors
    cases = {
        "last axis is not the model's dimension": dict(shape=(2 * n, 4)),
        "no vectors at all": dict(shape=(0, 8), vectors=0),
        "shape holds other vectors": dict(shape=(n + 1, 8)),
        "an array of unknown length": dict(vectors=container.UNKNOWN),
        "QSD without a nesting ratio": dict(nesting=1),
        "no randomness with a nesting ratio": dict(mode=container.ModeCode.NONE),
        "frames larger than the format allows": dict(frame_vectors=container.MAX_FRAME_VECTORS + 1),
    }
    for what, change in cases.items():
        edited = container.pack_header(dataclasses.replace(header, **change))
        assert _parse(edited) is None, what
