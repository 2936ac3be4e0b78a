"""The physics source: its features on hand-made particles whose answers are known, its standardization, the
scalar-quantization peer, and the shipped physics models on 200 real test events (bands, and the CLI in two
processes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ltccodec.errors import UsageError
from ltccodec.lab.sources import physics


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
    from ltccodec.lab.bench import physics as bench

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
    from ltccodec.runtime.modelfile import ModelCard

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


# the shipped physics models on examples/physics200.npy (200 test events), nonce 0, private-dither seed 0:
# (stream bytes, MSE on the standardized features, mean over features of the 1-D W1) measured when shipped
EXAMPLE = Path(__file__).parent.parent / "examples" / "physics200.npy"
BANDS = {"physics-e8-sd-q1": (417, 1.22909, 0.17678), "physics-e8-none-q1": (371, 1.73714, 0.30145),
         "physics-e8-sd-q3": (573, 0.19896, 0.10487), "physics-e8-pd-q3": (609, 0.16126, 0.09331),
         "physics-e8-nesting3-q2": (471, 0.68864, 0.1412), "physics-e8-sd-q4": (853, 0.02959, 0.0431)}


@pytest.mark.parametrize("name", sorted(BANDS))
def test_shipped_physics_models_inside_their_bands(name):
    from ltccodec import codec
    from ltccodec.lab.bench.physics import wasserstein_1d
    from ltccodec.runtime import registry

    x = np.load(EXAMPLE)
    loaded = registry.by_name(name)
    data = codec.encode(x, loaded, registry.trained_for(loaded.card), nonce=bytes(16))
    y = codec.decode(data, seed=0)
    size, mse, w1 = BANDS[name]
    assert abs(len(data) - size) <= 3
    assert float(np.mean((x - y) ** 2)) == pytest.approx(mse, rel=0.03)
    assert float(np.mean([wasserstein_1d(x[:, j], y[:, j]) for j in range(16)])) == pytest.approx(w1, rel=0.05)


def test_physics_events_through_the_cli_in_two_processes(tmp_path):
    import json
    import subprocess
    import sys

    from ltccodec.runtime import registry

    ltc = str(Path(sys.executable).parent / "ltc")
    done = subprocess.run([ltc, "encode", str(EXAMPLE), "-o", str(tmp_path / "e.ltc"), "--model", "physics",
                           "--quality", "1", "-r", "sd"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "physics-e8-sd-q1" in done.stderr
    info = json.loads(subprocess.run([ltc, "info", "--json", str(tmp_path / "e.ltc")], capture_output=True, text=True,
                                     timeout=120, check=True).stdout)
    assert info["shape"] == [200, 16] and info["mode"] == "shared"
    done = subprocess.run([ltc, "decode", str(tmp_path / "e.ltc"), "-o", str(tmp_path / "e.npy")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    x, y = np.load(EXAMPLE), np.load(tmp_path / "e.npy")
    assert y.shape == x.shape and y.dtype == np.float32
    # another private seed than the in-process band's, same shared dither: inside the q1 band's neighbourhood
    assert float(np.mean((x - y) ** 2)) == pytest.approx(BANDS["physics-e8-sd-q1"][1], rel=0.1)
    # the Z peak survives 10 bits per event under shared dither: the mass median within 1.5 GeV of the real one
    scaling = physics.Scaling.of_card(registry.by_name("physics-e8-sd-q1").card)
    real_mass = np.median(scaling.unstandardize(x)[:, physics.MASS])
    assert abs(np.median(scaling.unstandardize(y)[:, physics.MASS]) - real_mass) < 1.5
