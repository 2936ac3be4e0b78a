"""Running a plan of `ltc train` runs: each model's JSON config goes to configs/<family>/, each run logs to
runs/<family>/logs/ and checkpoints in runs/<family>/runs/<name>; finished models are skipped and interrupted ones
resume. Used by train_speech.py, train_digits.py and train_physics.py."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
Plan = Callable[[], list[tuple[str, dict]]]


def grid(family: str, base: dict, lattices: dict[str, tuple[str, list[str]]],
         points: dict[str, float]) -> list[tuple[str, dict]]:
    """``FAMILY-TOKEN-MODE-POINT`` runs: every lattice (its name token and randomness modes), rate point (its λ1) and
    mode, lattice by lattice, each point's modes together."""
    return [(f"{family}-{token}-{mode}-{point}", dict(base, lattice=lattice, randomness=mode, lambda_mse=weight))
            for lattice, (token, modes) in lattices.items() for point, weight in points.items() for mode in modes]


def run_one(family: str, name: str, config: dict, out: Path) -> str:
    if (out / f"{name}.json").exists():
        return f"{name}: done before"
    path = ROOT / "configs" / family / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2) + "\n")
    logs = ROOT / "runs" / family / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    command = [str(Path(sys.executable).parent / "ltc"), "train", "--config", str(path.relative_to(ROOT)),
               "--name", name, "--out-dir", str(out), "--run-dir", f"runs/{family}/runs/{name}", "--quiet"]
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    with (logs / f"{name}.log").open("w") as log:
        done = subprocess.run(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    return f"{name}: exit {done.returncode}"


def main(family: str, plan: Plan, description: str) -> None:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--only", default="", help="only models whose name contains this")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", default=f"runs/{family}/models")
    parser.add_argument("--write-configs", action="store_true", help=f"only write configs/{family}/*.json")
    args = parser.parse_args()
    if args.write_configs:
        for name, config in plan():
            path = ROOT / "configs" / family / f"{name}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(config, indent=2) + "\n")
        return
    out = ROOT / args.out
    chosen = [(n, c) for n, c in plan() if args.only in n]
    with ThreadPoolExecutor(args.jobs) as pool:
        for line in pool.map(lambda nc: run_one(family, nc[0], nc[1], out), chosen):
            print(line, flush=True)
