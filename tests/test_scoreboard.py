"""`ltc bench codec`'s closing table of the codec's targets: which rows it reads for which figure."""

from __future__ import annotations

from ltccodec.lab.bench.codec import CodecFigures, scoreboard


def _row(name: str, payload: float, coder: str, vectors_per_second: float) -> CodecFigures:
    return CodecFigures(name, "E8", "sd", 125_000, payload + 0.004, payload, payload, payload, payload - 0.1, "R(D,0)",
                        1.0, vectors_per_second, vectors_per_second, 0.18, coder=coder)


def test_the_table_times_the_box_code_and_reads_the_payload_rates():
    rows = [_row("gaussian8-e8-sd-x1.3", 0.2099, "distance", 7.5e5),
            _row("gaussian8-e8-sd-l8", 1.9942, "box", 3.8e6)]
    text = scoreboard(rows, [], None)
    assert "x1.3 +0.100 at 0.210" in text and "l8 +" not in text  # only rates ≤ 0.66 in the gap row
    assert "encode / decode, E8 sd, one thread, gaussian8-e8-sd-l8 [≥ 25 each]: 30.40 / 30.40 M values/s" in text
    assert "lowest payload rate of an E8 sd model [0.1, on the curve]: 0.210 (gaussian8-e8-sd-x1.3" in text
    assert "entropy code's share of encode, gaussian8-e8-sd-l8 [≤ 20 %]: 18.0 %" in text
