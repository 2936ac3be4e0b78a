"""The range coder behind every stream: constriction's queue coder, run either by constriction itself or by the
compiled kernel `ltccodec._kernels`, which reproduces it word for word.

All models are integer pmfs at 16 bits (`PmfTable`: rows of counts summing to 2^16). constriction gets them as
the exact dyadic floats ``counts / 2^16`` through ``Categorical(perfect=False)``, which turns each row into
24-bit left cumulatives ``⌊C_s (2^24 − K) / 2^16⌋ + s`` (``C_s`` the counts before symbol ``s``, ``K`` the
row's length: the float product is exact, so this is integer arithmetic); the kernel reads those cumulatives
directly (`PmfTable.cdf`). The escape words of the box code go through constriction's ``Uniform`` model over
2^16 values, which is the cumulative ``256·v`` at 24 bits.

The kernel is an optional part of the install (`kernels`). Without it, or with ``LTC_KERNELS=0`` in the
environment, constriction codes: the streams are the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import constriction
import numpy as np

from ltccodec import kernels

PMF_BITS = 16
_CDF_BITS = 24  # constriction's default model precision
SLICE_BITS = 8  # the compiled decoder's slice-start tables (its SLICE_BITS; 2^7 and 2^10 measured slower)


@dataclass(frozen=True, eq=False)
class PmfTable:
    """Rows of integer weights ``counts`` (``[R, K]``, each ≥ 1, each row summing to 2^bits): the models one call
    codes against, each symbol naming its row. ``bits`` is 16 for every table of the box and rank codes, 24 for the
    distance code's per-vector tables (the same cumulative rule with 2^24 in place of 2^16)."""

    counts: np.ndarray
    bits: int = PMF_BITS

    @property
    def size(self) -> int:
        return int(self.counts.shape[1])

    @cached_property
    def dyadic(self) -> np.ndarray:
        """float64 ``[R, K]``: ``counts / 2^bits``, exact; what constriction is given."""
        return np.ascontiguousarray(self.counts, dtype=np.float64) / float(1 << self.bits)

    @cached_property
    def cdf(self) -> np.ndarray:
        """uint32 ``[R, K + 1]``: the 24-bit left cumulatives constriction derives from `dyadic`
        (``⌊C_s (2^24 − K) / 2^bits⌋ + s``), and 2^24."""
        counts = self.counts.astype(np.int64)
        rows, k = counts.shape
        before = np.cumsum(counts, axis=1) - counts
        cdf = np.empty((rows, k + 1), dtype=np.int64)
        cdf[:, :k] = (before * ((1 << _CDF_BITS) - k)) >> self.bits
        cdf[:, :k] += np.arange(k)
        cdf[:, k] = 1 << _CDF_BITS
        return np.ascontiguousarray(cdf, dtype=np.uint32)

    @cached_property
    def starts(self) -> np.ndarray:
        """uint8 ``[R, 2^SLICE_BITS]``: per row and slice ``h`` of the 24-bit range, the last symbol whose
        cumulative is at most ``h·2^(24 − SLICE_BITS)`` (where the compiled decoder starts looking); empty for rows
        of more than 256 symbols."""
        if self.size > 256:
            return np.zeros(0, dtype=np.uint8)
        slices = np.arange(1 << SLICE_BITS, dtype=np.int64) << (_CDF_BITS - SLICE_BITS)
        starts = [np.searchsorted(row[:-1].astype(np.int64), slices, side="right") - 1 for row in self.cdf]
        return np.ascontiguousarray(starts, dtype=np.uint8)

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        return np.take(self.dyadic, rows, axis=0)

    def check(self) -> None:
        """The compiled coder's full checks of `cdf` and `starts` (ValueError), once per table: its per-call checks
        are only what keeps it inside the table."""
        if not self._checked:  # evaluating it runs the checks (once: cached)
            raise ValueError("range coder: table not checked")

    @cached_property
    def _checked(self) -> bool:
        compiled = kernels.active()
        if compiled is not None:
            compiled.check_tables(self.cdf, self.size, self.starts)
        return True


class Model(Protocol):
    """What a categorical call codes against: `PmfTable`, or the distance code's per-vector tables."""

    @property
    def size(self) -> int: ...

    @property
    def cdf(self) -> np.ndarray: ...

    def probabilities(self, rows: np.ndarray) -> np.ndarray: ...


def _ints(values: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.int64)


def _rows(rows: np.ndarray | None, count: int) -> np.ndarray:
    return np.zeros(count, dtype=np.int64) if rows is None else _ints(rows)


