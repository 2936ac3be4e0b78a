"""The array peers of `ltc bench codec`: matched MSE, the ideal entropy bound's exact value, and real peers when
installed (optional: the extra `bench`)."""

from __future__ import annotations

import numpy as np
import pytest

from ltccodec.lab.bench import peers

X = np.random.default_rng(0).normal(size=(4096, 8)).astype(np.float32)


def test_ideal_usq_is_the_empirical_entropy_at_the_matched_step():
    row = peers.usq_ideal(X, 0.25)
    assert row.mse == pytest.approx(0.25, rel=0.01)
    step = float(row.setting.split()[1])
    assert step == pytest.approx(np.sqrt(12 * 0.25), rel=0.03)  # fine-step MSE Δ²/12
    q = np.rint(X / step).astype(np.int64)
    entropy = 0.0
    for column in q.T:
        p = np.unique(column, return_counts=True)[1] / len(column)
        entropy -= float(np.sum(p * np.log2(p)))
    assert row.bits == pytest.approx(entropy / 8, rel=1e-3)  # the step printed to 4 digits
    assert 1.35 < row.bits < 1.45  # measured 1.41: what E8 with shared dither beats by 0.2 bits (docs/results.md)


def test_sliced_w2_is_zero_for_the_same_set_and_sees_a_shift():
    assert peers.sliced_w2(X, X[::-1].copy()) == pytest.approx(0.0, abs=1e-12)
    assert peers.sliced_w2(X, X + 0.5) == pytest.approx(0.25 * np.mean(np.sum(
        _directions(), axis=0) ** 2), rel=1e-6)


def _directions() -> np.ndarray:
    rng = np.random.default_rng(peers.DIRECTIONS_SEED)
    d = rng.normal(size=(8, 64))
    return d / np.linalg.norm(d, axis=0)


@pytest.mark.parametrize("name, module", [("usq+zstd", "zstandard"), ("sz3", "pysz"), ("zfp", "zfpy")])
def test_real_peers_decode_what_they_code_at_or_below_the_target(name, module):
    pytest.importorskip(module, reason=f"{module} is an optional benchmark peer (pip install 'ltccodec[bench]')")
    row = peers.PEERS[name](X, 0.25)
    assert row.mse <= 0.25 * 1.01 and row.bits > 0 and row.encode_vps > 0
    if name != "zfp":  # ZFP's accuracy moves in powers of two: the closest setting below the target
        assert row.mse == pytest.approx(0.25, rel=0.01)
