"""The codec: model + randomness + keyed dither + entropy coder + container. Arrays and audio in, bytes out,
and back; never touches paths (models come from `registry`). `files`, the CLI and `ltccodec.encode`/`decode`
call this.

Per frame (``frame_vectors`` vectors): analysis transform, shared dither from (key, nonce, frame), integer
lattice coordinates of ``Q(y − u)``, range coding against the model's integer tables. Audio is first cut into
gain-normalized MDCT vectors (`framing`), whose gains are coded in the same frame. The decoder rebuilds the same
dither and tables from integers only; its private dither comes from OS randomness unless seeded.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import os
import struct
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ltccodec import keyed
from ltccodec.coding import DECODE_ERRORS, FrameDither
from ltccodec.coding import frame as frame_coding
from ltccodec.errors import LtcError, UsageError
from ltccodec.format import compact as compact_format
from ltccodec.format import container
from ltccodec.format.container import AudioInfo, CoderCode, End, Frame, Header, ImageInfo, Kind, ModeCode
from ltccodec.lattice.dither import coset_dither_native
from ltccodec.media import Audio, FileFormat, Image, ImageFormat, SampleFormat, fit_length, framing, resample
from ltccodec.randomness import Mode, Randomness
from ltccodec.runtime.registry import LoadedModel, by_name, by_path, is_path

SD_GRID = 1 << 16  # shared dither of SD is drawn on Λ / 2^16: a fixed-point grid both sides reproduce
FRAME_VECTORS = container.MAX_FRAME_VECTORS
COMPACT_ITEMS = compact_format.MAX_ITEMS
# Audio this short is written in the compact profile unless asked otherwise: the full header and end record (about
# 190 bytes) would cost over 0.5 kbit/s, while the compact form's 3-byte nonce and one seal for everything matter
# little for a clip (docs/FORMAT.md, the compact profile)
COMPACT_AUDIO_SECONDS = 3.0
MAX_OUTPUT_ENV = "LTC_MAX_OUTPUT"
DEFAULT_MAX_OUTPUT = 1 << 33  # 8 GiB of decoded values unless the user allows more
# A frame's payload must hold its vectors' least cost: count · least ≤ 8 · payload bytes + CODER_SLACK_BITS (the
# range coder writes at least its symbols' information; the slack covers the compact profile's cut end)
CODER_SLACK_BITS = 32
# What the guard leaves: decoded float32 bytes per stream byte, at most, for every shipped model (docs/FORMAT.md;
# tests/test_hostile.py checks it). The lowest-rate Gaussian models honestly code 4,096 vectors in a few bytes.
MAX_EXPANSION = 5100
Progress = Callable[[int, int], None]
_MODE_CODES = {Mode.DETERMINISTIC: ModeCode.NONE, Mode.PRIVATE: ModeCode.PRIVATE, Mode.QUANTIZED: ModeCode.QUANTIZED,
               Mode.SHARED: ModeCode.SHARED}
_CODER_CODES = {"box": CoderCode.BOX, "distance": CoderCode.DISTANCE}
_COMPACT_MISMATCH = ("checksum mismatch: a corrupt file, or not the key it was encoded with (compact streams have one "
                     "check for both)")


def nesting_of(randomness: Randomness) -> int:
    """The nesting ratio the stream uses: QSD's a, the fixed-point grid for SD, 1 without shared dither."""
    return {Mode.SHARED: SD_GRID, Mode.QUANTIZED: randomness.nesting}.get(randomness.mode, 1)


def frame_dither(loaded: LoadedModel, randomness: Randomness, key: keyed.Key, nonce: bytes, frame: int,
                 count: int) -> tuple[np.ndarray | None, FrameDither]:
    """(the float dither ``u`` ``[count, L]`` or None, the dither as the coder conditions on it) of one frame."""
    a = nesting_of(randomness)
    lattice = loaded.model.lattice
    if a == 1:
        return None, FrameDither.none(lattice, count)
    digits = keyed.dither_digits(key, nonce, frame, count, lattice.dim, a)
    _, u, native = coset_dither_native(lattice, digits, a, with_coords=False)
    return u, FrameDither(tuple(native), a)


ModelArg = str | Path | LoadedModel


def _loaded(model: ModelArg) -> LoadedModel:
    if isinstance(model, LoadedModel):
        return model
    return by_path(Path(model)) if is_path(str(model)) else by_name(str(model))


