"""The LTC model: each mode's paths, the prior's pmf, the dither's crypto-lemma property, the untrained
reference construction, and training (loss goes down, checkpoints resume, model files reload)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from ltccodec.errors import LtcError, UsageError
from ltccodec.lab import modelio, theory
from ltccodec.lab.ltc import LTCModel, ModelConfig
from ltccodec.lab.prior import FactorizedPrior, GaussianPrior
from ltccodec.lab.sources import source_by_name
from ltccodec.lab.train import TrainConfig, train
from ltccodec.lab.transforms import TransformConfig, TransformKind
from ltccodec.lattice import by_name
from ltccodec.randomness import Mode, Randomness

from .brute_force import covering_coords
from .resume import interrupted_then_resumed

MODES = ["none", "pd", "1bits", "nesting3", "sd"]


def _model(lattice: str = "E8", n: int = 8, latent: int = 8, seed: int = 0) -> LTCModel:
    torch.manual_seed(seed)
    return LTCModel(ModelConfig(TransformConfig(TransformKind.LINEAR, n, latent), lattice))


@pytest.mark.parametrize("text, mode, nesting, shown", [
    ("none", Mode.DETERMINISTIC, 1, "none"), ("0", Mode.PRIVATE, 1, "pd"), ("pd", Mode.PRIVATE, 1, "pd"),
    ("4bits", Mode.QUANTIZED, 16, "4bits"), ("1bits", Mode.QUANTIZED, 2, "1bits"),
    ("nesting3", Mode.QUANTIZED, 3, "nesting3"), ("inf", Mode.SHARED, 1, "sd"), ("sd", Mode.SHARED, 1, "sd")])
def test_randomness_parsing(text, mode, nesting, shown):
    r = Randomness.parse(text)
    assert (r.mode, r.nesting, str(r)) == (mode, nesting, shown)
    assert Randomness.parse(str(r)) == r


@pytest.mark.parametrize("text", ["", "2", "0bits3", "nesting1", "99bits", "bits"])
def test_bad_randomness(text):
    with pytest.raises(UsageError):
        Randomness.parse(text)


@pytest.mark.parametrize("lattice, n, latent", [("E8", 8, 8), ("Z1", 3, 3), ("A2", 3, 4), ("BW16", 8, 16),
                                                ("Leech", 8, 24)])
@pytest.mark.parametrize("mode", MODES)
def test_symbols_path_matches_reconstruction(lattice, n, latent, mode):
    model = _model(lattice, n, latent)
    r = Randomness.parse(mode)
    x = torch.randn(64, n, generator=torch.Generator().manual_seed(1))
    rec = model.reconstruct(x, r, np.random.default_rng(5))
    # the same dither draws, taken apart: encoder -> integers -> decoder
    rng = np.random.default_rng(5)
    shared, private = model.shared_dither(r, 64, rng), model.private_dither(r, 64, rng)
    coords = model.to_symbols(x, shared)
    assert coords.dtype == np.int64 and coords.shape == (64, latent)
    np.testing.assert_array_equal(coords, rec.coords)
    np.testing.assert_allclose(model.from_symbols(coords, shared, private).numpy(), rec.x_hat.numpy(), atol=1e-5)
    out = model.training_step(x, r, np.random.default_rng(5))
    assert out.x_hat.shape == x.shape and out.bits.shape == (64,) and out.bits.requires_grad


def test_shared_dither_error_is_uniform_and_independent_of_the_input():
    lattice = by_name("E8")
    model = _model()
    r = Randomness.parse("sd")
    rng = np.random.default_rng(0)
    y = rng.normal(size=(20_000, 8)) * np.linspace(0.3, 5.0, 8)
    u = model.shared_dither(r, len(y), rng)
    error = lattice.from_coords(lattice.nearest_coords(y - u)) + u - y  # decoder's latent minus encoder's
    np.testing.assert_allclose(lattice.nearest(error), 0.0, atol=1e-12)  # in the Voronoi cell
    assert abs((error**2).mean() / lattice.second_moment - 1.0) < 0.02
    corr = np.corrcoef(np.hstack([error, y]).T)[:8, 8:]
    assert np.abs(corr).max() < 0.04
    # even for one fixed input the error is uniform over the cell (without dither it would be constant)
    fixed = np.repeat(y[:1], 20_000, axis=0)
    u = model.shared_dither(r, len(fixed), rng)
    error = lattice.from_coords(lattice.nearest_coords(fixed - u)) + u - fixed
    assert abs((error**2).mean() / lattice.second_moment - 1.0) < 0.02
    assert np.abs(error.mean(axis=0)).max() < 0.01


@pytest.mark.parametrize("name, width, scale", [("Z2", 12.0, 0.5), ("A2", 12.0, 0.5), ("D4", 6.0, 0.5),
                                                ("E8", 2.0, 0.1)])
def test_box_pmf_sums_to_one_over_lattice_points(name, width, scale):
    lattice = by_name(name)
    torch.manual_seed(0)
    prior = FactorizedPrior(lattice.dim, init_scale=scale)  # densities narrow enough for the enumerated cube
    points = lattice.from_coords(covering_coords(lattice, width))
    for shift in (np.zeros(lattice.dim), np.random.default_rng(1).uniform(-0.5, 0.5, lattice.dim)):
        with torch.no_grad():
            bits = prior.box_bits(torch.from_numpy(points + shift), lattice)
        total = float(torch.exp2(-bits.double()).sum())
        assert abs(total - 1.0) < 2e-3, total


def test_voronoi_estimate_equals_box_for_the_integer_lattice():
    lattice = by_name("Z4")
    prior = FactorizedPrior(4, init_scale=3.0)
    centers = torch.from_numpy(lattice.from_coords(np.random.default_rng(0).integers(-3, 4, size=(50, 4))))
    with torch.no_grad():
        box = prior.box_bits(centers, lattice)
        mc = prior.voronoi_bits(centers, lattice, 4000, np.random.default_rng(1))
    np.testing.assert_allclose(mc.numpy(), box.numpy(), atol=0.02)


@pytest.mark.parametrize("lattice, loss", [("Z1", 0.2546), ("E8", 0.1456)])
def test_untrained_sd_construction_is_within_the_space_filling_loss(lattice, loss):
    """The seed's constructive SD-LTC for N(0,1) at P = 0: identity analysis, lattice with second moment
    η², linear synthesis. At high rate its rate exceeds R(D,0) by about the lattice's space-filling loss."""
    distortion = 0.02
    c = theory.sd_construction(distortion, 0.0)
    model = _model(lattice if lattice != "Z1" else "Z1", 8, 8)
    sigma_lattice = math.sqrt(model.lattice.second_moment)
    alpha = math.sqrt(c.lattice_second_moment) / sigma_lattice  # lattice α·Λ has second moment η²
    with torch.no_grad():
        model.analysis.weight.copy_(torch.eye(8) / alpha)
        model.analysis.bias.zero_()
        model.synthesis.weight.copy_(torch.eye(8) * c.synthesis_gain * alpha)
        model.synthesis.bias.zero_()
    model.prior = GaussianPrior(torch.full((8,), 1.0 / alpha))
    source = source_by_name("gaussian:8")
    x = torch.from_numpy(source.test_set(20_000))
    rec = model.reconstruct(x, Randomness.parse("sd"), np.random.default_rng(0))
    mse = float(((x - rec.x_hat) ** 2).mean())
    rate = float(rec.bits.mean()) / 8
    assert abs(mse / distortion - 1.0) < 0.03
    assert abs(float(rec.x_hat.var()) - 1.0) < 0.03  # P = 0: the output has the source's variance
    gap = rate - float(theory.rdp_zero_perception(mse))
    assert abs(gap - loss) < 0.04, gap


