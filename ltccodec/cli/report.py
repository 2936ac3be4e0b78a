"""How every `ltc` command reports: one line on stderr per message, and user errors, Ctrl-C, SIGTERM/SIGHUP and a
closed output pipe turned into one line and an exit code (`report_errors`). Used by the codec and lab commands."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import click

from ltccodec.errors import LtcError

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE


def say(message: str) -> None:
    """One progress or summary line on stderr (stdout carries only a command's output)."""
    click.echo(f"ltc: {message}", err=True)


class _Terminated(BaseException):
    """SIGTERM or SIGHUP, raised where the program is so that temporary files are cleaned up on the way out."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _on_signal(signum: int, frame: object) -> None:
    raise _Terminated(signum)


@contextlib.contextmanager
def report_errors() -> Iterator[None]:
    """Turn user errors, Ctrl-C, SIGTERM/SIGHUP and a closed output pipe into one line on stderr (none for the
    pipe) and an exit code; unwinding removes any half-written output (usable as a decorator too)."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, _on_signal)
    try:
        yield
    except LtcError as error:
        click.echo(f"ltc: error: {error}", err=True)
        raise SystemExit(error.exit_code) from None
    except KeyboardInterrupt:
        click.echo("ltc: interrupted", err=True)
        raise SystemExit(EXIT_INTERRUPTED) from None
    except _Terminated as stop:
        click.echo(f"ltc: stopped by {signal.Signals(stop.signum).name}", err=True)
        raise SystemExit(128 + stop.signum) from None
    except BrokenPipeError:  # the reader of stdout went away (e.g. `| head`): stop quietly, as by SIGPIPE
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(EXIT_BROKEN_PIPE) from None
