"""The .ltc bitstream container, field for field as docs/FORMAT.md specifies it. Stdlib only: it knows
nothing of models, lattices or coders, only bytes, sizes and checksums.

Every size is checked against fixed limits and against the bytes actually present before anything is
allocated from it; every error is a `FormatError` with one line for the user.
"""

from __future__ import annotations

import dataclasses
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from typing import BinaryIO

from ltccodec.errors import LtcError

MAGIC = b"LTC\x1a"
VERSION = 2  # what this ltc writes
READABLE_VERSIONS = (1, 2)
MAX_HEADER = 1 << 20
MAX_NDIM = 8
MAX_ELEMENTS = 1 << 36
MAX_FRAME_BYTES = 1 << 28
MAX_FRAME_VECTORS = 1 << 20
MAX_DIM = 1 << 16
MAX_RATE = 768_000
MAX_CHANNELS = 64
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")

_PREFIX = struct.Struct("<4sHHI")  # magic, version, flags, header length
_FRAME = struct.Struct("<III")  # payload bytes, payload CRC-32, symbol check
_AUDIO = struct.Struct("<IHQBBIQ")  # rate, channels, samples, sample format, file format, coded rate, coded samples
_IMAGE = struct.Struct("<IIBB")  # height, width, channels, file format


class FormatError(LtcError):
    """The input is not a valid .ltc stream (wrong magic, unsupported version, corrupt or truncated)."""


class Kind(IntEnum):
    ARRAY = 1
    AUDIO = 2
    IMAGE = 3


class ModeCode(IntEnum):
    NONE = 0
    PRIVATE = 1
    QUANTIZED = 2
    SHARED = 3


DTYPES = {1: "float32", 2: "float64", 3: "float16"}
DTYPE_CODES = {name: code for code, name in DTYPES.items()}


@dataclass(frozen=True)
class Frame:
    """One independently decodable run of ``frame_vectors`` vectors (the last may be shorter)."""

    size: int  # payload bytes (a multiple of 4: 32-bit coder words)
    crc: int  # CRC-32 of the payload
    symbols: int  # CRC-32 of the decoded integer coordinates (int64 little endian): drift check


