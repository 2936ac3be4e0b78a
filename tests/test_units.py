"""Exact values for the pieces every stream depends on: range-coder words for a fixed table, integer pmf
quantization and packing, keys, key checks and dither digits, and atomic writes."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest

from ltccodec import keyed, lattice
from ltccodec.atomic import write_atomic
from ltccodec.coding import BoxCoder, FrameDither, tables
from ltccodec.coding import frame as frame_coding
from ltccodec.coding.tables import CodingTables, quantize_pmf
from ltccodec.errors import LtcError, UsageError

PMF = np.array([0.1, 0.2, 0.4, 0.2, 0.05, 0.05])
COUNTS = [6554, 13107, 26214, 13107, 3277, 3277]
COORDS = np.array([[0, 0], [1, -1], [-2, 2], [7, -9], [0, 1]])  # 7 and -9 lie outside the table: escapes


def _z2_tables() -> CodingTables:
    counts = np.tile(np.array(COUNTS, dtype=np.int32), (2, 2, 1))  # 2 coordinates, 2 phase buckets
    return CodingTables(counts, np.array([-2, -2]), np.array([6, 6]))


def test_quantized_pmf_has_exact_integer_weights():
    assert quantize_pmf(PMF).tolist() == COUNTS
    assert sum(COUNTS) == 1 << 16
    assert quantize_pmf(np.array([1e-9, 1.0])).tolist() == [1, 65535]  # never a zero weight


def test_range_coder_words_for_a_fixed_table():
    z2 = lattice.by_name("Z2")
    coder, dither = BoxCoder(_z2_tables(), z2), FrameDither.none(z2, len(COORDS))
    words = frame_coding.encode(coder, COORDS, dither)
    assert words.tolist() == [0x6A7C80F0, 0xC51A49A2, 0x85BBABDA]
    decoded, side = frame_coding.decode(coder, words, len(COORDS), dither)
    assert decoded.tolist() == COORDS.tolist() and side is None
    # ideal length: the symbols' information plus 32 bits per escape
    assert coder.bits(COORDS, dither) == pytest.approx(91.21906082283671, abs=1e-9)


def test_packed_tables_round_trip_and_refuse_inconsistent_arrays():
    table = _z2_tables()
    packed = tables.pack(table)
    assert packed["counts"].dtype == np.int16 and len(packed["counts"]) == 2 * 2 * 6
    back = tables.unpack(packed)
    assert np.array_equal(back.counts, table.counts) and back.low.tolist() == [-2, -2]
    with pytest.raises(ValueError, match="inconsistent"):
        tables.unpack({**packed, "size": np.array([6, 7])})
    broken = dict(packed, counts=packed["counts"].copy())
    broken["counts"][0] += 1  # a row no longer sums to 2^16
    with pytest.raises(ValueError, match="normalized"):
        tables.unpack(broken)


def test_key_check_and_dither_digits_are_fixed_functions_of_key_and_nonce():
    nonce = bytes(16)
    assert keyed.key_check(keyed.DEFAULT_KEY, nonce).hex() == "a120fc3d"
    assert keyed.key_check(keyed.Key.from_material(b"secret", "test"), nonce).hex() == "ec095dce"
    assert keyed.dither_digits(keyed.DEFAULT_KEY, nonce, 3, 2, 4, 3).tolist() == [[0, 2, 2, 0], [2, 0, 1, 2]]
    assert keyed.dither_digits(keyed.DEFAULT_KEY, nonce, 3, 2, 4, 1 << 16).tolist() == [
        [5974, 44089, 57548, 9905], [63771, 8471, 29383, 50431]]


def test_key_loading_order_and_errors(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_bytes(b"secret")
    from_file = keyed.load_key(key_file, {keyed.KEY_ENV: "other"})
    assert from_file.secret == keyed.Key.from_material(b"secret", "x").secret and from_file.origin == str(key_file)
    assert keyed.load_key(None, {keyed.KEY_ENV: "secret"}).secret == from_file.secret
    assert keyed.load_key(None, {}) is keyed.DEFAULT_KEY
    with pytest.raises(UsageError, match="cannot read key file"):
        keyed.load_key(tmp_path / "missing", {})
    (tmp_path / "empty").write_bytes(b"")
    with pytest.raises(UsageError, match="is empty"):
        keyed.load_key(tmp_path / "empty", {})
    (tmp_path / "big").write_bytes(bytes(keyed.MAX_KEY_FILE + 1))
    with pytest.raises(UsageError, match="larger than 1 MiB"):
        keyed.load_key(tmp_path / "big", {})
    with pytest.raises(LtcError, match="wrong key: the stream was not encoded with the key from env"):
        keyed.verify_key(keyed.Key(from_file.secret, "env"), bytes(16), keyed.key_check(keyed.DEFAULT_KEY, bytes(16)))


def test_atomic_write_respects_umask_and_refuses_to_overwrite(tmp_path):
    target = tmp_path / "out.ltc"
    old = os.umask(0o027)
    try:
        write_atomic(target, b"one", overwrite=False)
    finally:
        os.umask(old)
    assert target.read_bytes() == b"one" and target.stat().st_mode & 0o777 == 0o640
    with pytest.raises(UsageError, match="exists; use --force"):
        write_atomic(target, b"two", overwrite=False)
    write_atomic(target, b"two", overwrite=True)
    assert target.read_bytes() == b"two"
    with pytest.raises(UsageError, match="is a directory"):
        write_atomic(tmp_path, b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.ltc"]  # no temp file left behind


def test_racing_writers_without_force_one_wins_one_is_told(tmp_path):
    target = tmp_path / "race.ltc"
    for round_ in range(20):
        target.unlink(missing_ok=True)
        barrier, outcomes = threading.Barrier(2), []

        def write(data: bytes, barrier: threading.Barrier = barrier, outcomes: list = outcomes) -> None:
            barrier.wait()
            try:
                write_atomic(target, data, overwrite=False)
                outcomes.append(data)
            except UsageError:
                outcomes.append(None)

        threads = [threading.Thread(target=write, args=(bytes([i]) * 100_000,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        winners = [o for o in outcomes if o is not None]
        assert len(winners) == 1, f"round {round_}: {len(winners)} writers succeeded"
        assert target.read_bytes() == winners[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["race.ltc"]


def test_a_failed_write_leaves_nothing(tmp_path):
    with pytest.raises(TypeError):
        write_atomic(tmp_path / "x.ltc", "not bytes")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []
    assert Path(tmp_path / "x.ltc").exists() is False