def _tiny(**changes) -> TrainConfig:
    base = TrainConfig(source="gaussian:8", lattice="E8", randomness="sd", lambda_mse=4.0, lambda_perception=10.0,
                       epochs=2, steps_per_epoch=60, batch_size=256, test_size=2000, seed=3)
    return dataclasses.replace(base, **changes)


def test_two_epochs_lower_the_loss(tmp_path):
    seen = []
    config = _tiny()
    card = train(config, tmp_path / "run", tmp_path / "m", "m",
                 report=lambda p: seen.append(p.rate + config.lambda_mse * p.mse))
    assert np.mean(seen[-20:]) < 0.6 * np.mean(seen[:20])
    assert card.metrics[0].randomness == "sd" and card.sha256


def test_interrupted_training_resumes_to_the_same_weights(tmp_path):
    config = _tiny()
    straight = train(config, tmp_path / "a", tmp_path / "a" / "m", "m")
    resumed = interrupted_then_resumed(config, tmp_path / "b", epoch=1, step=5)
    assert resumed.sha256 == straight.sha256


def test_a_run_dir_refuses_other_settings(tmp_path):
    train(_tiny(epochs=1), tmp_path / "run", tmp_path / "m", "m")
    with pytest.raises(LtcError, match="other settings"):
        train(_tiny(epochs=1, lambda_mse=1.0), tmp_path / "run", tmp_path / "m2", "m2")


def test_saved_model_reloads_to_identical_outputs(tmp_path):
    card = train(_tiny(epochs=1, randomness="nesting3"), tmp_path / "run", tmp_path / "m", "m")
    model, loaded = modelio.load(tmp_path / "m.json")
    assert loaded == card
    again, _ = modelio.load(tmp_path / "m")
    x = torch.from_numpy(source_by_name("gaussian:8").test_set(100))
    r = Randomness.parse("nesting3")
    a = model.reconstruct(x, r, np.random.default_rng(9))
    b = again.reconstruct(x, r, np.random.default_rng(9))
    np.testing.assert_array_equal(a.coords, b.coords)
    assert torch.equal(a.x_hat, b.x_hat) and torch.equal(a.bits, b.bits)
    # the card's figures are those of the stored (float16) weights
    from ltccodec.lab.evaluate import evaluate
    assert evaluate(model, source_by_name("gaussian:8"), r, card.metrics[0].vectors) == card.metrics[0]


def test_corrupt_model_file_is_refused(tmp_path):
    train(_tiny(epochs=1), tmp_path / "run", tmp_path / "m", "m")
    data = bytearray((tmp_path / "m.safetensors").read_bytes())
    data[-3] ^= 0xFF
    (tmp_path / "m.safetensors").write_bytes(bytes(data))
    with pytest.raises(LtcError, match="does not match the SHA-256 in its card"):
        modelio.load(tmp_path / "m")


@pytest.mark.parametrize("kind, n, latent", [(TransformKind.MLP, 16, 8), (TransformKind.CONV28, 784, 8)])
def test_other_transforms_have_the_right_shapes(kind, n, latent):
    from ltccodec.lab.transforms import build

    analysis, synthesis = build(TransformConfig(kind, n, latent))
    x = torch.randn(5, n)
    y = analysis(x)
    assert y.shape == (5, latent) and synthesis(y).shape == (5, n)
