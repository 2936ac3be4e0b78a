"""Hostile input for the decoder: seeded mutations of real streams (bit flips, overwritten, inserted and deleted
bytes, truncation, header fields edited with the header CRC recomputed, payload bytes edited with every CRC
recomputed, swapped frames), decoded in worker processes under an address-space limit and a time limit per case.
Behind ``ltc bench fuzz``; `tests/test_hostile.py` runs a small share of the same mutations.

Every case ends in one of: ``same`` (it decoded to the original's output: the mutation hit nothing that matters),
``changed`` (it decoded to something else, but the mutation recomputed the checks that cover what it changed: a
header edit with its CRC, or two frames' contents swapped with their CRCs — checksums are not signatures), ``error``
(one `LtcError`), or a failure — ``silent`` (decoded to something else although a check should have caught it),
``oversize``, ``crash:<exception type>``, ``memory`` or ``timeout`` — which the campaign reports.
"""

from __future__ import annotations

import dataclasses
import io
import resource
import signal
import struct
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ltccodec.format import compact, container

KINDS = ("bit", "overwrite", "insert", "delete", "truncate", "header", "payload", "swap")
RESEALED = ("header", "swap")  # mutations that recompute the checks covering what they change
GOOD = ("same", "changed", "error")
BATCH = 20_000  # cases between progress reports and time checks


def effective(data: bytes, kind: str) -> str:
    """The mutation ``kind`` really applied to ``data``: a compact stream has one seal over everything (which
    a mutator cannot recompute without decoding), so its structured edits become overwrites."""
    return "overwrite" if data[:2] == compact.MAGIC and kind in ("header", "payload", "swap") else kind


def mutate(data: bytes, kind: str, rng: np.random.Generator) -> bytes:
    """One mutation of ``kind`` of the stream ``data``."""
    kind = effective(data, kind)
    b = bytearray(data)
    at = int(rng.integers(len(b)))
    if kind == "bit":
        b[at] ^= 1 << int(rng.integers(8))
    elif kind == "overwrite":
        n = int(rng.integers(1, 16))
        b[at:at + n] = rng.integers(0, 256, size=len(b[at:at + n]), dtype=np.uint8).tobytes()
    elif kind == "insert":
        b[at:at] = rng.integers(0, 256, size=int(rng.integers(1, 9)), dtype=np.uint8).tobytes()
    elif kind == "delete":
        del b[at:at + int(rng.integers(1, 9))]
    elif kind == "truncate":
        del b[at:]
    elif kind == "header":  # only the field checks can catch it
        head = struct.unpack("<I", data[8:12])[0]
        field = int(rng.integers(12, head - 4))
        b[field] = int(rng.integers(256))
        b[head - 4:head] = struct.pack("<I", zlib.crc32(bytes(b[:head - 4])))
    elif kind == "payload":  # only the symbol check and the coder can catch it
        return _payload_edit(data, rng)
    elif kind == "swap":
        return _swap_frames(data, rng)
    else:
        raise ValueError(f"unknown mutation {kind!r}")
    return bytes(b)


def _split(data: bytes) -> tuple[container.Header, list[container.Frame], bytes]:
    """(header, frames, the end record's bytes) of a full stream."""
    stream = io.BytesIO(data)
    header = container.read_header(stream)
    frames = list(container.read_frames(stream, header))
    return header, frames, data[stream.tell() - len(container.end_record(container.end_of(
        header, len(frames), sum(f.vectors for f in frames)))):]


def _join(header: container.Header, frames: list[container.Frame], end: bytes) -> bytes:
    return container.pack_header(header) + b"".join(container.frame_record(f) for f in frames) + end


def _payload_edit(data: bytes, rng: np.random.Generator) -> bytes:
    """A bit of one frame's payload flipped, the frame's CRC recomputed."""
    header, frames, end = _split(data)
    index = int(rng.integers(len(frames)))
    piece = bytearray(frames[index].payload)
    piece[int(rng.integers(len(piece)))] ^= 1 << int(rng.integers(8))
    frames[index] = dataclasses.replace(frames[index], payload=bytes(piece))
    return _join(header, frames, end)


