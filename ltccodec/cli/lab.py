"""The lab's commands: train, eval, lattices and the benchmarks. Each parses, checks that the extra it needs is
installed (`require`: one line naming the pip command, never a traceback), calls the library and reports."""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from ltccodec.cli.report import TrainingProgress, say
from ltccodec.errors import LtcError, UsageError

EXIT_MISSING_EXTRA = 1
EXTRAS = {  # extra -> what the message calls it, and the modules of it that lab commands import
    "train": ("training", ("torch", "matplotlib", "scipy")),
    "speech-eval": ("speech evaluation", ("pesq", "pystoi", "scipy")),
    "dask": ("Dask", ("distributed",)),
}


def _importable(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require(*extras: str) -> None:
    """Stop the running command, with one line naming what to install, unless each of ``extras`` is installed."""
    missing = [e for e in extras if not all(_importable(m) for m in EXTRAS[e][1])]
    if missing:
        names = " and ".join(EXTRAS[e][0] for e in missing)
        command = click.get_current_context().command_path
        click.echo(f"{command}: needs the {names} extra{'s' if len(missing) > 1 else ''}: "
                   f"pip install 'ltccodec[{','.join(missing)}]'", err=True)
        raise SystemExit(EXIT_MISSING_EXTRA)


@click.command()
@click.argument("names", nargs=-1)
@click.option("--quick", is_flag=True, help="Small sample sizes: a check in seconds, not a benchmark.")
@click.option("--vectors", type=click.IntRange(1), default=None, help="Batch size timed per lattice [100000].")
@click.option("--nsm-samples", type=click.IntRange(100), default=None, help="Monte Carlo samples [200000].")
@click.option("--naive-vectors", type=click.IntRange(1), default=None,
              help="Vectors given to the slow coset-enumeration baselines [2000].")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON instead of a table.")
def lattices(names: tuple[str, ...], quick: bool, vectors: int | None, nsm_samples: int | None,
             naive_vectors: int | None, as_json: bool) -> None:
    """Measure the lattice quantizers: NSM, closest-point speed and memory on one core.

    \b
    NAMES are lattices such as Z8, A2, D4, D4*, E8, BW16, Leech, E8^2, E8xD4 (default: a
    representative set). For BW16 and Leech the coset-enumeration baseline runs beside the
    fast decoder and the ratios are printed. Progress goes to stderr, figures to stdout.

    \b
    Examples:
      ltc lattices --quick
      ltc lattices Leech --vectors 100000
    """
    import dataclasses
    import json

    from ltccodec.lab.bench.lattices import DEFAULT_LATTICES, bench_lattices, format_table

    size = 10_000 if quick else 100_000
    rows = bench_lattices(names or DEFAULT_LATTICES, vectors=vectors or size,
                          nsm_samples=nsm_samples or (20_000 if quick else 200_000),
                          naive_vectors=naive_vectors or (256 if quick else 2_000), progress=say)
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(r) for r in rows], indent=2))
    else:
        click.echo(format_table(rows, vectors or size))


@click.command()
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False), help="JSON training settings.")
@click.option("--source", help="Data source, e.g. gaussian:8.")
@click.option("--lattice", help="Block lattice: Z1, E8, BW16, Leech, ... (the latent uses a power of it).")
@click.option("--randomness", help="none, pd (0), <N>bits, nesting<A>, or sd (inf).")
@click.option("--transform", help="linear, mlp or conv28.")
@click.option("--latent", type=click.IntRange(1), help="Latent dimension (multiple of the lattice's).")
@click.option("--lambda-mse", type=float, help="Weight λ1 of the MSE term.")
@click.option("--lambda-perception", type=float, help="Weight λ2 of the sliced-W2² term.")
@click.option("--epochs", type=click.IntRange(1))
@click.option("--steps-per-epoch", type=click.IntRange(1))
@click.option("--batch-size", type=click.IntRange(2))
@click.option("--lr", type=float, help="Initial learning rate (cosine decay).")
@click.option("--seed", type=int)
@click.option("--measured-tables/--no-measured-tables", default=None,
              help="After training, measure the coding tables on 262,144 fresh source vectors instead of freezing "
                   "them from the learned prior (a few thousandths of a bit per value fewer; same stream format).")