def _randomness(randomness: str | Randomness) -> Randomness:
    return randomness if isinstance(randomness, Randomness) else Randomness.parse(randomness)


def encode(array: np.ndarray, model: ModelArg, randomness: str | Randomness = "sd", key: keyed.Key | None = None,
           nonce: bytes | None = None, frame_vectors: int = FRAME_VECTORS) -> bytes:
    """Compress a float array whose last axis is the model's source dimension; returns the .ltc bytes."""
    out = io.BytesIO()
    encode_to(array, out, model, randomness, key, nonce, frame_vectors)
    return out.getvalue()


def encode_to(array: np.ndarray, out: BinaryIO, model: ModelArg, randomness: str | Randomness = "sd",
              key: keyed.Key | None = None, nonce: bytes | None = None, frame_vectors: int = FRAME_VECTORS,
              progress: Progress | None = None, compact: bool = False) -> Header:
    """As `encode`, writing to a binary file object; returns the header written. ``progress(done, total)``
    is called after each frame. ``compact``: write the compact profile (one frame of at most 4,096 vectors;
    see `ltccodec.format.compact`)."""
    loaded = _loaded(model)
    if loaded.card.framing is not None:
        raise UsageError(f"model {loaded.name} codes audio; give it an audio file (or use `encode_audio`)")
    if loaded.card.image is not None:
        height, width, _ = loaded.card.image
        raise UsageError(f"model {loaded.name} codes {width}×{height} images; give it image files (or use "
                         "`encode_images`)")
    data = check_array(array, loaded.card.source_dim)
    flat = data.reshape(-1, loaded.card.source_dim)
    described = Described(Kind.ARRAY, data.dtype.name, tuple(int(s) for s in data.shape))
    return _encode_vectors(flat, None, out, loaded, _randomness(randomness), key, nonce, frame_vectors, progress,
                           described, compact)


def encode_audio(audio: Audio, out: BinaryIO, model: ModelArg, randomness: str | Randomness = "none",
                 key: keyed.Key | None = None, nonce: bytes | None = None, frame_vectors: int = FRAME_VECTORS,
                 progress: Progress | None = None, compact: bool | None = None) -> Header:
    """Compress audio with an audio model: each channel is resampled to the model's rate, cut into
    gain-normalized MDCT frames, and coded; the header keeps what restores rate, channels, length and format.
    ``compact``: the compact profile (one frame; default: for clips of at most `COMPACT_AUDIO_SECONDS` that fit
    one frame)."""
    loaded = _loaded(model)
    spec = loaded.card.framing
    if spec is None:
        raise UsageError(f"model {loaded.name} codes {loaded.card.source}, not audio; see `ltc models`")
    samples = resample(audio.samples, audio.sample_rate, spec.sample_rate)
    if not np.all(np.isfinite(samples)) or np.abs(samples).max(initial=0.0) > 64.0:
        raise UsageError("the audio has samples that are not finite or far outside [-1, 1]")
    pairs = [framing.to_vectors(samples[:, c].astype(np.float64), spec) for c in range(audio.channels)]
    frames = len(pairs[0][0])
    if compact is None:
        compact = audio.seconds <= COMPACT_AUDIO_SECONDS and audio.channels * frames <= min(frame_vectors,
                                                                                             COMPACT_ITEMS)
    span = frames if compact else frame_vectors // audio.channels  # MDCT frames of each channel per record
    if span < 1:
        raise UsageError(f"a frame of {frame_vectors} vectors cannot hold one MDCT frame of {audio.channels} channels")
    vectors = framing.by_time([p[0] for p in pairs], span)  # [C·F, hop]: each record one span of every channel
    gains = framing.by_time([p[1] for p in pairs], span)
    info = AudioInfo(audio.sample_rate, audio.channels, len(audio.samples), int(audio.sample_format),
                     int(audio.file_format), spec.sample_rate, len(samples))
    return _encode_vectors(vectors, gains, out, loaded, _randomness(randomness), key, nonce,
                           span * audio.channels, progress, Described(Kind.AUDIO, audio=info), compact)


