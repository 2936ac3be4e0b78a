"""Batch coding of datasets: many input files to a mirrored output tree, in parallel, resumable.

`plan` turns sources (folders, globs, files, a list) into `Task`s with output paths that mirror the input tree
(``a/b.wav`` -> ``OUT/a/b.wav.ltc`` -> ``OUT/a/b.wav``). `run` skips what the manifest (`manifest`) shows as
done and unchanged, hands the rest in chunks to an executor (`executors`: local processes or a Dask cluster),
and records each outcome as it arrives. Workers run `run_tasks`: the file-level verbs of `files`, one model
load per worker, a row per file, a failure recorded instead of raised.

With a seed, each file's nonce (and its decoder's private-dither seed) derives from the seed and the file's path
relative to the input root, so any two runs — straight, killed and resumed, local or on Dask — write
byte-identical trees.
"""

from __future__ import annotations

import glob
import hashlib
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ltccodec.batch import manifest, split
from ltccodec.batch.jobs import SPLIT_VECTORS, Job, Task
from ltccodec.batch.manifest import FAILED, OK, STARTED, Row
from ltccodec.errors import LtcError, UsageError

__all__ = ["SPLIT_VECTORS", "Job", "Summary", "Task", "gather", "plan", "run", "run_tasks"]

ENCODE, DECODE = "encode", "decode"
ENCODABLE = (".wav", ".flac", ".ogg", ".oga", ".aif", ".aiff", ".au", ".npy", ".png", ".jpg", ".jpeg")
DECODABLE = (".ltc",)
SUFFIX = ".ltc"


@dataclass(frozen=True)
class Summary:
    """What a run did."""

    files: int  # tasks planned
    coded: int  # coded now
    skipped: int  # done and unchanged from an earlier run
    failures: tuple[Row, ...]
    bytes_in: int  # of the files coded now
    bytes_out: int
    seconds: float  # of audio coded now
    elapsed: float  # wall time of the run
    rows: dict[str, Row] = field(repr=False, default_factory=dict)  # the manifest afterwards

    @property
    def ok(self) -> bool:
        return not self.failures


# -- planning ------------------------------------------------------------------------------------------------

def gather(sources: Sequence[str], verb: str, listed: Iterable[str] = ()) -> list[Path]:
    """The input files: folders searched recursively (for the files ``verb`` codes; hidden entries skipped),
    globs expanded (``**`` recurses), plain files taken as they are, plus the ``listed`` paths."""
    wanted = ENCODABLE if verb == ENCODE else DECODABLE
    found: list[Path] = []
    for source in [*sources, *listed]:
        path = Path(source)
        if path.is_dir():
            for folder, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found += [Path(folder) / n for n in sorted(names)
                          if not n.startswith(".") and n.lower().endswith(wanted)]
        elif path.exists():
            found.append(path)
        elif glob.has_magic(source):
            found += [Path(p) for p in sorted(glob.glob(source, recursive=True)) if Path(p).is_file()]
        else:
            raise UsageError(f"no such file or folder: {source}")
    unique = {p.resolve(): None for p in found}
    return list(unique)


def plan(files: Sequence[Path], verb: str, root: Path | None = None, seed: int | None = None) -> list[Task]:
    """Tasks for ``files``, their outputs mirroring the tree under ``root`` (default: the deepest folder that
    holds them all)."""
    if not files:
        raise UsageError("no input files found")
    base = (root.resolve() if root else Path(os.path.commonpath([str(f.parent) for f in files])))
    tasks = []
    for f in files:
        try:
            rel = f.relative_to(base).as_posix()
        except ValueError:
            raise UsageError(f"{f} is not under the input root {base}") from None
        if verb == ENCODE:
            dst = rel + SUFFIX
        else:
            dst = rel[: -len(SUFFIX)] if rel.lower().endswith(SUFFIX) and len(rel) > len(SUFFIX) else rel + ".out"
        nonce, file_seed = _derived(seed, rel)
        tasks.append(Task(str(f), rel, dst, nonce if verb == ENCODE else None, file_seed if verb == DECODE else None))
    return sorted(tasks, key=lambda t: t.rel)


def _derived(seed: int | None, rel: str) -> tuple[bytes | None, int | None]:
    if seed is None:
        return None, None
    digest = hashlib.blake2b(f"{seed}\0{rel}".encode(), digest_size=24, person=b"ltc-batch-v1").digest()
    return digest[:16], int.from_bytes(digest[16:], "little")


# -- the coordinator ----------------------------------------------------------------------------------------

Progress = Callable[[int, int, Row], None]  # (finished, to do, row just recorded)


