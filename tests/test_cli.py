"""The `ltc` command line, run as a user runs it: the installed console script in a real subprocess."""

import subprocess
import sys
from pathlib import Path

import pytest

from ltccodec import __version__
from ltccodec.cli.report import report_errors
from ltccodec.errors import LtcError, UsageError

# The console script installed next to this interpreter, so the tests use the same environment.
LTC = Path(sys.executable).parent / "ltc"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    assert LTC.exists(), f"{LTC} is missing: install the package first (scripts/setup.sh)"
    return subprocess.run([str(LTC), *args], capture_output=True, text=True, timeout=60)


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ltc 0.1.0"
    assert __version__ == "0.1.0"


def _examples(*command: str) -> list[str]:
    """The example command lines of ``ltc COMMAND --help``."""
    result = run(*command, "--help")
    assert result.returncode == 0, result.stderr
    text = result.stdout.split("Example", 1)[1].split("Options:", 1)[0]
    lines = [line.strip() for line in text.splitlines()[1:] if line.strip()]
    assert lines and all("ltc " in line for line in lines), text
    return lines


def test_help_examples_run_as_written(tmp_path: Path) -> None:
    """Every example in the help of ltc, encode, decode, info and models runs as printed, in order, in a folder with a
    speech.wav and an x.npy (8 values per row) — as a user would paste them."""
    import os
    import shutil

    import numpy as np

    def prepare(folder: Path) -> Path:
        folder.mkdir()
        shutil.copy(Path(__file__).parent.parent / "examples" / "speech.wav", folder / "speech.wav")
        np.save(folder / "x.npy", np.random.default_rng(0).normal(size=(200, 8)).astype(np.float32))
        return folder

    env = dict(os.environ, PATH=f"{LTC.parent}{os.pathsep}{os.environ['PATH']}")
    env.pop("LTC_KEY", None)
    for folder, lines in [(prepare(tmp_path / "main"), _examples()),
                          (prepare(tmp_path / "verbs"),
                           _examples("encode") + _examples("decode") + _examples("info") + _examples("models"))]:
        for line in lines:
            done = subprocess.run(line, shell=True, cwd=folder, env=env, capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, f"{line}: {done.stderr}"
    made = {p.name for p in (tmp_path / "verbs").iterdir()}
    assert {"speech.ltc", "speech13.ltc", "x.ltc", "piped.ltc", "speech.out.wav", "x.out.npy"} <= made
    assert (tmp_path / "verbs" / "piped.ltc").stat().st_size > 1000
    assert {"speech.ltc", "speech.out.wav"} <= {p.name for p in (tmp_path / "main").iterdir()}


def test_help_lists_the_codec_and_the_lab_commands_apart() -> None:
    result = run("--help")
    assert result.returncode == 0, result.stderr
    codec, lab = result.stdout.split("Codec commands:", 1)[1].split("Lab commands", 1)
    assert [line.split()[0] for line in codec.strip().splitlines()] == ["encode", "decode", "info", "models", "batch",
                                                                       "data"]
    assert [line.split()[0] for line in lab.splitlines()[1:] if line.strip()] == ["train", "eval", "bench", "lattices"]
    assert "Planned" not in result.stdout


def test_models_lists_the_defaults_first_and_hides_research_and_superseded_models() -> None:
    from ltccodec.runtime import registry

    listed = run("models")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].startswith("speech-z-none-q3 ") and lines[0].endswith("(default for audio input)")
    assert lines[1].startswith("digits-bw16-sd-q2 ") and lines[1].endswith("(default for image input)")
    everything = run("models", "--all").stdout.splitlines()
    assert set(lines) < set(everything) and "listed with --all" in listed.stderr
    cards = {c.name: c for c in registry.list_models()}
    for line in lines:
        card = cards[line.split()[0]]
        assert not card.superseded_by
        assert registry.ladder_of(registry.family_of(card)) in registry.LISTED_LADDERS
    physics = run("models", "physics").stdout.splitlines()
    assert physics and all(" source=physics " in line for line in physics)
    assert run("models", "gaussian8-e8-sd").stdout.splitlines() == [
        line for line in lines if line.startswith("gaussian8-e8-sd-")]
    research = run("models", "gaussian:16")
    assert research.returncode == 0 and research.stdout == "" and "--all" in research.stderr
    assert run("models", "gaussian:16", "--all").stdout.count("source=gaussian:16 ") >= 1
    nothing = run("models", "no-such-model")
    assert nothing.returncode == 0 and nothing.stdout == "" and "no installed model matches" in nothing.stderr