def encode_images(image: Image, out: BinaryIO, model: ModelArg, randomness: str | Randomness = "sd",
                  key: keyed.Key | None = None, nonce: bytes | None = None, frame_vectors: int = FRAME_VECTORS,
                  progress: Progress | None = None, compact: bool | None = None) -> Header:
    """Compress one image or a stack (`media.Image`) with an image model, one vector per image; the header keeps
    the size, channels and file format that decoding restores. ``compact`` (default: when the images fit one
    frame) writes the compact profile."""
    loaded = _loaded(model)
    wanted = loaded.card.image
    if wanted is None:
        raise UsageError(f"model {loaded.name} codes {loaded.card.source}, not images; see `ltc models`")
    if image.shape != wanted:
        height, width, _ = wanted
        raise UsageError(f"the image is {image.describe}; model {loaded.name} codes {width}×{height} grayscale "
                         "(give --resize to convert it)")
    vectors = image.pixels.reshape(len(image.pixels), -1).astype(np.float32) / np.float32(255)
    info = ImageInfo(*wanted, int(image.file_format))
    compact = len(vectors) <= COMPACT_ITEMS if compact is None else compact
    return _encode_vectors(vectors, None, out, loaded, _randomness(randomness), key, nonce, frame_vectors, progress,
                           Described(Kind.IMAGE, image=info), compact)


def kind_of(item: Audio | Image | np.ndarray) -> str:
    """The input kind a model is chosen for: "audio", "image" or "array"."""
    return "audio" if isinstance(item, Audio) else "image" if isinstance(item, Image) else "array"


def encode_item(item: Audio | Image | np.ndarray, out: BinaryIO, model: ModelArg,
                randomness: str | Randomness, key: keyed.Key | None = None, nonce: bytes | None = None,
                progress: Progress | None = None, compact: bool | None = None) -> Header:
    """`encode_audio`, `encode_images` or `encode_to`, by what ``item`` is. ``compact``: the compact profile (None:
    images that fit it use it, arrays do not; audio has none)."""
    if isinstance(item, Audio):
        return encode_audio(item, out, model, randomness, key, nonce, progress=progress, compact=compact)
    if isinstance(item, Image):
        return encode_images(item, out, model, randomness, key, nonce, progress=progress, compact=compact)
    return encode_to(item, out, model, randomness, key, nonce, progress=progress, compact=bool(compact))


@dataclass(frozen=True)
class Described:
    """What a stream says of its source besides the vectors, by kind: an array's dtype and shape, the audio block or
    the image block (docs/FORMAT.md, the header's description)."""

    kind: Kind
    dtype: str = "float32"
    shape: tuple[int, ...] = ()
    audio: AudioInfo | None = None
    image: ImageInfo | None = None


def _encode_vectors(flat: np.ndarray, gains: np.ndarray | None, out: BinaryIO, loaded: LoadedModel,
                    rand: Randomness, key: keyed.Key | None, nonce: bytes | None, frame_vectors: int,
                    progress: Progress | None, described: Described, compact: bool = False) -> Header:
    key = key or keyed.DEFAULT_KEY
    if compact:
        if len(flat) > COMPACT_ITEMS:
            raise UsageError(f"the compact profile holds up to {COMPACT_ITEMS} vectors (one frame), not {len(flat)}")
        nonce = nonce[:compact_format.NONCE_BYTES] if nonce is not None else \
            keyed.new_nonce()[:compact_format.NONCE_BYTES]
        frame_vectors = len(flat)
    nonce = nonce if nonce is not None else keyed.new_nonce()
    header = make_header(loaded, rand, key, nonce, described, len(flat), frame_vectors)
    coded = encode_frames(flat, gains, loaded, rand, key, nonce, 0, frame_vectors, progress, shortest=compact)
    if compact:
        out.write(compact_format.pack(header, coded[0].payload, coded[0].symbols))
    else:
        container.write(header, coded, out)
    return header


def make_header(loaded: LoadedModel, rand: Randomness, key: keyed.Key, nonce: bytes, described: Described,
                vectors: int, frame_vectors: int) -> Header:
    """The header of a stream whose frames are coded (perhaps in parts) with `encode_frames`. It is checked as the
    decoder checks it (the container's field checks, kind against the model), so no encoder writes a stream its
    decoder refuses."""
    header = Header(loaded.name, bytes.fromhex(loaded.card.sha256), _CODER_CODES[loaded.card.coder],
                    _MODE_CODES[rand.mode], nesting_of(rand), nonce, keyed.key_check(key, nonce), described.kind,
                    loaded.card.source_dim, loaded.card.latent_dim, frame_vectors, vectors, described.dtype,
                    described.shape, described.audio, described.image)
    try:
        container.read_header(io.BytesIO(container.pack_header(header)))
        check_kind(described.kind, loaded, described.image)
    except LtcError as error:
        raise UsageError(f"this input cannot be coded with model {loaded.name}: {error}") from None
    return header


