"""The `ltc` command line: parse arguments, call the library, report. No logic of its own.

Every command runs under `_report_errors`, so an `LtcError` becomes one line on stderr and an exit code.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click

from ltccodec import __version__
from ltccodec.errors import LtcError

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


if __name__ == "__main__":
    main(prog_name="ltc")
