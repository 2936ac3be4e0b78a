"""The README's examples run as pasted, in a folder holding a copy of examples/ (as the repository root does).

The rule: every ```python block runs; a ```sh block runs when its commands are codec commands (`ltc encode`,
`decode`, `info`, `models`, `batch`, and `cat` / `find` feeding them), which must then read only files under
examples/ or made by the block itself. Any other block is skipped with the reason of its kind below, and a block
of no known kind fails, so a new README example is either run or given a reason.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BIN = Path(sys.executable).parent
CODEC_VERBS = {"encode", "decode", "info", "models", "batch"}
FEEDERS = {"cat", "find"}
SKIPPED = {  # kind of command -> why a block with it is not run here
    "make": "make demo / make test set up .venv and run the whole suite (which runs this test)",
    "lab": "lab and data commands (ltc data, train, eval, bench; scripts/): system packages, data outside examples/, "
           "the train extra, minutes to hours",
    "cluster": "starts a Dask scheduler and workers on several hosts",
}


def blocks() -> list[tuple[int, str, str]]:
    """(line, language, text) of each fenced block of README.md."""
    found, lines = [], README.read_text().splitlines()
    index = 0
    while index < len(lines):
        match = re.fullmatch(r"```(\w*)", lines[index].strip())
        if match:
            end = next(i for i in range(index + 1, len(lines)) if lines[i].strip() == "```")
            found.append((index + 1, match.group(1), "\n".join(lines[index + 1:end]) + "\n"))
            index = end
        index += 1
    return found


def kind(segment: list[str]) -> str | None:
    """What one command of a pipeline is: "codec", a key of `SKIPPED`, or None when unknown."""
    program = Path(segment[0]).name
    if program == "ltc" and len(segment) > 1:
        if "--scheduler" in segment:
            return "cluster"
        return "codec" if segment[1] in CODEC_VERBS else "lab" if segment[1] in {"data", "train", "eval", "bench",
                                                                                   "lattices"} else None
    if program in FEEDERS:
        return "codec"
    if program == "make":
        return "make"
    if program == "python" and len(segment) > 1 and segment[1].startswith("scripts/"):
        return "lab"
    if program == "dask":
        return "cluster"
    return None


def shell_kinds(text: str) -> set[str | None]:
    kinds = set()
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        segments: list[list[str]] = [[]]
        for word in words:
            if word == "|":
                segments.append([])
            elif word.startswith(">"):
                break
            else:
                segments[-1].append(word)
        kinds |= {kind(s) for s in segments if s}
    return kinds


BLOCKS = [b for b in blocks() if b[1] in ("sh", "python")]


def test_the_readme_has_runnable_examples() -> None:
    assert sum(1 for _, language, text in BLOCKS if language == "python" or shell_kinds(text) == {"codec"}) >= 4


@pytest.mark.parametrize(("line", "language", "text"), BLOCKS, ids=[f"README.md:{b[0]}" for b in BLOCKS])
def test_a_readme_example_runs_as_pasted(line: int, language: str, text: str, tmp_path: Path) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    env.pop("LTC_KEY", None)
    env.pop("LTC_MODELS", None)
    if language == "python":
        command = [sys.executable, "-c", text]
    else:
        kinds = shell_kinds(text)
        assert None not in kinds, f"README.md:{line}: a command of no known kind; run it here or add a reason"
        skipped = sorted(k for k in kinds if k != "codec")
        if skipped:
            pytest.skip("; ".join(SKIPPED[k] for k in skipped))
        command = ["bash", "-euo", "pipefail", "-c", text]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"README.md:{line}:\n{text}\n{done.stderr}"
    made = sorted(p.name for p in (tmp_path / "examples").iterdir())
    assert made == sorted(p.name for p in (ROOT / "examples").iterdir()), "outputs go beside examples/, not in it"
