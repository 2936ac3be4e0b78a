"""The physics source's features, on hand-made particles whose answers are known, and its standardization."""

from __future__ import annotations

import numpy as np
import pytest

from ltccodec.errors import UsageError
from ltccodec.sources import physics


def _particle(pt: float, eta: float, phi: float, mass: float = 0.0) -> tuple[float, float, float, float]:
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    return px, py, pz, float(np.sqrt(px**2 + py**2 + pz**2 + mass**2))


def test_a_z_at_rest_and_its_recoil():
    # e- and e+ back to back at 45.6 GeV: a pair of mass 91.2 GeV at rest; a charged pion, a photon, a neutrino
    ids = np.array([11, -11, 211, 22, 12, 2112])
    momenta = np.array([_particle(45.6, 0.0, 0.3), _particle(45.6, 0.0, 0.3 + np.pi), _particle(3.0, 1.0, 2.0, 0.1396),
                        _particle(2.0, -3.0, 0.0), _particle(10.0, 0.5, -1.0), _particle(1.0, 6.0, 0.0, 0.9396)])
    charged = np.array([True, True, True, False, False, False])
    row = physics.features(ids, momenta, charged)
    assert row is not None and row.shape == (16,)
    names = dict(zip(physics.FEATURES, row, strict=True))
    assert names["e- pT"] == pytest.approx(45.6) and names["e+ E"] == pytest.approx(45.6)
    assert names["e- phi"] == pytest.approx(0.3) and names["e+ phi"] == pytest.approx(0.3 + np.pi - 2 * np.pi)
    assert names["ee mass"] == pytest.approx(91.2) and names["ee pT"] == pytest.approx(0.0, abs=1e-9)
    assert names["ee y"] == pytest.approx(0.0, abs=1e-12) and names["cos theta*"] == pytest.approx(0.0)
    # the neutron at eta 6 is outside |eta| < 5: neither activity nor balance; the neutrino is missing
    assert names["hadronic HT"] == pytest.approx(5.0)  # pion 3 + photon 2
    expected_missing = np.hypot(*(np.array(_particle(3.0, 1.0, 2.0, 0.1396)[:2]) + _particle(2.0, -3.0, 0.0)[:2]))
    assert names["missing pT"] == pytest.approx(expected_missing)
    assert names["charged count"] == 3  # both leptons and the pion: |eta| < 2.5, pT > 0.5


def test_the_hardest_leptons_make_the_pair_and_a_lone_lepton_is_no_event():
    ids = np.array([11, 11, -11])
    momenta = np.array([_particle(5.0, 0.0, 0.0), _particle(40.0, 1.0, 1.0), _particle(42.0, -1.0, -2.0)])
    row = physics.features(ids, momenta, np.ones(3, bool))
    assert row[0] == pytest.approx(40.0) and row[1] == pytest.approx(1.0)
    assert row[15] == pytest.approx(np.tanh(1.0))  # tanh((1 - (-1)) / 2)
    assert physics.features(ids[:2], momenta[:2], np.ones(2, bool)) is None


def test_standardizing_is_undone_exactly_and_logs_the_heavy_tails():
    rng = np.random.default_rng(0)
    raw = np.abs(rng.normal(size=(500, 16))) * 30 + 1
    scaling = physics.Scaling.fit(raw)
    values = scaling.standardize(raw)
    assert values.dtype == np.float32
    np.testing.assert_allclose(values.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(values.std(axis=0), 1, atol=1e-4)
    np.testing.assert_allclose(scaling.unstandardize(values), raw, rtol=1e-5)
    # the mass is not logged: standardized mass is linear in GeV
    assert np.corrcoef(values[:, physics.MASS], raw[:, physics.MASS])[0, 1] == pytest.approx(1.0)


def test_the_scalar_quantization_peer_spends_the_rate_it_is_given():
    from ltccodec.bench import physics as bench

    rng = np.random.default_rng(1)
    real = rng.normal(size=(2000, 16)).astype(np.float32)
    scaling = physics.Scaling(tuple([0.0] * 16), tuple([1.0] * 16))
    for bits in (8.0, 24.0, 40.0):
        peer = bench.usq(real, bits, scaling)
        assert peer.row.bits == pytest.approx(bits, abs=0.05)
        step = float(peer.row.setting.split()[1])
        assert np.abs(peer.values - real).max() <= step / 2 * 1.002  # nearest multiples of the step
    # a fine step: MSE step²/12, and W1 of a sample against itself shifted by c is c
    assert bench.usq(real, 16 * 6.0, scaling).row.mse == pytest.approx(
        float(bench.usq(real, 16 * 6.0, scaling).row.setting.split()[1]) ** 2 / 12, rel=0.05)
    assert bench.wasserstein_1d(real[:, 0], real[:, 0] + 0.25) == pytest.approx(0.25)
    assert bench.peak(np.array([80.0, 85.0, 90.0, 95.0, 100.0])) == (90.0, 10.0)


def test_a_card_keeps_the_scaling_its_model_was_trained_with():
    from ltccodec.modelfile import ModelCard

    scaling = physics.Scaling(tuple(float(i) for i in range(16)), tuple(1.0 + i for i in range(16)))

    class Card:
        name = "physics-test"
        standardize = scaling.to_card()

    assert physics.Scaling.of_card(Card()) == scaling
    fields = {f for f in ModelCard.__dataclass_fields__}
    assert "standardize" in fields
    Card.standardize = None
    with pytest.raises(UsageError, match="does not record a physics feature scaling"):
        physics.Scaling.of_card(Card())
