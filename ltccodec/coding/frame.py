"""One frame's words: the side symbols (audio gains) first, then the lattice points through the model's coder."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ltccodec.coding.base import Coder, FrameDither
from ltccodec.coding.rangecoder import PmfTable, RangeDecoder, RangeEncoder


def _side_rows(columns: int, count: int) -> np.ndarray:
    """The table row of each of ``count`` rows of ``columns`` side symbols, in row-major order."""
    return np.tile(np.arange(columns, dtype=np.int64), count)


def encode(coder: Coder, coords: np.ndarray, dither: FrameDither, side: np.ndarray | None = None,
           side_counts: np.ndarray | None = None) -> np.ndarray:
    """uint32 words of integer coordinates (int64 ``[N, L]``); ``side`` symbols (``[V, B]``), if given, go first in
    row-major order, column ``b`` against the fixed integer pmf ``side_counts[b]`` (each row summing to 2^16)."""
    encoder = RangeEncoder()
    if side is not None:
        if side_counts is None:
            raise ValueError("side symbols need their table")
        encoder.categorical(side.reshape(-1), PmfTable(side_counts), _side_rows(len(side_counts), len(side)))
    coder.encode(encoder, coords, dither)
    return encoder.words()


def decode(coder: Coder, words: np.ndarray, count: int, dither: FrameDither, side_count: int = 0,
           side_counts: np.ndarray | None = None,
           coded: Callable[[np.ndarray], np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Inverse of `encode`: int64 ``[count, L]`` coordinates, and the side symbols (int64 ``[side_count, B]``) or
    None when ``side_count`` is 0. With ``coded``, a function of the side symbols that says (bool ``[count]``) which
    vectors the encoder coded, only those rows' coordinates are read (the encoder was given just those rows, with
    their dither) and returned."""
    decoder = RangeDecoder(words)
    side = None
    if side_count:
        if side_counts is None:
            raise ValueError("side symbols need their table")
        side = decoder.categorical(PmfTable(side_counts), _side_rows(len(side_counts), side_count))
        side = side.reshape(side_count, len(side_counts))
    if coded is not None and side is not None:
        mask = coded(side)
        count, dither = int(mask.sum()), dither.rows(mask)
    return coder.decode(decoder, count, dither), side
