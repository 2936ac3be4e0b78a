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


# Commands are registered here, one line each; the command functions stay thin.
# `lattices` (checks and timings of the lattice quantizers) will be added here: main.add_command(...)


if __name__ == "__main__":
    main(prog_name="ltc")
