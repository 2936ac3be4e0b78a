"""Hostile streams: seeded mutations of real array and audio streams (`ltccodec.bench.fuzz`: bit flips,
overwritten, inserted and deleted bytes, truncation, header fields edited with the header CRC recomputed, payload
bytes edited with every CRC recomputed, swapped frames) must each end in the decoded signal or one `LtcError` —
never another exception, a hang, or a huge allocation. `ltc bench fuzz` runs the same at scale."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import numpy as np
import pytest

from ltccodec import codec, container
from ltccodec.bench import fuzz
from ltccodec.errors import LtcError

GOLDEN = Path(__file__).parent / "data" / "golden"
STREAMS = ["golden-audio.sd.ltc", "golden-audio.none.ltc", "golden-e8.1bits.ltc", "golden-leech.sd.ltc"]


@pytest.mark.parametrize("name", STREAMS)
def test_mutated_streams_decode_or_fail_cleanly(name):
    data = (GOLDEN / name).read_bytes()
    reference = codec.decode(data, seed=5, dirs=[GOLDEN])
    rng = np.random.default_rng(sum(map(ord, name)))
    clean = 0
    for index in range(400):
        mutated = fuzz.mutate(data, fuzz.KINDS[index % len(fuzz.KINDS)], rng)
        try:
            out = codec.decode(mutated, seed=5, dirs=[GOLDEN])
        except LtcError:
            clean += 1
            continue
        assert out.size <= 4 * reference.size + 64  # never a blown-up output from a small stream
    assert clean > 300  # almost every mutation is caught; the rest decode to something of sane size


def test_every_mutation_changes_the_stream():
    data = (GOLDEN / "golden-audio.sd.ltc").read_bytes()
    rng = np.random.default_rng(3)
    for kind in fuzz.KINDS:
        assert fuzz.mutate(data, kind, rng) != data, kind


def test_swapped_frames_are_caught():
    data = (GOLDEN / "golden-audio.sd.ltc").read_bytes()
    header = container.read_header(io.BytesIO(data))
    assert len(header.frames) >= 2
    start = len(container.pack_header(header))
    sizes = [f.size for f in header.frames]
    first, second = data[start:start + sizes[0]], data[start + sizes[0]:start + sizes[0] + sizes[1]]
    frames = (header.frames[1], header.frames[0], *header.frames[2:])
    swapped = container.pack_header(dataclasses.replace(header, frames=frames)) + second + first + \
        data[start + sizes[0] + sizes[1]:]
    with pytest.raises(LtcError):
        codec.decode(swapped, dirs=[GOLDEN])


def test_a_campaign_in_limited_workers_finds_no_failure():
    streams = sorted(GOLDEN.rglob("*.ltc"))
    campaign = fuzz.run(streams, 600, [GOLDEN], seed=9)
    assert campaign.cases == 600 and sum(campaign.outcomes.values()) == 600
    assert campaign.failures == 0, campaign.outcomes
    assert campaign.outcomes["error"] > 500 and "silent" not in campaign.outcomes


def test_the_command_line_gives_one_line_and_no_output_for_every_corrupt_file(tmp_path, monkeypatch):
    """What a user sees: `ltc decode` of mutated files either decodes or prints exactly one `ltc: error:` line,
    exits nonzero and leaves no output file (in-process through click, so a traceback would show up as an
    exception)."""
    from click.testing import CliRunner

    from ltccodec import cli

    monkeypatch.setenv("LTC_MODELS", str(GOLDEN))
    runner = CliRunner()
    rng = np.random.default_rng(11)
    failed = 0
    for index in range(120):
        name = STREAMS[index % len(STREAMS)]
        bad = tmp_path / f"bad{index}.ltc"
        bad.write_bytes(fuzz.mutate((GOLDEN / name).read_bytes(), fuzz.KINDS[index % len(fuzz.KINDS)], rng))
        out = tmp_path / f"out{index}.npy"
        result = runner.invoke(cli.main, ["decode", str(bad), "-o", str(out), "--seed", "1"])
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
        if result.exit_code == 0:
            assert out.exists()
            continue
        failed += 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("ltc: error: "), result.stderr
        assert not out.exists()
    assert failed > 90
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(("bad", "out"))) == []
