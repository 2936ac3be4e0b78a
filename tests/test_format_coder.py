"""docs/FORMAT.md's text of the range coder, written out in plain Python from that text alone, must produce the words
constriction writes: the format is defined by the document, not by a library's source."""

from __future__ import annotations

import numpy as np
import pytest

from ltccodec.coding.rangecoder import PmfTable, RangeEncoder

MASK = (1 << 64) - 1


class DocumentCoder:
    """The encoder as docs/FORMAT.md states it ("The range coder, spelled out")."""

    def __init__(self) -> None:
        self.lower, self.range, self.held, self.words = 0, MASK, [], []

    def code(self, left: int, width: int) -> None:
        scale = self.range >> 24
        new_range, new_lower = scale * width, (self.lower + scale * left) & MASK
        if self.held and (new_lower + new_range) & MASK > new_lower:  # the wrap is over: release the held words
            self._release(carry=new_lower < self.lower)
        self.lower, self.range = new_lower, new_range
        if self.range < 1 << 32:
            word = self.lower >> 32
            self.range, self.lower = self.range << 32, (self.lower << 32) & MASK
            if self.held:
                self.held.append(word)
            elif (self.lower + self.range) & MASK > self.lower:
                self.words.append(word)
            else:
                self.held.append(word)

    def _release(self, carry: bool) -> None:
        first, rest = (self.held[0] + 1) & 0xFFFFFFFF if carry else self.held[0], 0 if carry else 0xFFFFFFFF
        self.words += [first] + [rest] * (len(self.held) - 1)
        self.held = []

    def categorical(self, counts: np.ndarray, symbol: int) -> None:
        k = len(counts)

        def cumulative(s: int) -> int:  # F_s = ⌊C_s (2^24 − K) / 2^16⌋ + s, and F_K = 2^24
            return 1 << 24 if s == k else ((int(np.sum(counts[:s])) * ((1 << 24) - k)) >> 16) + s

        self.code(cumulative(symbol), cumulative(symbol + 1) - cumulative(symbol))

    def sealed(self) -> list[int]:
        if self.range == MASK:
            return []
        point = (self.lower + (1 << 32) - 1) & MASK
        saved = list(self.words)
        if self.held:
            self._release(carry=point < self.lower)
        out = self.words + [point >> 32]
        if ((self.lower + self.range) & MASK) >> 32 == point >> 32:
            out.append(0)
        self.words = saved
        return out


@pytest.mark.parametrize("seed", range(4))
def test_the_documented_coder_writes_constrictions_words(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(12):
        size = int(rng.integers(2, 40))
        weights = rng.random((3, size)) ** rng.uniform(0.5, 10)
        counts = np.maximum(np.rint(weights / weights.sum(axis=1, keepdims=True) * 65536).astype(np.int64), 1)
        counts[np.arange(3), counts.argmax(axis=1)] += 65536 - counts.sum(axis=1)
        rows = rng.integers(0, 3, int(rng.integers(1, 600)))
        cumulative = np.cumsum(counts, axis=1)
        symbols = (rng.integers(0, 65536, len(rows))[:, None] >= cumulative[rows]).sum(axis=1)
        uniform = rng.integers(0, 1 << 16, int(rng.integers(0, 20)))
        reference = RangeEncoder(compiled=False)  # constriction itself
        reference.categorical(symbols, PmfTable(counts), rows)
        reference.uniform16(uniform)
        ours = DocumentCoder()
        for s, r in zip(symbols, rows, strict=True):
            ours.categorical(counts[r], int(s))
        for v in uniform:
            ours.code(256 * int(v), 256)  # a uniform 16-bit symbol: F_v = 256 v, width 256
        assert ours.sealed() == [int(w) for w in reference.words()]
