"""File-level verbs: `encode_file` and `decode_file` read a path (or ``-`` for stdin), recognise the input
(``.npy`` array or audio), pick the model (`registry`), code it (`codec`), write the output atomically (or to
stdout) and return what a user wants to see. The CLI parses, calls these, and reports.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ltccodec import codec, media
from ltccodec.atomic import open_atomic
from ltccodec.errors import LtcError, UsageError
from ltccodec.format.container import End, Frame, Header, Kind
from ltccodec.keyed import Key
from ltccodec.randomness import Randomness
from ltccodec.runtime import registry

STDIO = "-"
Resolver = Callable[[registry.Choice, str], tuple[registry.LoadedModel, Randomness]]
MAX_INPUT_BYTES = 1 << 34  # 16 GiB: beyond this, split the input (ltc batch)


@dataclass(frozen=True)
class EncodeStats:
    """What one encode did."""

    kind: str  # "audio" or "array"
    model: str
    randomness: Randomness
    input_bytes: int
    output_bytes: int
    payload_bytes: int
    values: int  # samples (all channels) or array elements
    seconds: float | None  # audio duration
    elapsed: float  # wall time of reading, coding and writing
    verified: bool = False  # read back and decoded after writing

    @property
    def kbps(self) -> float | None:
        """Whole-file kbit/s of audio."""
        return None if self.seconds is None else 8 * self.output_bytes / self.seconds / 1000

    @property
    def payload_kbps(self) -> float | None:
        return None if self.seconds is None else 8 * self.payload_bytes / self.seconds / 1000

    @property
    def bits_per_value(self) -> float:
        return 8 * self.output_bytes / self.values


@dataclass(frozen=True)
class DecodeStats:
    """What one decode did."""

    kind: str
    model: str
    output_bytes: int
    shape: tuple[int, ...]  # the array's, or (samples, channels)
    sample_rate: int | None
    elapsed: float
    verified: bool = False  # read back and compared after writing


def read_input(path: str) -> bytes:
    """The bytes of ``path``, or of stdin for ``-`` (refused when stdin is a terminal)."""
    with open_input(path) as stream:
        try:
            return stream.read()
        except OSError as error:
            raise UsageError(f"cannot read {path}: {error.strerror}") from None


@contextlib.contextmanager
def open_input(path: str) -> Iterator[BinaryIO]:
    """``path`` opened for reading, or stdin for ``-`` (refused when stdin is a terminal)."""
    if path == STDIO:
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("reading from stdin, which is a terminal: pipe data in or give a file")
        yield sys.stdin.buffer
        return
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{path} is a directory")
    try:
        if target.stat().st_size > MAX_INPUT_BYTES:
            raise UsageError(f"{path} is larger than {MAX_INPUT_BYTES >> 30} GiB")
        handle = target.open("rb")
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    with handle:
        yield handle


def check_output(path: str, force: bool) -> None:
    """Fail early (before any work) when ``path`` cannot be written."""
    if path == STDIO:
        return
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{path} is a directory")
    if target.exists() and not force:
        raise UsageError(f"{path} exists; use --force to overwrite")
    if not target.parent.is_dir():
        raise UsageError(f"no such directory: {target.parent}")


def write_output(path: str, data: bytes, force: bool) -> None:
    """stdout for ``-``, else an atomic write that never replaces a file without ``force``."""
    with open_output(path, force) as out:
        out.write(data)


@contextlib.contextmanager
def open_output(path: str, force: bool) -> Iterator[BinaryIO]:
    """stdout for ``-``, else a file written atomically (see `atomic.open_atomic`)."""
    if path == STDIO:
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    check_output(path, force)
    with open_atomic(Path(path), overwrite=force) as out:
        yield out


class _Hashing:
    """A binary writer that also hashes what passes through it."""

    def __init__(self, out: BinaryIO) -> None:
        self.out, self.digest, self.size = out, hashlib.sha256(), 0

    def write(self, data: bytes) -> None:
        self.out.write(data)
        self.digest.update(data)
        self.size += len(data)


def sha256_of(path: str) -> bytes:
    """SHA-256 of a file's content, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open_input(path) as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.digest()


