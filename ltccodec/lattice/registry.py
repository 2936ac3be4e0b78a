"""Lattices by name: ``Z<n>``, ``A<n>`` (``A2`` hexagonal), ``D<n>``, ``D<n>*``, ``E8``, ``BW16``, ``Leech``,
powers ``E8^2`` and products ``E8xD4`` (or ``E8×D4``). Every block is scaled to unit cell volume."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from ltccodec.errors import UsageError

from .barnes_wall import barnes_wall
from .base import Block, Lattice, product, unit_volume
from .checkerboard import checkerboard, checkerboard_dual
from .cubic import integer_lattice
from .e8 import gosset
from .leech import leech
from .root import root_lattice

MAX_DIM = 4096

_FIXED: dict[str, Callable[[], Block]] = {"E8": gosset, "BW16": barnes_wall, "LEECH": leech}
_ALIASES = {"LAMBDA16": "BW16", "BARNESWALL": "BW16", "LAMBDA24": "LEECH", "L24": "LEECH", "Λ16": "BW16",
            "Λ24": "LEECH"}
_FAMILIES: dict[str, Callable[[int], Block]] = {"Z": integer_lattice, "A": root_lattice, "D": checkerboard,
                                                "D*": checkerboard_dual}
_FAMILY_NAME = re.compile(r"^(Z|A|D)(\d+)(\*?)$")
_POWER = re.compile(r"^(.+)\^(\d+)$")

BUILT_IN = ("Z1", "A2", "D4", "D4*", "E8", "BW16", "Leech")
"""One representative of each family, for listings and benchmarks."""


def covering(block: str, dim: int) -> Lattice:
    """The power of the lattice ``block`` that has dimension ``dim`` (``E8``, 16 -> ``E8^2``); `UsageError` when
    ``dim`` is not a multiple of the block's dimension."""
    lattice = by_name(block)
    if dim % lattice.dim:
        raise UsageError(f"latent dimension {dim} is not a multiple of {block}'s dimension {lattice.dim}")
    return lattice if dim == lattice.dim else by_name(f"{block}^{dim // lattice.dim}")


def by_name(name: str) -> Lattice:
    """The unit-volume lattice called ``name``; raises `UsageError` with the accepted grammar otherwise."""
    text = name.strip()
    parts = re.split(r"[x×]", text)
    if len(parts) > 1:
        return product(text, [by_name(p) for p in parts])
    power = _POWER.match(text)
    if power:
        count = int(power.group(2))
        if not 1 <= count <= MAX_DIM:
            raise UsageError(f"lattice power out of range in {name!r}")
        return product(text, [by_name(power.group(1))] * count)
    return _single(text)


@lru_cache(maxsize=64)
def _block(key: str) -> Block:
    if key in _FIXED:
        return _FIXED[key]()
    match = _FAMILY_NAME.match(key)
    assert match is not None
    family, size = match.group(1) + match.group(3), int(match.group(2))
    return _FAMILIES[family](size)


def _single(text: str) -> Lattice:
    key = _ALIASES.get(text.upper(), text.upper())
    match = _FAMILY_NAME.match(key)
    if key not in _FIXED and not match:
        raise UsageError(f"unknown lattice {text!r}; use Z<n>, A<n>, D<n>, D<n>*, E8, BW16, Leech, "
                         "powers like E8^2 or products like E8xD4")
    if match and not 1 <= int(match.group(2)) <= MAX_DIM:
        raise UsageError(f"lattice dimension out of range in {text!r} (1..{MAX_DIM})")
    try:
        block = _block(key)
    except ValueError as error:
        raise UsageError(f"{text!r}: {error}") from None
    return unit_volume(_display_name(key), block)


def _display_name(key: str) -> str:
    return {"LEECH": "Leech"}.get(key, key)