@click.option("--distance-code", type=click.IntRange(0, 2), metavar="SHELLS",
              help="Code with the distance code over 1 or 2 shells of candidates (low rate, Z/D4/E8 powers; 0: not; "
                   "streams need ltc >= coder 0.8).")
@click.option("--name", required=True, help="Model name; the file is models/NAME.{json,safetensors}.")
@click.option("--out-dir", type=click.Path(file_okay=False), default="models", show_default=True)
@click.option("--run-dir", type=click.Path(file_okay=False), help="Checkpoints [runs/NAME]; resumes from it.")
@click.option("--force", is_flag=True, help="Overwrite an existing model file.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(config_file: str | None, name: str, out_dir: str, run_dir: str | None, force: bool, quiet: bool,
          **flags: object) -> None:
    """Train an LTC model: rate + λ1·MSE + λ2·SW2², checkpointed every epoch.

    \b
    Settings come from --config (JSON with the same names, underscores) and then the flags.
    Re-running the same command after an interrupt resumes from the last finished epoch.

    \b
    Example:
      ltc train --source gaussian:8 --lattice E8 --randomness sd --lambda-mse 4 \\
                --lambda-perception 100 --name gaussian8-e8-sd-l4
    """
    require("train")
    from pathlib import Path

    from ltccodec.lab import runs as labruns

    config = labruns.settings(Path(config_file) if config_file else None, flags)
    bar = TrainingProgress(config.epochs * config.steps_per_epoch, quiet)
    try:
        card = labruns.train_model(config, name, Path(out_dir), Path(run_dir) if run_dir else None, force,
                                   command=" ".join(["ltc", *sys.argv[1:]]), report=bar)
    finally:
        bar.close()
    m = card.metrics[0]
    click.echo(f"{Path(out_dir) / name}.safetensors: {card.training.randomness}, rate {m.rate:.4f} bits/dim (Voronoi "
               f"estimate {m.rate_voronoi:.4f}), MSE {m.mse:.4f}, SW2² {m.sw2:.5f}, {card.training.seconds:.0f} s")


@click.command("eval")
@click.argument("models", nargs=-1, required=True, type=click.Path())
@click.option("--randomness", "-r", multiple=True,
              help="Evaluate under this randomness (repeatable; default: what each model was trained for).")
@click.option("--count", type=click.IntRange(100), default=20_000, show_default=True, help="Test vectors.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write OUT.csv, OUT.json and OUT.png.")
@click.option("--title", default="", help="Plot title.")
@click.option("--update-cards", is_flag=True,
              help="Write the figures measured for each model's own randomness into its card.")
def eval_command(models: tuple[str, ...], randomness: tuple[str, ...], count: int, out: str | None,
                 title: str, update_cards: bool) -> None:
    """Measure models on their source's test set: rate, MSE, perception; plot against theory.

    \b
    MODELS are model files (either file of the pair, or their stem). For Gaussian sources the
    plot shows R(D,0), R(D/2,∞) and R(D,∞), and a gap table (rate − bound) is printed.

    \b
    Example:
      ltc eval models/gaussian8-*.json --out docs/figures/gaussian8
    """
    require("train")
    from pathlib import Path

    from ltccodec.lab import runs as labruns
    from ltccodec.lab.evaluate import gap_table

    def report(row: object) -> None:
        m = row.metrics
        click.echo(f"{row.model:<34} {m.randomness:>8}  rate {m.rate:.4f}  voronoi {m.rate_voronoi:.4f}  "
                   f"mse {m.mse:.4f}  sw2 {m.sw2:.5f}")

    evaluation = labruns.evaluate_models([Path(m) for m in models], randomness, count, update_cards, report)
    if evaluation.gaussian:
        click.echo(gap_table(evaluation.rows))
    if out:
        say(f"wrote {', '.join(map(str, labruns.save(evaluation, Path(out), title)))}")