def _swap_frames(data: bytes, rng: np.random.Generator) -> bytes:
    """Two frames' contents exchanged under their own indices, their CRCs recomputed."""
    header, frames, end = _split(data)
    if len(frames) < 2:
        return _payload_edit(data, rng)
    i, j = (int(k) for k in rng.choice(len(frames), size=2, replace=False))
    frames[i], frames[j] = (dataclasses.replace(frames[j], index=frames[i].index),
                            dataclasses.replace(frames[i], index=frames[j].index))
    return _join(header, frames, end)


@dataclass(frozen=True)
class Campaign:
    """Outcome counts of a fuzzing run."""

    cases: int
    outcomes: dict[str, int]
    seconds: float

    @property
    def failures(self) -> int:
        return sum(n for name, n in self.outcomes.items() if name not in GOOD)


class _Timeout(Exception):
    pass


_STATE: dict = {}  # per worker process: the streams, their decoded references, the model folders, the time limit


def _start_worker(streams: list[bytes], references: list[np.ndarray], dirs: list[Path], seconds: int,
                  memory_bytes: int) -> None:
    _STATE.update(streams=streams, references=references, dirs=dirs, seconds=seconds)
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))


def _on_alarm(_signum: int, _frame: object) -> None:
    raise _Timeout


def _decode_case(job: tuple[int, str, int]) -> str:
    from ltccodec import codec
    from ltccodec.errors import LtcError

    stream, kind, seed = job
    data, reference, dirs, seconds = _STATE["streams"][stream], _STATE["references"][stream], _STATE["dirs"], \
        _STATE["seconds"]
    mutated = mutate(data, kind, np.random.default_rng(seed))
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(seconds)
    try:
        out = codec.decode(mutated, seed=0, dirs=dirs)
        if out.nbytes > 4 * reference.nbytes + 1024:
            return "oversize"
        if out.shape == reference.shape and out.dtype == reference.dtype and np.array_equal(out, reference):
            return "same"
        return "changed" if effective(data, kind) in RESEALED else "silent"
    except LtcError:
        return "error"
    except _Timeout:
        return "timeout"
    except MemoryError:
        return "memory"
    except Exception as error:  # what the campaign is looking for  # noqa: BLE001
        return f"crash:{type(error).__name__}"
    finally:
        signal.alarm(0)


def run(streams: Sequence[Path], cases: int, dirs: Sequence[Path], seed: int = 0, jobs: int = 2,
        memory_bytes: int = 4 << 30, seconds: int = 10, minutes: float | None = None,
        progress: Callable[[int, Counter], None] | None = None) -> Campaign:
    """``cases`` mutations spread over ``streams`` and `KINDS`, decoded with the models in ``dirs``; with
    ``minutes``, stops after the batch that passes that time. ``progress(done, counts)`` follows each batch."""
    import time

    from ltccodec import codec

    began = time.perf_counter()
    originals = [p.read_bytes() for p in streams]
    references = [codec.decode(d, seed=0, dirs=list(dirs)) for d in originals]

    def job(i: int) -> tuple[int, str, int]:
        return i % len(originals), KINDS[(i // len(originals)) % len(KINDS)], seed * 1_000_003 + i

    setup = (originals, references, list(dirs), seconds, memory_bytes)
    counts: Counter = Counter()
    done = 0
    with ProcessPoolExecutor(jobs, initializer=_start_worker, initargs=setup) as pool:
        while done < cases and (minutes is None or time.perf_counter() - began < 60 * minutes):
            batch = range(done, min(cases, done + BATCH))
            counts.update(pool.map(_decode_case, [job(i) for i in batch], chunksize=64))
            done = batch.stop
            if progress is not None:
                progress(done, counts)
    return Campaign(done, dict(sorted(counts.items())), time.perf_counter() - began)