def _verify_written(path: str, expected: bytes) -> None:
    """Read ``path`` back and compare its SHA-256 with what was written; remove it if it differs."""
    if sha256_of(path) != expected:
        Path(path).unlink(missing_ok=True)
        raise LtcError(f"{path} did not read back as written and was removed (disk or file system error?)")


def encode_file(src: str, dst: str, choice: registry.Choice | None = None, key: Key | None = None,
                nonce: bytes | None = None, force: bool = False, progress: codec.Progress | None = None,
                verify: bool = False, resolve: Resolver = registry.resolve, resize: bool = False,
                compact: bool | None = None) -> EncodeStats:
    """Encode the array, audio or image file ``src`` to the .ltc file ``dst`` (``choice``: model, randomness and
    rate point; default: the default model of the input's kind). Images: a PNG or JPEG, a folder of them (sorted
    by name; the names are not kept), or a ``.npy`` stack of uint8 images ``[N, H, W]`` or ``[N, H, W, C]``;
    ``resize`` converts them to the model's size and to grayscale. With ``verify``, the written file is read
    back and decoded, so every frame's decoded symbols are checked against what the encoder coded. ``resolve``
    turns the choice and the input's kind into a model (a batch passes one that remembers its answers).
    ``compact`` writes the compact profile (one frame of at most 4,096 vectors); by default images that fit it
    use it and arrays do not.

    One pass: read the input (its kind and description), resolve the model once, code, write."""
    began = time.perf_counter()
    choice = choice or registry.Choice()
    check_output(dst, force)
    item, input_bytes = read_media(src)
    kind = codec.kind_of(item)
    if kind == "array" and choice.model is None and registry.DEFAULT_FAMILIES["array"] is None:
        ladders = registry.ladders_for(int(item.shape[-1])) if item.ndim else []
        fits = f"; for vectors of {item.shape[-1]} values: {', '.join(ladders)}" if ladders else ""
        raise UsageError(f"arrays have no default model: give --model{fits} (see `ltc models`)")
    loaded, randomness = resolve(choice, kind)
    if resize and isinstance(item, media.Image) and loaded.card.image is not None and \
            item.shape != loaded.card.image:
        item = media.to_grayscale(item, *loaded.card.image[:2])
    out = io.BytesIO()
    codec.encode_item(item, out, loaded, randomness, key, nonce, progress, compact)
    data = out.getvalue()
    if verify:
        _verify_stream(data, key, loaded)
    write_output(dst, data, force)
    if verify and dst != STDIO:
        _verify_written(dst, hashlib.sha256(data).digest())
    seconds = item.seconds if isinstance(item, media.Audio) else None
    size = item.samples.size if isinstance(item, media.Audio) else item.pixels.size \
        if isinstance(item, media.Image) else item.size
    return EncodeStats(kind, loaded.name, randomness, input_bytes, len(data), codec.payload_size(data), int(size),
                       seconds, time.perf_counter() - began, verify)


def read_media(src: str) -> tuple[media.Audio | media.Image | np.ndarray, int]:
    """What ``src`` holds — images (a PNG/JPEG, a folder of them, a uint8 ``.npy`` stack), an array (another
    ``.npy``) or audio (anything else soundfile reads) — and its size in bytes (a folder: its pixels)."""
    label = "stdin" if src == STDIO else src
    if src != STDIO and Path(src).is_dir():
        images = _read_folder(src)
        return images, int(images.pixels.size)
    raw = read_input(src)
    if media.is_image(raw):
        return media.read_image(raw, label), len(raw)
    if media.is_npy(raw) or label.lower().endswith(".npy"):
        array = media.read_array(raw, label)
        if array.dtype == np.uint8 and array.ndim in (3, 4) and array.size:
            pixels = array[..., None] if array.ndim == 3 else array
            if pixels.shape[-1] not in (1, 3, 4):
                raise UsageError(f"{label}: a uint8 stack of images has 1, 3 or 4 channels, not {pixels.shape[-1]}")
            return media.Image(np.ascontiguousarray(pixels)), len(raw)
        return array, len(raw)
    return media.read_audio(raw, label), len(raw)


