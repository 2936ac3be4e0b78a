"""What every coder shares: the frame's dither as the coder conditions on it (`FrameDither`) and the interface a
coder offers (`Coder`). The two coders are `box` and `distance`; `frame` codes a frame's words with one of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ltccodec.coding.rangecoder import RangeDecoder, RangeEncoder
from ltccodec.lattice import Lattice
from ltccodec.lattice.dither import coset_dither_native

ESCAPE_RANGE_ERROR = "latent values out of range: is the input finite and in the model's range?"
# what constriction raises for words that are not a valid encoding under the given models
DECODE_ERRORS = (ValueError, RuntimeError, OverflowError, AssertionError)


@dataclass(frozen=True, eq=False)
class FrameDither:
    """The shared dither of ``len(self)`` vectors as the coders see it: per lattice block the native integer
    coordinates ``R`` (int64 ``[N, native dim]``) of ``u = R / nesting``; all zeros and ``nesting = 1`` without
    shared dither."""

    native: tuple[np.ndarray, ...]
    nesting: int

    @classmethod
    def none(cls, lattice: Lattice, count: int) -> FrameDither:
        return cls(tuple(np.zeros((count, b.native_dim), dtype=np.int64) for b in lattice.blocks), 1)

    @classmethod
    def of(cls, lattice: Lattice, native: Sequence[np.ndarray] | None, nesting: int, count: int) -> FrameDither:
        """From the natives `lattice.native_from_coords` gives (None: no shared dither)."""
        return cls.none(lattice, count) if native is None else cls(tuple(native), nesting)

    @classmethod
    def of_coords(cls, lattice: Lattice, coords: np.ndarray | None, nesting: int, count: int) -> FrameDither:
        """From the dither's integer coordinates ``a·u`` (int64 ``[N, L]``; None: no shared dither)."""
        return cls.of(lattice, None if coords is None else lattice.native_from_coords(coords), nesting, count)

    @classmethod
    def drawn(cls, lattice: Lattice, count: int, nesting: int,
              rng: np.random.Generator) -> tuple[np.ndarray | None, FrameDither]:
        """(the float dither ``u`` or None, the dither) drawn as the codec draws it — uniform digits on the
        ``nesting`` grid (SD: its 2^16 grid) — from ``rng`` instead of a key: for training and measurements."""
        if nesting == 1:
            return None, cls.none(lattice, count)
        digits = rng.integers(0, nesting, size=(count, lattice.dim))
        _, u, native = coset_dither_native(lattice, digits, nesting, with_coords=False)
        return u, cls(tuple(native), nesting)

    def __len__(self) -> int:
        return len(self.native[0]) if self.native else 0

    def rows(self, which: np.ndarray) -> FrameDither:
        """The dither of the rows ``which`` selects (a bool mask or indices)."""
        return FrameDither(tuple(d[which] for d in self.native), self.nesting)


class Coder(Protocol):
    """Turns a frame's integer lattice coordinates (int64 ``[N, L]``) into range-coder symbols and back."""

    name: str  # as the model card names it: "box" or "distance"

    def encode(self, encoder: RangeEncoder, coords: np.ndarray, dither: FrameDither) -> None:
        """Append the symbols of ``coords`` under ``dither`` to ``encoder``; `LtcError` when a value is out of
        range."""

    def decode(self, decoder: RangeDecoder, count: int, dither: FrameDither) -> np.ndarray:
        """Read ``count`` vectors' coordinates (int64 ``[count, L]``) back; constriction's errors (`DECODE_ERRORS`)
        when the words are not a valid encoding."""

    def bits(self, coords: np.ndarray, dither: FrameDither) -> float:
        """The ideal code length of ``coords`` (bits) under the coder's integer tables."""

    def least_bits(self) -> float:
        """The fewest bits any one vector can cost: what bounds how many vectors a payload can declare."""