@click.group()
def bench() -> None:
    """Benchmarks that print measured figures (speed, size, rate against theory)."""


@bench.command("codec")
@click.argument("names", nargs=-1)
@click.option("--vectors", type=click.IntRange(1), default=20_000, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.option("--peers/--no-peers", default=True, show_default=True,
              help="Also code the same vectors at each model's MSE with USQ (+ ideal entropy coder, + zstd), SZ3 "
                   "and ZFP (installed ones; pip install 'ltccodec[bench]'), and time whole processes.")
@click.option("--cells/--no-cells", default=True, show_default=True,
              help="With the peers: measure the E8 shared-dither models' cells (ltc bench cells, 1,000 vectors) and "
                   "print the table of the codec's targets.")
def bench_codec_command(names: tuple[str, ...], vectors: int, as_json: bool, peers: bool, cells: bool) -> None:
    """Coded bits vs the model's estimate and R(D,P); encode/decode speed on one core;
    the peers at the same MSE; `ltc encode` / `ltc decode` of a 32 KiB file, whole process.

    NAMES are installed models (default: every model whose name contains "gaussian").
    """
    require("train")
    import dataclasses
    import json

    from ltccodec.lab.bench import codec as bench_codec

    chosen = list(names) or bench_codec.default_models()
    if not chosen:
        raise UsageError("no models to benchmark (see `ltc models`)")
    rows = bench_codec.bench_codec(chosen, vectors, progress=say)
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(r) for r in rows], indent=2))
        return
    click.echo(bench_codec.format_table(rows))
    if peers:
        click.echo("\n" + bench_codec.comparisons(rows, cells, progress=say))


@bench.command("speech")
@click.option("--files", type=click.IntRange(1), help="Only the first N test recordings (quick runs).")
@click.option("--model", "models", multiple=True, metavar="M",
              help="Our model, family or ladder (repeatable; default: speech-z at every rate point).")
@click.option("--randomness", "-r", "randomness", multiple=True, metavar="R",
              help="Randomness for our models (repeatable) [with --model: its own; else none, pd, 4bits].")
@click.option("--peers/--no-peers", default=True, show_default=True, help="Run Opus, Codec2, GSM, ADPCM, G.721.")
@click.option("--ours/--no-ours", default=True, show_default=True, help="Run our codec.")
@click.option("--speed/--no-speed", default=True, show_default=True,
              help="Whole-process encode/decode time of a 1-minute file, ltc and Opus.")
def bench_speech_command(files: int | None, models: tuple[str, ...], randomness: tuple[str, ...], peers: bool,
                         ours: bool, speed: bool) -> None:
    """Speech, side by side with the codecs a user would otherwise pick, on the test recordings.

    \b
    Per setting: kbit/s from whole-file bytes and payload only, PESQ-NB, STOI, segmental SNR,
    SNR after delay alignment. Peers run where installed (apt-get install opus-tools codec2;
    GSM 6.10, IMA ADPCM and G.721 come with soundfile). Needs `ltc data speech` first.

    \b
    Example:
      ltc bench speech --files 10 --no-speed
    """
    require(*(("train",) if ours else ()), "speech-eval")
    from ltccodec.lab.bench import speech

    chosen = speech.settings_for(models, randomness)
    rows = speech.run(chosen if ours else (), None if peers else (), files, progress=say)
    click.echo(speech.format_table(rows))
    if speed:
        click.echo()
        click.echo(speech.format_speed(speech.run_speed(speech.speed_pairs(chosen, ours, peers), progress=say)))


