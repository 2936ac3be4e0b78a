"""Peak memory of one `ltc` command, as the kernel counts it for that process image (VmHWM). `ru_maxrss` of
children is no good in a test suite: a child forked from a big pytest process starts from the parent's peak."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROBE = ("from ltccodec import cli\ntry:\n    cli.main()\nexcept SystemExit as stop:\n    code = stop.code\n"
         "else:\n    code = 0\n"
         "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])\nraise SystemExit(code)")
AVAILABLE = Path("/proc/self/status").exists()


def ltc_peak_mib(*args: str, cwd: Path | None = None) -> float:
    """Run ``ltc ARGS`` and return its peak resident memory in MiB; fails the test if the command fails."""
    done = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1]) / 1024
