"""The compact profile of the .ltc format: one frame of a few items in as few bytes as possible (a single digit
in 13–19 bytes), for datasets of tiny files. docs/FORMAT.md specifies it; stdlib only.

It keeps what the full header guards, in fewer bytes: the model is a 16-bit id checked against the installed
models (BLAKE2b of its name and SHA-256), shared dither uses a 3-byte nonce, sizes are varints (or implied by
the model when the stream holds one item), the payload is the shortest byte string (of the range coder's words
read as one big-endian number) that still decodes to the same symbols when zero-padded, and one CRC-32 seals
everything — the header bytes, the payload, and the decoded symbols' own CRC — in place of the full format's
header CRC, frame CRC, symbol check and key check. A wrong key therefore shows as a checksum mismatch,
not as "wrong key".
"""

from __future__ import annotations

import dataclasses
import hashlib
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from ltccodec.format.container import (
    DTYPE_CODES,
    DTYPES,
    MAX_CHANNELS,
    MAX_DIM,
    MAX_ELEMENTS,
    MAX_FRAME_BYTES,
    MAX_NDIM,
    MAX_RATE,
    AudioInfo,
    CoderCode,
    FormatError,
    Frame,
    Header,
    ImageInfo,
    Kind,
    ModeCode,
    check_audio_lengths,
)

MAGIC = b"\xc7\x4c"  # not the first byte of a full stream ("L")
PROFILE_VERSION = 1  # the one compact profile this ltc reads and writes
END_SEARCH = 8  # bytes: the range coder's final flush is at most two words (its 64-bit state)
NONCE_BYTES = 3
MAX_ITEMS = 1 << 12  # one frame
MAX_AUDIO_SAMPLES = MAX_ELEMENTS
_SHARED = (ModeCode.QUANTIZED, ModeCode.SHARED)


def model_id(name: str, sha256: bytes) -> int:
    """The 16-bit id a compact stream names its model by."""
    digest = hashlib.blake2b(name.encode() + sha256, digest_size=2, person=b"ltc-model-id-v1").digest()
    return int.from_bytes(digest, "little")


@dataclass(frozen=True)
class ModelFacts:
    """What parsing needs to know of the model an id names."""

    name: str
    sha256: bytes
    source_dim: int
    latent_dim: int
    image: tuple[int, int, int] | None
    coder: CoderCode  # compact streams do not record their coder: the model fixes it
    coded_rate: int | None = None  # audio models: the rate they code at (their framing's)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


class _Reader:
    def __init__(self, data: bytes, end: int) -> None:
        self.data, self.at, self.end = data, 0, end

    def take(self, n: int) -> bytes:
        if self.at + n > self.end:
            raise FormatError("compact stream truncated (corrupt file)")
        chunk = self.data[self.at:self.at + n]
        self.at += n
        return chunk

    def varint(self, limit: int) -> int:
        value = 0
        for shift in range(0, 63, 7):
            byte = self.take(1)[0]
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                if value > limit:
                    raise FormatError("compact stream field out of range (corrupt file)")
                return value
        raise FormatError("compact stream varint too long (corrupt file)")


def fits(header: Header) -> bool:
    """Whether a stream can be written in the compact profile: one frame (arrays, images or audio)."""
    return 1 <= header.vectors <= min(MAX_ITEMS, header.frame_vectors)


def shortest_end(payload: bytes, decodes_same: Callable[[bytes], bool]) -> bytes:
    """The compact payload of frame bytes ``payload`` (little-endian uint32 coder words): the fewest leading
    bytes of the words written big-endian, the last of them perhaps one higher, that `payload_words` turns into
    words ``decodes_same`` accepts (it decodes them and compares with the coded symbols). Any number inside the
    range coder's final interval decodes alike, and both candidates of a length lie between the true end and those
    of a shorter length, so the search stops at the first length that fails."""
    big = _swap_words(payload) or bytes(4)  # a coder with nothing to say wrote no word: one zero word stands for it
    best = big
    for length in range(len(big) - 1, max(0, len(big) - END_SEARCH) - 1, -1):
        if length == 0:
            break
        head = big[:length]
        up = int.from_bytes(head, "big") + 1
        candidates = [head] + ([up.to_bytes(length, "big")] if up < 1 << (8 * length) else [])
        fit = next((c for c in candidates if decodes_same(payload_words(c))), None)
        if fit is None:
            break
        best = fit
    return best