@dataclass(frozen=True)
class AudioInfo:
    """What an audio stream restores on decode, and how it was coded (version 2, kind audio)."""

    sample_rate: int  # of the input, restored on decode
    channels: int
    samples: int  # per channel, at the input's rate
    sample_format: int  # media.SampleFormat code
    file_format: int  # media.FileFormat code
    coded_rate: int  # the model's rate, at which the signal was coded
    coded_samples: int  # per channel, at the coded rate

    def frames_per_channel(self, hop: int) -> int:
        """MDCT frames of one channel (`framing.Framing.frames_for`)."""
        return -(-self.coded_samples // hop) + 1


@dataclass(frozen=True)
class ImageInfo:
    """What an image stream restores on decode (version 2, kind image): each vector is one image."""

    height: int
    width: int
    channels: int  # 1 gray, 3 RGB, 4 RGBA
    file_format: int  # media.ImageFormat code


@dataclass(frozen=True)
class Header:
    model_name: str
    model_sha256: bytes
    mode: ModeCode
    nesting: int  # a for QSD, the fine grid for SD, 1 otherwise
    nonce: bytes
    key_check: bytes
    coder_id: int
    coder_version: tuple[int, int, int]
    kind: Kind
    dtype: str
    shape: tuple[int, ...]
    source_dim: int
    latent_dim: int
    vectors: int
    frame_vectors: int
    frames: tuple[Frame, ...]
    audio: AudioInfo | None = None  # kind audio only
    version: int = VERSION
    image: ImageInfo | None = None  # kind image only
    seal_prefix: int | None = None  # compact profile: CRC-32 state after its head and payload (see `compact`)
    stored: tuple[int, int] | None = None  # compact profile: (profile version, payload bytes as stored in the file)

    @property
    def payload_bytes(self) -> int:
        return sum(f.size for f in self.frames)

    def frame_sizes(self) -> list[int]:
        """Vectors in each frame."""
        full, rest = divmod(self.vectors, self.frame_vectors)
        return [self.frame_vectors] * full + ([rest] if rest else [])


def pack_header(h: Header) -> bytes:
    name = h.model_name.encode()
    body = b"".join([
        struct.pack("<B", len(name)), name, h.model_sha256,
        struct.pack("<BI", int(h.mode), h.nesting), h.nonce, h.key_check,
        struct.pack("<B3B", h.coder_id, *h.coder_version),
        struct.pack("<BBB", int(h.kind), DTYPE_CODES[h.dtype], len(h.shape)),
        struct.pack(f"<{len(h.shape)}Q", *h.shape),
        _pack_block(h, Kind.AUDIO, h.audio, _AUDIO), _pack_block(h, Kind.IMAGE, h.image, _IMAGE),
        struct.pack("<IIQII", h.source_dim, h.latent_dim, h.vectors, h.frame_vectors, len(h.frames)),
        b"".join(_FRAME.pack(f.size, f.crc, f.symbols) for f in h.frames),
    ])
    length = _PREFIX.size + len(body) + 4
    head = _PREFIX.pack(MAGIC, h.version, 0, length) + body
    return head + struct.pack("<I", zlib.crc32(head))


def _pack_block(h: Header, kind: Kind, info: AudioInfo | ImageInfo | None, layout: struct.Struct) -> bytes:
    """The audio or image block: present exactly for its kind, from version 2 on."""
    if (h.kind is kind) != (info is not None):
        raise ValueError(f"a {kind.name.lower()} header needs {kind.name.lower()} information, and only it")
    if info is None:
        return b""
    if h.version < 2:
        raise ValueError(f"{kind.name.lower()} streams need format version 2")
    return layout.pack(*dataclasses.astuple(info))


def write(h: Header, payloads: list[bytes], out: BinaryIO) -> None:
    out.write(pack_header(h))
    for p in payloads:
        out.write(p)


def read_header(stream: BinaryIO) -> Header:
    """Read and validate exactly the header from ``stream``."""
    prefix = _read_exact(stream, _PREFIX.size, "header")
    magic, version, _flags, length = _PREFIX.unpack(prefix)
    if magic != MAGIC:
        raise FormatError("not an .ltc stream (bad magic)")
    if version not in READABLE_VERSIONS:
        raise FormatError(f"unsupported .ltc format version {version} (this ltc reads versions "
                          f"{', '.join(map(str, READABLE_VERSIONS))})")
    if not _PREFIX.size + 4 < length <= MAX_HEADER:
        raise FormatError(f"header length {length} out of range (corrupt file)")
    rest = _read_exact(stream, length - _PREFIX.size, "header")
    if zlib.crc32(prefix + rest[:-4]) != struct.unpack("<I", rest[-4:])[0]:
        raise FormatError("header checksum mismatch (corrupt file)")
    return _parse_body(_Reader(rest[:-4]), version)


def read_frames(stream: BinaryIO, header: Header, first: int = 0, stop: int | None = None) -> Iterator[bytes]:
    """Frames ``first`` to ``stop`` (default: the last) from ``stream`` positioned at frame ``first``, each
    checked against its CRC; reading to the last frame, insists the stream ends there."""
    stop = len(header.frames) if stop is None else stop
    for index in range(first, stop):
        frame = header.frames[index]
        data = _read_exact(stream, frame.size, f"frame {index}")
        if zlib.crc32(data) != frame.crc:
            raise FormatError(f"frame {index} checksum mismatch (corrupt file)")
        yield data
    if stop == len(header.frames) and stream.read(1):
        raise FormatError("unexpected bytes after the last frame (corrupt or concatenated file)")


def _parse_body(r: _Reader, version: int) -> Header:
    name_len = r.unpack("<B")[0]
    try:
        name = r.take(name_len).decode("ascii")
    except UnicodeDecodeError:
        name = ""
    if not MODEL_NAME.fullmatch(name):
        raise FormatError("the model name in the header is not a valid model name (corrupt file)")
    sha = r.take(32)
    mode_code, nesting = r.unpack("<BI")
    nonce, check = r.take(16), r.take(4)
    coder_id, *coder_version = r.unpack("<B3B")
    kind_code, dtype_code, ndim = r.unpack("<BBB")
    try:
        mode, kind, dtype = ModeCode(mode_code), Kind(kind_code), DTYPES[dtype_code]
    except (ValueError, KeyError):
        raise FormatError("unknown mode, source kind or dtype code (corrupt or newer file)") from None
    if not 1 <= ndim <= MAX_NDIM:
        raise FormatError(f"array rank {ndim} out of range")
    shape = r.unpack(f"<{ndim}Q")
    if kind in (Kind.AUDIO, Kind.IMAGE) and version < 2:
        raise FormatError("audio and image streams need format version 2 (corrupt file)")
    audio = AudioInfo(*r.unpack(_AUDIO.format)) if kind is Kind.AUDIO else None
    image = ImageInfo(*r.unpack(_IMAGE.format)) if kind is Kind.IMAGE else None
    source_dim, latent_dim, vectors, frame_vectors, frame_count = r.unpack("<IIQII")
    _check_sizes(shape, source_dim, latent_dim, vectors, frame_vectors, frame_count, mode, nesting)
    if audio is not None:
        _check_audio(audio, source_dim, vectors)
    if image is not None and (image.channels not in (1, 3, 4) or image.height < 1 or image.width < 1
                              or image.height * image.width * image.channels != source_dim
                              or shape != (vectors, source_dim)):
        raise FormatError("image size does not match the coded vectors (corrupt file)")
    if r.remaining != frame_count * _FRAME.size:
        raise FormatError("frame table size does not match the frame count (corrupt file)")
    frames = tuple(Frame(*r.unpack("<III")) for _ in range(frame_count))
    if any(f.size % 4 or f.size > MAX_FRAME_BYTES for f in frames):
        raise FormatError("frame size out of range (corrupt file)")
    return Header(name, sha, mode, nesting, nonce, check, coder_id, tuple(coder_version), kind, dtype, shape,
                  source_dim, latent_dim, vectors, frame_vectors, frames, audio, version, image)


def _check_audio(a: AudioInfo, hop: int, vectors: int) -> None:
    if not (1 <= a.sample_rate <= MAX_RATE and 1 <= a.coded_rate <= MAX_RATE and 1 <= a.channels <= MAX_CHANNELS):
        raise FormatError("audio rate or channel count out of range (corrupt file)")
    if not (1 <= a.samples <= MAX_ELEMENTS and 1 <= a.coded_samples <= MAX_ELEMENTS):
        raise FormatError("audio length out of range (corrupt file)")
    if vectors != a.channels * a.frames_per_channel(hop):
        raise FormatError("audio length does not match the number of coded frames (corrupt file)")
    # resampling changes the length by the rate ratio (soxr: within a sample of it)
    if abs(a.samples * a.coded_rate - a.coded_samples * a.sample_rate) > 2 * max(a.coded_rate, a.sample_rate):
        raise FormatError("audio lengths do not match the sample rates (corrupt file)")


def _check_sizes(shape: tuple[int, ...], source_dim: int, latent_dim: int, vectors: int, frame_vectors: int,
                 frame_count: int, mode: ModeCode, nesting: int) -> None:
    elements = 1
    for s in shape:
        elements *= s
    if not (1 <= source_dim <= MAX_DIM and 1 <= latent_dim <= MAX_DIM):
        raise FormatError("source or latent dimension out of range")
    if elements > MAX_ELEMENTS or vectors * source_dim != elements or vectors * latent_dim > MAX_ELEMENTS \
            or shape[-1] != source_dim or vectors < 1:
        raise FormatError(f"array shape {shape} does not fit {vectors} vectors of {source_dim} (corrupt file)")
    if not 1 <= frame_vectors <= MAX_FRAME_VECTORS or frame_count != -(-vectors // frame_vectors):
        raise FormatError("framing does not match the number of vectors (corrupt file)")
    if (mode in (ModeCode.QUANTIZED, ModeCode.SHARED)) != (nesting >= 2) or not 1 <= nesting <= 1 << 16:
        raise FormatError("nesting ratio does not fit the randomness mode (corrupt file)")


class _Reader:
    def __init__(self, data: bytes):
        self._data, self._at = data, 0

    @property
    def remaining(self) -> int:
        return len(self._data) - self._at

    def take(self, n: int) -> bytes:
        if n > self.remaining:
            raise FormatError("header ends early (corrupt file)")
        out = self._data[self._at:self._at + n]
        self._at += n
        return out

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))


def _read_exact(stream: BinaryIO, n: int, what: str) -> bytes:
    chunks, need = [], n
    while need:
        chunk = stream.read(min(need, 1 << 20))
        if not chunk:
            raise FormatError(f"truncated file: {what} ends early")
        chunks.append(chunk)
        need -= len(chunk)
    return b"".join(chunks)