def test_fuzz_needs_streams_and_finds_their_models(tmp_path: Path) -> None:
    """An installed package has no tests/ folder: the streams are an argument, their models the installed ones
    unless --models names a folder."""
    result = run("bench", "fuzz")
    assert result.returncode == 2 and "Missing argument 'STREAMS...'" in result.stderr
    examples = Path(__file__).resolve().parent.parent / "examples"
    coded = tmp_path / "x.ltc"
    assert run("encode", str(examples / "gaussian8.npy"), "-o", str(coded), "--model", "gaussian8-e8-sd-l2m",
               "--nonce", "00" * 16).returncode == 0
    result = run("bench", "fuzz", str(coded), "--cases", "16", "--jobs", "1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("16 cases from 1 streams") and "error" in result.stdout


def test_python_dash_m_runs_the_same_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ltccodec", "--version"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ltc 0.1.0"


def test_unknown_command_is_a_usage_error() -> None:
    result = run("no-such-command")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("error", "code", "line"),
    [
        (LtcError("x.ltc is not an ltc stream"), 1, "ltc: error: x.ltc is not an ltc stream"),
        (UsageError("no such model: tiny"), 2, "ltc: error: no such model: tiny"),
        (KeyboardInterrupt(), 130, "ltc: interrupted"),
    ],
)
def test_report_errors_gives_one_line_and_an_exit_code(
    error: BaseException, code: int, line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info, report_errors():
        raise error
    assert exit_info.value.code == code
    captured = capsys.readouterr()
    assert captured.err == line + "\n"
    assert captured.out == ""


def test_lattices_benchmark_prints_figures() -> None:
    import json

    result = subprocess.run([str(LTC), "lattices", "E8", "Leech", "--vectors", "2000", "--nsm-samples", "2000",
                             "--naive-vectors", "32", "--json"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert abs(rows["E8"]["nsm_measured"] / 0.071682 - 1) < 0.05
    assert rows["Leech"]["naive"]["vectors_per_second"] > 0 and rows["E8"]["naive"] is None


def test_train_then_eval_from_the_command_line(tmp_path: Path) -> None:
    train = subprocess.run(
        [str(LTC), "train", "--source", "gaussian:4", "--lattice", "D4", "--randomness", "2bits", "--epochs", "1",
         "--steps-per-epoch", "20", "--batch-size", "128", "--name", "tiny", "--out-dir", str(tmp_path / "m"),
         "--run-dir", str(tmp_path / "run"), "--quiet"], capture_output=True, text=True, timeout=300)
    assert train.returncode == 0, train.stderr
    assert "2bits, rate" in train.stdout
    again = subprocess.run([str(LTC), "train", "--name", "tiny", "--out-dir", str(tmp_path / "m")],
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 2 and "--force" in again.stderr
    evaluate = subprocess.run([str(LTC), "eval", str(tmp_path / "m" / "tiny.json"), "-r", "2bits", "-r", "sd",
                               "--count", "500", "--out", str(tmp_path / "e")], capture_output=True, text=True,
                              timeout=300)
    assert evaluate.returncode == 0, evaluate.stderr
    assert "| 2bits | D4 |" in evaluate.stdout
    assert (tmp_path / "e.png").stat().st_size > 10_000 and (tmp_path / "e.csv").read_text().count("\n") == 3


def test_the_wheel_carries_the_shipped_models(tmp_path) -> None:
    """Models are found from an installed package too: the wheel puts models/ at ltccodec/models/."""
    import zipfile

    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", str(root), "--no-deps", "--no-build-isolation",
                           "-q", "-w", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    names = zipfile.ZipFile(next(tmp_path.glob("ltccodec-*.whl"))).namelist()
    shipped = sorted(p.name for p in (root / "models").glob("*.json"))
    assert shipped and all(f"ltccodec/models/{name}" in names for name in shipped)
    assert all(f"ltccodec/models/{name[:-5]}.safetensors" in names for name in shipped)
    from ltccodec.runtime import registry

    assert Path(registry.__file__).parents[1] / "models" in registry.model_dirs()