def payload_words(body: bytes) -> bytes:
    """The little-endian coder words a version-2 compact payload stands for: zero-padded to whole words."""
    return _swap_words(body + b"\0" * (-len(body) % 4))


def _swap_words(data: bytes) -> bytes:
    swapped = bytearray(data)
    for at in range(0, len(data) - len(data) % 4, 4):
        swapped[at:at + 4] = data[at:at + 4][::-1]
    return bytes(swapped)


def pack(header: Header, body: bytes, symbols: int) -> bytes:
    """The compact bytes of a one-frame stream coded with a ``NONCE_BYTES`` nonce (see `fits`); ``body`` is the
    frame's payload as `shortest_end` gives it, ``symbols`` the CRC-32 of its decoded symbols."""
    if not fits(header):
        raise ValueError("only one-frame streams have a compact form")
    one_item = header.vectors == 1 and (
        (header.kind is Kind.IMAGE and header.image is not None and header.image.file_format == 1)
        or (header.kind is Kind.ARRAY and header.shape == (1, header.source_dim) and header.dtype == "float32"))
    flags = int(header.mode) << 6 | int(header.kind) << 4 | (0x08 if one_item else 0) | PROFILE_VERSION
    head = bytearray(MAGIC + bytes([flags]) + struct.pack("<H", model_id(header.model_name, header.model_sha256)))
    if header.mode is ModeCode.QUANTIZED:
        head += _varint(header.nesting)
    if header.mode in _SHARED:
        if len(header.nonce) != NONCE_BYTES:
            raise ValueError(f"compact streams use a {NONCE_BYTES}-byte nonce")
        head += header.nonce
    if header.kind is Kind.AUDIO:  # the vectors follow from the lengths, the coded rate from the model
        a = header.audio
        assert a is not None
        head += b"".join(_varint(v) for v in (a.sample_rate, a.channels, a.samples, a.coded_samples,
                                              a.sample_format, a.file_format))
    elif not one_item:
        head += _varint(header.vectors)
        if header.kind is Kind.IMAGE:
            assert header.image is not None
            head += _varint(header.image.file_format)
        else:
            head += _varint(DTYPE_CODES[header.dtype]) + _varint(len(header.shape))
            head += b"".join(_varint(s) for s in header.shape)
    if not body:
        raise ValueError("a compact payload has at least one byte")
    seal = zlib.crc32(struct.pack("<I", symbols), zlib.crc32(body, zlib.crc32(bytes(head))))
    return bytes(head) + body + struct.pack("<I", seal)


