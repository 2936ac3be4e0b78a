"""The .ltc bitstream container, field for field as docs/FORMAT.md specifies it: a header, frame records, an end
record. Stdlib only: it knows nothing of models, lattices or coders, only bytes, sizes and checksums.

Every size is checked against fixed limits and against the bytes actually present before anything is
allocated from it; every error is a `FormatError` with one line for the user. Frames carry their own sizes and
checks, so a stream can be written as it is coded (its length unknown at the start), read frame by frame, and
skipped through without decoding.
"""

from __future__ import annotations

import dataclasses
import re
import struct
import zlib
from collections.abc import Generator
from dataclasses import dataclass
from enum import IntEnum
from typing import BinaryIO

from ltccodec.errors import LtcError

MAGIC = b"LTC\x1a"
VERSION = 1  # the one format this ltc reads and writes
MAX_HEADER = 1 << 16
MAX_NDIM = 8
MAX_ELEMENTS = 1 << 36
MAX_FRAME_BYTES = 1 << 28
MAX_FRAME_VECTORS = 1 << 12  # with the payload guard, what bounds the output one frame record can declare
MAX_DIM = 1 << 16
MAX_RATE = 768_000
MAX_CHANNELS = 64
MAX_PARAMS = 16
UNKNOWN = (1 << 64) - 1  # a length not known when the header was written (a stream coded as it arrives)
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")
FRAME_TAG, END_TAG = b"F", b"E"

_PREFIX = struct.Struct("<4sHHI")  # magic, version, flags, header length
_FIXED = struct.Struct("<32sBBI16s4sBIIIQ")  # sha256, coder, mode, nesting, nonce, key check, kind, n, L, V, N
_AUDIO = struct.Struct("<IHQBBIQ")  # rate, channels, samples, sample format, file format, coded rate, coded samples
_IMAGE = struct.Struct("<IIBB")  # height, width, channels, file format
_RECORD = struct.Struct("<cIIB")  # tag "F", frame index, vectors, parameter count
_PARAM = struct.Struct("<BI")  # parameter tag, value
_SIZES = struct.Struct("<II")  # payload bytes, symbol check
_END = struct.Struct("<cIQ")  # tag "E", frames, vectors
_END_AUDIO = struct.Struct("<QQ")  # samples, coded samples (audio only)
_CRC = struct.Struct("<I")


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


class CoderCode(IntEnum):
    BOX = 1
    DISTANCE = 2


DTYPES = {1: "float32", 2: "float64", 3: "float16"}
DTYPE_CODES = {name: code for code, name in DTYPES.items()}
KNOWN_PARAMS: frozenset[int] = frozenset()  # frame parameter tags this ltc reads (none yet; FORMAT.md)


