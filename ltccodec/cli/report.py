"""How every `ltc` command reports: one line on stderr per message, progress bars on a terminal, and user errors,
Ctrl-C, SIGTERM/SIGHUP and a closed output pipe turned into one line and an exit code (`report_errors`). Used by
the codec and lab commands."""

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


class FrameProgress:
    """A progress bar over vectors on stderr, shown only for inputs of several frames on a terminal."""

    def __init__(self, what: str):
        self._what, self._bar = what, None

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="vec", desc=self._what, file=sys.stderr, leave=False,
                             disable=not sys.stderr.isatty() or total <= 4096)
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class BatchProgress:
    """A bar over files on a terminal; otherwise a log line every 5 seconds."""

    def __init__(self, total: int) -> None:
        import time

        self._bar, self._last, self._failed, self._clock = None, time.monotonic(), 0, time.monotonic
        if sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="file", desc="batch", file=sys.stderr, leave=False)

    def __call__(self, done: int, todo: int, row: object) -> None:
        self._failed += getattr(row, "status", "ok") != "ok"
        if self._bar is not None:
            self._bar.total = todo
            self._bar.update(done - self._bar.n)
            self._bar.set_postfix(failed=self._failed, refresh=False)
        elif self._clock() - self._last >= 5 or done == todo:
            self._last = self._clock()
            say(f"batch: {done}/{todo} files, {self._failed} failed")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class TrainingProgress:
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
            self._bar.set_postfix(epoch=p.epoch, rate=f"{p.rate:.3f}", mse=f"{p.mse:.4f}",
                                  perception=f"{p.perception:.5f}")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


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
