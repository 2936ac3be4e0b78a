"""The `ltc` command line: parse arguments, call the library, report. No logic of its own.

Every command runs under `_report_errors`, so an `LtcError` becomes one line on stderr and an exit code.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import click

from ltccodec import __version__
from ltccodec.errors import LtcError, UsageError

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


@contextlib.contextmanager
def _report_errors() -> Iterator[None]:
    """Turn user errors and Ctrl-C into one line on stderr and an exit code (usable as a decorator too)."""
    try:
        yield
    except LtcError as error:
        click.echo(f"ltc: error: {error}", err=True)
        raise SystemExit(error.exit_code) from None
    except KeyboardInterrupt:
        click.echo("ltc: interrupted", err=True)
        raise SystemExit(EXIT_INTERRUPTED) from None


class _Group(click.Group):
    """A click group whose subcommands all run under `_report_errors`."""

    def invoke(self, ctx: click.Context) -> object:
        with _report_errors():
            return super().invoke(ctx)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="ltc", message="%(prog)s %(version)s")
def main() -> None:
    """ltc: a lossy codec for audio, images and arrays, built on lattice transform coding.

    \b
    An analysis transform maps the signal to a latent, a lattice quantizer (E8, Barnes-Wall,
    Leech, ...) rounds it, optionally after a dither shared with the decoder, and a range
    coder writes the lattice points; the decoder adds the dither back and synthesizes.

    \b
    Planned commands (those this version has are listed under Commands below):
      encode    signal -> .ltc bitstream    decode    .ltc bitstream -> signal
      info      describe a .ltc file        models    list and describe models
      train     fit a model to data         eval      rate-distortion-perception curves
      bench     speed and size              lattices  check and time the lattice quantizers

    \b
    Example:
      ltc encode speech.wav -o speech.ltc --randomness 4bits
      ltc decode speech.ltc -o speech.out.wav
    """


def _progress(message: str) -> None:
    click.echo(f"ltc: {message}", err=True)


@main.command()
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

    from ltccodec.bench.lattices import DEFAULT_LATTICES, bench_lattices, format_table

    size = 10_000 if quick else 100_000
    rows = bench_lattices(names or DEFAULT_LATTICES, vectors=vectors or size,
                          nsm_samples=nsm_samples or (20_000 if quick else 200_000),
                          naive_vectors=naive_vectors or (256 if quick else 2_000), progress=_progress)
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(r) for r in rows], indent=2))
    else:
        click.echo(format_table(rows, vectors or size))


_TRAIN_FLAGS = {  # option name -> TrainConfig field; None values mean "not given"
    "source": "source", "lattice": "lattice", "randomness": "randomness", "transform": "transform",
    "latent": "latent", "lambda_mse": "lambda_mse", "lambda_perception": "lambda_perception", "epochs": "epochs",
    "steps_per_epoch": "steps_per_epoch", "batch_size": "batch_size", "lr": "learning_rate", "seed": "seed",
}


@main.command()
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
    import dataclasses
    import sys
    from pathlib import Path

    from ltccodec.train import TrainConfig, train as run_training

    config = TrainConfig.from_json(Path(config_file).read_text()) if config_file else TrainConfig()
    given = {_TRAIN_FLAGS[k]: v for k, v in flags.items() if v is not None}
    config = dataclasses.replace(config, **given)
    out = Path(out_dir) / name
    if Path(f"{out}.json").exists() and not force:
        raise UsageError(f"{out}.json exists; use --force to overwrite")
    bar = _progress_bar(config.epochs * config.steps_per_epoch, quiet)
    card = run_training(config, Path(run_dir or Path("runs") / name), out, name,
                        command=" ".join(["ltc", *sys.argv[1:]]), report=bar)
    bar.close()
    m = card.metrics[0]
    click.echo(f"{out}.safetensors: {card.training.randomness}, rate {m.rate:.4f} bits/dim (Voronoi estimate "
               f"{m.rate_voronoi:.4f}), MSE {m.mse:.4f}, SW2² {m.sw2:.5f}, {card.training.seconds:.0f} s")


class _Bar:
    """tqdm on stderr showing the running loss terms; a no-op when quiet."""

    def __init__(self, total: int, quiet: bool):
        from tqdm import tqdm

        self._bar = None if quiet else tqdm(total=total, file=sys.stderr, unit="step", smoothing=0.05)
        self._seen = 0

    def __call__(self, p: object) -> None:
        if self._bar is None:
            return
        self._bar.update(1)
        self._seen += 1
        if self._seen % 20 == 0:
            self._bar.set_postfix(epoch=p.epoch, rate=f"{p.rate:.3f}", mse=f"{p.mse:.4f}", sw2=f"{p.sw2:.5f}")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _progress_bar(total: int, quiet: bool) -> _Bar:
    return _Bar(total, quiet)


@main.command("eval")
@click.argument("models", nargs=-1, required=True, type=click.Path())
@click.option("--randomness", "-r", multiple=True,
              help="Evaluate under this randomness (repeatable; default: what each model was trained for).")
@click.option("--count", type=click.IntRange(100), default=20_000, show_default=True, help="Test vectors.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write OUT.csv, OUT.json and OUT.png.")
@click.option("--title", default="", help="Plot title.")
def eval_command(models: tuple[str, ...], randomness: tuple[str, ...], count: int, out: str | None,
                 title: str) -> None:
    """Measure models on their source's test set: rate, MSE, perception; plot against theory.

    \b
    MODELS are model files (either file of the pair, or their stem). For Gaussian sources the
    plot shows R(D,0), R(D/2,∞) and R(D,∞), and a gap table (rate − bound) is printed.

    \b
    Example:
      ltc eval models/gaussian8-*.json --out docs/figures/gaussian8
    """
    from pathlib import Path

    from ltccodec import modelfile
    from ltccodec.data import source_by_name
    from ltccodec.evaluate import evaluate, gap_table, plot_rows, row_for, write_rows
    from ltccodec.ltc import Randomness

    rows = []
    gaussian = True
    for path in models:
        model, card = modelfile.load(Path(path))
        source = source_by_name(card.source)
        gaussian = gaussian and source.gaussian
        for text in randomness or (card.training.randomness,):
            metrics = evaluate(model, source, Randomness.parse(text), count)
            rows.append(row_for(card, metrics))
            click.echo(f"{card.name:<34} {metrics.randomness:>8}  rate {metrics.rate:.4f}  "
                       f"voronoi {metrics.rate_voronoi:.4f}  mse {metrics.mse:.4f}  sw2 {metrics.sw2:.5f}")
    if gaussian:
        click.echo(gap_table(rows))
    if out:
        csv_path, json_path = write_rows(rows, Path(out))
        png = plot_rows(rows, Path(out), gaussian, title)
        _progress(f"wrote {csv_path}, {json_path}, {png}")


if __name__ == "__main__":
    main(prog_name="ltc")
