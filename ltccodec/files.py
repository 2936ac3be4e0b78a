"""File-level verbs: `encode_file` and `decode_file` read a path (or ``-`` for stdin), recognise the input
(``.npy`` array or audio), pick the model (`registry`), code it (`codec`), write the output atomically (or to
stdout) and return what a user wants to see. The CLI parses, calls these, and reports.
"""

from __future__ import annotations

import io
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ltccodec import codec, media, registry
from ltccodec.atomic import write_atomic
from ltccodec.container import Header
from ltccodec.errors import UsageError
from ltccodec.keyed import Key
from ltccodec.randomness import Randomness

STDIO = "-"
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


def read_input(path: str) -> bytes:
    """The bytes of ``path``, or of stdin for ``-`` (refused when stdin is a terminal)."""
    if path == STDIO:
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("reading from stdin, which is a terminal: pipe data in or give a file")
        return sys.stdin.buffer.read()
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{path} is a directory")
    try:
        if target.stat().st_size > MAX_INPUT_BYTES:
            raise UsageError(f"{path} is larger than {MAX_INPUT_BYTES >> 30} GiB")
        return target.read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None


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
    if path == STDIO:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    check_output(path, force)
    write_atomic(Path(path), data, overwrite=force)


def encode_file(src: str, dst: str, choice: registry.Choice | None = None, key: Key | None = None,
                nonce: bytes | None = None, force: bool = False, progress: codec.Progress | None = None) -> EncodeStats:
    """Encode the array or audio file ``src`` to the .ltc file ``dst`` (``choice``: model, randomness and rate
    point; default: the default model of the input's kind)."""
    began = time.perf_counter()
    choice = choice or registry.Choice()
    check_output(dst, force)
    raw = read_input(src)
    label = "stdin" if src == STDIO else src
    out = io.BytesIO()
    if media.is_npy(raw) or label.lower().endswith(".npy"):
        array = media.read_array(raw, label)
        loaded, randomness = registry.resolve(choice, "array")
        header = codec.encode_to(array, out, loaded, randomness, key, nonce, progress=progress)
        values, seconds, kind = int(array.size), None, "array"
    else:
        audio = media.read_audio(raw, label)
        loaded, randomness = registry.resolve(choice, "audio")
        header = codec.encode_audio(audio, out, loaded, randomness, key, nonce, progress=progress)
        values, seconds, kind = int(audio.samples.size), audio.seconds, "audio"
    data = out.getvalue()
    write_output(dst, data, force)
    return EncodeStats(kind, loaded.name, randomness, len(raw), len(data), header.payload_bytes, values, seconds,
                       time.perf_counter() - began)


def decode_file(src: str, dst: str, key: Key | None = None, seed: int | None = None, force: bool = False,
                progress: codec.Progress | None = None, max_output_bytes: int | None = None) -> DecodeStats:
    """Decode the .ltc file ``src`` to ``dst``: audio as WAV/FLAC/OGG by ``dst``'s extension (else the input's
    own format), or as a ``.npy`` array of samples; arrays as ``.npy``."""
    began = time.perf_counter()
    check_output(dst, force)
    result = codec.decode_stream(io.BytesIO(read_input(src)), key, seed, progress=progress,
                                 max_output_bytes=max_output_bytes)
    data, shape, rate, kind = _encode_output(result, dst)
    write_output(dst, data, force)
    return DecodeStats(kind, result.header.model_name, len(data), shape, rate, time.perf_counter() - began)


def _encode_output(result: codec.Decoded, dst: str) -> tuple[bytes, tuple[int, ...], int | None, str]:
    wants = media.file_format_for(dst)
    if result.audio is None:
        if wants is not None:
            raise UsageError(f"this stream holds an array, not audio: write it to a .npy file, not {dst}")
        array = result.array
        assert array is not None
        return media.write_array(array), tuple(array.shape), None, "array"
    audio = result.audio
    shape = tuple(audio.samples.shape)
    if dst.lower().endswith(".npy"):
        return media.write_array(np.asarray(audio.samples)), shape, audio.sample_rate, "audio"
    return media.write_audio(audio, wants), shape, audio.sample_rate, "audio"


def describe(header: Header, file_bytes: int) -> dict[str, object]:
    """Every header field as plain values (for `ltc info`), with sizes and rates."""
    import dataclasses

    fields = dataclasses.asdict(header)
    fields.update(model_sha256=header.model_sha256.hex(), nonce=header.nonce.hex(), key_check=header.key_check.hex(),
                  mode=header.mode.name.lower(), kind=header.kind.name.lower(), file_bytes=file_bytes,
                  payload_bytes=header.payload_bytes,
                  bits_per_value=8 * file_bytes / (header.vectors * header.source_dim))
    fields["frames"] = [dataclasses.asdict(f) for f in header.frames]
    if header.audio is not None:
        a = header.audio
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
