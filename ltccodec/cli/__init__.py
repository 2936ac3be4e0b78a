"""The `ltc` command line: parse arguments, call the library, report. No logic of its own.

The codec's commands (`cli.codec`) and the lab's (`cli.lab`, which need the `train` extra and others) are listed
apart in ``ltc --help``. Every command runs under `report.report_errors`, so an `LtcError` becomes one line on
stderr and an exit code.
"""

from __future__ import annotations

import click

from ltccodec import __version__
from ltccodec.cli import codec, lab
from ltccodec.cli.report import report_errors

SECTIONS = {  # heading in --help -> commands, in the order listed
    "Codec commands": (codec.encode, codec.decode, codec.info, codec.models, codec.batch, codec.data),
    "Lab commands (most need an extra: pip install 'ltccodec[train]')": (
        lab.train, lab.eval_command, lab.bench, lab.lattices),
}


class _Group(click.Group):
    """A click group whose subcommands all run under `report_errors`, listed in `SECTIONS` in --help."""

    def invoke(self, ctx: click.Context) -> object:
        with report_errors():
            return super().invoke(ctx)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [command.name for commands in SECTIONS.values() for command in commands]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        width = formatter.width - 6 - max(len(name) for name in self.list_commands(ctx))
        for heading, commands in SECTIONS.items():
            with formatter.section(heading):
                formatter.write_dl([(c.name, c.get_short_help_str(width)) for c in commands])


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="ltc", message="%(prog)s %(version)s")
def main() -> None:
    """ltc: a lossy codec for audio, images and arrays, built on lattice transform coding.

    \b
    An analysis transform maps the signal to a latent, a lattice quantizer (E8, Barnes-Wall,
    Leech, ...) rounds it, optionally after a dither shared with the decoder, and a range
    coder writes the lattice points; the decoder adds the dither back and synthesizes.

    \b
    Example:
      ltc encode speech.wav -o speech.ltc --randomness 4bits
      ltc decode speech.ltc -o speech.out.wav
    """


for _commands in SECTIONS.values():
    for _command in _commands:
        main.add_command(_command)

if __name__ == "__main__":
    main(prog_name="ltc")
