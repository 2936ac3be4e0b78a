"""Atomic file writes: a temporary file in the target's folder, flushed to disk, then moved onto the target,
so a reader never sees half a file and an interrupt leaves the old file (or none) in place.

Without ``overwrite`` the move is a hard link, which fails if the target appeared meanwhile: two writers racing
for one name cannot both succeed. The file gets the permissions the umask gives a new file (not mkstemp's 0600).

Temporary files are named ``.NAME.HOST-PID.RANDOM.part``. An error or a catchable signal removes them; a writer killed
outright (SIGKILL, power loss) leaves one behind, and the next write to the same NAME removes every such file
whose process is gone (or is a zombie). A writer on another machine sharing the folder cannot be seen, so its
stale files stay.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ltccodec.errors import UsageError

PART_SUFFIX = ".part"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie, killed but not yet reaped, does not)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        pass
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):  # no /proc (not Linux): trust the signal test
        return True


def _writer() -> str:
    """``HOST-PID`` of this process, as temporary file names carry it."""
    host = "".join(c for c in socket.gethostname() if c.isalnum())[:16] or "host"
    return f"{host}-{os.getpid()}"


def stale_parts(path: Path) -> list[Path]:
    """Temporary files of earlier writes to ``path`` by processes of this machine that no longer run."""
    prefix = f".{path.name}."
    host = _writer().rsplit("-", 1)[0]
    stale = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(path.parent):
            name = entry.name
            if not (name.startswith(prefix) and name.endswith(PART_SUFFIX)):
                continue
            writer, _, pid = name[len(prefix):].split(".", 1)[0].rpartition("-")
            if writer == host and pid.isdigit() and not _alive(int(pid)):
                stale.append(path.parent / name)
    return stale


def _refuse(path: Path, overwrite: bool) -> None:
    if path.is_dir():
        raise UsageError(f"{path} is a directory")
    if not overwrite and os.path.lexists(path):
        raise UsageError(f"{path} exists; use --force to overwrite")


@contextlib.contextmanager
def open_atomic(path: Path, overwrite: bool = True) -> Iterator[BinaryIO]:
    """A binary file to write ``path``'s new content to; it appears at ``path`` (replacing it only with
    ``overwrite``) when the block ends without an exception, and is removed otherwise."""
    _refuse(path, overwrite)
    for part in stale_parts(path):
        part.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{_writer()}.", suffix=PART_SUFFIX, dir=path.parent)
    os.close(fd)
    try:
        with open(tmp, "wb") as handle:  # its .name is the temporary path, for writers that map it
            yield handle
            handle.flush()
            os.fchmod(handle.fileno(), 0o666 & ~_umask())
            os.fsync(handle.fileno())
        if overwrite:
            _refuse(path, overwrite)  # a directory may have appeared meanwhile
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise UsageError(f"{path} exists; use --force to overwrite") from None
            os.unlink(tmp)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: bytes, overwrite: bool = True) -> None:
    """Write ``data`` to ``path`` atomically; without ``overwrite``, raise `UsageError` if it exists."""
    with open_atomic(path, overwrite) as handle:
        handle.write(data)