@bench.command("cells")
@click.argument("models", nargs=-1, required=True)
@click.option("--vectors", type=click.IntRange(16), default=2_000, show_default=True, help="Test vectors per model.")
@click.option("--samples", type=click.IntRange(8), default=8_192, show_default=True,
              help="Samples per cell (half uniform over it, half from the latent density; a power of two).")
@click.option("--json", "as_json", is_flag=True)
def bench_cells_command(models: tuple[str, ...], vectors: int, samples: int, as_json: bool) -> None:
    """Where the bits go at low rate, for Gaussian models with a linear analysis: the coder's box code
    length next to the ideal one (the true probability of each coded Voronoi cell, by importance sampling)
    and the bound; pmf = coded − ideal, lattice = ideal − bound.

    \b
    MODELS are installed model names or model files.
    Example:
      ltc bench cells gaussian8-e8-sd-l2m runs/lowrate2/g8/models/gaussian8-e8-sd-d1.3.json
    """
    require("train")
    import dataclasses
    import json
    from pathlib import Path

    from ltccodec.lab.bench.cells import bench_cells, format_cells
    from ltccodec.runtime import registry

    if samples & (samples - 1):
        raise UsageError("--samples must be a power of two (Sobol points)")
    paths = [Path(m) if registry.is_path(m) else registry.find(m) for m in models]
    rows = bench_cells(paths, vectors, samples, progress=say)
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(r) for r in rows], indent=2))
        return
    click.echo(format_cells(rows))


@bench.command("batch")
@click.option("--files", type=click.IntRange(10), default=2000, show_default=True, help="One-second clips to code.")
@click.option("--dask/--no-dask", default=True, show_default=True, help="Also run on a local Dask cluster.")
@click.option("--work", type=click.Path(file_okay=False), help="Scratch folder [a temporary one, removed after].")
def bench_batch_command(files: int, dask: bool, work: str | None) -> None:
    """`ltc batch` speed on generated one-second speech clips: files/s and MB/s with 1 and 2
    local workers and a local Dask cluster (whole processes), manifest cost, resume after kill -9."""
    require(*(("dask",) if dask else ()))
    import tempfile
    from pathlib import Path

    from ltccodec.lab.bench import batch as bench_batch

    with tempfile.TemporaryDirectory(dir=work) as scratch:
        rows, extra = bench_batch.run(Path(scratch), files, dask, progress=say)
    click.echo(bench_batch.format_table(rows, extra))


def _source_models(source: str, kind: str) -> Callable[[Callable], Callable]:
    """--model and --randomness of a benchmark over one data source's models."""
    def decorate(command: Callable) -> Callable:
        command = click.option("--randomness", "-r", "randomness", multiple=True, metavar="R",
                               help="Randomness for our models (repeatable) [default: each model's own].")(command)
        return click.option("--model", "models", multiple=True, metavar="M",
                            help=f"Our {kind} model (repeatable) [default: every installed {source} model].")(command)
    return decorate


def _installed(source: str, models: tuple[str, ...]) -> list[str]:
    """``models``, or every installed model of ``source``."""
    from ltccodec.runtime import registry

    return list(models) or sorted(c.name for c in registry.list_models() if c.source == source)


@bench.command("digits")
@_source_models("digits", "image")
@click.option("--count", type=click.IntRange(10, 1000), default=1000, show_default=True, help="Test digits.")
@click.option("--peers/--no-peers", default=True, show_default=True, help="Run JPEG and WebP (pillow).")
def bench_digits_command(models: tuple[str, ...], randomness: tuple[str, ...], count: int, peers: bool) -> None:
    """Digits, each its own file, next to JPEG and WebP: whole-file and data bits per pixel,
    PSNR, a critic's W1, and whether a classifier still reads the decoded digit. Needs
    `ltc data digits` first.

    \b
    Example:
      ltc bench digits --model digits-e8-sd-q1 --count 200
    """
    require("train")
    from ltccodec.lab.bench import digits as bench_digits

    chosen = _installed("digits", models)
    rows, accuracy = bench_digits.run(chosen, list(randomness) or [None], count, peers, progress=say)
    click.echo(bench_digits.format_table(rows, accuracy))


