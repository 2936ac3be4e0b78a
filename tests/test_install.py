"""What `pip install ltccodec` gives without extras: the codec, which never imports torch, matplotlib or scipy; lab
commands that say in one line which extra they need; and a wheel that carries every subpackage.

The codec commands run as a user runs them (the installed `ltc`, real subprocesses) with an import blocker in
front of every other finder: a `sitecustomize` on PYTHONPATH that makes `import torch` (matplotlib, scipy) raise
ImportError and logs the attempt, so that a `try: import torch` in the codec's path is caught too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
LTC = Path(sys.executable).parent / "ltc"
BLOCKED = ("torch", "matplotlib", "scipy")  # the train extra: none of it is the codec's

BLOCKER = '''
import os
import sys


class _Blocker:
    """Refuses the modules named in $LTC_TEST_BLOCKED, as an install without them would, and logs each try."""

    blocked = set(os.environ.get("LTC_TEST_BLOCKED", "").split(",")) - {""}

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.blocked:
            with open(os.environ["LTC_TEST_IMPORT_LOG"], "a") as log:
                log.write(name + "\\n")
            raise ImportError(f"No module named {name!r} (blocked by tests/test_install.py)")
        return None


sys.meta_path.insert(0, _Blocker())
'''


@pytest.fixture()
def without_extras(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment whose Python processes cannot import torch, matplotlib or scipy, and the log of tries."""
    site = tmp_path / "blocker"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER)
    log = tmp_path / "imports.log"
    log.write_text("")
    env = dict(os.environ, PYTHONPATH=str(site), LTC_TEST_IMPORT_LOG=str(log), LTC_TEST_BLOCKED=",".join(BLOCKED))
    env.pop("LTC_KEY", None)
    return env, log


def ltc(env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LTC), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_the_blocker_blocks(without_extras) -> None:
    env, log = without_extras
    done = subprocess.run([sys.executable, "-c", "import torch"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "blocked by tests/test_install.py" in done.stderr
    assert log.read_text() == "torch\n"


def test_the_codec_commands_never_import_torch_matplotlib_or_scipy(without_extras, tmp_path: Path) -> None:
    """Speech, a digit and Gaussian arrays (every shipped shared-dither gaussian:8 model `ltc models` lists) encode
    and decode, `ltc info` and `ltc models` run, and nothing even tries to import the train extra."""
    env, log = without_extras
    listed = ltc(env, "models", "gaussian:8")
    assert listed.returncode == 0, listed.stderr
    gaussian = [line.split()[0] for line in listed.stdout.splitlines() if "trained=sd " in line]
    assert gaussian, listed.stdout
    jobs = [("speech", EXAMPLES / "speech.wav", ".wav", ()), ("digit", EXAMPLES / "digit7.png", ".png", ())]
    jobs += [(name, EXAMPLES / "gaussian8.npy", ".npy", ("--model", name)) for name in gaussian]
    for name, source, suffix, options in jobs:
        coded, decoded = tmp_path / f"{name}.ltc", tmp_path / f"{name}.out{suffix}"
        for args in (("encode", str(source), "-o", str(coded), *options), ("decode", str(coded), "-o", str(decoded)),
                     ("info", str(coded))):
            done = ltc(env, *args)
            assert done.returncode == 0, f"ltc {' '.join(args)}: {done.stderr}"
        assert decoded.stat().st_size > 0
    for args in (("models",), ("models", "--all", "--json"), ("--help",), ("encode", "--help")):
        done = ltc(env, *args)
        assert done.returncode == 0, f"ltc {' '.join(args)}: {done.stderr}"
    assert log.read_text() == "", f"the codec tried to import: {log.read_text().split()}"


def test_importing_the_cli_or_the_library_imports_none_of_the_train_extra() -> None:
    probe = ("import sys\nimport ltccodec, ltccodec.cli, ltccodec.codec, ltccodec.files, ltccodec.batch\n"
             f"print(sorted(m for m in sys.modules if m.partition('.')[0] in {BLOCKED!r}))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(("args", "line"), [
    (("train", "--source", "gaussian:4", "--name", "x"), "ltc train: needs the training extra: "
                                                         "pip install 'ltccodec[train]'"),
    (("eval", "models/x.json"), "ltc eval: needs the training extra: pip install 'ltccodec[train]'"),
    (("bench", "codec"), "ltc bench codec: needs the training extra: pip install 'ltccodec[train]'"),
    (("bench", "cells", "x"), "ltc bench cells: needs the training extra: pip install 'ltccodec[train]'"),
    (("bench", "digits"), "ltc bench digits: needs the training extra: pip install 'ltccodec[train]'"),
    (("bench", "physics", "--plot", "x"), "ltc bench physics: needs the training extra: "
                                          "pip install 'ltccodec[train]'"),
    (("bench", "speech"), "ltc bench speech: needs the training and speech evaluation extras: "
                          "pip install 'ltccodec[train,speech-eval]'"),
])
def test_a_lab_command_without_its_extra_names_it_in_one_line(without_extras, tmp_path: Path, args: tuple[str, ...],
                                                               line: str) -> None:
    env, _ = without_extras
    if "speech" in args:  # pesq (the speech-eval extra) missing too
        env = dict(env, LTC_TEST_BLOCKED=f"{env['LTC_TEST_BLOCKED']},pesq")
    done = ltc(env, *args, cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (1, "", line + "\n")


def test_the_lattice_benchmark_needs_no_extra(without_extras) -> None:
    env, log = without_extras
    done = ltc(env, "lattices", "E8", "--vectors", "200", "--nsm-samples", "200", "--naive-vectors", "1", "--json")
    assert done.returncode == 0, done.stderr
    assert log.read_text() == ""


def test_every_subpackage_is_declared_for_the_wheel() -> None:
    """pyproject.toml lists the packages by hand (models/ installs as ltccodec.models): a new folder must be added."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    declared = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "ltccodec").rglob("__init__.py")}
    assert found <= declared, f"add to [tool.setuptools] packages: {sorted(found - declared)}"


def test_the_base_install_declares_no_lab_dependency() -> None:
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {dep.split("=")[0].split(">")[0].split("[")[0].strip() for dep in project["dependencies"]}
    assert not names & {"torch", "matplotlib", "scipy"}
    assert "torch==2.13.0" in project["optional-dependencies"]["train"]
    assert any("train" in dep for dep in project["optional-dependencies"]["test"])


def test_nothing_in_the_library_imports_the_command_line() -> None:
    """The CLI sits on top: `cli -> {files, batch, registry, lab}`, never the other way (`python -m ltccodec` aside)."""
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "ltccodec").rglob("*.py")
                 if "cli" not in p.relative_to(ROOT / "ltccodec").parts[:1] and p.name != "__main__.py"
                 and ("ltccodec.cli" in p.read_text() or "from ltccodec import cli" in p.read_text())]
    assert offenders == []
