"""How much randomness encoder and decoder share (`Randomness`: a mode and QSD's nesting ratio), and the dither
each mode draws for training and evaluation. Torch-free: the coder and the model both use it. The codec derives
shared dither from a key instead (`keyed`, `codec.frame_dither`); the decoder's private dither comes from here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import Enum

import numpy as np

from ltccodec.errors import UsageError
from ltccodec.lattice import Lattice, qsd_dither, uniform_dither


class Mode(str, Enum):
    DETERMINISTIC = "ltc"  # c = Q(y), decoder g_s(c)
    PRIVATE = "pd"  # decoder adds its own dither: g_s(c + s·u_p)
    SHARED = "sd"  # c = Q(y − u), decoder g_s(c + u), u shared and continuous
    QUANTIZED = "qsd"  # c = Q(y − û), û on Λ/a, decoder g_s(c + û + s·u_f)


@dataclass(frozen=True)
class Randomness:
    """How much randomness encoder and decoder share: a mode, and for QSD the nesting ratio ``a``."""

    mode: Mode
    nesting: int = 1

    def __post_init__(self) -> None:
        if (self.mode is Mode.QUANTIZED) != (self.nesting >= 2):
            raise UsageError("quantized shared dither needs a nesting ratio >= 2, and only it takes one")

    @classmethod
    def parse(cls, text: str) -> Randomness:
        """``none`` | ``0`` / ``pd`` | ``<N>bits`` (a = 2^N) | ``nesting<A>`` | ``inf`` / ``sd``."""
        t = text.strip().lower()
        if t in ("none", "ltc", "deterministic"):
            return cls(Mode.DETERMINISTIC)
        if t in ("0", "0bits", "pd", "private"):
            return cls(Mode.PRIVATE)
        if t in ("inf", "infinite", "sd", "shared"):
            return cls(Mode.SHARED)
        bits = re.fullmatch(r"(\d+)\s*bits?", t)
        if bits and 1 <= int(bits.group(1)) <= 16:
            return cls(Mode.QUANTIZED, 2 ** int(bits.group(1)))
        nest = re.fullmatch(r"(?:nesting|a=?)(\d+)", t)
        if nest and 2 <= int(nest.group(1)) <= 65536:
            return cls(Mode.QUANTIZED, int(nest.group(1)))
        raise UsageError(f"unknown randomness {text!r}: use none, 0 (pd), 1bits..16bits, nesting<A>, or inf (sd)")

    @property
    def shared_bits(self) -> float:
        """Shared randomness in bits per latent dimension."""
        return {Mode.DETERMINISTIC: 0.0, Mode.PRIVATE: 0.0, Mode.SHARED: math.inf}.get(
            self.mode, math.log2(self.nesting) if self.nesting > 1 else 0.0)

    def __str__(self) -> str:
        if self.mode is Mode.QUANTIZED:
            bits = math.log2(self.nesting)
            return f"{int(bits)}bits" if bits.is_integer() else f"nesting{self.nesting}"
        return {Mode.DETERMINISTIC: "none", Mode.PRIVATE: "pd", Mode.SHARED: "sd"}[self.mode]


def shared_dither(lattice: Lattice, randomness: Randomness, count: int,
                  rng: np.random.Generator) -> np.ndarray | None:
    """``[count, dim]`` float64: uniform over the cell (SD), a QSD point of Λ/a (QSD), else None."""
    if randomness.mode is Mode.SHARED:
        return uniform_dither(lattice, count, rng)
    if randomness.mode is Mode.QUANTIZED:
        digits = rng.integers(0, randomness.nesting, size=(count, lattice.dim))
        return qsd_dither(lattice, digits, randomness.nesting)
    return None


def private_dither(lattice: Lattice, randomness: Randomness, count: int,
                   rng: np.random.Generator) -> np.ndarray | None:
    """``[count, dim]`` float64, unscaled: uniform over V0(Λ) (PD) or V0(Λ/a) (QSD), else None."""
    if randomness.mode is Mode.PRIVATE:
        return uniform_dither(lattice, count, rng)
    if randomness.mode is Mode.QUANTIZED:
        return uniform_dither(lattice, count, rng) / randomness.nesting
    return None
