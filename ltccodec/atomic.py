"""Atomic file writes: a temporary file in the target's folder, flushed to disk, then moved onto the target,
so a reader never sees half a file and an interrupt leaves the old file (or none) in place.

Without ``overwrite`` the move is a hard link, which fails if the target appeared meanwhile: two writers racing
for one name cannot both succeed. The file gets the permissions the umask gives a new file (not mkstemp's 0600).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ltccodec.errors import UsageError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path, data: bytes, overwrite: bool = True) -> None:
    """Write ``data`` to ``path`` atomically; without ``overwrite``, raise `UsageError` if it exists."""
    if path.is_dir():
        raise UsageError(f"{path} is a directory")
    if not overwrite and os.path.lexists(path):
        raise UsageError(f"{path} exists; use --force to overwrite")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), 0o666 & ~_umask())
            os.fsync(handle.fileno())
        if overwrite:
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
