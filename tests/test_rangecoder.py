"""The compiled range coder against constriction: word for word on random tables and symbol streams, the same
symbols (or the same refusal) on random words, and the 24-bit cumulatives constriction derives from our pmfs."""

from __future__ import annotations

import os
import shutil
import sysconfig
from pathlib import Path

import constriction
import numpy as np
import pytest

from ltccodec import kernels
from ltccodec.coding.rangecoder import PmfTable, RangeDecoder, RangeEncoder

needs_kernels = pytest.mark.skipif(not kernels.built(),
                                   reason="the compiled kernel is not built in this install (no C compiler?)")


def _table(rng: np.random.Generator, rows: int, size: int, bits: int = 16) -> PmfTable:
    weights = rng.random((rows, size)) ** rng.uniform(0.5, 12)
    total = 1 << bits
    counts = np.maximum(np.rint(weights / weights.sum(axis=1, keepdims=True) * total).astype(np.int64), 1)
    counts[np.arange(rows), counts.argmax(axis=1)] += total - counts.sum(axis=1)
    return PmfTable(counts, bits)


def _draw(rng: np.random.Generator, table: PmfTable, rows: np.ndarray) -> np.ndarray:
    """Symbols distributed as their rows say (so both likely and rare symbols occur)."""
    cumulative = np.cumsum(table.counts, axis=1)
    return (rng.integers(0, 1 << table.bits, len(rows))[:, None] >= cumulative[rows]).sum(axis=1)


def _script(rng: np.random.Generator) -> list[tuple]:
    """A random sequence of calls: categorical batches against random tables, and uniform 16-bit words."""
    calls = []
    for _ in range(int(rng.integers(1, 6))):
        if rng.random() < 0.3:
            calls.append(("uniform", rng.integers(0, 1 << 16, int(rng.integers(0, 40)))))
        else:
            if rng.random() < 0.25:  # the distance code's per-vector 24-bit tables, some over 256 symbols
                table = _table(rng, int(rng.integers(1, 6)), int(rng.integers(2, 2500)), bits=24)
            else:
                table = _table(rng, int(rng.integers(1, 6)), int(rng.integers(2, 80)))
            rows = rng.integers(0, table.counts.shape[0], int(rng.integers(0, 3000)))
            calls.append(("categorical", table, rows, _draw(rng, table, rows)))
    return calls


def _encode(calls: list[tuple], compiled: bool) -> np.ndarray:
    encoder = RangeEncoder(compiled=compiled)
    for call in calls:
        if call[0] == "uniform":
            encoder.uniform16(call[1])
        else:
            encoder.categorical(call[3], call[1], call[2])
    return encoder.words()


def _decode(words: np.ndarray, calls: list[tuple], compiled: bool) -> np.ndarray | str:
    decoder = RangeDecoder(words, compiled=compiled)
    out = [np.zeros(0, dtype=np.int64)]
    try:
        for call in calls:
            out.append(decoder.uniform16(len(call[1])) if call[0] == "uniform" else decoder.categorical(call[1],
                                                                                                        call[2]))
    except (ValueError, AssertionError):  # constriction's and the kernel's "invalid compressed data"
        return "invalid"
    return np.concatenate(out)


@needs_kernels
def test_cumulatives_are_constrictions() -> None:
    """Coding one symbol from a fresh coder exposes its interval: the kernel's table must give the same words
    as constriction's own quantization for every symbol of a skewed row."""
    rng = np.random.default_rng(5)
    table = _table(rng, 1, 37)
    assert table.cdf[0, 0] == 0 and table.cdf[0, -1] == 1 << 24 and np.all(np.diff(table.cdf[0].astype(int)) > 0)
    for symbol in range(37):
        reference = constriction.stream.queue.RangeEncoder()
        reference.encode(np.array([symbol, 36 - symbol], dtype=np.int32),
                         constriction.stream.model.Categorical(perfect=False), table.probabilities(np.zeros(2, int)))
        ours = RangeEncoder(compiled=True)
        ours.categorical(np.array([symbol, 36 - symbol]), table)
        np.testing.assert_array_equal(ours.words(), reference.get_compressed())


