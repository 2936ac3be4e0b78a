"""The manifest of a batch run: one SQLite file in the output folder with a row per input file — where it came
from, its size, time and SHA-256, where its output went with its size and SHA-256, rate, status and error.

Only the coordinating process writes it (workers return their outcomes), each batch of outcomes in one
transaction with ``synchronous=FULL``, so a row marked ``ok`` survives a crash or power loss, and an output is
always written (atomically) before its row says so. A rerun trusts a row only if its settings, its source
(size and time, else its hash) and its output (size and hash) are unchanged.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from ltccodec.errors import UsageError

FILE_NAME = ".ltc-manifest.sqlite"
SCHEMA_VERSION = 1
OK, FAILED, STARTED = "ok", "failed", "started"


@dataclass(frozen=True)
class Row:
    """What the manifest knows of one input file (paths relative to the input root and the output folder)."""

    rel: str  # the input's path relative to its root: the manifest's key
    dst: str  # the output's path relative to the output folder
    status: str  # ok, failed or started
    src_size: int = 0
    src_mtime_ns: int = 0
    src_sha256: str = ""
    dst_size: int = 0
    dst_sha256: str = ""
    kind: str = ""  # audio or array
    model: str = ""
    elements: int = 0  # samples (all channels) or array elements coded
    seconds: float = 0.0  # audio duration (0 for arrays)
    error: str = ""
    elapsed: float = 0.0  # seconds the worker spent on it (varies between runs)

    def content(self) -> tuple:
        """Everything but the timing: equal for two runs that wrote the same files."""
        return astuple(self)[:-1]


_COLUMNS = [f.name for f in fields(Row)]


class Manifest:
    """An open manifest; use as a context manager."""

    def __init__(self, folder: Path, settings: dict[str, object], force: bool = False) -> None:
        """Open or create the manifest of ``folder`` for a run with ``settings`` (what decides the outputs).
        A manifest written with other settings is refused, unless ``force`` starts it afresh."""
        self.path = folder / FILE_NAME
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("CREATE TABLE IF NOT EXISTS run (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        columns = ", ".join(f"{c} {'TEXT PRIMARY KEY' if c == 'rel' else ''}" for c in _COLUMNS)
        self._db.execute(f"CREATE TABLE IF NOT EXISTS files ({columns})")
        wanted = json.dumps({"schema": SCHEMA_VERSION, **settings}, sort_keys=True)
        found = self._db.execute("SELECT value FROM run WHERE key = 'settings'").fetchone()
        if found is not None and found[0] != wanted:
            if not force:
                self._db.close()
                raise UsageError(f"{folder} holds a batch run with other settings ({found[0]}); use another output "
                                 "folder, the same settings, or --force to start afresh")
            self._db.execute("DELETE FROM files")
        self._db.execute("INSERT OR REPLACE INTO run VALUES ('settings', ?)", (wanted,))

    def __enter__(self) -> Manifest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def rows(self) -> dict[str, Row]:
        cursor = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM files ORDER BY rel")
        return {r[0]: Row(*r) for r in cursor}

    def record(self, rows: Iterable[Row]) -> None:
        """Write ``rows`` (replacing earlier rows of the same inputs) in one durable transaction."""
        marks = ", ".join("?" for _ in _COLUMNS)
        with self._transaction():
            self._db.executemany(f"INSERT OR REPLACE INTO files VALUES ({marks})", [astuple(r) for r in rows])

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")


def read(folder: Path) -> dict[str, Row]:
    """The rows of the manifest in ``folder`` (read-only)."""
    path = folder / FILE_NAME
    if not path.is_file():
        raise UsageError(f"{folder} has no batch manifest ({FILE_NAME})")
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        cursor = db.execute(f"SELECT {', '.join(_COLUMNS)} FROM files ORDER BY rel")
        return {r[0]: Row(*r) for r in cursor}
    finally:
        db.close()
