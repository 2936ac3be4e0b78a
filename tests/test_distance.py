"""The coders: the distance code's candidates, its integer rule for each vector's table, fitting and streams; the
model card's one coder field."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from ltccodec import codec, keyed
from ltccodec.coding import BoxCoder, FrameDither, distance
from ltccodec.coding import frame as frame_coding
from ltccodec.errors import LtcError
from ltccodec.format import container
from ltccodec.lab import distance_fit
from ltccodec.lattice import by_name
from ltccodec.randomness import Randomness
from ltccodec.runtime import modelfile, registry

from .codec_models import make_model

NONCE = bytes.fromhex("0f1e2d3c4b5a69788796a5b4c3d2e1f0")


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a small distance-coded E8 model (two shells, a low rate) and a box-coded one."""
    folder = tmp_path_factory.mktemp("coders")
    make_model(folder, "test-e8x", seed=11)
    make_model(folder, "test-e8", seed=11)
    return folder


def _input(count: int = 200) -> np.ndarray:
    x = np.random.default_rng(2026).normal(size=(count, 8)).astype(np.float32)
    x[::25] *= 4  # a few vectors far out, beyond both shells: the escape path
    return x


@pytest.mark.parametrize("name, first, second, norms", [
    ("E8", 240, 2160, (8, 16)), ("D4", 24, 24, (2, 4)), ("Z1^4", 8, 8, (1, 4)), ("E8^2", 480, 4320, (8, 16))])
def test_candidates_are_p_then_each_shell_block_by_block(name, first, second, norms):
    lattice = by_name(name)
    native, coords = distance.candidates(lattice, 2)
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
    assert len(distance.candidates(lattice, 1)[0]) == 1 + first


def _plain_counts(table: distance.DistanceTable, offsets: np.ndarray, diff: np.ndarray, scale: int) -> list[int]:
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
    table = distance.DistanceTable(shells, rng.integers(1, 9000, lattice.dim), rng.integers(-3000, 3000, lattice.dim),
                                   np.array([65536, 40000, 30000, 30001, 5, 0, 7]), 300_000)
    table.validate(lattice)
    offsets, _ = distance.candidates(lattice, shells)
    scale = 16 << 16
    diff = rng.integers(-2 * scale, 2 * scale, (30, lattice.dim))
    got = distance.counts(table, offsets, diff, scale)
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
    distance.DistanceTable(**good).validate(by_name("E8"))
    with pytest.raises(ValueError, match="distance table"):
        distance.DistanceTable(**{**good, **bad}).validate(by_name("E8"))