def encode_frames(flat: np.ndarray, gains: np.ndarray | None, loaded: LoadedModel, rand: Randomness,
                  key: keyed.Key, nonce: bytes, first: int = 0, frame_vectors: int = FRAME_VECTORS,
                  progress: Progress | None = None, shortest: bool = False) -> list[Frame]:
    """Code the vectors ``flat`` ``[V, n]`` as frames ``first, first + 1, ...`` of a stream. Frames are
    independent, so a long array may be coded in parts (each starting at a frame boundary) by different processes
    and the parts' frames concatenated. ``shortest``: payloads in the compact profile's form
    (`compact.shortest_end`)."""
    coded = []
    with np.errstate(all="ignore"):  # values too large for the model end in the coder's one-line range error
        for index, start in enumerate(range(0, len(flat), frame_vectors)):
            part = slice(start, start + frame_vectors)
            coded.append(_encode_frame(np.asarray(flat[part]), None if gains is None else gains[part], loaded, rand,
                                       key, nonce, first + index, shortest))
            if progress is not None:
                progress(min(start + frame_vectors, len(flat)), len(flat))
    return coded


def _encode_frame(vectors: np.ndarray, gains: np.ndarray | None, loaded: LoadedModel, rand: Randomness,
                  key: keyed.Key, nonce: bytes, index: int, shortest: bool = False) -> Frame:
    """Code frame ``index``: its vectors ``[V, n]`` and, for audio, their gains ``[V, B]``; ``shortest``: the
    payload ends as early as the compact profile allows."""
    coder = loaded.model.coder
    assert coder is not None
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    u, dither = frame_dither(loaded, rand, key, nonce, index, len(x))
    side, full_dither = None, dither
    if gains is not None:  # audio: silent frames send their gains only
        spec = loaded.card.framing
        side = framing.gain_deltas(gains, spec)
        coded = ~framing.silent(gains, spec)
        coded_rows = functools.partial(_coded_rows, spec=spec)
        x, dither = x[coded], dither.rows(coded)
        u = None if u is None else u[coded]
    coords = loaded.model.to_symbols(x, u)
    payload = frame_coding.encode(coder, coords, dither, side, loaded.model.gain_counts).astype("<u4").tobytes()
    if shortest:
        count = len(vectors)

        def decodes_same(candidate: bytes) -> bool:
            words = np.frombuffer(candidate, dtype="<u4")
            try:
                if side is None:
                    decoded, _ = frame_coding.decode(coder, words, count, dither)
                    return bool(np.array_equal(decoded, coords))
                decoded, gains_back = frame_coding.decode(coder, words, count, full_dither, count,
                                                          loaded.model.gain_counts, coded_rows)
            except DECODE_ERRORS:
                return False
            return bool(np.array_equal(decoded, coords) and np.array_equal(gains_back, side))

        payload = compact_format.shortest_end(payload, decodes_same)
    if len(vectors) * least_bits(loaded) > 8 * (len(payload) + -len(payload) % 4) + CODER_SLACK_BITS:
        raise LtcError(f"frame {index} coded in fewer bits than its vectors' least cost: a coder fault, please report")
    return Frame(index, len(vectors), _symbol_check(coords, side), payload)


@dataclass(frozen=True, eq=False)
class Decoded:
    """A decoded stream: its header and the array, the audio or the images it holds."""

    header: Header
    array: np.ndarray | None = None
    audio: Audio | None = None
    image: Image | None = None


def decode(data: bytes, key: keyed.Key | None = None, seed: int | None = None,
           dirs: Sequence[Path] | None = None) -> np.ndarray:
    """Decompress .ltc bytes: the array that was encoded (shape and dtype restored), for audio the samples
    ``[T, C]`` (float32, at the input's rate), for images the pixels ``[N, H, W, C]`` (uint8)."""
    return decode_from(io.BytesIO(data), key, seed, dirs)


def decode_from(stream: BinaryIO, key: keyed.Key | None = None, seed: int | None = None,
                dirs: Sequence[Path] | None = None, progress: Progress | None = None) -> np.ndarray:
    """As `decode`, reading a binary file object."""
    result = decode_stream(stream, key, seed, dirs, progress)
    if result.image is not None:
        return result.image.pixels
    return result.audio.samples if result.audio is not None else result.array