class RangeEncoder:
    """Symbols in, uint32 words out (`words`); ``compiled`` None picks the kernel when available."""

    def __init__(self, compiled: bool | None = None) -> None:
        self._kernels = kernels.pick(compiled)
        if self._kernels is not None:
            self._state = np.array([0, np.iinfo(np.uint64).max, 0, 0, 0], dtype=np.uint64)
            self._out = np.empty(1024, dtype=np.uint32)
        else:
            self._coder = constriction.stream.queue.RangeEncoder()

    def _reserve(self, count: int) -> None:
        need = int(self._state[2]) + int(self._state[4]) + count + 2
        if need > len(self._out):
            grown = np.empty(max(need, 2 * len(self._out)), dtype=np.uint32)
            grown[: len(self._out)] = self._out
            self._out = grown

    def categorical(self, symbols: np.ndarray, table: Model, rows: np.ndarray | None = None) -> None:
        """Code ``symbols`` (in ``[0, K)``), symbol ``i`` against row ``rows[i]`` of ``table`` (row 0 if None)."""
        if len(symbols) == 0:
            return
        rows = _rows(rows, len(symbols))
        if self._kernels is not None:
            self._reserve(len(symbols))
            self._kernels.encode_categorical(self._state, self._out, _ints(symbols), rows, table.cdf, table.size)
        else:
            self._coder.encode(np.asarray(symbols, dtype=np.int32), constriction.stream.model.Categorical(
                perfect=False), table.probabilities(rows))

    def uniform16(self, values: np.ndarray) -> None:
        """Code values in ``[0, 2^16)``, each at probability 2^-16."""
        if len(values) == 0:
            return
        if self._kernels is not None:
            self._reserve(len(values))
            self._kernels.encode_uniform16(self._state, self._out, _ints(values))
        else:
            self._coder.encode(np.asarray(values, dtype=np.int32), constriction.stream.model.Uniform(),
                               np.full(len(values), 1 << 16, dtype=np.int32))

    @property
    def compiled(self) -> bool:
        return self._kernels is not None

    def box(self, plan: tuple[tuple, ...], count: int) -> bool:
        """Compiled only: the box code of every coordinate of ``count`` vectors in one call — ``plan`` holds per
        coordinate, in coding order, ``(condition, j, low, table)`` (see `box.condition`) — with each
        coordinate's escape words after its symbols. False when an escaped value is beyond the escape's 32 bits
        (the coder is then unusable)."""
        steps = []
        for condition, j, low, table in plan:
            table.check()
            steps.append((condition, j, low, table.cdf, table.size))
        self._reserve(3 * count * len(plan))  # a word per symbol at most, two escape symbols per value at most
        shift, escaped = np.empty(count, dtype=np.int64), np.empty(count, dtype=np.uint8)
        return self._kernels.encode_box(self._state, self._out, tuple(steps), shift, escaped) == 0

    def words(self) -> np.ndarray:
        """The sealed stream so far (the coder may go on after this)."""
        if self._kernels is None:
            return self._coder.get_compressed()
        self._reserve(0)
        end = self._kernels.seal(self._state, self._out)
        return self._out[:end].copy()


class RangeDecoder:
    """The inverse of `RangeEncoder`, call for call. Past the end of the words it reads zeros, as constriction
    does; a wrong stream decodes to wrong symbols, never to an error of the coder itself."""

    def __init__(self, words: np.ndarray, compiled: bool | None = None) -> None:
        self._kernels = kernels.pick(compiled)
        words = np.ascontiguousarray(words, dtype=np.uint32)
        if self._kernels is not None:
            self._words = words
            point, used = 0, min(2, len(words))
            for w in words[:used]:
                point = (point << 32) | int(w)
            point <<= 32 * (2 - used) if used else 0
            self._state = np.array([0, np.iinfo(np.uint64).max, point, used], dtype=np.uint64)
        else:
            self._coder = constriction.stream.queue.RangeDecoder(words)

    def categorical(self, table: Model, rows: np.ndarray | int) -> np.ndarray:
        """int64 symbols, one per entry of ``rows`` (or ``rows`` symbols all against row 0)."""
        rows = np.zeros(rows, dtype=np.int64) if isinstance(rows, int) else _ints(rows)
        if len(rows) == 0:
            return np.zeros(0, dtype=np.int64)
        if self._kernels is not None:
            out = np.empty(len(rows), dtype=np.int64)
            self._kernels.decode_categorical(self._state, self._words, (out, rows, table.cdf, table.size))
            return out
        return self._coder.decode(constriction.stream.model.Categorical(perfect=False),
                                  table.probabilities(rows)).astype(np.int64)

    @property
    def compiled(self) -> bool:
        return self._kernels is not None

    def coordinate(self, condition: tuple, j: int, low: int, table: PmfTable) -> tuple[int, np.ndarray, np.ndarray]:
        """Compiled only: decodes one coordinate of the box code into column ``j`` of the condition's coordinates
        (all but the escapes); (the number of escapes, every row's shift, 1 where a row escaped)."""
        count = len(condition[0])
        shift, escaped = np.empty(count, dtype=np.int64), np.empty(count, dtype=np.int64)
        table.check()
        escapes = self._kernels.decode_coordinate(self._state, self._words, condition, j, low, table.cdf, table.size,
                                                  table.starts, shift, escaped)
        return escapes, shift, escaped

    def uniform16(self, count: int) -> np.ndarray:
        if count == 0:
            return np.zeros(0, dtype=np.int64)
        if self._kernels is not None:
            out = np.empty(count, dtype=np.int64)
            self._kernels.decode_uniform16(self._state, self._words, out)
            return out
        return self._coder.decode(constriction.stream.model.Uniform(),
                                  np.full(count, 1 << 16, dtype=np.int32)).astype(np.int64)
