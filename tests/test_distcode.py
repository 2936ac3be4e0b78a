"""The distance code (coder version 0.8): candidates, the integer rule for each vector's table, fitting, streams."""

from __future__ import annotations

import dataclasses
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ltccodec import codec, container, distcode, entropy, keyed, rankcode, registry
from ltccodec.errors import LtcError
from ltccodec.lattice import by_name, coset_dither
from ltccodec.randomness import Randomness

GOLDEN = Path(__file__).parent / "data" / "golden"
NONCE = bytes.fromhex("0f1e2d3c4b5a69788796a5b4c3d2e1f0")


@pytest.mark.parametrize("name, first, second, norms", [
    ("E8", 240, 2160, (8, 16)), ("D4", 24, 24, (2, 4)), ("Z1^4", 8, 8, (1, 4)), ("E8^2", 480, 4320, (8, 16))])
def test_candidates_are_p_then_each_shell_block_by_block(name, first, second, norms):
    lattice = by_name(name)
    native, coords = distcode.candidates(lattice, 2)
    assert len(native) == 1 + first + second and not native[0].any()
    squared = (native * native).sum(axis=1)
    assert set(squared[1:1 + first]) == {norms[0]} and set(squared[1 + first:]) == {norms[1]}
    assert len(np.unique(native, axis=0)) == len(native)
    np.testing.assert_allclose(lattice.from_coords(coords), lattice.from_coords(coords))  # integral (checked inside)
    block = lattice.blocks[0].dim
    for lo, hi in ((1, 1 + first // len(lattice.blocks)), (1 + first, 1 + first + second // len(lattice.blocks))):
        part = native[lo:hi, :block]  # the first block's shell: lexicographic in native coordinates
        assert [tuple(r) for r in part] == sorted(tuple(r) for r in part)
        assert not native[lo:hi, block:].any()
    assert len(distcode.candidates(lattice, 1)[0]) == 1 + first


def _plain_counts(table: distcode.DistanceTable, offsets: np.ndarray, diff: np.ndarray, scale: int) -> list[int]:
    """The module docstring's rule for one vector, in plain Python integers."""
    z = []
    for s in offsets.tolist():
        z.append(sum(si * (2 * int(b) * int(d) + int(g) * scale) - scale * int(b) * si * si
                     for si, b, g, d in zip(s, table.quad, table.lin, diff, strict=True)))
    top = max(z)
    weights = [int(table.exp_table[k]) if (k := (top - zj) // (256 * scale)) < len(table.exp_table) else 0 for zj in z]
    spread = (1 << 24) - max(1 << 16, table.escape) - (len(z) + 1)
    counts = [1 + w * spread // sum(weights) for w in weights]
    return [*counts, (1 << 24) - sum(counts)]


@pytest.mark.parametrize("name, shells", [("D4", 2), ("Z1^4", 2), ("E8", 1)])
def test_each_vectors_counts_follow_the_rule_exactly(name, shells):
    lattice = by_name(name)
    rng = np.random.default_rng(1)
    table = distcode.DistanceTable(shells, rng.integers(1, 9000, lattice.dim), rng.integers(-3000, 3000, lattice.dim),
                                   np.array([65536, 40000, 30000, 30001, 5, 0, 7]), 300_000)
    table.validate(lattice)
    offsets, _ = distcode.candidates(lattice, shells)
    scale = 16 << 16
    diff = rng.integers(-2 * scale, 2 * scale, (30, lattice.dim))
    got = distcode.counts(table, offsets, diff, scale)
    for row, d in zip(got, diff, strict=True):
        assert row.tolist() == _plain_counts(table, offsets, d, scale)
    assert np.all(got >= 1) and np.all(got.sum(axis=1) == 1 << 24) and np.all(got[:, -1] > 300_000)
    assert (got[:, :-1] > 1).sum(axis=1).min() >= 1  # someone is likely: the table's first entry weighs 2^16


@pytest.mark.parametrize("bad", [
    dict(shells=3), dict(quad=np.zeros(8, np.int64)), dict(lin=np.full(8, 1 << 25)),
    dict(exp_table=np.array([65535, 2])), dict(exp_table=np.array([65536, 70000])), dict(escape=1 << 23 + 1)])
def test_tables_out_of_their_bounds_are_refused(bad):
    good = dict(shells=1, quad=np.ones(8, np.int64), lin=np.zeros(8, np.int64), exp_table=np.array([65536, 3]),
                escape=0)
    distcode.DistanceTable(**good).validate(by_name("E8"))
    with pytest.raises(ValueError, match="distance table"):
        distcode.DistanceTable(**{**good, **bad}).validate(by_name("E8"))


def test_fit_recovers_a_known_quadratic_form():
    """Choices drawn from the model itself, β = (0.6 … 1.3), γ ≠ 0 on D4 with two shells: the fit finds them."""
    lattice = by_name("D4")
    beta, gamma = np.array([0.6, 0.9, 1.1, 1.3]), np.array([0.3, -0.2, 0.0, 0.1])
    offsets, coord_offsets = distcode.candidates(lattice, 2)
    rng = np.random.default_rng(3)
    scale, count = 1 << 20, 20_000
    diff = rng.integers(-scale // 2, scale // 2, (count, 4))
    e = diff / scale
    logits = (2 * beta * e + gamma) @ offsets.T - (offsets * offsets) @ beta
    prob = np.exp(logits - logits.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    pick = (rng.random(count)[:, None] > np.cumsum(prob, axis=1)).sum(axis=1)
    p = rng.integers(-3, 4, (count, 4))
    cand = rankcode.Candidates(p, diff, scale, lattice)
    table = distcode.fit([(cand, p + coord_offsets[pick])], lattice, 2)
    np.testing.assert_allclose(table.quad / 4096, beta, rtol=0.08)
    np.testing.assert_allclose(table.lin / 4096, gamma, atol=0.05)
    assert table.escape == 0


def _frame(name: str, mode: str, count: int = 200) -> tuple[registry.LoadedModel, np.ndarray, np.ndarray | None,
                                                            int]:
    loaded = registry.by_name(name, dirs=[GOLDEN])
    x = np.load(GOLDEN / f"{name}.input.npy")[:count]
    rand = Randomness.parse(mode)
    dither_coords, u = codec.frame_dither(loaded, rand, keyed.DEFAULT_KEY, NONCE, 0, len(x))
    return loaded, loaded.model.to_symbols(x, u), dither_coords, codec.nesting_of(rand)


def test_golden_distance_stream_uses_both_shells_and_the_escape():
    loaded, coords, dither_coords, nesting = _frame("golden-e8x", "sd")
    tables, lattice, table = loaded.model.tables, loaded.model.lattice, loaded.model.distance_table
    assert codec.read_info(io.BytesIO((GOLDEN / "golden-e8x.sd.ltc").read_bytes()),
                           dirs=[GOLDEN]).coder_version == entropy.DISTANCE_VERSION
    cand = rankcode.frame_candidates(tables, lattice, lattice.native_from_coords(dither_coords), nesting)
    symbol = distcode.index_of(coords - cand.p, distcode.candidates(lattice, 2)[1])
    assert (symbol == 0).any() and ((symbol >= 1) & (symbol <= 240)).any()
    assert ((symbol > 240) & (symbol < 2401)).any() and (symbol == 2401).any()
    coded = entropy.table_bits(tables, lattice, coords, dither_coords, nesting, distance_table=table)
    box = entropy.table_bits(tables, lattice, coords, dither_coords, nesting)
    assert coded < 0.85 * box  # measured: 0.78 (the outliers cost the same under both)


@pytest.mark.parametrize("compiled", [False, True])
def test_a_frame_round_trips_and_a_negated_dither_does_not(compiled, monkeypatch):
    if compiled:
        from ltccodec import kernels

        if not kernels.built():
            pytest.skip("the compiled kernel is not built in this install")
    else:
        monkeypatch.setenv("LTC_KERNELS", "0")
    loaded, coords, dither_coords, nesting = _frame("golden-e8x", "sd")
    tables, lattice, table = loaded.model.tables, loaded.model.lattice, loaded.model.distance_table
    words = entropy.encode(tables, lattice, coords, dither_coords, nesting, distance_table=table)
    back, _ = entropy.decode(tables, lattice, words, len(coords), dither_coords, nesting, distance_table=table)
    np.testing.assert_array_equal(back, coords)
    assert 32 * len(words) <= entropy.table_bits(tables, lattice, coords, dither_coords, nesting,
                                                 distance_table=table) + 64
    flipped, _ = coset_dither(lattice, (-lattice.native_from_coords(dither_coords)[0]) % nesting, nesting)
    wrong, _ = entropy.decode(tables, lattice, words, len(coords), flipped, nesting, distance_table=table)
    assert np.mean(np.any(wrong != coords, axis=1)) > 0.3


def test_the_payload_guard_uses_the_escapes_floor():
    loaded = registry.by_name("golden-e8x", dirs=[GOLDEN])
    least = codec._min_bits_per_vector(loaded, entropy.DISTANCE_VERSION)
    assert least == pytest.approx(-np.log2(1 - 2**-8))
    header = codec.read_info(io.BytesIO((GOLDEN / "golden-e8x.sd.ltc").read_bytes()), dirs=[GOLDEN])
    with pytest.raises(container.FormatError, match="can hold"):
        codec._check_payload_can_hold(dataclasses.replace(header, vectors=10**6, frame_vectors=10**6), loaded)


def test_a_stream_claiming_the_distance_code_for_a_model_without_its_table_is_one_clear_error():
    x = np.load(GOLDEN / "golden-e8r.input.npy")[:50]
    data = codec.encode(x, registry.by_name("golden-e8r", dirs=[GOLDEN]), "sd", nonce=bytes(16))
    stream = io.BytesIO(data)
    header = container.read_header(stream)
    payloads = list(container.read_frames(stream, header))
    out = io.BytesIO()
    container.write(dataclasses.replace(header, coder_version=entropy.DISTANCE_VERSION), payloads, out)
    with pytest.raises(LtcError, match="uses the distance code, and model golden-e8r has no distance table"):
        codec.decode(out.getvalue(), dirs=[GOLDEN])


def test_distance_coded_stream_round_trips_between_processes(tmp_path):
    x = np.random.default_rng(4).normal(size=(700, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    env = dict(os.environ, LTC_MODELS=str(GOLDEN))
    ltc = str(Path(sys.executable).parent / "ltc")
    for args in (["encode", str(tmp_path / "x.npy"), "-o", str(tmp_path / "x.ltc"), "--model", "golden-e8x"],
                 ["decode", str(tmp_path / "x.ltc"), "-o", str(tmp_path / "y.npy")]):
        subprocess.run([ltc, *args], env=env, check=True, capture_output=True)
    shown = subprocess.run([ltc, "info", str(tmp_path / "x.ltc")], env=env, check=True, capture_output=True,
                           text=True)
    assert "coder           1 v0.8.0 (distance code)" in shown.stdout
    data = (tmp_path / "x.ltc").read_bytes()
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), codec.decode(data, dirs=[GOLDEN]))


def test_training_with_the_distance_code_codes_below_the_rank_code(tmp_path):
    """E8, the SD construction as a fixed step at MSE 1.3 (as the rank code's test, a rate 4 × higher), 300 steps:
    the distance code's stream against the same model's rank code (measured: 0.208 vs 0.229 bit/value)."""
    from ltccodec.train import TrainConfig, train

    config = TrainConfig(source="gaussian:8", lattice="E8", randomness="sd", transform="linear", lambda_mse=1.0,
                         lambda_perception=100.0, init_scale=0.100035, init_gain=0.35, train_analysis=False,
                         epochs=1, steps_per_epoch=300, batch_size=256, distance_code=1, test_size=4000)
    card = train(config, tmp_path / "run", tmp_path / "m", "m")
    assert card.distance and not card.rank
    loaded = registry.by_path(tmp_path / "m.json")
    x = np.random.default_rng(3).normal(size=(8192, 8)).astype(np.float32)
    data = codec.encode(x, loaded, "sd", nonce=bytes(16))
    assert codec.read_info(io.BytesIO(data), dirs=[tmp_path]).coder_version == entropy.DISTANCE_VERSION
    stream_bits = 8 * codec.read_info(io.BytesIO(data), dirs=[tmp_path]).payload_bytes / x.size
    model, lattice, tables = loaded.model, loaded.model.lattice, loaded.model.tables
    rng = np.random.default_rng(5)
    ranks = rankcode.estimate_table(lambda v, u: model.to_symbols(v, u), tables, lattice, x, 1 << 16, rng)
    dither_coords, u = codec.frame_dither(loaded, Randomness.parse("sd"), keyed.DEFAULT_KEY, bytes(16), 0, 4096)
    coords = model.to_symbols(x[:4096], u)
    rank_bits = entropy.table_bits(tables, lattice, coords, dither_coords, 1 << 16, rank_table=ranks) / coords.size
    print(f"distance code {stream_bits:.4f}, rank code {rank_bits:.4f} bit/value")
    assert stream_bits < rank_bits - 0.004
    y = codec.decode(data, dirs=[tmp_path])
    assert 1.1 < float(((x - y) ** 2).mean()) < 1.5


@pytest.mark.parametrize("name, shells, scale", [("E8", 2, 16 << 16), ("D4", 2, 48), ("Z1^4", 1, 16)])
def test_the_compiled_tables_are_the_reference_rule(name, shells, scale, monkeypatch):
    from ltccodec import kernels

    if not kernels.built():
        pytest.skip("the compiled kernel is not built in this install")
    lattice = by_name(name)
    rng = np.random.default_rng(8)
    offsets, _ = distcode.candidates(lattice, shells)
    for trial in range(5):
        table = distcode.DistanceTable(shells, rng.integers(1, 1 << (8 + 3 * trial), lattice.dim),
                                       rng.integers(-5000, 5000, lattice.dim),
                                       np.r_[65536, rng.integers(0, 65537, int(rng.integers(0, 300)))],
                                       int(rng.integers(0, 1 << 23)))
        diff = rng.integers(-3 * scale, 3 * scale, (200, lattice.dim))
        compiled = distcode.pmf(table, offsets, diff, scale).cdf
        monkeypatch.setenv("LTC_KERNELS", "0")
        reference = distcode.pmf(table, offsets, diff, scale).cdf
        monkeypatch.delenv("LTC_KERNELS")
        np.testing.assert_array_equal(compiled, reference)


@pytest.mark.parametrize("compiled", ["0", "1"])
def test_scores_beyond_exact_doubles_are_refused_not_rounded(compiled, monkeypatch):
    from ltccodec import kernels

    if compiled == "1" and not kernels.built():
        pytest.skip("the compiled kernel is not built in this install")
    monkeypatch.setenv("LTC_KERNELS", compiled)
    lattice = by_name("E8")
    table = distcode.DistanceTable(1, np.full(8, 1 << 20), np.zeros(8, np.int64), np.array([65536]), 0)
    offsets, _ = distcode.candidates(lattice, 1)
    fine = distcode.pmf(table, offsets, np.full((2, 8), 1 << 20), 1 << 20).cdf
    assert fine.shape == (2, 243)
    with pytest.raises(ValueError, match="out of range"):
        _ = distcode.pmf(table, offsets, np.full((2, 8), 1 << 28), 1 << 20).cdf


def test_training_refuses_both_low_rate_coders_at_once():
    from ltccodec.errors import UsageError
    from ltccodec.train import TrainConfig

    with pytest.raises(UsageError, match="choose one"):
        TrainConfig(source="gaussian:8", lattice="E8", rank=True, distance_code=1).model_config()
    with pytest.raises(UsageError, match="1 or 2 shells"):
        TrainConfig(source="gaussian:8", lattice="E8", distance_code=3).model_config()


def test_ladders_skip_superseded_models_which_still_decode_by_name():
    """The rank-coded E8 SD models gave way to the distance-coded ones: --quality steps through the new ladder,
    while the old model is still found by its name (its streams name it)."""
    sd = Randomness.parse("sd")
    picked = [registry.resolve(registry.Choice("gaussian8-e8", sd, quality=q), "array")[0].name for q in (1, 2, 3)]
    assert picked == ["gaussian8-e8-sd-x1.85", "gaussian8-e8-sd-x1.6", "gaussian8-e8-sd-x1.3"]
    old = registry.by_name("gaussian8-e8-sd-r1.85")
    assert old.card.superseded_by == "gaussian8-e8-sd-x1.85" and old.model.rank_table is not None
    assert registry.resolve(registry.Choice("gaussian8-e8-sd-r1.85"), "array")[0].name == "gaussian8-e8-sd-r1.85"
