"""The project's user-facing exceptions; `cli` turns them into one line on stderr and an exit code.

Raise these for anything the user can fix (a bad argument, a missing or corrupt file, a wrong key), with a
message that fits on one line and says what to do. The CLI prints `ltc: error: <message>` and exits with
code 2 for a `UsageError` and 1 for any other `LtcError`. Anything else is a bug and keeps its traceback.
"""


class LtcError(Exception):
    """Base of all errors meant for the user: one clear line, no traceback (exit code 1)."""

    exit_code = 1


class UsageError(LtcError):
    """The command line or the arguments of an API call are wrong (exit code 2, like click's own)."""

    exit_code = 2