def test_fit_recovers_a_known_quadratic_form():
    """Choices drawn from the model itself, β = (0.6 … 1.3), γ ≠ 0 on D4 with two shells: the fit finds them."""
    lattice = by_name("D4")
    beta, gamma = np.array([0.6, 0.9, 1.1, 1.3]), np.array([0.3, -0.2, 0.0, 0.1])
    offsets, coord_offsets = distance.candidates(lattice, 2)
    rng = np.random.default_rng(3)
    scale, count = 1 << 20, 20_000
    diff = rng.integers(-scale // 2, scale // 2, (count, 4))
    e = diff / scale
    logits = (2 * beta * e + gamma) @ offsets.T - (offsets * offsets) @ beta
    prob = np.exp(logits - logits.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    pick = (rng.random(count)[:, None] > np.cumsum(prob, axis=1)).sum(axis=1)
    p = rng.integers(-3, 4, (count, 4))
    cand = distance.Candidates(p, diff, scale)
    table = distance_fit.fit([(cand, p + coord_offsets[pick])], lattice, 2)
    np.testing.assert_allclose(table.quad / 4096, beta, rtol=0.08)
    np.testing.assert_allclose(table.lin / 4096, gamma, atol=0.05)
    assert table.escape == 0


def _frame(models: Path, name: str = "test-e8x", mode: str = "sd") -> tuple[registry.LoadedModel, np.ndarray,
                                                                           FrameDither]:
    loaded = registry.by_name(name, dirs=[models])
    x = _input()
    u, dither = codec.frame_dither(loaded, Randomness.parse(mode), keyed.DEFAULT_KEY, NONCE, 0, len(x))
    return loaded, loaded.model.to_symbols(x, u), dither


def test_a_distance_coded_frame_uses_both_shells_and_the_escape(models):
    loaded, coords, dither = _frame(models)
    coder, lattice = loaded.model.coder, loaded.model.lattice
    assert coder.name == "distance"
    found = distance.frame_candidates(loaded.model.tables, lattice, dither)
    symbol = distance.index_of(coords - found.p, distance.candidates(lattice, 2)[1])
    assert (symbol == 0).any() and ((symbol >= 1) & (symbol <= 240)).any()
    assert ((symbol > 240) & (symbol < 2401)).any() and (symbol == 2401).any()
    box = BoxCoder(loaded.model.tables, lattice).bits(coords, dither)
    assert coder.bits(coords, dither) < 0.85 * box  # measured: 0.78 (the outliers cost the same under both)


def test_a_frame_round_trips_and_a_negated_dither_does_not(models, kernels_mode):
    loaded, coords, dither = _frame(models)
    coder = loaded.model.coder
    words = frame_coding.encode(coder, coords, dither)
    back, _ = frame_coding.decode(coder, words, len(coords), dither)
    np.testing.assert_array_equal(back, coords)
    assert coder.bits(coords, dither) <= 32 * len(words) <= coder.bits(coords, dither) + 64
    flipped = FrameDither(tuple((-d) % dither.nesting for d in dither.native), dither.nesting)
    wrong, _ = frame_coding.decode(coder, words, len(coords), flipped)
    assert np.mean(np.any(wrong != coords, axis=1)) > 0.3


def _reseal(data: bytes, edit) -> bytes:
    """The stream with its header edited by ``edit(header) -> header``, every CRC recomputed."""
    stream = io.BytesIO(data)
    header = container.read_header(stream)
    frames = list(container.read_frames(stream, header))
    out = io.BytesIO()
    container.write(edit(header), frames, out)
    return out.getvalue()


@pytest.mark.parametrize("name", ["test-e8x", "test-e8"])
def test_the_payload_guard_uses_each_coders_least_cost(models, name):
    """The distance code's escape floor (0.0056 bits a vector) and the box code's likeliest symbols: a frame that
    declares more vectors than its payload's bits can carry at that cost is refused before decoding."""
    loaded = registry.by_name(name, dirs=[models])
    least = codec.least_bits(loaded)
    if name == "test-e8x":
        assert least == pytest.approx(-np.log2(1 - 2**-8))
    else:
        assert least == pytest.approx(loaded.model.coder.least_bits()) and least > 0.1
    data = codec.encode(_input(64), loaded, "sd", nonce=NONCE)
    stream = io.BytesIO(data)
    header = container.read_header(stream)
    (frame,) = list(container.read_frames(stream, header))
    many = int((8 * 4 + codec.CODER_SLACK_BITS) / least) + 1  # what one coder word cannot hold
    if many > container.MAX_FRAME_VECTORS:  # the frame size limit comes first
        return
    bomb = io.BytesIO()
    container.write(dataclasses.replace(header, vectors=many, frame_vectors=many, shape=(many, 8)),
                    [dataclasses.replace(frame, vectors=many, payload=frame.payload[:4])], bomb)
    with pytest.raises(container.FormatError, match="can hold"):
        codec.decode(bomb.getvalue(), dirs=[models])


def test_a_stream_whose_coder_is_not_its_models_is_one_clear_error(models):
    data = codec.encode(_input(50), registry.by_name("test-e8", dirs=[models]), "sd", nonce=NONCE)
    edited = _reseal(data, lambda h: dataclasses.replace(h, coder=container.CoderCode.DISTANCE))
    with pytest.raises(LtcError, match=r"coder \(distance\) is not its model's \(box\)"):
        codec.decode(edited, dirs=[models])
    unknown = bytearray(data)
    at = 13 + unknown[12] + 32  # the coder byte: after the name and the model's SHA-256
    unknown[at] = 9
    head = struct.unpack("<I", unknown[8:12])[0]
    unknown[head - 4:head] = struct.pack("<I", zlib.crc32(bytes(unknown[:head - 4])))
    with pytest.raises(container.FormatError, match="written by a newer ltc"):
        codec.decode(bytes(unknown), dirs=[models])


@pytest.mark.parametrize("card_edit, message", [
    ({"coder": "rank"}, "coder 'rank'"), ({"coder": "distance"}, "without a usable distance table"),
    ({"anchor": True}, "not a valid model card"), ({"rank": True}, "not a valid model card"),
    ({"distance": True}, "not a valid model card")])
def test_a_card_cannot_name_a_coder_the_decoder_does_not_read(models, tmp_path, card_edit, message):
    """One field names the coder; anything else — the dead coders' flags, a coder without its table — is refused
    when the model is read, before any stream is written or read with it."""
    for suffix in (".json", ".safetensors"):
        shutil.copy(models / f"test-e8{suffix}", tmp_path / f"test-e8{suffix}")
    card = json.loads((tmp_path / "test-e8.json").read_text())
    (tmp_path / "test-e8.json").write_text(json.dumps({**card, **card_edit}))
    with pytest.raises(LtcError, match=message):
        modelfile.read_verified(tmp_path / "test-e8")
    with pytest.raises(LtcError):
        registry.by_name("test-e8", dirs=[tmp_path])


def test_distance_coded_stream_round_trips_between_processes(models, tmp_path):
    x = np.random.default_rng(4).normal(size=(700, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    env = dict(os.environ, LTC_MODELS=str(models))
    ltc = str(Path(sys.executable).parent / "ltc")
    for args in (["encode", str(tmp_path / "x.npy"), "-o", str(tmp_path / "x.ltc"), "--model", "test-e8x"],
                 ["decode", str(tmp_path / "x.ltc"), "-o", str(tmp_path / "y.npy")]):
        subprocess.run([ltc, *args], env=env, check=True, capture_output=True)
    shown = subprocess.run([ltc, "info", str(tmp_path / "x.ltc")], env=env, check=True, capture_output=True,
                           text=True)
    assert any(line.split()[:2] == ["coder", "distance"] for line in shown.stdout.splitlines()), shown.stdout
    data = (tmp_path / "x.ltc").read_bytes()
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), codec.decode(data, dirs=[models]))


def test_training_with_the_distance_code_codes_below_the_box_code(tmp_path):
    """E8, the SD construction as a fixed step at MSE 1.3, 300 steps: the distance code's stream against the same
    model's box code."""
    from ltccodec.lab.train import TrainConfig, train

    config = TrainConfig(source="gaussian:8", lattice="E8", randomness="sd", transform="linear", lambda_mse=1.0,
                         lambda_perception=100.0, init_scale=0.100035, init_gain=0.35, train_analysis=False,
                         epochs=1, steps_per_epoch=300, batch_size=256, distance_code=1, test_size=4000)
    card = train(config, tmp_path / "run", tmp_path / "m", "m")
    assert card.coder == "distance"
    loaded = registry.by_path(tmp_path / "m.json")
    x = np.random.default_rng(3).normal(size=(8192, 8)).astype(np.float32)
    data = codec.encode(x, loaded, "sd", nonce=bytes(16))
    _, frames, _ = codec.read_frame_table(io.BytesIO(data), dirs=[tmp_path])
    stream_bits = 8 * sum(len(f.payload) for f in frames) / x.size
    model = loaded.model
    u, dither = codec.frame_dither(loaded, Randomness.parse("sd"), keyed.DEFAULT_KEY, bytes(16), 0, 4096)
    coords = model.to_symbols(x[:4096], u)
    box_bits = BoxCoder(model.tables, model.lattice).bits(coords, dither) / coords.size
    print(f"distance code {stream_bits:.4f}, box code {box_bits:.4f} bit/value")
    assert stream_bits < 0.75 * box_bits  # measured: 0.208 against 0.377
    y = codec.decode(data, dirs=[tmp_path])
    assert 1.1 < float(((x - y) ** 2).mean()) < 1.5


@pytest.mark.parametrize("name, shells, scale", [("E8", 2, 16 << 16), ("D4", 2, 48), ("Z1^4", 1, 16)])
def test_the_compiled_tables_are_the_reference_rule(name, shells, scale, monkeypatch):
    from ltccodec import kernels

    if not kernels.built():
        pytest.skip("the compiled kernel is not built in this install")
    lattice = by_name(name)
    rng = np.random.default_rng(8)
    offsets, _ = distance.candidates(lattice, shells)
    for trial in range(5):
        table = distance.DistanceTable(shells, rng.integers(1, 1 << (8 + 3 * trial), lattice.dim),
                                       rng.integers(-5000, 5000, lattice.dim),
                                       np.r_[65536, rng.integers(0, 65537, int(rng.integers(0, 300)))],
                                       int(rng.integers(0, 1 << 23)))
        diff = rng.integers(-3 * scale, 3 * scale, (200, lattice.dim))
        compiled = distance.pmf(table, offsets, diff, scale).cdf
        monkeypatch.setenv("LTC_KERNELS", "0")
        reference = distance.pmf(table, offsets, diff, scale).cdf
        monkeypatch.delenv("LTC_KERNELS")
        np.testing.assert_array_equal(compiled, reference)


@pytest.mark.parametrize("compiled", ["0", "1"])
def test_scores_beyond_exact_doubles_are_refused_not_rounded(compiled, monkeypatch):
    from ltccodec import kernels

    if compiled == "1" and not kernels.built():
        pytest.skip("the compiled kernel is not built in this install")
    monkeypatch.setenv("LTC_KERNELS", compiled)
    lattice = by_name("E8")
    table = distance.DistanceTable(1, np.full(8, 1 << 20), np.zeros(8, np.int64), np.array([65536]), 0)
    offsets, _ = distance.candidates(lattice, 1)
    fine = distance.pmf(table, offsets, np.full((2, 8), 1 << 20), 1 << 20).cdf
    assert fine.shape == (2, 243)
    with pytest.raises(ValueError, match="out of range"):
        _ = distance.pmf(table, offsets, np.full((2, 8), 1 << 28), 1 << 20).cdf


def test_training_takes_one_or_two_shells():
    from ltccodec.errors import UsageError
    from ltccodec.lab.train import TrainConfig

    with pytest.raises(UsageError, match="1 or 2 shells"):
        TrainConfig(source="gaussian:8", lattice="E8", distance_code=3).model_config()
    with pytest.raises(UsageError, match="unknown training settings: rank"):
        TrainConfig.from_json('{"rank": true}')
