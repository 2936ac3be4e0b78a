"""The compiled kernels (`ltccodec._kernels`, a C extension built at install time when a compiler is there):
whether they can be used. Every kernel has a numpy or constriction counterpart that defines its result; the
kernels reproduce it bit for bit (tests compare the two), so streams never depend on which one ran.

``LTC_KERNELS=0`` in the environment switches them off (to compare, or to rule them out)."""

from __future__ import annotations

import os
from types import ModuleType

try:
    from ltccodec import _kernels as _module
except ImportError:  # not built in this install: the numpy and constriction paths run
    _module = None

VERSION = 14  # the C source's KERNELS_VERSION this package was written for


def built() -> bool:
    """The extension is installed and is the version this package expects."""
    return _module is not None and getattr(_module, "VERSION", None) == VERSION


def active() -> ModuleType | None:
    """The kernel module, or None when it is missing, stale, or switched off."""
    if not built() or os.environ.get("LTC_KERNELS", "1") == "0":
        return None
    return _module


def pick(compiled: bool | None) -> ModuleType | None:
    """None: `active`; True: the kernels (RuntimeError when not built); False: none (the reference path)."""
    if compiled is None:
        return active()
    if compiled and not built():
        raise RuntimeError("the compiled kernels are not built in this install")
    return _module if compiled else None