@bench.command("physics")
@_source_models("physics", "physics")
@click.option("--count", type=click.IntRange(100), default=2000, show_default=True, help="Test events.")
@click.option("--peers/--no-peers", default=True, show_default=True,
              help="Uniform scalar quantization + ideal entropy coding at each row's rate.")
@click.option("--plot", "plot_to", metavar="OUT", help="Write OUT-features.png and OUT-mass.png.")
def bench_physics_command(models: tuple[str, ...], randomness: tuple[str, ...], count: int, peers: bool,
                          plot_to: str | None) -> None:
    """Physics events (pp -> Z -> e+e-), all test events in one stream, next to uniform
    scalar quantization at the same rate: bits per event, MSE, each feature's W1 and the
    Z mass peak. Needs `ltc data physics` first.

    \b
    Example:
      ltc bench physics --model physics-e8-sd-q1 --model physics-e8-none-q1 --plot zpeak
    """
    require(*(("train",) if plot_to else ()))
    from pathlib import Path

    from ltccodec.lab.bench import physics as bench_physics

    chosen = _installed("physics", models)
    if not chosen:
        raise UsageError("no physics model is installed; give one with --model")
    results, real, scaling = bench_physics.run(chosen, list(randomness) or [None], count, peers, progress=say)
    click.echo(bench_physics.format_table([r.row for r in results], bench_physics.real_peak(real, scaling)))
    if plot_to:
        for png in bench_physics.plot(real, results, scaling, Path(plot_to)):
            say(f"wrote {png}")


@bench.command("fuzz")
@click.argument("streams", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--cases", type=click.IntRange(1), help="Number of cases [default: 20000, or unlimited with --minutes].")
@click.option("--minutes", type=click.FloatRange(0, min_open=True), help="Stop after this long (checked every 20000).")
@click.option("--models", "model_dir", type=click.Path(file_okay=False, exists=True),
              help="Folder of the streams' models [the installed models].")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--jobs", type=click.IntRange(1), default=2, show_default=True)
def bench_fuzz_command(streams: tuple[str, ...], cases: int | None, minutes: float | None, model_dir: str | None,
                       seed: int, jobs: int) -> None:
    """Decode seeded mutations of the .ltc STREAMS under a 4 GiB address-space limit and 10 s per case.

    \b
    Prints how many cases decoded to the original's output (same), to another output after an
    edit that recomputed its checks (changed), ended in one clear error, or failed (silent
    change, crash, memory, timeout, output over 4x the original); exits 1 when any failed.
    In a checkout, `make fuzz` mutates the golden streams (tests/data/golden).

    \b
    Example:
      ltc bench fuzz tests/data/golden/*.ltc --cases 100000
      ltc bench fuzz x.ltc --minutes 60 --seed 7
    """
    from pathlib import Path

    from ltccodec.lab.bench import fuzz
    from ltccodec.runtime import registry

    if cases is None:
        cases = 1 << 62 if minutes else 20_000

    def report(done: int, counts: dict[str, int]) -> None:
        say(f"{done} cases: {', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}")

    dirs = [Path(model_dir)] if model_dir else registry.model_dirs()
    campaign = fuzz.run([Path(s) for s in streams], cases, dirs, seed, jobs, minutes=minutes, progress=report)
    click.echo(f"{campaign.cases} cases from {len(streams)} streams in {campaign.seconds:.0f} s:")
    for name, count in campaign.outcomes.items():
        click.echo(f"  {name:<24} {count}")
    if campaign.failures:
        raise LtcError(f"{campaign.failures} cases failed")