def decode_stream(stream: BinaryIO, key: keyed.Key | None = None, seed: int | None = None,
                  dirs: Sequence[Path] | None = None, progress: Progress | None = None,
                  max_output_bytes: int | None = None) -> Decoded:
    """Decode any stream. ``seed`` makes the private dither reproducible; ``progress(done, total)`` is called
    after each frame. A stream that declares more than ``max_output_bytes`` of decoded values (default:
    ``$LTC_MAX_OUTPUT`` or 8 GiB) is refused before anything is allocated."""
    return open_stream(stream, key, dirs, max_output_bytes).decode(seed, progress)


def open_stream(stream: BinaryIO, key: keyed.Key | None = None, dirs: Sequence[Path] | None = None,
                max_output_bytes: int | None = None, model: LoadedModel | None = None) -> StreamReader:
    """Read and check a stream's header against its model, the key and the size limits (see `decode_stream`);
    the frames are left for the returned reader. ``model``: the model already in hand (it must be the one the
    header names), instead of looking it up."""
    header, stream, compact = _read_header(stream, dirs, model)
    key = key or keyed.DEFAULT_KEY
    # Only shared dither depends on the key: a deterministic or private-dither stream decodes under any key, as its
    # compact form does (docs/FORMAT.md, keys). Compact streams check the key with everything else, in their seal.
    if compact is None and header.mode in (ModeCode.QUANTIZED, ModeCode.SHARED):
        keyed.verify_key(key, header.nonce, header.key_check)
    if model is None:
        loaded = by_name(header.model_name, header.model_sha256, dirs)
    elif (model.name, bytes.fromhex(model.card.sha256)) == (header.model_name, header.model_sha256):
        loaded = model
    else:
        raise LtcError(f"the stream was coded with model {header.model_name}, not {model.name}")
    if (loaded.card.source_dim, loaded.card.latent_dim) != (header.source_dim, header.latent_dim):
        raise LtcError("the stream's dimensions do not match its model (corrupt file)")
    if header.coder is not _CODER_CODES[loaded.card.coder]:
        raise LtcError(f"the stream's coder ({header.coder.name.lower()}) is not its model's ({loaded.card.coder}): "
                       "corrupt file")
    check_kind(header.kind, loaded, header.image)
    limit = _output_limit(max_output_bytes)
    _check_output_size(header, limit)
    return StreamReader(stream, header, loaded, key, compact, limit)


def check_kind(kind: Kind, loaded: LoadedModel, image: ImageInfo | None = None) -> None:
    """`LtcError` unless a stream of ``kind`` (and ``image`` size) is what ``loaded`` codes: encoder and decoder
    both ask, so no encoder writes a stream its decoder refuses."""
    if (kind is Kind.AUDIO) != (loaded.card.framing is not None) or (kind is Kind.IMAGE) != (
            loaded.card.image is not None) or (image is not None and (
            image.height, image.width, image.channels) != loaded.card.image):
        raise LtcError("the stream's kind does not match its model (corrupt file)")


def _read_header(stream: BinaryIO, dirs: Sequence[Path] | None = None,
                 model: LoadedModel | None = None) -> tuple[Header, BinaryIO, Frame | None]:
    """The header of a full or compact stream, the stream its frames are read from, and a compact stream's one
    frame (None for a full stream)."""
    lead = stream.read(len(compact_format.MAGIC))
    if lead == compact_format.MAGIC:  # the compact profile: one small frame, read whole
        header, frame = compact_format.parse(lead + stream.read(container.MAX_FRAME_BYTES + 1),
                                             lambda found: _compact_model(found, dirs, model))
        return header, stream, frame
    return container.read_header(_Prefixed(lead, stream)), stream, None


def _compact_model(found: int, dirs: Sequence[Path] | None, model: LoadedModel | None) -> compact_format.ModelFacts:
    """The model a compact stream's id names: ``model`` if given and it has that id, else the one installed model
    with it."""
    from ltccodec.runtime.registry import by_compact_id

    if model is not None:
        sha = bytes.fromhex(model.card.sha256)
        if compact_format.model_id(model.name, sha) != found:
            raise LtcError(f"the stream was coded with another model than {model.name}")
        framing = model.card.framing
        return compact_format.ModelFacts(model.name, sha, model.card.source_dim, model.card.latent_dim,
                                         model.card.image, _CODER_CODES[model.card.coder],
                                         None if framing is None else framing.sample_rate)
    return by_compact_id(found, dirs)


def coder_code(coder: str) -> CoderCode:
    """The header's code for a model card's coder."""
    return _CODER_CODES[coder]