def run(job: Job, tasks: Sequence[Task], executor: object, force: bool = False,
        progress: Progress | None = None, chunk: int | None = None) -> Summary:
    """Code ``tasks`` with ``executor`` (see `executors`), recording every outcome in the output folder's
    manifest; tasks done in an earlier run with the same settings, whose source and output are unchanged,
    are skipped. An existing output the manifest does not know is not overwritten without ``force``."""
    began = time.perf_counter()
    out = Path(job.out)
    out.mkdir(parents=True, exist_ok=True)
    with manifest.Manifest(out, job.settings(), force=force) as book:
        rows = book.rows()
        todo, refused, skipped = [], [], 0
        for task in tasks:
            row = rows.get(task.rel)
            if row is not None and _still_done(row, task, out):
                skipped += 1
            elif row is None and not force and os.path.lexists(out / task.dst):
                refused.append(Row(task.rel, task.dst, FAILED, error=f"{task.dst} exists in the output folder and "
                                   "is not from this batch; use --force to overwrite"))
            else:
                todo.append(task)
        book.record([*refused, *(Row(t.rel, t.dst, STARTED) for t in todo)])
        large = [t for t in todo if split.vectors_of(t.src, job.verb) > job.split_vectors]
        small = [t for t in todo if t not in large]
        done: list[Row] = []

        def recorded(results: list[Row]) -> None:
            book.record(results)
            for row in results:
                done.append(row)
                if progress is not None:
                    progress(len(done), len(todo), row)

        size = chunk or max(1, min(32, len(small) // (8 * max(1, getattr(executor, "workers", 1)))))
        for results in executor.run(run_tasks, job, [small[i:i + size] for i in range(0, len(small), size)]):
            recorded(results)
        for task in large:
            recorded([_large(job, task, executor)])
        rows = book.rows()
    failures = tuple(r for r in [*refused, *done] if r.status != OK)
    good = [r for r in done if r.status == OK]
    return Summary(len(tasks), len(good), skipped, failures, sum(r.src_size for r in good),
                   sum(r.dst_size for r in good), sum(r.seconds for r in good), time.perf_counter() - began, rows)


def _large(job: Job, task: Task, executor: object) -> Row:
    """One large array, coded in parts by every worker (`split`)."""
    began = time.perf_counter()
    try:
        return (split.encode_large if job.verb == ENCODE else split.decode_large)(job, task, executor)
    except (LtcError, OSError) as error:
        message = str(error) if isinstance(error, LtcError) else f"{error.strerror or error}"
    except Exception as error:  # noqa: BLE001  (as in `_one`)
        message = f"internal error {type(error).__name__}: {error}"
    return Row(task.rel, task.dst, FAILED, error=message.splitlines()[0], elapsed=time.perf_counter() - began)


def _still_done(row: Row, task: Task, out: Path) -> bool:
    """Whether an earlier run's row still stands: done, same source (size and time, else content), and an
    output of the recorded size and hash."""
    from ltccodec.files import sha256_of

    if row.status != OK or row.dst != task.dst:
        return False
    try:
        source, target = os.stat(task.src), os.stat(out / row.dst)
    except OSError:
        return False
    if source.st_size != row.src_size or target.st_size != row.dst_size:
        return False
    if source.st_mtime_ns != row.src_mtime_ns and sha256_of(task.src).hex() != row.src_sha256:
        return False
    return sha256_of(str(out / row.dst)).hex() == row.dst_sha256


# -- the workers --------------------------------------------------------------------------------------------

class _Resolver:
    """`registry.resolve` remembered per (choice, kind): a worker picks and loads each model once."""

    def __init__(self) -> None:
        self._seen: dict[tuple, tuple] = {}

    def __call__(self, choice: object, kind: str) -> tuple:
        from ltccodec.runtime import registry

        key = (choice, kind)
        if key not in self._seen:
            self._seen[key] = registry.resolve(choice, kind)  # type: ignore[arg-type]
        return self._seen[key]


_RESOLVER = _Resolver()  # per worker process (each has its own copy): the models it has picked and loaded


def run_tasks(job: Job, tasks: Sequence[Task]) -> list[Row]:
    """Code ``tasks`` in this process; every file ends in a row, ok or failed (never an exception)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return [_one(job, task, _RESOLVER) for task in tasks]


def _one(job: Job, task: Task, resolver: _Resolver) -> Row:
    from ltccodec import files
    from ltccodec.randomness import Randomness
    from ltccodec.runtime.registry import Choice

    began = time.perf_counter()
    dst = Path(job.out) / task.dst
    try:
        source = os.stat(task.src)
        src_sha = files.sha256_of(task.src).hex()
        dst.parent.mkdir(parents=True, exist_ok=True)
        if job.verb == ENCODE:
            wanted = Randomness.parse(job.randomness) if job.randomness else None
            choice = Choice(job.model, wanted, job.bitrate, job.quality)
            stats = files.encode_file(task.src, str(dst), choice, job.key, task.nonce, force=True, verify=job.verify,
                                      resolve=resolver)
            kind, model, values, seconds = stats.kind, stats.model, stats.values, stats.seconds or 0.0
        else:
            decoded = files.decode_file(task.src, str(dst), job.key, task.seed, force=True, verify=job.verify,
                                        max_output_bytes=job.max_output_bytes)
            kind, model = decoded.kind, decoded.model
            values = 1
            for s in decoded.shape:
                values *= s
            seconds = decoded.shape[0] / decoded.sample_rate if decoded.sample_rate else 0.0
        target = os.stat(dst)
        return Row(task.rel, task.dst, OK, source.st_size, source.st_mtime_ns, src_sha, target.st_size,
                   files.sha256_of(str(dst)).hex(), kind, model, values, seconds, "", time.perf_counter() - began)
    except (LtcError, OSError) as error:
        message = str(error) if isinstance(error, LtcError) else f"{error.strerror or error}"
    except Exception as error:  # a bug on one file must not stop the other 99,999  # noqa: BLE001
        message = f"internal error {type(error).__name__}: {error}"
    return Row(task.rel, task.dst, FAILED, error=message.splitlines()[0] if message else "failed",
               elapsed=time.perf_counter() - began)
