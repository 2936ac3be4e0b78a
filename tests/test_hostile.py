"""Hostile streams: a few thousand seeded mutations of real array and audio streams (bit flips, overwritten,
inserted and deleted bytes, truncation, swapped frames, header fields edited with the header CRC recomputed) must
each end in the decoded signal or one `LtcError` — never another exception, a hang, or a huge allocation."""

from __future__ import annotations

import dataclasses
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from ltccodec import codec, container
from ltccodec.errors import LtcError

GOLDEN = Path(__file__).parent / "data" / "golden"
STREAMS = ["golden-audio.sd.ltc", "golden-audio.none.ltc", "golden-e8.1bits.ltc", "golden-leech.sd.ltc"]


def _mutations(data: bytes, rng: np.random.Generator, count: int) -> list[bytes]:
    out = []
    head = struct.unpack("<I", data[8:12])[0]
    for _ in range(count):
        kind = rng.integers(7)
        b = bytearray(data)
        at = int(rng.integers(len(b)))
        if kind == 0:  # one bit
            b[at] ^= 1 << int(rng.integers(8))
        elif kind == 1:  # a run of random bytes
            n = int(rng.integers(1, 16))
            b[at:at + n] = rng.integers(0, 256, size=len(b[at:at + n]), dtype=np.uint8).tobytes()
        elif kind == 2:  # insertion
            b[at:at] = rng.integers(0, 256, size=int(rng.integers(1, 9)), dtype=np.uint8).tobytes()
        elif kind == 3:  # deletion
            del b[at:at + int(rng.integers(1, 9))]
        elif kind == 4:  # truncation
            del b[at:]
        elif kind == 5:  # a header byte edited, the header CRC recomputed: only the field checks can catch it
            field = int(rng.integers(12, head - 4))
            b[field] = int(rng.integers(256))
            b[head - 4:head] = struct.pack("<I", zlib.crc32(bytes(b[:head - 4])))
        else:  # payload bytes edited with every CRC recomputed: only the symbol check and the coder can catch it
            b = bytearray(_payload_edit(data, rng))
        out.append(bytes(b))
    return out


def _payload_edit(data: bytes, rng: np.random.Generator) -> bytes:
    header = container.read_header(io.BytesIO(data))
    start = len(container.pack_header(header))
    payload = bytearray(data[start:])
    at = int(rng.integers(len(payload)))
    payload[at] ^= 1 << int(rng.integers(8))
    frames, offset = [], 0
    for f in header.frames:
        piece = bytes(payload[offset:offset + f.size])
        frames.append(dataclasses.replace(f, crc=zlib.crc32(piece)))
        offset += f.size
    return container.pack_header(dataclasses.replace(header, frames=tuple(frames))) + bytes(payload)


@pytest.mark.parametrize("name", STREAMS)
def test_mutated_streams_decode_or_fail_cleanly(name):
    data = (GOLDEN / name).read_bytes()
    reference = codec.decode(data, seed=5, dirs=[GOLDEN])
    rng = np.random.default_rng(sum(map(ord, name)))
    clean = decoded = 0
    for mutated in _mutations(data, rng, 400):
        try:
            out = codec.decode(mutated, seed=5, dirs=[GOLDEN], )
        except LtcError:
            clean += 1
            continue
        decoded += 1
        assert out.size <= 4 * reference.size + 64  # never a blown-up output from a small stream
    assert clean > 300  # almost every mutation is caught; the rest decode to something of sane size


def test_swapped_frames_are_caught():
    data = (GOLDEN / "golden-audio.sd.ltc").read_bytes()
    header = container.read_header(io.BytesIO(data))
    assert len(header.frames) >= 2
    start = len(container.pack_header(header))
    sizes = [f.size for f in header.frames]
    first, second = data[start:start + sizes[0]], data[start + sizes[0]:start + sizes[0] + sizes[1]]
    frames = (header.frames[1], header.frames[0], *header.frames[2:])
    swapped = container.pack_header(dataclasses.replace(header, frames=frames)) + second + first + \
        data[start + sizes[0] + sizes[1]:]
    with pytest.raises(LtcError):
        codec.decode(swapped, dirs=[GOLDEN])
