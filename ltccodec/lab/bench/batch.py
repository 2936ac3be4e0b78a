"""Batch benchmark: files/s and MB/s of `ltc batch encode` and `decode` on a generated dataset of one-second speech
clips, with 1 and 2 local workers and a local Dask cluster, each a whole `ltc` process (start-up included); the
manifest's cost; and how long a run killed halfway takes to resume."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ltccodec.batch import manifest

LTC = str(Path(sys.executable).parent / "ltc")


@dataclass(frozen=True)
class BatchFigures:
    what: str  # e.g. "encode, local, 2 workers"
    files: int
    seconds: float  # whole process
    bytes_in: int

    @property
    def files_per_second(self) -> float:
        return self.files / self.seconds

    @property
    def mb_per_second(self) -> float:
        return self.bytes_in / 1e6 / self.seconds


def make_dataset(folder: Path, files: int, clip_seconds: float = 1.0, source: Path | None = None) -> int:
    """``files`` clips of real speech (cut from ``source``, default the bundled example) in 10 subfolders;
    returns their total size."""
    import soundfile

    source = source or Path(__file__).resolve().parents[3] / "examples" / "speech.wav"
    speech, rate = soundfile.read(source, dtype="int16")
    length = int(clip_seconds * rate)
    starts = np.random.default_rng(0).integers(0, len(speech) - length, files)
    total = 0
    for i, start in enumerate(starts):
        path = folder / f"part{i % 10}" / f"clip{i:05d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(path, speech[start:start + length], rate, subtype="PCM_16")
        total += path.stat().st_size
    return total


def _timed(args: Sequence[str]) -> float:
    began = time.perf_counter()
    done = subprocess.run([LTC, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"ltc {' '.join(args)} failed: {done.stderr.strip().splitlines()[-1:]}")
    return time.perf_counter() - began


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


def run(work: Path, files: int = 2000, dask: bool = True,
        progress: Callable[[str], None] = lambda _: None) -> tuple[list[BatchFigures], dict[str, float]]:
    """The figures, and the manifest and resume measurements (seconds) as a dict."""
    data = work / "data"
    bytes_in = make_dataset(data, files)
    progress(f"dataset: {files} clips, {bytes_in / 1e6:.1f} MB")
    rows: list[BatchFigures] = []
    executors = [("local, 1 worker", ["-j", "1"]), ("local, 2 workers", ["-j", "2"])]
    if dask:
        executors.append(("dask local cluster, 2 workers", ["-j", "2", "--executor", "dask"]))
    coded = None
    for name, options in executors:
        out = work / f"enc-{len(rows)}"
        seconds = _timed(["batch", "encode", str(data), "-o", str(out), "--seed", "1", *options])
        rows.append(BatchFigures(f"encode, {name}", files, seconds, bytes_in))
        progress(f"encode, {name}: {seconds:.1f} s")
        coded = coded or out
    assert coded is not None
    coded_bytes = _size(coded)
    for name, options in executors[:2]:
        out = work / f"dec-{len(rows)}"
        seconds = _timed(["batch", "decode", str(coded), "-o", str(out), "--seed", "1", *options])
        rows.append(BatchFigures(f"decode, {name}", files, seconds, coded_bytes))
        progress(f"decode, {name}: {seconds:.1f} s")
    extra = {"rerun with nothing to do": _timed(["batch", "encode", str(data), "-o", str(coded), "--seed", "1"])}
    extra["manifest writes per file (ms)"] = 1000 * _manifest_cost(work / "m", files)
    extra.update(_resume(work, data, files))
    return rows, extra


def _manifest_cost(folder: Path, files: int) -> float:
    """Seconds per file of recording rows as a run does (a started row per file, then chunks of 16 outcomes)."""
    folder.mkdir()
    rows = [manifest.Row(f"f{i}", f"f{i}.ltc", manifest.OK, 1, 2, "a" * 64, 3, "b" * 64, "audio", "m", 8000, 1.0)
            for i in range(files)]
    began = time.perf_counter()
    with manifest.Manifest(folder, {"bench": True}) as book:
        book.record([manifest.Row(r.rel, r.dst, manifest.STARTED) for r in rows])
        for i in range(0, files, 16):
            book.record(rows[i:i + 16])
    return (time.perf_counter() - began) / files


def _resume(work: Path, data: Path, files: int) -> dict[str, float]:
    """Kill a 2-worker encode (SIGKILL to its process group) once half the files are recorded, then resume."""
    out = work / "killed"
    began = time.perf_counter()
    process = subprocess.Popen([LTC, "batch", "encode", str(data), "-o", str(out), "--seed", "1", "-j", "2"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    done = 0
    while process.poll() is None and done < files // 2:
        time.sleep(0.02)
        try:
            with sqlite3.connect(f"file:{out / manifest.FILE_NAME}?mode=ro", uri=True) as db:
                done = db.execute("SELECT COUNT(*) FROM files WHERE status = 'ok'").fetchone()[0]
        except sqlite3.Error:
            continue
    killed_after = time.perf_counter() - began
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    resume = _timed(["batch", "encode", str(data), "-o", str(out), "--seed", "1", "-j", "2"])
    return {"killed after (s)": killed_after, "files done when killed": float(done), "resume (s)": resume}


def format_table(rows: Sequence[BatchFigures], extra: dict[str, float]) -> str:
    lines = ["| run | files | s | files/s | MB/s in |", "|---|--:|--:|--:|--:|"]
    lines += [f"| {r.what} | {r.files} | {r.seconds:.2f} | {r.files_per_second:.1f} | {r.mb_per_second:.2f} |"
              for r in rows]
    lines.append("")
    lines += [f"- {name}: {value:.3g}" for name, value in extra.items()]
    return "\n".join(lines)
