"""`ltc bench codec`'s closing table (issue 12's figures): which rows it reads and which it leaves out."""

from __future__ import annotations

from ltccodec.bench.codec import CodecFigures, scoreboard


def _row(name: str, payload: float, coder: str, vectors_per_second: float) -> CodecFigures:
    return CodecFigures(name, "E8", "sd", 125_000, payload + 0.004, payload, payload, payload, payload - 0.1, "R(D,0)",
                        1.0, vectors_per_second, vectors_per_second, 0.18, coder=coder)


def test_the_table_leaves_out_superseded_models_and_times_the_box_code():
    rows = [_row("gaussian8-e8-sd-r1.3", 0.2198, "0.7.0", 9e5),  # superseded by x1.3 in its card
            _row("gaussian8-e8-sd-x1.3", 0.2099, "0.8.0", 7.5e5),
            _row("gaussian8-e8-sd-l8", 1.9942, "0.5.0", 3.8e6)]
    text = scoreboard(rows, [], None)
    assert "superseded models, kept so their streams decode, are left out" in text
    assert "x1.3 +0.100 at 0.210" in text and "r1.3" not in text
    assert "encode / decode, E8 sd, one thread, gaussian8-e8-sd-l8 [≥ 25 each]: 30.40 / 30.40 M values/s" in text
    assert "lowest payload rate of an E8 sd model [0.1, on the curve]: 0.210 (gaussian8-e8-sd-x1.3" in text
    assert "entropy code's share of encode, gaussian8-e8-sd-l8 [≤ 20 %]: 18.0 %" in text