def parse(data: bytes, find: Callable[[int], ModelFacts]) -> tuple[Header, Frame]:
    """(header, its one frame with the payload padded to whole coder words) of a compact stream held in ``data``;
    ``find`` names the model of an id (raising if none or several do). The frame's symbol check is the seal: its
    decoded symbols' CRC, continued as `pack` does (from ``header.seal_prefix``), must equal it."""
    if len(data) < len(MAGIC) + 1 + 2 + 4 or data[:2] != MAGIC:
        raise FormatError("not a compact .ltc stream (corrupt file)")
    if len(data) > MAX_FRAME_BYTES:
        raise FormatError("compact stream too long (corrupt file)")
    r = _Reader(data, len(data) - 4)
    r.take(2)
    flags = r.take(1)[0]
    version = flags & 0x07
    if version != PROFILE_VERSION:
        raise FormatError(f"written by a newer ltc (compact profile version {version}; this ltc reads "
                          f"{PROFILE_VERSION})" if version > PROFILE_VERSION else
                          f"unsupported compact profile version {version}")
    try:
        mode, kind = ModeCode(flags >> 6), Kind((flags >> 4) & 0x03)
    except ValueError:
        raise FormatError("unknown mode or kind in a compact stream (corrupt file)") from None
    facts = find(struct.unpack("<H", r.take(2))[0])
    nesting = r.varint(1 << 16) if mode is ModeCode.QUANTIZED else 1 << 16 if mode is ModeCode.SHARED else 1
    if mode is ModeCode.QUANTIZED and nesting < 2:
        raise FormatError("nesting ratio does not fit the randomness mode (corrupt file)")
    nonce = r.take(NONCE_BYTES) if mode in _SHARED else b""
    image = None
    if (kind is Kind.IMAGE) != (facts.image is not None) or (kind is Kind.AUDIO) != (facts.coded_rate is not None):
        raise FormatError("the compact stream's kind does not match its model (corrupt file)")
    if kind is Kind.AUDIO:
        if flags & 0x08:
            raise FormatError("a compact audio stream has no one-item form (corrupt file)")
        return _parse_audio(data, r, facts, mode, nesting, nonce)
    if flags & 0x08:
        vectors, dtype, shape, file_format = 1, "float32", (1, facts.source_dim), 1
    else:
        vectors = r.varint(MAX_ITEMS)
        if vectors < 1:
            raise FormatError("a compact stream holds at least one item (corrupt file)")
        if kind is Kind.IMAGE:
            dtype, shape, file_format = "float32", (vectors, facts.source_dim), r.varint(2)
            if file_format < 1:
                raise FormatError("unknown image format in a compact stream (corrupt file)")
        else:
            dtype = DTYPES.get(r.varint(255), "")
            rank = r.varint(MAX_NDIM)
            shape = tuple(r.varint(MAX_ITEMS * MAX_DIM) for _ in range(rank))
            elements = 1
            for s in shape:
                elements *= s
            if not dtype or rank < 1 or shape[-1] != facts.source_dim or elements != vectors * facts.source_dim:
                raise FormatError("the compact stream's shape does not fit its model (corrupt file)")
    if kind is Kind.IMAGE:
        assert facts.image is not None
        image = ImageInfo(*facts.image, file_format)
    header = Header(facts.name, facts.sha256, facts.coder, mode, nesting, nonce, b"", kind, facts.source_dim,
                    facts.latent_dim, vectors, vectors, dtype if kind is Kind.ARRAY else "float32",
                    shape if kind is Kind.ARRAY else (), None, image)
    return _sealed(data, r, header, vectors)


def _parse_audio(data: bytes, r: _Reader, facts: ModelFacts, mode: ModeCode, nesting: int,
                 nonce: bytes) -> tuple[Header, Frame]:
    """The audio fields of a compact stream (see `pack`), checked as the full header's are."""
    assert facts.coded_rate is not None
    rate, channels, samples, coded, sample_format, file_format = (r.varint(limit) for limit in (
        MAX_RATE, MAX_CHANNELS, MAX_AUDIO_SAMPLES, MAX_AUDIO_SAMPLES, 255, 255))
    audio = AudioInfo(rate, channels, samples, sample_format, file_format, facts.coded_rate, coded)
    hop = facts.source_dim
    if not (1 <= rate and 1 <= channels and 1 <= samples and 1 <= coded):
        raise FormatError("compact audio fields out of range (corrupt file)")
    vectors = channels * audio.frames_per_channel(hop)
    if vectors > MAX_ITEMS:
        raise FormatError("compact audio longer than one frame (corrupt file)")
    check_audio_lengths(samples, coded, audio, hop, vectors)
    return _sealed(data, r, Header(facts.name, facts.sha256, facts.coder, mode, nesting, nonce, b"", Kind.AUDIO,
                                   facts.source_dim, facts.latent_dim, vectors, vectors, audio=audio), vectors)


def _sealed(data: bytes, r: _Reader, header: Header, vectors: int) -> tuple[Header, Frame]:
    """The header with the seal's prefix state and the stored payload size, and the stream's one frame."""
    body = data[r.at:r.end]
    if not body:
        raise FormatError("compact stream without payload (corrupt file)")
    seal = struct.unpack("<I", data[-4:])[0]
    prefix_crc = zlib.crc32(body, zlib.crc32(data[:r.at]))
    header = dataclasses.replace(header, seal_prefix=prefix_crc, stored=len(body))
    return header, Frame(0, vectors, seal, payload_words(body))
