"""Train and evaluate a grid of Gaussian LTC models (lattice × randomness × λ1) with `ltc train` / `ltc eval`.

Usage (from the repository root, after `make demo` or `scripts/setup.sh`):

    .venv/bin/python scripts/sweep_gaussian.py --dim 8 --lattices Z1,E8 \\
        --modes none,pd,1bits,nesting3,sd --lambdas 0.5,1,2,4,8 --out runs/gaussian8 --jobs 2

With ``--distortions D1,D2,...`` the grid is the SD construction of ../shared/DESIGN.md §1 as a fixed step instead
of λ1: the analysis stays the identity at the scale that gives the unit-volume lattice the second moment η²(D) of
the target MSE D (`theory.sd_construction`), and only the synthesis and the prior are trained (models named
``...-dD``; the generated settings are written next to each model as OUT/configs/NAME.json).

Finished models are skipped, and an interrupted model resumes from its checkpoint, so the same command can
be run again after an interrupt. Each job runs with one thread (2 jobs on 2 cores). Writes
OUT/models/*.{json,safetensors}, and OUT/eval.{csv,json,png} with the gap table on stdout.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

LTC = str(Path(sys.executable).parent / "ltc")


def model_name(dim: int, lattice: str, mode: str, lam: str, prefix: str = "l") -> str:
    return f"gaussian{dim}-{lattice.lower()}-{mode}-{prefix}{lam}"


def fixed_step(lattice: str, distortion: float) -> tuple[float, float]:
    """(analysis scale, synthesis gain) of the SD construction at MSE ``distortion`` (σ² = 1, P = 0) for the
    unit-volume ``lattice``: η² = NSM / scale², so scale = sqrt(NSM / η²); gain = 1 / sqrt(1 + η²)."""
    from ltccodec.lab import theory
    from ltccodec.lattice import by_name

    nsm = by_name(lattice).nsm
    assert nsm is not None
    construction = theory.sd_construction(distortion, 0.0)
    return (math.sqrt(nsm / float(construction.lattice_second_moment)), float(construction.synthesis_gain))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dim", type=int, required=True)
    parser.add_argument("--lattices", required=True)
    parser.add_argument("--modes", default="none,pd,1bits,nesting3,sd")
    parser.add_argument("--lambdas", default="0.5,1,2,4,8")
    parser.add_argument("--distortions", default="",
                        help="Fixed-step SD-construction models at these MSEs instead of the λ1 grid")
    parser.add_argument("--distance-code", default="0", choices=("0", "1", "2"),
                        help="Code with the distance code over this many shells (models named ...-xD / ...-lL-x)")
    parser.add_argument("--lambda-perception", default="100")
    parser.add_argument("--epochs", default="10")
    parser.add_argument("--steps-per-epoch", default="300")
    parser.add_argument("--batch-size", default="1024")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--cross", default="", help="Also evaluate the sd models under these randomness settings")
    args = parser.parse_args()

    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    points = args.distortions.split(",") if args.distortions else args.lambdas.split(",")
    grid = list(itertools.product(args.lattices.split(","), args.modes.split(","), points))

    def run(item: tuple[str, str, str]) -> str:
        lattice, mode, point = item
        tag = "x" if args.distance_code != "0" else ""
        name = model_name(args.dim, lattice, mode, point, (tag or "d") if args.distortions else "l")
        if tag and not args.distortions:
            name += f"-{tag}"
        if (args.out / "models" / f"{name}.json").exists():
            return f"{name}: exists"
        extra, lam = [], point
        if args.distortions:
            config = args.out / "configs" / f"{name}.json"
            config.parent.mkdir(parents=True, exist_ok=True)
            scale, gain = fixed_step(lattice, float(point))
            config.write_text(json.dumps({"transform": "linear", "train_analysis": False, "init_scale": round(scale, 6),
                                          "init_gain": round(gain, 6)}) + "\n")
            extra, lam = ["--config", str(config)], "1"
        cmd = [LTC, "train", *extra, "--source", f"gaussian:{args.dim}", "--lattice", lattice, "--randomness", mode,
               "--lambda-mse", lam, "--lambda-perception", args.lambda_perception, "--epochs", args.epochs,
               "--steps-per-epoch", args.steps_per_epoch, "--batch-size", args.batch_size, "--name", name,
               "--out-dir", str(args.out / "models"), "--run-dir", str(args.out / "runs" / name), "--quiet",
               *(["--distance-code", args.distance_code] if args.distance_code != "0" else [])]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode:
            return f"{name}: FAILED\n{done.stderr}"
        return done.stdout.strip()

    with ThreadPoolExecutor(args.jobs) as pool:
        for line in pool.map(run, grid):
            print(line, flush=True)

    models = sorted(str(p) for p in (args.out / "models").glob("*.json"))
    subprocess.run([LTC, "eval", *models, "--out", str(args.out / "eval"),
                    "--title", f"Gaussian n={args.dim}, λ2={args.lambda_perception}"], check=True)
    if args.cross:
        sd_models = [m for m in models if "-sd-" in m]
        flags = [f for r in args.cross.split(",") for f in ("-r", r)]
        subprocess.run([LTC, "eval", *sd_models, *flags, "--out", str(args.out / "cross"),
                        "--title", f"Gaussian n={args.dim}: sd-trained models under other randomness"], check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