def _read_folder(src: str) -> media.Image:
    """The images of a folder, sorted by name, as one stack."""
    names = sorted(p for p in Path(src).iterdir() if media.image_format_for(p.name) is not None)
    if not names:
        raise UsageError(f"{src} is a folder without .png or .jpg images")
    images = [media.read_image(read_input(str(p)), str(p)) for p in names]
    if len({i.shape for i in images}) > 1:
        raise UsageError(f"the images in {src} differ in size or channels; a stream holds images of one shape")
    return media.Image(np.concatenate([i.pixels for i in images]), images[0].file_format)


def _verify_stream(data: bytes, key: Key | None, loaded: registry.LoadedModel) -> None:
    """Decode ``data`` without keeping the output: raises unless every check passes."""
    try:
        reader = codec.open_stream(io.BytesIO(data), key, max_output_bytes=1 << 62, model=loaded)
        if reader.header.kind is Kind.ARRAY:
            for _ in reader.array_chunks(seed=0):
                pass
        else:
            reader.decode(seed=0)
    except LtcError as error:
        raise LtcError(f"verification failed, the stream does not decode as encoded: {error}") from None


def decode_file(src: str, dst: str, key: Key | None = None, seed: int | None = None, force: bool = False,
                progress: codec.Progress | None = None, max_output_bytes: int | None = None,
                verify: bool = False) -> DecodeStats:
    """Decode the .ltc file ``src`` to ``dst``: audio as WAV/FLAC/OGG by ``dst``'s extension (else the input's
    own format), or as a ``.npy`` array of samples; arrays as ``.npy``, written frame by frame (memory bounded
    by a frame). With ``verify``, the written file is read back and compared (SHA-256) with what was meant."""
    began = time.perf_counter()
    check_output(dst, force)
    if verify and dst == STDIO:
        raise UsageError("--verify reads the output back: give an output file, not stdout")
    with open_input(src) as stream:
        reader = codec.open_stream(stream, key, max_output_bytes=max_output_bytes)
        header = reader.header
        check_output_name(dst, header.kind)
        if header.kind is Kind.ARRAY:
            if media.file_format_for(dst) is not None or media.image_format_for(dst) is not None:
                raise UsageError(f"this stream holds an array, not audio: write it to a .npy file, not {dst}")
            with open_output(dst, force) as out:
                writer = _Hashing(out)
                writer.write(media.npy_header(header.dtype, header.shape))
                for chunk in reader.array_chunks(seed, progress):
                    writer.write(chunk.tobytes())
            written, shape, rate, kind = writer, header.shape, None, "array"
        else:
            data, shape, rate, kind = _encode_output(reader.decode(seed, progress), dst)
            with open_output(dst, force) as out:
                written = _Hashing(out)
                written.write(data)
    if verify:
        _verify_written(dst, written.digest.digest())
    return DecodeStats(kind, header.model_name, written.size, shape, rate, time.perf_counter() - began, verify)


OUTPUT_SUFFIXES = {Kind.ARRAY: (".npy",), Kind.AUDIO: (".wav", ".wave", ".flac", ".ogg", ".oga", ".npy"),
                   Kind.IMAGE: (".png", ".jpg", ".jpeg", ".npy")}