@pytest.mark.parametrize("seed", range(6))
@needs_kernels
def test_words_match_constriction(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(25):
        calls = _script(rng)
        words = _encode(calls, compiled=False)
        np.testing.assert_array_equal(_encode(calls, compiled=True), words)
        expected = np.concatenate([np.zeros(0, dtype=np.int64)] + [c[1] if c[0] == "uniform" else c[3]
                                                                    for c in calls])
        np.testing.assert_array_equal(_decode(words, calls, compiled=True), expected)


@pytest.mark.parametrize("seed", range(4))
@needs_kernels
def test_random_words_decode_as_constriction_does(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    refused = 0
    for _ in range(40):
        calls = _script(rng)
        words = rng.integers(0, 1 << 32, int(rng.integers(0, 400)), dtype=np.uint64).astype(np.uint32)
        ours, theirs = _decode(words, calls, compiled=True), _decode(words, calls, compiled=False)
        if isinstance(theirs, str):
            refused += 1
            assert ours == theirs
        else:
            np.testing.assert_array_equal(ours, theirs)
    assert refused < 40


@needs_kernels
def test_carry_chains() -> None:
    """Long runs of near-certain symbols push the coder into its held-back ("inverted") words; the words must
    still match constriction's through every transition."""
    counts = np.array([[65535, 1], [1, 65535], [32768, 32768]])
    table = PmfTable(counts)
    rng = np.random.default_rng(9)
    for _ in range(30):
        rows = rng.choice(3, size=5000, p=[0.45, 0.45, 0.1])
        symbols = np.where(rows == 2, rng.integers(0, 2, 5000), np.where(rng.random(5000) < 0.999, rows, 1 - rows))
        calls = [("categorical", table, rows, symbols)]
        words = _encode(calls, compiled=False)
        np.testing.assert_array_equal(_encode(calls, compiled=True), words)
        np.testing.assert_array_equal(_decode(words, calls, compiled=True), symbols)


@needs_kernels
def test_bad_arguments_raise() -> None:
    table = PmfTable(np.array([[60000, 5536]]))
    encoder = RangeEncoder(compiled=True)
    with pytest.raises(ValueError, match="out of range"):
        encoder.categorical(np.array([2]), table)
    with pytest.raises(ValueError, match="out of range"):
        encoder.categorical(np.array([0]), table, np.array([1]))
    with pytest.raises(ValueError, match="out of range"):
        encoder.uniform16(np.array([1 << 16]))
    with pytest.raises(ValueError, match="row out of range"):
        RangeDecoder(np.array([1, 2], dtype=np.uint32), compiled=True).categorical(table, np.array([3]))


@needs_kernels
def test_empty_stream_is_no_words() -> None:
    assert len(RangeEncoder(compiled=True).words()) == 0
    encoder = RangeEncoder(compiled=True)
    encoder.categorical(np.array([1]), PmfTable(np.array([[60000, 5536]])))
    assert len(encoder.words()) >= 1


def _can_build() -> bool:
    """A C compiler and the Python headers (a system Python may come without its -dev package)."""
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    return shutil.which(os.environ.get("CC", "cc")) is not None and headers.exists()


@pytest.mark.skipif(not _can_build(), reason="no C compiler or no Python headers on this machine")
def test_kernels_are_built_where_they_can_be() -> None:
    """The extension is optional to pip, so a build error would pass silently: where a compiler and the Python
    headers are present it must be there (``pip install -v -e .`` shows the compiler's message)."""
    assert kernels.built()


@needs_kernels
def test_tables_are_checked_whole_once_and_their_ends_on_every_call() -> None:
    """`PmfTable.check` runs the full checks (every row increasing, the slice starts right); each coding call
    still refuses rows that do not run from 0 to 2^24 and slice starts outside the row."""
    module = kernels.active()
    table = PmfTable(np.array([[60000, 5000, 536], [1, 2, 65533]]))
    table.check()
    flat = table.cdf.copy()
    flat[0, 2] = flat[0, 1]  # a zero-width symbol
    with pytest.raises(ValueError, match="not a valid cumulative distribution"):
        module.check_tables(flat, 3, table.starts)
    starts = table.starts.copy()
    starts[1, 0] = 2  # row 1 has symbol 2 starting far above 0
    with pytest.raises(ValueError, match="slice-start table"):
        module.check_tables(table.cdf, 3, starts)
    ends = table.cdf.copy()
    ends[1, 3] -= 1
    decoder = RangeDecoder(np.array([1, 2, 3], dtype=np.uint32), compiled=True)
    with pytest.raises(ValueError, match="not a valid cumulative distribution"):
        decoder._kernels.decode_categorical(decoder._state, decoder._words,
                                            (np.empty(1, np.int64), np.zeros(1, np.int64), ends, 3))
    from ltccodec.coding import box
    from ltccodec.lattice import by_name

    lattice = by_name("Z1")
    coords, dither = np.zeros((4, 1), np.int64), np.zeros((4, 1), np.int64)
    condition = box.condition(lattice.blocks[0].basis, 0, coords, 0, dither, 1, 2)
    bad_starts = np.full(table.starts.shape, 3, dtype=np.uint8)  # symbol 3 of a 3-symbol row
    with pytest.raises(ValueError, match="not a valid cumulative distribution"):
        decoder._kernels.decode_coordinate(decoder._state, decoder._words, condition, 0, 0, table.cdf, 3, bad_starts,
                                           np.empty(4, np.int64), np.empty(4, np.int64))
