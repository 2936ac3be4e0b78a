"""Images in and out, as a user runs them: PNG/JPEG of every mode and size through `ltc encode` / `ltc decode` in
separate processes — the right answer or one clear line. Uses a small untrained digits-shaped model; the quality
of the shipped digits models is measured in docs/results.md."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from .codec_models import make_image_model

LTC = str(Path(sys.executable).parent / "ltc")
MODEL = "test-digits"


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    models = tmp_path_factory.mktemp("models")
    make_image_model(models, MODEL)
    environ = dict(os.environ, LTC_MODELS=str(models))
    environ.pop("LTC_KEY", None)
    return environ


def _ltc(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([LTC, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def _png(path: Path, mode: str, size: tuple[int, int], seed: int = 0) -> None:
    bands = {"L": 1, "RGB": 3, "RGBA": 4, "LA": 2}[mode]
    pixels = np.random.default_rng(seed).integers(0, 256, size=(size[1], size[0], bands), dtype=np.uint8)
    Image.fromarray(pixels[:, :, 0] if bands == 1 else pixels, mode).save(path)


def _one_line(done: subprocess.CompletedProcess, fragment: str) -> None:
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ltc: error: ") and fragment in lines[0], done.stderr


def test_a_grayscale_digit_round_trips_in_two_processes(env, tmp_path):
    _png(tmp_path / "d.png", "L", (28, 28))
    done = _ltc(env, tmp_path, "encode", "d.png", "-o", "d.ltc", "-m", MODEL, "--nonce", "00" * 16)
    assert done.returncode == 0, done.stderr
    assert "784 pixels -> " in done.stderr and "bits/pixel" in done.stderr
    assert _ltc(env, tmp_path, "decode", "d.ltc", "-o", "out.png").returncode == 0
    with Image.open(tmp_path / "out.png") as out:
        assert (out.format, out.mode, out.size) == ("PNG", "L", (28, 28))
    # the same stream decodes to the same pixels in another process, and to a .npy of them
    assert _ltc(env, tmp_path, "decode", "d.ltc", "-o", "out.npy").returncode == 0
    assert np.array_equal(np.load(tmp_path / "out.npy")[0], np.asarray(Image.open(tmp_path / "out.png")))


@pytest.mark.parametrize("mode, size, fragment", [("RGB", (28, 28), "28×28 RGB"), ("RGBA", (28, 28), "28×28 RGBA"),
                                                  ("L", (1, 1), "1×1 grayscale"),
                                                  ("L", (4000, 4000), "4000×4000 grayscale")])
def test_images_the_model_cannot_code_get_one_line_naming_what_would(env, tmp_path, mode, size, fragment):
    _png(tmp_path / "x.png", mode, size)
    _one_line(_ltc(env, tmp_path, "encode", "x.png", "-o", "x.ltc", "-m", MODEL), fragment)
    assert not (tmp_path / "x.ltc").exists()
    done = _ltc(env, tmp_path, "encode", "x.png", "-o", "x.ltc", "-m", MODEL, "--resize")
    assert done.returncode == 0, done.stderr
    assert _ltc(env, tmp_path, "decode", "x.ltc", "-o", "y.png").returncode == 0
    with Image.open(tmp_path / "y.png") as out:
        assert (out.mode, out.size) == ("L", (28, 28))


def test_a_jpeg_decodes_to_a_jpeg_by_default_and_to_png_when_asked(env, tmp_path):
    Image.fromarray(np.full((28, 28), 200, dtype=np.uint8), "L").save(tmp_path / "d.jpg", quality=90)
    assert _ltc(env, tmp_path, "encode", "d.jpg", "-o", "d.ltc", "-m", MODEL).returncode == 0
    piped = subprocess.run([LTC, "decode", "d.ltc", "-o", "-"], cwd=tmp_path, env=env, capture_output=True, timeout=120)
    assert piped.returncode == 0 and piped.stdout[:3] == b"\xff\xd8\xff"  # stdout: the input's own format
    assert _ltc(env, tmp_path, "decode", "d.ltc", "-o", "e.png").returncode == 0
    assert (tmp_path / "e.png").read_bytes()[:4] == b"\x89PNG"


def test_a_folder_and_a_stack_code_as_one_stream(env, tmp_path):
    (tmp_path / "digits").mkdir()
    for i in range(5):
        _png(tmp_path / "digits" / f"{i}.png", "L", (28, 28), seed=i)
    (tmp_path / "digits" / "notes.txt").write_text("ignored")
    done = _ltc(env, tmp_path, "encode", "digits", "-o", "folder.ltc", "-m", MODEL)
    assert done.returncode == 0, done.stderr
    assert _ltc(env, tmp_path, "decode", "folder.ltc", "-o", "folder.npy").returncode == 0
    stack = np.load(tmp_path / "folder.npy")
    assert stack.shape == (5, 28, 28) and stack.dtype == np.uint8
    _one_line(_ltc(env, tmp_path, "decode", "folder.ltc", "-o", "one.png"), "holds 5 images")
    np.save(tmp_path / "stack.npy", np.stack([np.asarray(Image.open(tmp_path / "digits" / f"{i}.png"))
                                              for i in range(5)]))
    assert _ltc(env, tmp_path, "encode", "stack.npy", "-o", "stack.ltc", "-m", MODEL).returncode == 0
    assert _ltc(env, tmp_path, "decode", "stack.ltc", "-o", "stack.out.npy").returncode == 0
    assert np.load(tmp_path / "stack.out.npy").shape == (5, 28, 28)


def test_broken_and_huge_images_are_one_line(env, tmp_path):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    _one_line(_ltc(env, tmp_path, "encode", "bad.png", "-o", "x.ltc", "-m", MODEL), "is not an image ltc can read")
    huge = io.BytesIO()
    Image.new("L", (8200, 8200)).save(huge, "PNG")
    (tmp_path / "huge.png").write_bytes(huge.getvalue())
    _one_line(_ltc(env, tmp_path, "encode", "huge.png", "-o", "x.ltc", "-m", MODEL, "--resize"), "more than 64 Mpixel")


def test_an_image_stream_refuses_an_audio_output(env, tmp_path):
    _png(tmp_path / "d.png", "L", (28, 28))
    assert _ltc(env, tmp_path, "encode", "d.png", "-o", "d.ltc", "-m", MODEL).returncode == 0
    _one_line(_ltc(env, tmp_path, "decode", "d.ltc", "-o", "d.wav"), "holds images, which ltc writes as .png")
