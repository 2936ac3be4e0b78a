"""Hostile streams: seeded mutations of real array and audio streams (`ltccodec.lab.bench.fuzz`: bit flips,
overwritten, inserted and deleted bytes, truncation, header fields edited with the header CRC recomputed, payload
bytes edited with every CRC recomputed, swapped frames), and frames declaring more than their payload holds, must
each end in the decoded signal or one `LtcError` — never another exception, a hang, or a huge allocation. `ltc
bench fuzz` runs the same at scale."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import numpy as np
import pytest

from ltccodec import codec
from ltccodec.errors import LtcError
from ltccodec.format import container
from ltccodec.lab.bench import fuzz
from ltccodec.runtime import registry

GOLDEN = Path(__file__).parent / "data" / "golden"
STREAMS = ["speech-z-sd-q3.sd.audio.ltc", "speech-z-none-q3.none.audio.ltc", "gaussian8-e8-1bits-l2.1bits.array.ltc",
           "gaussian24-leech-sd-l2.sd.array.ltc"]


@pytest.mark.parametrize("name", STREAMS)
def test_mutated_streams_decode_or_fail_cleanly(name):
    data = (GOLDEN / name).read_bytes()
    reference = codec.decode(data, seed=5)
    rng = np.random.default_rng(sum(map(ord, name)))
    clean = 0
    for index in range(400):
        mutated = fuzz.mutate(data, fuzz.KINDS[index % len(fuzz.KINDS)], rng)
        try:
            out = codec.decode(mutated, seed=5)
        except LtcError:
            clean += 1
            continue
        assert out.size <= 4 * reference.size + 64  # never a blown-up output from a small stream
    assert clean > 300  # almost every mutation is caught; the rest decode to something of sane size


def test_every_mutation_changes_the_stream():
    data = (GOLDEN / STREAMS[0]).read_bytes()
    rng = np.random.default_rng(3)
    for kind in fuzz.KINDS:
        assert fuzz.mutate(data, kind, rng) != data, kind


def _parts(name: str) -> tuple[container.Header, list[container.Frame]]:
    stream = io.BytesIO((GOLDEN / name).read_bytes())
    header = container.read_header(stream)
    return header, list(container.read_frames(stream, header))


def _stream(header: container.Header, frames: list[container.Frame], end: container.End | None = None) -> bytes:
    end = end or container.end_of(header, len(frames), sum(f.vectors for f in frames))
    return container.pack_header(header) + b"".join(container.frame_record(f) for f in frames) + \
        container.end_record(end)


@pytest.mark.parametrize("name", STREAMS[:2])
def test_swapped_dropped_and_repeated_frames_are_caught(name):
    header, frames = _parts(name)
    assert len(frames) >= 3
    with pytest.raises(LtcError, match="frame 0 expected, found frame 1"):
        codec.decode(_stream(header, [frames[1], frames[0], *frames[2:]]))
    with pytest.raises(LtcError, match="frame 1 expected, found frame 2"):
        codec.decode(_stream(header, [frames[0], *frames[2:]]))
    with pytest.raises(LtcError, match="frame 2 expected, found frame 1"):
        codec.decode(_stream(header, [*frames[:2], frames[1], *frames[2:]]))
    contents = [dataclasses.replace(frames[1], index=0), dataclasses.replace(frames[0], index=1), *frames[2:]]
    if header.mode is container.ModeCode.NONE:  # no dither: the frames' contents decode as they are, swapped
        assert not np.array_equal(codec.decode(_stream(header, contents)), codec.decode(_stream(header, frames)))
    else:  # under its own index, another frame's dither: its symbol check fails
        with pytest.raises(LtcError, match="frame 0"):
            codec.decode(_stream(header, contents))
    with pytest.raises(LtcError, match="end record says"):
        codec.decode(_stream(header, frames[:-1]))
    with pytest.raises(LtcError, match="ends early"):
        codec.decode(_stream(header, frames)[:-30])


@pytest.mark.parametrize("name", STREAMS)
def test_a_truncated_stream_decodes_nothing_silently(name):
    data = (GOLDEN / name).read_bytes()
    for cut in range(len(data) - 40, len(data)):
        with pytest.raises(LtcError):
            codec.decode(data[:cut])


def test_every_shipped_model_bounds_what_one_byte_of_stream_can_decode_to():
    """The payload guard (docs/FORMAT.md): a frame of ``P`` payload bytes may declare at most ``(8 P + 32) / least``
    vectors; with a frame record's 22 bytes of fields around them, the decoded bytes per stream byte stay under the
    bound FORMAT.md states for every installed model and every payload size."""
    worst = 0.0
    for card in registry.list_models():
        loaded = registry.by_name(card.name)
        least = codec.least_bits(loaded)
        for payload in range(4, 4096, 4):
            vectors = min(container.MAX_FRAME_VECTORS, int((8 * payload + codec.CODER_SLACK_BITS) / least))
            worst = max(worst, 4 * vectors * card.source_dim / (payload + 22))
    assert worst <= codec.MAX_EXPANSION, worst


def test_a_near_empty_frame_cannot_declare_a_full_frame_of_output():
    header, frames = _parts(STREAMS[1])
    head = frames[0]
    unknown = dataclasses.replace(header.audio, samples=container.UNKNOWN, coded_samples=container.UNKNOWN)
    loud = dataclasses.replace(header, frame_vectors=4096, vectors=container.UNKNOWN, audio=unknown)  # as streamed
    bomb = [dataclasses.replace(head, index=i, vectors=4096, payload=head.payload[:4]) for i in range(len(frames))]
    with pytest.raises(LtcError, match="frame 0 declares 4096 vectors, more than its 4 payload bytes can hold"):
        codec.decode(_stream(loud, bomb))


def test_a_campaign_in_limited_workers_finds_no_failure():
    streams = sorted(GOLDEN.rglob("*.ltc"))
    campaign = fuzz.run(streams, 600, registry.model_dirs(), seed=9)
    assert campaign.cases == 600 and sum(campaign.outcomes.values()) == 600
    assert campaign.failures == 0, campaign.outcomes
    assert campaign.outcomes["error"] > 500 and "silent" not in campaign.outcomes


def test_the_command_line_gives_one_line_and_no_output_for_every_corrupt_file(tmp_path, monkeypatch):
    """What a user sees: `ltc decode` of mutated files either decodes or prints exactly one `ltc: error:` line,
    exits nonzero and leaves no output file (in-process through click, so a traceback would show up as an
    exception)."""
    from click.testing import CliRunner

    from ltccodec import cli

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


def test_a_stream_of_unknown_length_decodes_and_keeps_to_the_output_limit():
    """The header of a stream written as it was coded states no length (FORMAT.md): the end record does, the decoder
    checks it, and the output limit holds as frames arrive."""
    header, frames = _parts(STREAMS[1])
    unknown = dataclasses.replace(header.audio, samples=container.UNKNOWN, coded_samples=container.UNKNOWN)
    streamed = dataclasses.replace(header, vectors=container.UNKNOWN, audio=unknown)
    data = _stream(streamed, frames, container.end_of(header, len(frames)))
    np.testing.assert_array_equal(codec.decode(data, seed=1), codec.decode(_stream(header, frames), seed=1))
    small = 4 * header.source_dim * (frames[0].vectors + 1)  # more than one frame's worth, less than two
    with pytest.raises(LtcError, match="decodes to more than the limit"):
        codec.decode_stream(io.BytesIO(data), max_output_bytes=small)
    wrong = container.End(len(frames), header.vectors, header.audio.samples + 8000, header.audio.coded_samples)
    with pytest.raises(LtcError, match="audio length"):
        codec.decode(_stream(streamed, frames, wrong))