class _Prefixed:
    """A stream whose first bytes were already read: they are served again, then the rest."""

    def __init__(self, prefix: bytes, stream: BinaryIO) -> None:
        self._prefix, self._stream = prefix, stream

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            head, self._prefix = self._prefix, b""
            return head + self._stream.read()
        head, self._prefix = self._prefix[:size], self._prefix[size:]
        return head + (self._stream.read(size - len(head)) if size > len(head) else b"")


@dataclass(frozen=True, eq=False)
class _Decoded:
    """One decoded frame: its vector count, which of them were coded (audio; None: all), their values
    ``[coded, n]`` and, for audio, the gain indices of all ``[count, B]``."""

    count: int
    active: np.ndarray | None
    values: np.ndarray
    gains: np.ndarray | None


class StreamReader:
    """A stream whose header has been read and checked (`open_stream`); decodes its frames once, in order."""

    def __init__(self, stream: BinaryIO, header: Header, loaded: LoadedModel, key: keyed.Key,
                 compact: Frame | None = None, limit: int = DEFAULT_MAX_OUTPUT) -> None:
        self.header, self._stream, self._loaded, self._key = header, stream, loaded, key
        self._compact, self._limit = compact, limit  # a compact stream's one frame; the decoded bytes allowed
        self._end: End | None = None  # the end record, once read

    def decode(self, seed: int | None = None, progress: Progress | None = None) -> Decoded:
        """The whole output in memory."""
        header, spec = self.header, self._loaded.card.framing
        # a declared length is filled in place (one copy of the output); an unknown one is gathered frame by frame
        whole = np.zeros((header.vectors, header.source_dim), dtype=np.float32) if header.known_length else None
        parts, gains, start = [], [], 0
        for frame in self._frames(seed, progress):
            out = whole[start:start + frame.count] if whole is not None else \
                np.zeros((frame.count, header.source_dim), dtype=np.float32)
            out[slice(None) if frame.active is None else frame.active] = frame.values
            start += frame.count
            if whole is None:
                parts.append(out)
            if frame.gains is not None:
                gains.append(frame.gains)
        out = whole if whole is not None else np.concatenate(parts)
        del parts
        if header.image is not None:
            i = header.image
            pixels = np.clip(np.rint(out * np.float32(255)), 0, 255).astype(np.uint8)
            fmt = ImageFormat(i.file_format) if i.file_format in ImageFormat._value2member_map_ else ImageFormat.PNG
            return Decoded(header, image=Image(pixels.reshape(-1, i.height, i.width, i.channels), fmt))
        if header.audio is None:
            return Decoded(header, array=out.astype(header.dtype).reshape(header.shape))
        assert spec is not None and self._end is not None
        return Decoded(header, audio=_restore_audio(out, np.concatenate(gains), self._end, header.audio,
                                                    header.frame_vectors // header.audio.channels, self._loaded))

    def array_chunks(self, seed: int | None = None, progress: Progress | None = None, first: int = 0,
                     stop: int | None = None) -> Iterator[np.ndarray]:
        """An array stream's values frame by frame (``[count, n]`` in the stream's dtype), in C order of the
        array's shape: memory stays bounded by a frame, whatever the file declares. ``first``/``stop`` pick a
        range of frames (``header.frame_vectors`` vectors each) from a seekable stream: a partial read."""
        if self.header.kind is not Kind.ARRAY:
            raise UsageError(f"this stream holds {self.header.kind.name.lower()}; decode it whole")
        for frame in self._frames(seed, progress, first, stop):
            yield frame.values.astype(self.header.dtype)

    def _records(self, first: int, stop: int | None) -> Iterator[Frame]:
        """Frames ``first`` to ``stop`` (None: to the end record, which is then checked and kept in ``_end``)."""
        if self._compact is not None:
            if first != 0:
                raise UsageError("a compact stream has one frame, frame 0")
            yield self._compact
            audio = self.header.audio
            self._end = End(1, self.header.vectors, None if audio is None else audio.samples,
                            None if audio is None else audio.coded_samples)
            return
        if first:
            self._skip(first)
        frames = container.read_frames(self._stream, self.header, first, first * self.header.frame_vectors)
        if stop is None:
            self._end = yield from frames
            return
        for frame in frames:
            if frame.index >= stop:
                return
            yield frame

    def _skip(self, first: int) -> None:
        """Position the stream at frame ``first``'s record, reading only the records before it."""
        try:
            self._stream.tell()
        except (OSError, AttributeError):
            raise UsageError("reading part of a stream needs a file, not a pipe") from None
        vectors = 0
        for index in range(first):
            record = container.read_record(self._stream, self.header, index, vectors, with_payload=False)
            if isinstance(record, End):
                raise UsageError(f"the stream has frames 0 to {index - 1}, not {first}")
            vectors += record.vectors

    def _frames(self, seed: int | None, progress: Progress | None, first: int = 0,
                stop: int | None = None) -> Iterator[_Decoded]:
        header, loaded, key = self.header, self._loaded, self._key
        rand = _randomness_of(header)
        rng = np.random.default_rng(seed)
        spec, coder = loaded.card.framing, loaded.model.coder
        assert coder is not None
        coded = None if spec is None else functools.partial(_coded_rows, spec=spec)
        least, limit = least_bits(loaded), self._limit
        done, total = 0, header.vectors if header.known_length else 0
        for frame in self._records(first, stop):
            index, count = frame.index, frame.vectors
            if count * least > 8 * len(frame.payload) + CODER_SLACK_BITS:
                raise container.FormatError(f"frame {index} declares {count} vectors, more than its "
                                            f"{len(frame.payload)} payload bytes can hold (corrupt file or a "
                                            "decompression bomb)")
            if not header.known_length and 4 * (done + count) * header.source_dim > limit:
                raise LtcError(f"the stream decodes to more than the limit of {limit:,} bytes (raise it with "
                               f"--max-output-bytes or ${MAX_OUTPUT_ENV} if you trust this file)")
            u, dither = frame_dither(loaded, rand, key, header.nonce, index, count)
            gains, active = None, None
            try:
                coords, side = frame_coding.decode(coder, np.frombuffer(frame.payload, dtype="<u4"), count, dither,
                                                   count if spec is not None else 0, loaded.model.gain_counts, coded)
                if spec is not None:
                    gains = framing.gain_indices_from_deltas(side, spec)
                    active = ~framing.silent(gains, spec)
                    u = None if u is None else u[active]
            except DECODE_ERRORS as error:
                if header.seal_prefix is not None:  # a wrong key decodes to nonsense: say what the seal would
                    raise container.FormatError(_COMPACT_MISMATCH) from None
                raise container.FormatError(f"frame {index} does not decode ({error}); corrupt file?") from None
            if header.seal_prefix is not None:
                if zlib.crc32(struct.pack("<I", _symbol_check(coords, side)), header.seal_prefix) != frame.symbols:
                    raise container.FormatError(_COMPACT_MISMATCH)
            elif _symbol_check(coords, side) != frame.symbols:
                raise container.FormatError(f"frame {index}: decoded symbols do not match the encoder's check "
                                            "(encoder/decoder drift or a corrupt file)")
            private = loaded.model.private_dither(rand, len(coords), rng)
            yield _Decoded(count, active, loaded.model.from_symbols(coords, u, private), gains)
            done += count
            if progress is not None:
                progress(done, max(total, done))


def _coded_rows(side: np.ndarray, spec: framing.Framing) -> np.ndarray:
    """bool ``[V]``: which vectors of an audio frame carry coefficients, from its gain symbols (silent ones do not)."""
    return ~framing.silent(framing.gain_indices_from_deltas(side, spec), spec)


def least_bits(loaded: LoadedModel) -> float:
    """The fewest bits any vector can cost in the model's streams: for audio the cost of a silent vector (its gains
    alone), else the coder's `least_bits`. A frame's payload can hold no more vectors than its bits divided by
    this, which bounds what a small file can make the decoder produce (docs/FORMAT.md)."""
    if loaded.model.gain_counts is not None:
        return float(np.sum(16 - np.log2(loaded.model.gain_counts.max(axis=1).astype(np.float64))))
    coder = loaded.model.coder
    assert coder is not None
    return coder.least_bits()


def _output_limit(limit: int | None) -> int:
    if limit is not None:
        return limit
    text = os.environ.get(MAX_OUTPUT_ENV, "")
    try:
        return int(text) if text else DEFAULT_MAX_OUTPUT
    except ValueError:
        raise UsageError(f"${MAX_OUTPUT_ENV} must be a number of bytes, not {text!r}") from None


def _check_output_size(header: Header, limit: int) -> None:
    """Refuse streams that declare more than ``limit`` bytes of decoded data (float32 working values)."""
    declared = 4 * header.vectors * header.source_dim if header.known_length else 0
    if header.audio is not None and header.audio.samples != container.UNKNOWN:
        declared = max(declared, 4 * header.audio.samples * header.audio.channels)
    if declared > limit:
        raise LtcError(f"the stream declares {declared:,} bytes of decoded data, more than the limit of {limit:,} "
                       f"(raise it with --max-output-bytes or ${MAX_OUTPUT_ENV} if you trust this file)")


def _restore_audio(vectors: np.ndarray, gains: np.ndarray, end: End, info: AudioInfo, span: int,
                   loaded: LoadedModel) -> Audio:
    """The audio of a stream's vectors and gain indices in stream order (`framing.by_time`, ``span`` MDCT frames of
    each channel per record)."""
    spec = loaded.card.framing
    assert end.samples is not None and end.coded_samples is not None
    info = dataclasses.replace(info, samples=end.samples, coded_samples=end.coded_samples)
    channels = [framing.from_vectors(v, g, spec, info.coded_samples) for v, g in zip(
        framing.by_channel(vectors, info.channels, span), framing.by_channel(gains, info.channels, span),
        strict=True)]
    samples = resample(np.stack(channels, axis=1).astype(np.float32), info.coded_rate, info.sample_rate)
    try:
        sample_format, file_format = SampleFormat(info.sample_format), FileFormat(info.file_format)
    except ValueError:
        sample_format, file_format = SampleFormat.PCM_16, FileFormat.WAV
    return Audio(fit_length(samples, info.samples), info.sample_rate, sample_format, file_format)


def read_info(stream: BinaryIO, dirs: Sequence[Path] | None = None) -> Header:
    """The header of a stream, validated (frames not read; a compact stream's model must be installed)."""
    return _read_header(stream, dirs)[0]


def payload_size(data: bytes, dirs: Sequence[Path] | None = None) -> int:
    """The payload bytes of the stream ``data`` as stored: its frames' coder words (a compact stream's cut payload),
    without the header and record fields."""
    header, frames, _ = read_frame_table(io.BytesIO(data), dirs)
    return header.stored if header.stored is not None else sum(len(f.payload) for f in frames)


def read_frame_table(stream: BinaryIO, dirs: Sequence[Path] | None = None) -> tuple[Header, list[Frame], End]:
    """The header, every frame record (payloads read and checked against their CRCs, not decoded) and the end
    record of a stream: what `ltc info` shows."""
    header, stream, compact = _read_header(stream, dirs)
    if compact is not None:
        audio = header.audio
        return header, [compact], End(1, header.vectors, None if audio is None else audio.samples,
                                      None if audio is None else audio.coded_samples)
    frames, vectors = [], 0
    while True:
        record = container.read_record(stream, header, len(frames), vectors)
        if isinstance(record, End):
            return header, frames, record
        frames.append(record)
        vectors += record.vectors


def _randomness_of(header: Header) -> Randomness:
    mode = {ModeCode.NONE: Mode.DETERMINISTIC, ModeCode.PRIVATE: Mode.PRIVATE, ModeCode.QUANTIZED: Mode.QUANTIZED,
            ModeCode.SHARED: Mode.SHARED}[header.mode]
    return Randomness(mode, header.nesting if mode is Mode.QUANTIZED else 1)


def _symbol_check(coords: np.ndarray, side: np.ndarray | None = None) -> int:
    """CRC-32 of the coordinates (int64 LE), continued over the side symbols (int64 LE) when there are some."""
    check = zlib.crc32(np.ascontiguousarray(coords, dtype="<i8").tobytes())
    if side is not None:
        check = zlib.crc32(np.ascontiguousarray(side, dtype="<i8").tobytes(), check)
    return check


def check_array(array: np.ndarray, dim: int) -> np.ndarray:
    """``array`` as numpy, if the codec can code it with a model of source dimension ``dim``; else `UsageError`."""
    data = np.asarray(array)
    if data.dtype.name not in container.DTYPE_CODES:
        raise UsageError(f"arrays of {data.dtype} are not supported; use float16, float32 or float64")
    if data.ndim < 1 or data.ndim > container.MAX_NDIM or data.shape[-1] != dim:
        raise UsageError(f"the model codes vectors of {dim} values: the array's last axis must be {dim}, "
                         f"got shape {data.shape}")
    if data.size == 0:
        raise UsageError("the array is empty")
    if not np.all(np.isfinite(data)):
        raise UsageError("the array contains NaN or infinite values")
    return data