def check_output_name(dst: str, kind: Kind) -> None:
    """One clear error, before decoding, for an output name whose extension cannot hold the stream's kind (a name
    without an extension, or stdout, gets the stream's own format)."""
    suffix = "" if dst == STDIO else Path(dst).suffix.lower()
    allowed = OUTPUT_SUFFIXES[kind]
    if suffix and suffix not in allowed:
        held = {Kind.ARRAY: "an array", Kind.AUDIO: "audio", Kind.IMAGE: "images"}[kind]
        raise UsageError(f"this stream holds {held}, which ltc writes as {', '.join(allowed)}, not {suffix} "
                         f"({Path(dst).name})")


def _encode_output(result: codec.Decoded, dst: str) -> tuple[bytes, tuple[int, ...], int | None, str]:
    if result.image is not None:
        pixels = result.image.pixels
        if dst.lower().endswith(".npy"):
            stack = pixels[..., 0] if pixels.shape[-1] == 1 else pixels
            return media.write_array(stack), tuple(pixels.shape), None, "image"
        if media.file_format_for(dst) is not None:
            raise UsageError(f"this stream holds images, not audio: write a .png, .jpg or .npy, not {dst}")
        if len(pixels) > 1:
            raise UsageError(f"this stream holds {len(pixels)} images: write them to a .npy stack")
        fmt = media.image_format_for(dst) or result.image.file_format
        return media.write_image(pixels[0], fmt), tuple(pixels.shape), None, "image"
    wants = media.file_format_for(dst)
    audio = result.audio
    assert audio is not None
    shape = tuple(audio.samples.shape)
    if dst.lower().endswith(".npy"):
        return media.write_array(np.asarray(audio.samples)), shape, audio.sample_rate, "audio"
    return media.write_audio(audio, wants), shape, audio.sample_rate, "audio"


def describe_file(path: str) -> dict[str, object]:
    """`describe` of the stream in the file ``path`` (``-``: stdin)."""
    raw = read_input(path)
    return describe(*codec.read_frame_table(io.BytesIO(raw)), len(raw))


def describe(header: Header, frames: list[Frame], end: End, file_bytes: int) -> dict[str, object]:
    """Every header field as plain values (for `ltc info`), with the frames, sizes and rates."""
    import dataclasses

    fields = dataclasses.asdict(header)
    values = end.vectors * header.source_dim
    fields.update(model_sha256=header.model_sha256.hex(), nonce=header.nonce.hex(), key_check=header.key_check.hex(),
                  mode=header.mode.name.lower(), kind=header.kind.name.lower(), coder=header.coder.name.lower(),
                  vectors=end.vectors, file_bytes=file_bytes,
                  payload_bytes=sum(len(f.payload) for f in frames) if header.stored is None else header.stored,
                  bits_per_value=8 * file_bytes / values)
    fields["frames"] = [{"index": f.index, "vectors": f.vectors, "payload_bytes": len(f.payload),
                         "symbols": f.symbols, "params": [list(p) for p in f.params]} for f in frames]
    fields["profile"] = "full" if header.stored is None else "compact"
    del fields["seal_prefix"], fields["stored"]
    if header.kind is not Kind.ARRAY:
        del fields["dtype"], fields["shape"]
    if header.image is not None:
        fields["image"] = {**dataclasses.asdict(header.image),
                           "file_format": _enum_name(media.ImageFormat, header.image.file_format),
                           "bits_per_pixel": 8 * file_bytes / values}
    if header.audio is not None:
        a = dataclasses.replace(header.audio, samples=end.samples, coded_samples=end.coded_samples)
        seconds = a.samples / a.sample_rate
        fields["audio"] = {**dataclasses.asdict(a), "seconds": seconds,
                           "sample_format": _enum_name(media.SampleFormat, a.sample_format),
                           "file_format": _enum_name(media.FileFormat, a.file_format),
                           "kbps": 8 * file_bytes / seconds / 1000}
        fields["bits_per_value"] = 8 * file_bytes / (a.samples * a.channels)
    return fields


def _enum_name(enum: type, code: int) -> str:
    try:
        return enum(code).name
    except ValueError:
        return f"unknown ({code})"
