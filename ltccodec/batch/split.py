"""Large arrays in parts: one ``.npy`` of millions of vectors is coded by all workers at once.

A stream's frames are independent (each has its own dither, from the key, the nonce and the frame's index, and
its own checks), so a batch cuts a large array at frame boundaries into parts of ``split_vectors``: workers
code the parts (`run_parts`), and the coordinator puts the frames together under one header — the same bytes a
single process writes. Decoding works the same way: the coordinator writes the ``.npy`` header of the output's
temporary file, workers decode their frame ranges straight into it (memory-mapped), and the file appears only
when every part has succeeded. A part of a stream can also be read alone (`codec.StreamReader.array_chunks`).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ltccodec import codec, keyed, media
from ltccodec.atomic import open_atomic
from ltccodec.batch.manifest import OK, Row
from ltccodec.errors import LtcError, UsageError
from ltccodec.format import container
from ltccodec.randomness import Randomness
from ltccodec.runtime import registry

if TYPE_CHECKING:
    from ltccodec.batch.jobs import Job, Task

Executor = Any  # `executors.LocalExecutor` or `executors.DaskExecutor`


@dataclass(frozen=True)
class Part:
    """Frames ``first`` to ``stop`` of one file."""

    src: str
    first: int
    stop: int
    model: str = ""  # encode: the model chosen for the file
    randomness: str = ""
    nonce: bytes = b""
    target: str = ""  # decode: the output's temporary file, filled in place
    offset: int = 0  # decode: where the array's data starts in it
    seed: int | None = None  # decode: the private dither's seed for this part


def vectors_of(path: str, verb: str) -> int:
    """How many vectors ``path`` holds (0 when it is not an array, or cannot be read: the normal path will say
    what is wrong with it)."""
    try:
        if verb == "encode":
            if not path.lower().endswith(".npy"):
                return 0
            array = np.load(path, mmap_mode="r", allow_pickle=False)
            return int(array.size // array.shape[-1]) if array.ndim else 0
        with open(path, "rb") as stream:
            header = container.read_header(stream)
        return header.vectors if header.kind is container.Kind.ARRAY else 0
    except (OSError, ValueError, LtcError, IndexError, ZeroDivisionError):
        return 0


def run_parts(job: Job, parts: list[tuple[int, Part]]) -> list[tuple[int, object]]:
    """Worker: code each numbered part; a part's result is its frames (encode), its vector count (decode), or
    the error line."""
    results: list[tuple[int, object]] = []
    for number, part in parts:
        try:
            results.append((number, _encode_part(job, part) if job.verb == "encode" else _decode_part(job, part)))
        except LtcError as error:
            results.append((number, str(error)))
        except Exception as error:  # one bad part fails its file, not the batch  # noqa: BLE001
            results.append((number, f"{type(error).__name__}: {error}"))
    return results


def _encode_part(job: Job, part: Part) -> list[container.Frame]:
    loaded = registry.by_name(part.model)
    dim = loaded.card.source_dim
    array = np.load(part.src, mmap_mode="r", allow_pickle=False)
    flat = array.reshape(-1, dim)
    rows = codec.check_array(flat[part.first * codec.FRAME_VECTORS:part.stop * codec.FRAME_VECTORS], dim)
    key = job.key or keyed.DEFAULT_KEY
    return codec.encode_frames(rows, None, loaded, Randomness.parse(part.randomness), key, part.nonce, part.first)


def _decode_part(job: Job, part: Part) -> int:
    with open(part.src, "rb") as stream:
        reader = codec.open_stream(stream, job.key, max_output_bytes=job.max_output_bytes)
        header = reader.header
        out = np.memmap(part.target, dtype=header.dtype, mode="r+", offset=part.offset,
                        shape=(header.vectors, header.source_dim))
        row = part.first * header.frame_vectors
        last = part.stop >= header.frame_count()  # the last part reads to the end record and checks it
        for chunk in reader.array_chunks(part.seed, first=part.first, stop=None if last else part.stop):
            out[row:row + len(chunk)] = chunk
            row += len(chunk)
        out.flush()
        del out
    return row - part.first * header.frame_vectors


def _parts(frames: int, split_vectors: int, frame_vectors: int) -> list[tuple[int, int]]:
    step = max(1, split_vectors // frame_vectors)
    return [(first, min(first + step, frames)) for first in range(0, frames, step)]


def encode_large(job: Job, task: Task, executor: Executor) -> Row:
    """Encode one large ``.npy`` with every worker; returns its manifest row."""
    from ltccodec.files import sha256_of

    began = time.perf_counter()
    src, dst = task.src, Path(job.out) / task.dst
    wanted = Randomness.parse(job.randomness) if job.randomness else None
    loaded, randomness = registry.resolve(registry.Choice(job.model, wanted, None, None), "array")
    if loaded.card.framing is not None:
        raise UsageError(f"model {loaded.name} codes audio, not arrays")
    array = np.load(src, mmap_mode="r", allow_pickle=False)
    codec.check_array(array[:1], loaded.card.source_dim)  # dtype and shape; each part checks its values
    vectors = array.size // loaded.card.source_dim
    nonce = task.nonce or keyed.new_nonce()
    spans = _parts(-(-vectors // codec.FRAME_VECTORS), job.split_vectors, codec.FRAME_VECTORS)
    parts = [Part(src, a, b, loaded.name, str(randomness), nonce) for a, b in spans]
    frames: dict[int, list] = {}
    for outcome, part in _completed(executor, job, parts):
        if isinstance(outcome, str):
            raise LtcError(f"frames {part.first}-{part.stop - 1}: {outcome}")
        frames[part.first] = outcome
    coded = [frame for first in sorted(frames) for frame in frames[first]]
    key = job.key or keyed.DEFAULT_KEY
    described = codec.Described(container.Kind.ARRAY, array.dtype.name, tuple(int(s) for s in array.shape))
    header = codec.make_header(loaded, randomness, key, nonce, described, vectors, codec.FRAME_VECTORS)
    dst.parent.mkdir(parents=True, exist_ok=True)
    with open_atomic(dst, overwrite=True) as out:
        container.write(header, coded, out)
    source = os.stat(src)
    return Row(task.rel, task.dst, OK, source.st_size, source.st_mtime_ns, sha256_of(src).hex(), dst.stat().st_size,
               sha256_of(str(dst)).hex(), "array", loaded.name, int(array.size), 0.0, "", time.perf_counter() - began)


def decode_large(job: Job, task: Task, executor: Executor) -> Row:
    """Decode one large array stream with every worker, straight into the output file; returns its row."""
    from ltccodec.files import sha256_of

    began = time.perf_counter()
    src, dst = task.src, Path(job.out) / task.dst
    if media.file_format_for(str(dst)) is not None:
        raise UsageError(f"this stream holds an array, not audio: write it to a .npy file, not {dst.name}")
    with open(src, "rb") as stream:
        header = codec.open_stream(stream, job.key, max_output_bytes=job.max_output_bytes).header
    head = media.npy_header(header.dtype, header.shape)
    size = len(head) + np.dtype(header.dtype).itemsize * header.vectors * header.source_dim
    dst.parent.mkdir(parents=True, exist_ok=True)
    with open_atomic(dst, overwrite=True) as out:
        out.write(head)
        out.truncate(size)
        out.flush()
        spans = _parts(header.frame_count(), job.split_vectors, header.frame_vectors)
        parts = [Part(src, a, b, target=out.name, offset=len(head),
                      seed=None if task.seed is None else _part_seed(task.seed, a)) for a, b in spans]
        for outcome, part in _completed(executor, job, parts):
            if isinstance(outcome, str):
                raise LtcError(f"frames {part.first}-{part.stop - 1}: {outcome}")
        out.seek(0, os.SEEK_END)
    source = os.stat(src)
    return Row(task.rel, task.dst, OK, source.st_size, source.st_mtime_ns, sha256_of(src).hex(), dst.stat().st_size,
               sha256_of(str(dst)).hex(), "array", header.model_name, header.vectors * header.source_dim, 0.0, "",
               time.perf_counter() - began)


def _part_seed(seed: int, first: int) -> int:
    return int.from_bytes(hashlib.blake2b(f"{seed}\0{first}".encode(), digest_size=8).digest(), "little")


def _completed(executor: Executor, job: Job, parts: list[Part]) -> Iterator[tuple[object, Part]]:
    """(result, part) for every part, in the order they finish."""
    for results in executor.run(run_parts, job, [[(i, part)] for i, part in enumerate(parts)]):
        for number, outcome in results:
            yield outcome, parts[number]