@dataclass(frozen=True)
class AudioInfo:
    """What an audio stream restores on decode, and how it was coded."""

    sample_rate: int  # of the input, restored on decode
    channels: int
    samples: int  # per channel, at the input's rate (UNKNOWN: see the end record)
    sample_format: int  # media.SampleFormat code
    file_format: int  # media.FileFormat code
    coded_rate: int  # the model's rate, at which the signal was coded
    coded_samples: int  # per channel, at the coded rate (UNKNOWN: see the end record)

    def frames_per_channel(self, hop: int) -> int:
        """MDCT frames of one channel (`framing.Framing.frames_for`)."""
        return -(-self.coded_samples // hop) + 1


@dataclass(frozen=True)
class ImageInfo:
    """What an image stream restores on decode: each vector is one image."""

    height: int
    width: int
    channels: int  # 1 gray, 3 RGB, 4 RGBA
    file_format: int  # media.ImageFormat code


@dataclass(frozen=True)
class Header:
    model_name: str
    model_sha256: bytes
    coder: CoderCode
    mode: ModeCode
    nesting: int  # a for QSD, the fine grid for SD, 1 otherwise
    nonce: bytes
    key_check: bytes
    kind: Kind
    source_dim: int
    latent_dim: int
    frame_vectors: int
    vectors: int  # UNKNOWN when the stream was written as it was coded
    dtype: str = "float32"  # arrays: the dtype restored on decode
    shape: tuple[int, ...] = ()  # arrays: the shape restored on decode
    audio: AudioInfo | None = None  # kind audio only
    image: ImageInfo | None = None  # kind image only
    version: int = VERSION
    seal_prefix: int | None = None  # compact profile: CRC-32 state after its head and payload (see `compact`)
    stored: int | None = None  # compact profile: payload bytes as stored in the file

    @property
    def known_length(self) -> bool:
        return self.vectors != UNKNOWN

    def frame_count(self) -> int:
        """Frames of a stream of known length."""
        return -(-self.vectors // self.frame_vectors)


@dataclass(frozen=True)
class Frame:
    """One frame record: ``vectors`` vectors coded in ``payload``, the CRC-32 of their decoded symbols, and the
    frame's coding parameters (tag, value)."""

    index: int
    vectors: int
    symbols: int
    payload: bytes
    params: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class End:
    """The end record: how many frames and vectors the stream holds (and, for audio, its lengths)."""

    frames: int
    vectors: int
    samples: int | None = None
    coded_samples: int | None = None


def pack_header(h: Header) -> bytes:
    name = h.model_name.encode()
    body = b"".join([
        struct.pack("<B", len(name)), name,
        _FIXED.pack(h.model_sha256, int(h.coder), int(h.mode), h.nesting, h.nonce, h.key_check, int(h.kind),
                    h.source_dim, h.latent_dim, h.frame_vectors, h.vectors),
        _pack_kind(h),
    ])
    length = _PREFIX.size + len(body) + _CRC.size
    head = _PREFIX.pack(MAGIC, h.version, 0, length) + body
    return head + _CRC.pack(zlib.crc32(head))


def _pack_kind(h: Header) -> bytes:
    """The description of the source: the array's dtype and shape, the audio block or the image block."""
    if (h.kind is Kind.AUDIO) != (h.audio is not None) or (h.kind is Kind.IMAGE) != (h.image is not None):
        raise ValueError("audio and image headers need their block, and only they")
    if h.kind is Kind.ARRAY:
        return struct.pack(f"<BB{len(h.shape)}Q", DTYPE_CODES[h.dtype], len(h.shape), *h.shape)
    info = h.audio if h.audio is not None else h.image
    return (_AUDIO if h.kind is Kind.AUDIO else _IMAGE).pack(*dataclasses.astuple(info))


def frame_record(frame: Frame) -> bytes:
    """The bytes of one frame record, its CRC-32 last."""
    if len(frame.params) > MAX_PARAMS or len(frame.payload) > MAX_FRAME_BYTES:
        raise ValueError("frame too large")
    head = _RECORD.pack(FRAME_TAG, frame.index, frame.vectors, len(frame.params)) + b"".join(
        _PARAM.pack(tag, value) for tag, value in frame.params) + _SIZES.pack(len(frame.payload), frame.symbols)
    return head + frame.payload + _CRC.pack(zlib.crc32(frame.payload, zlib.crc32(head)))


def end_record(end: End) -> bytes:
    body = _END.pack(END_TAG, end.frames, end.vectors)
    if end.samples is not None:
        body += _END_AUDIO.pack(end.samples, end.coded_samples)
    return body + _CRC.pack(zlib.crc32(body))


def write(h: Header, frames: list[Frame], out: BinaryIO) -> None:
    """A whole stream: header, frame records, end record."""
    out.write(pack_header(h))
    for frame in frames:
        out.write(frame_record(frame))
    out.write(end_record(end_of(h, len(frames))))


def end_of(h: Header, frames: int, vectors: int | None = None) -> End:
    """The end record of a stream with header ``h`` after ``frames`` frames (of ``vectors`` vectors if the header
    does not say)."""
    vectors = h.vectors if vectors is None else vectors
    if h.audio is None:
        return End(frames, vectors)
    return End(frames, vectors, h.audio.samples, h.audio.coded_samples)


def read_header(stream: BinaryIO) -> Header:
    """Read and validate exactly the header from ``stream``."""
    prefix = read_exact(stream, _PREFIX.size, "header")
    magic, version, flags, length = _PREFIX.unpack(prefix)
    if magic != MAGIC:
        raise FormatError("not an .ltc stream (bad magic)")
    if version > VERSION:
        raise FormatError(f"written by a newer ltc (format version {version}; this ltc reads version {VERSION})")
    if version != VERSION:
        raise FormatError(f"unsupported .ltc format version {version} (this ltc reads version {VERSION})")
    if not _PREFIX.size + _CRC.size < length <= MAX_HEADER:
        raise FormatError(f"header length {length} out of range (corrupt file)")
    rest = read_exact(stream, length - _PREFIX.size, "header")
    if zlib.crc32(prefix + rest[:-4]) != _CRC.unpack(rest[-4:])[0]:
        raise FormatError("header checksum mismatch (corrupt file)")
    if flags:
        raise FormatError(f"written by a newer ltc (header flags {flags:#06x}, which this ltc does not know)")
    r = _Reader(rest[:-4])
    header = _parse_body(r)
    if r.remaining:
        raise FormatError("header longer than its fields (corrupt file)")
    return header


def _parse_body(r: _Reader) -> Header:
    name_len = r.unpack("<B")[0]
    try:
        name = r.take(name_len).decode("ascii")
    except UnicodeDecodeError:
        name = ""
    if not MODEL_NAME.fullmatch(name):
        raise FormatError("the model name in the header is not a valid model name (corrupt file)")
    sha, coder, mode, nesting, nonce, check, kind, source_dim, latent_dim, frame_vectors, vectors = \
        r.unpack(_FIXED.format)
    try:
        coder_code = CoderCode(coder)
    except ValueError:
        raise FormatError(f"written by a newer ltc, or corrupt (unknown coder {coder})") from None
    try:
        mode_code, kind_code = ModeCode(mode), Kind(kind)
    except ValueError:
        raise FormatError("unknown mode or source kind (corrupt or newer file)") from None
    header = Header(name, sha, coder_code, mode_code, nesting, nonce, check, kind_code, source_dim, latent_dim,
                    frame_vectors, vectors)
    if kind_code is Kind.ARRAY:
        dtype_code, ndim = r.unpack("<BB")
        if dtype_code not in DTYPES or not 1 <= ndim <= MAX_NDIM:
            raise FormatError("unknown dtype or array rank out of range (corrupt file)")
        header = dataclasses.replace(header, dtype=DTYPES[dtype_code], shape=r.unpack(f"<{ndim}Q"))
    elif kind_code is Kind.AUDIO:
        header = dataclasses.replace(header, audio=AudioInfo(*r.unpack(_AUDIO.format)))
    else:
        header = dataclasses.replace(header, image=ImageInfo(*r.unpack(_IMAGE.format)))
    _check(header)
    return header


def _check(h: Header) -> None:
    if not (1 <= h.source_dim <= MAX_DIM and 1 <= h.latent_dim <= MAX_DIM):
        raise FormatError("source or latent dimension out of range")
    if not 1 <= h.frame_vectors <= MAX_FRAME_VECTORS:
        raise FormatError("frame size out of range (corrupt file)")
    if (h.mode in (ModeCode.QUANTIZED, ModeCode.SHARED)) != (h.nesting >= 2) or not 1 <= h.nesting <= 1 << 16:
        raise FormatError("nesting ratio does not fit the randomness mode (corrupt file)")
    if h.known_length and not 1 <= h.vectors <= MAX_ELEMENTS // max(h.source_dim, h.latent_dim):
        raise FormatError(f"{h.vectors} vectors is out of range (corrupt file)")
    if h.kind is Kind.ARRAY:
        elements = 1
        for s in h.shape:
            elements *= s
        if not h.known_length or elements != h.vectors * h.source_dim or h.shape[-1] != h.source_dim:
            raise FormatError(f"array shape {h.shape} does not fit {h.vectors} vectors of {h.source_dim} (corrupt "
                              "file)")
    if h.audio is not None:
        _check_audio(h.audio, h.source_dim, h.vectors)
        if h.frame_vectors % h.audio.channels:
            raise FormatError("audio frames must hold whole spans of every channel (corrupt file)")
    if h.image is not None:
        i = h.image
        if i.channels not in (1, 3, 4) or i.height < 1 or i.width < 1 or i.height * i.width * i.channels != \
                h.source_dim or not h.known_length:
            raise FormatError("image size does not match the coded vectors (corrupt file)")


def _check_audio(a: AudioInfo, hop: int, vectors: int) -> None:
    if not (1 <= a.sample_rate <= MAX_RATE and 1 <= a.coded_rate <= MAX_RATE and 1 <= a.channels <= MAX_CHANNELS):
        raise FormatError("audio rate or channel count out of range (corrupt file)")
    known = a.samples != UNKNOWN, a.coded_samples != UNKNOWN, vectors != UNKNOWN
    if len(set(known)) != 1:
        raise FormatError("audio lengths are known only in part (corrupt file)")
    if known[0]:
        check_audio_lengths(a.samples, a.coded_samples, a, hop, vectors)


def check_audio_lengths(samples: int, coded_samples: int, a: AudioInfo, hop: int, vectors: int) -> None:
    """The audio lengths (from the header or the end record) against the rates and the coded vectors."""
    if not (1 <= samples <= MAX_ELEMENTS and 1 <= coded_samples <= MAX_ELEMENTS):
        raise FormatError("audio length out of range (corrupt file)")
    if vectors != a.channels * (-(-coded_samples // hop) + 1):
        raise FormatError("audio length does not match the number of coded frames (corrupt file)")
    # resampling changes the length by the rate ratio (soxr: within a sample of it)
    if abs(samples * a.coded_rate - coded_samples * a.sample_rate) > 2 * max(a.coded_rate, a.sample_rate):
        raise FormatError("audio lengths do not match the sample rates (corrupt file)")


def read_record(stream: BinaryIO, h: Header, index: int, vectors_before: int,
                with_payload: bool = True) -> Frame | End:
    """The next record of ``stream``: frame ``index`` (which follows ``vectors_before`` vectors) or the end record,
    checked against the header and its CRC. ``with_payload=False`` seeks past the payload instead of reading it
    (the CRC then goes unchecked; the frame's payload is empty)."""
    tag = read_exact(stream, 1, f"frame {index}")
    if tag == END_TAG:
        return _read_end(stream, h, index, vectors_before)
    if tag != FRAME_TAG:
        raise FormatError(f"frame {index}: not a frame record (corrupt file)")
    rest = read_exact(stream, _RECORD.size - 1, f"frame {index}")
    _, found, vectors, count = _RECORD.unpack(tag + rest)
    if found != index:
        raise FormatError(f"frame {index} expected, found frame {found} (frames missing, repeated or out of order)")
    if count > MAX_PARAMS:
        raise FormatError(f"frame {index}: too many coding parameters (corrupt file)")
    params_bytes = read_exact(stream, count * _PARAM.size, f"frame {index}")
    sizes = read_exact(stream, _SIZES.size, f"frame {index}")
    size, symbols = _SIZES.unpack(sizes)
    params = tuple(_PARAM.unpack_from(params_bytes, i * _PARAM.size) for i in range(count))
    if not 1 <= vectors <= h.frame_vectors or size > MAX_FRAME_BYTES:
        raise FormatError(f"frame {index}: size out of range (corrupt file)")
    if h.known_length and vectors != min(h.frame_vectors, h.vectors - vectors_before):
        raise FormatError(f"frame {index} holds {vectors} vectors; the header says otherwise (corrupt file)")
    if not with_payload:
        stream.seek(size + _CRC.size, 1)
        return Frame(index, vectors, symbols, b"", params)
    payload = read_exact(stream, size, f"frame {index}")
    crc = _CRC.unpack(read_exact(stream, _CRC.size, f"frame {index}"))[0]
    head = tag + rest + params_bytes + sizes
    if zlib.crc32(payload, zlib.crc32(head)) != crc:
        raise FormatError(f"frame {index} checksum mismatch (corrupt file)")
    unknown = [tag for tag, _ in params if tag not in KNOWN_PARAMS]
    if unknown:
        raise FormatError(f"frame {index} uses coding parameter {unknown[0]}, which this ltc does not know: written "
                          "by a newer ltc?")
    return Frame(index, vectors, symbols, payload, params)


def _read_end(stream: BinaryIO, h: Header, frames: int, vectors: int) -> End:
    body = END_TAG + read_exact(stream, _END.size - 1, "the end record")
    _, count, total = _END.unpack(body)
    samples = coded = None
    if h.audio is not None:
        extra = read_exact(stream, _END_AUDIO.size, "the end record")
        body += extra
        samples, coded = _END_AUDIO.unpack(extra)
    if zlib.crc32(body) != _CRC.unpack(read_exact(stream, _CRC.size, "the end record"))[0]:
        raise FormatError("end record checksum mismatch (corrupt file)")
    if count != frames or total != vectors or (h.known_length and total != h.vectors):
        raise FormatError(f"the stream ends after {frames} frames of {vectors} vectors, but its end record says "
                          f"{count} of {total} (frames missing or corrupt file)")
    if vectors == 0:
        raise FormatError("the stream holds no frames (corrupt file)")
    if h.audio is not None:
        assert samples is not None and coded is not None
        if h.audio.samples != UNKNOWN and (samples, coded) != (h.audio.samples, h.audio.coded_samples):
            raise FormatError("the end record's audio length differs from the header's (corrupt file)")
        check_audio_lengths(samples, coded, h.audio, h.source_dim, total)
    return End(count, total, samples, coded)


def read_frames(stream: BinaryIO, h: Header, first: int = 0,
                vectors_before: int = 0) -> Generator[Frame, None, End]:
    """Every frame from ``first`` (the stream positioned at its record, after ``vectors_before`` vectors) to the end
    record, checked; insists that the stream ends right after the end record, and returns that record."""
    index, vectors, short = first, vectors_before, False
    while True:
        record = read_record(stream, h, index, vectors)
        if isinstance(record, End):
            break
        if short:
            raise FormatError(f"frame {index} follows a short frame (corrupt file)")
        yield record
        index, vectors, short = index + 1, vectors + record.vectors, record.vectors < h.frame_vectors
    if stream.read(1):
        raise FormatError("unexpected bytes after the end record (corrupt or concatenated file)")
    return record


def read_exact(stream: BinaryIO, n: int, what: str) -> bytes:
    chunks, need = [], n
    while need:
        chunk = stream.read(min(need, 1 << 20))
        if not chunk:
            raise FormatError(f"truncated file: {what} ends early")
        chunks.append(chunk)
        need -= len(chunk)
    return b"".join(chunks)


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
