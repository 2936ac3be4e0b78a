"""The codec across process boundaries: every mode and lattice encoded in one process and decoded in another,
determinism, and clear errors for every kind of bad input."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

import ltccodec
import ltccodec.errors
from ltccodec import codec, keyed
from ltccodec.format import container
from ltccodec.runtime import registry

from .codec_models import SPECS, make_model

LTC = str(Path(sys.executable).parent / "ltc")
MODES = ["none", "pd", "1bits", "nesting3", "sd"]
NONCE = "00112233445566778899aabbccddeeff"


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("models")
    for name in SPECS:
        make_model(directory, name)
    return directory


def _env(models: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ, LTC_MODELS=str(models), OMP_NUM_THREADS="1")
    env.pop("LTC_KEY", None)
    env.update(extra)
    return env


def _run(args: list[str], env: dict[str, str], stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([LTC, *args], env=env, input=stdin, capture_output=True, timeout=120)


def _array(n: int, vectors: int = 300, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(vectors, n)).astype(np.float32)


def _in_process(models: Path, name: str, x: np.ndarray, mode: str, nonce: str = NONCE) -> bytes:
    loaded = registry.by_name(name, dirs=[models])
    return codec.encode(x, loaded, mode, nonce=bytes.fromhex(nonce), frame_vectors=128)


@pytest.mark.parametrize("name", list(SPECS))
@pytest.mark.parametrize("mode", MODES)
def test_encode_and_decode_in_separate_processes(models, tmp_path, name, mode):
    n = SPECS[name][1]
    x = _array(n)
    np.save(tmp_path / "x.npy", x)
    env = _env(models)
    enc = _run(["encode", str(tmp_path / "x.npy"), "-o", str(tmp_path / "x.ltc"), "--model", name,
                "--randomness", mode, "--nonce", NONCE], env)
    assert enc.returncode == 0, enc.stderr.decode()
    assert enc.stdout == b""
    dec = _run(["decode", str(tmp_path / "x.ltc"), "-o", str(tmp_path / "y.npy"), "--seed", "7"], env)
    assert dec.returncode == 0, dec.stderr.decode()
    y = np.load(tmp_path / "y.npy")
    assert y.shape == x.shape and y.dtype == x.dtype
    # the stream and the decoded array are those this process makes (frames of 4096: one frame here)
    loaded = registry.by_name(name, dirs=[models])
    data = (tmp_path / "x.ltc").read_bytes()
    assert data == codec.encode(x, loaded, mode, nonce=bytes.fromhex(NONCE))
    np.testing.assert_array_equal(codec.decode(data, seed=7, dirs=[models]), y)


@pytest.mark.parametrize("name", ["test-e8", "test-leech"])
def test_decoding_with_one_or_two_threads_gives_the_same_result(models, tmp_path, name):
    x = _array(SPECS[name][1], 500)
    (tmp_path / "x.ltc").write_bytes(_in_process(models, name, x, "sd"))
    outputs = []
    for threads in ("1", "2"):
        out = tmp_path / f"y{threads}.npy"
        done = _run(["decode", str(tmp_path / "x.ltc"), "-o", str(out), "--seed", "3"],
                    _env(models, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads))
        assert done.returncode == 0, done.stderr.decode()  # the symbol check passed: identical symbols
        outputs.append(np.load(out))
    np.testing.assert_allclose(outputs[0], outputs[1], atol=1e-6)


def test_same_input_key_and_nonce_give_identical_bytes(models, kernels_mode):
    x = _array(8)
    a = _in_process(models, "test-e8", x, "sd")
    b = _in_process(models, "test-e8", x, "sd")
    c = _in_process(models, "test-e8", x, "sd", nonce="ff" * 16)
    assert a == b
    assert a != c
    # another nonce means another dither: the decoded reconstructions differ, both decode
    ya = codec.decode(a, dirs=[models])
    yc = codec.decode(c, dirs=[models])
    assert not np.allclose(ya, yc)


@pytest.mark.parametrize("name", list(SPECS))
def test_kernels_and_reference_write_the_same_streams(models, monkeypatch, name):
    """Every test lattice and coder in every mode: the compiled kernels and the numpy/constriction reference
    (``LTC_KERNELS=0``) write the same bytes, and each path decodes them to the same values."""
    from ltccodec import kernels

    if not kernels.built():
        pytest.skip("the compiled kernels are not built in this install")
    x = _array(SPECS[name][1], 200)
    x[::9] *= 4  # some far out: the escape paths
    for mode in MODES:
        streams, outputs = [], []
        for setting in ("1", "0"):
            monkeypatch.setenv("LTC_KERNELS", setting)
            streams.append(_in_process(models, name, x, mode))
            outputs.append(codec.decode(streams[0], seed=7, dirs=[models]))
        assert streams[0] == streams[1], f"{name} {mode}: the kernels and the reference wrote different bytes"
        np.testing.assert_array_equal(outputs[0], outputs[1])


def test_dither_depends_on_key_nonce_and_frame():
    base = keyed.dither_digits(keyed.DEFAULT_KEY, b"\0" * 16, 0, 64, 8, 256)
    assert base.shape == (64, 8) and base.min() >= 0 and base.max() < 256
    np.testing.assert_array_equal(base, keyed.dither_digits(keyed.DEFAULT_KEY, b"\0" * 16, 0, 64, 8, 256))
    other_key = keyed.Key.from_material(b"secret", "test")
    for variant in (keyed.dither_digits(other_key, b"\0" * 16, 0, 64, 8, 256),
                    keyed.dither_digits(keyed.DEFAULT_KEY, b"\1" + b"\0" * 15, 0, 64, 8, 256),
                    keyed.dither_digits(keyed.DEFAULT_KEY, b"\0" * 16, 1, 64, 8, 256)):
        assert (variant != base).mean() > 0.9


def test_python_api_round_trip(models, kernels_mode):
    x = np.random.default_rng(0).normal(size=(3, 50, 8)).astype(np.float64)
    loaded = registry.by_name("test-e8", dirs=[models])
    data = ltccodec.encode(x, model=loaded, randomness="2bits")
    y = ltccodec.decode(data, dirs=[models])
    assert y.shape == x.shape and y.dtype == np.float64


def test_stdin_stdout_pipeline(models, tmp_path):
    x = _array(8, 100)
    np.save(tmp_path / "x.npy", x)
    env = _env(models)
    enc = _run(["encode", "-", "-o", "-", "--model", "test-e8", "-r", "4bits"], env,
               stdin=(tmp_path / "x.npy").read_bytes())
    assert enc.returncode == 0, enc.stderr.decode()
    assert enc.stdout[:4] == container.MAGIC
    dec = _run(["decode", "-", "-o", "-"], env, stdin=enc.stdout)
    assert dec.returncode == 0, dec.stderr.decode()
    (tmp_path / "y.npy").write_bytes(dec.stdout)
    assert np.load(tmp_path / "y.npy").shape == x.shape


def test_info_reports_the_header(models, tmp_path):
    (tmp_path / "x.ltc").write_bytes(_in_process(models, "test-leech", _array(8, 300), "nesting3"))
    done = _run(["info", str(tmp_path / "x.ltc"), "--json"], _env(models))
    assert done.returncode == 0
    import json

    fields = json.loads(done.stdout)
    assert fields["model_name"] == "test-leech" and fields["mode"] == "quantized" and fields["nesting"] == 3
    assert fields["shape"] == [300, 8] and fields["nonce"] == NONCE and len(fields["frames"]) == 3


# ----- bad input: one clear line, nonzero exit, no traceback -----

def _expect_error(done: subprocess.CompletedProcess, fragment: str) -> None:
    err = done.stderr.decode()
    assert done.returncode != 0
    assert "Traceback" not in err, err
    assert fragment in err, err
    assert err.strip().count("\n") == 0, err


@pytest.fixture
def stream(models) -> bytes:
    return _in_process(models, "test-e8", _array(8, 300), "sd")


def _decode_bytes(models, tmp_path, data: bytes, **env: str) -> subprocess.CompletedProcess:
    (tmp_path / "bad.ltc").write_bytes(data)
    return _run(["decode", str(tmp_path / "bad.ltc"), "-o", str(tmp_path / "out.npy")], _env(models, **env))


def test_wrong_key(models, tmp_path, stream):
    _expect_error(_decode_bytes(models, tmp_path, stream, LTC_KEY="not the key"), "wrong key")


def test_missing_model(models, tmp_path, stream):
    (tmp_path / "empty").mkdir()
    _expect_error(_decode_bytes(tmp_path / "empty", tmp_path, stream), "not found")


def test_replaced_model_is_refused(tmp_path, stream):
    make_model(tmp_path, "test-e8", seed=99)  # same name, other weights
    _expect_error(_decode_bytes(tmp_path, tmp_path, stream), "not found")


@pytest.mark.parametrize("cut", [3, 20, 200, -5])
def test_truncated(models, tmp_path, stream, cut):
    _expect_error(_decode_bytes(models, tmp_path, stream[:cut]), "truncated")


def test_flipped_payload_byte(models, tmp_path, stream):
    data = bytearray(stream)
    data[-10] ^= 0x40
    _expect_error(_decode_bytes(models, tmp_path, bytes(data)), "checksum mismatch")


def test_flipped_header_byte(models, tmp_path, stream):
    data = bytearray(stream)
    data[40] ^= 0x01
    _expect_error(_decode_bytes(models, tmp_path, bytes(data)), "header checksum")


def test_wrong_magic_and_version(models, tmp_path, stream):
    _expect_error(_decode_bytes(models, tmp_path, b"RIFF" + stream[4:]), "bad magic")
    _expect_error(_decode_bytes(models, tmp_path, _reseal(stream, 4, struct.pack("<H", 3))), "version 3")


def test_trailing_garbage(models, tmp_path, stream):
    _expect_error(_decode_bytes(models, tmp_path, stream + b"\0\0\0\0"), "after the end record")


@pytest.mark.parametrize("field, value, fragment", [
    ("vectors", 1 << 60, "out of range"),
    ("frame_vectors", 0, "frame size out of range"),
    ("frame_vectors", 1 << 20, "frame size out of range"),
    ("header_length", 1 << 30, "header length"),
])
def test_absurd_sizes_are_refused_before_allocating(models, tmp_path, stream, field, value, fragment):
    fixed = 13 + stream[12] + 32 + 1 + 1 + 4 + 16 + 4 + 1 + 4 + 4  # after the name: FORMAT.md's header table
    offsets = {"frame_vectors": fixed, "vectors": fixed + 4}
    if field == "header_length":
        data = stream[:8] + struct.pack("<I", value) + stream[12:]
    else:
        fmt = "<Q" if field == "vectors" else "<I"
        data = _reseal(stream, offsets[field], struct.pack(fmt, value))
    _expect_error(_decode_bytes(models, tmp_path, data), fragment)


def _reseal(stream: bytes, offset: int, value: bytes) -> bytes:
    """Overwrite header bytes and fix the header CRC, so only the field check can catch the change."""
    head_len = struct.unpack("<I", stream[8:12])[0]
    head = bytearray(stream[:head_len - 4])
    head[offset:offset + len(value)] = value
    return bytes(head) + struct.pack("<I", zlib.crc32(bytes(head))) + stream[head_len:]


@pytest.mark.parametrize("args, fragment", [
    (["encode", "missing.npy", "-o", "x.ltc", "--model", "test-e8"], "cannot read"),
    (["encode", "x.npy", "-o", "x.ltc"], "--model"),
    (["encode", "x.npy", "-o", "x.ltc", "--model", "test-e8", "-r", "7"], "unknown randomness"),
    (["encode", "x.npy", "-o", "x.ltc", "--model", "test-z"], "last axis must be 4"),
    (["encode", "x.npy", "-o", "x.ltc", "--model", "nope"], "not found"),
    (["encode", "x.npy", "-o", "x.ltc", "--model", "test-e8", "--nonce", "abc"], "32 hex digits"),
    (["encode", "bad.npy", "-o", "x.ltc", "--model", "test-e8"], "not a .npy"),
    (["encode", "nan.npy", "-o", "x.ltc", "--model", "test-e8"], "NaN"),
])
def test_encode_usage_errors(models, tmp_path, args, fragment):
    np.save(tmp_path / "x.npy", _array(8, 10))
    np.save(tmp_path / "nan.npy", np.full((2, 8), np.nan, dtype=np.float32))
    (tmp_path / "bad.npy").write_bytes(b"not numpy")
    done = subprocess.run([LTC, *args], env=_env(models), cwd=tmp_path, capture_output=True, timeout=120)
    _expect_error(done, fragment)


def test_no_overwrite_without_force(models, tmp_path):
    np.save(tmp_path / "x.npy", _array(8, 10))
    (tmp_path / "x.ltc").write_bytes(b"keep me")
    args = ["encode", "x.npy", "-o", "x.ltc", "--model", "test-e8"]
    done = subprocess.run([LTC, *args], env=_env(models), cwd=tmp_path, capture_output=True, timeout=120)
    _expect_error(done, "exists")
    assert (tmp_path / "x.ltc").read_bytes() == b"keep me"
    done = subprocess.run([LTC, *args, "--force"], env=_env(models), cwd=tmp_path, capture_output=True, timeout=120)
    assert done.returncode == 0 and (tmp_path / "x.ltc").read_bytes()[:4] == container.MAGIC
    assert not list(tmp_path.glob("*.part"))


def test_family_name_picks_the_member_for_the_randomness(tmp_path):
    for seed, randomness in enumerate(["sd", "pd", "1bits"]):
        make_model(tmp_path, f"fam-e8-{randomness}-l2", seed=seed, spec="test-e8", randomness=randomness)
    from ltccodec.randomness import Randomness

    cards = registry.list_models([tmp_path])
    assert registry.choose_member("fam-e8-l2", Randomness.parse("pd"), cards).name == "fam-e8-pd-l2"
    assert registry.choose_member("fam-e8-l2", Randomness.parse("1bits"), cards).name == "fam-e8-1bits-l2"
    assert registry.choose_member("fam-e8-l2", Randomness.parse("4bits"), cards).name == "fam-e8-sd-l2"
    with pytest.raises(ltccodec.errors.LtcError, match="has no model for randomness none"):
        registry.choose_member("fam-e8-l2", Randomness.parse("none"), cards)
    np.save(tmp_path / "x.npy", _array(8, 20))
    done = subprocess.run([LTC, "encode", "x.npy", "-o", "x.ltc", "--model", "fam-e8-l2", "-r", "pd"],
                          env=_env(tmp_path), cwd=tmp_path, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    info = subprocess.run([LTC, "info", "x.ltc"], env=_env(tmp_path), cwd=tmp_path, capture_output=True, timeout=120)
    assert b"fam-e8-pd-l2" in info.stdout


def _declare(stream: bytes, vectors: int) -> bytes:
    """The stream rewritten (every CRC recomputed) to declare ``vectors`` vectors in one frame that keeps the first
    word of the first frame's payload: what a decompression bomb looks like."""
    import dataclasses
    import io

    data = io.BytesIO(stream)
    header = container.read_header(data)
    frame = next(container.read_frames(data, header))
    bomb = dataclasses.replace(header, shape=(vectors, header.source_dim), vectors=vectors, frame_vectors=vectors)
    out = io.BytesIO()
    container.write(bomb, [dataclasses.replace(frame, vectors=vectors, payload=frame.payload[:4])], out)
    return out.getvalue()


def test_a_small_file_cannot_declare_a_huge_output(models, tmp_path, stream):
    done = _decode_bytes(models, tmp_path, _declare(stream, container.MAX_FRAME_VECTORS))
    _expect_error(done, "more than its")
    assert not (tmp_path / "out.npy").exists()


def test_output_limit(models, tmp_path, stream):
    _expect_error(_decode_bytes(models, tmp_path, stream, LTC_MAX_OUTPUT="1000"), "more than the limit of 1,000")
    (tmp_path / "s.ltc").write_bytes(stream)
    done = _run(["decode", str(tmp_path / "s.ltc"), "-o", str(tmp_path / "o.npy"), "--max-output-bytes", "9600"],
                _env(models))
    assert done.returncode == 0, done.stderr.decode()  # 300 vectors of 8 float32 values fit exactly


def test_the_payload_bound_admits_real_streams_of_silence(models, tmp_path, kernels_mode):
    x = np.zeros((20_000, 8), dtype=np.float32)  # the cheapest input there is
    data = _in_process(models, "test-e8", x, "none")
    assert np.allclose(codec.decode(data, dirs=[models]).shape, x.shape)
