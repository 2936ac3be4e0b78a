"""The coder's numpy forward passes against the torch model they replace, and the codec without torch."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from ltccodec.lab import modelio
from ltccodec.lab.ltc import LTCModel, ModelConfig
from ltccodec.lab.prior import FactorizedPrior
from ltccodec.lab.transforms import TransformConfig, TransformKind
from ltccodec.randomness import Randomness
from ltccodec.runtime import inference, modelfile


def _save(tmp_path, kind: TransformKind, lattice: str, n: int, latent: int, centroid: bool):
    with torch.random.fork_rng():
        torch.manual_seed(3)
        model = LTCModel(ModelConfig(TransformConfig(kind, n, latent, width=32, channels=6, centroid=centroid),
                                     lattice))
        model.prior = FactorizedPrior(latent, init_scale=3.0)
        with torch.no_grad():  # move every parameter off its initial value, so each one is checked
            for p in model.parameters():
                p.add_(0.1 * torch.randn_like(p))
    modelio.round_weights(model)
    card = modelio.card_for(model, "t", f"gaussian:{n}", modelfile.Training("pd", 1, 0, 0, 0, 0, 0, ""))
    modelio.save(model, card, tmp_path / "t")
    return modelio.load(tmp_path / "t")[0], inference.NumpyModel(modelfile.read_verified(tmp_path / "t"))


@pytest.mark.parametrize("kind, lattice, n, latent, centroid", [
    (TransformKind.LINEAR, "E8", 8, 8, False), (TransformKind.MLP, "BW16", 12, 16, False),
    (TransformKind.DIAGONAL, "BW16", 32, 32, True), (TransformKind.DIAGONAL, "Z1", 4, 4, True),
    (TransformKind.CONV28, "E8", 784, 8, False)])
def test_numpy_model_matches_the_torch_model(tmp_path, rng, kind, lattice, n, latent, centroid):
    reference, fast = _save(tmp_path, kind, lattice, n, latent, centroid)
    x = rng.normal(size=(500, n)).astype(np.float32)
    randomness = Randomness.parse("nesting3")
    shared = reference.shared_dither(randomness, len(x), rng)
    private = reference.private_dither(randomness, len(x), rng)
    coords = reference.to_symbols(torch.from_numpy(x), shared)
    same = fast.to_symbols(x, shared) == coords
    assert same.all(axis=1).mean() > 0.998  # only points on a cell boundary may differ, in the last bit
    expected = reference.from_symbols(coords, shared, private).numpy()
    np.testing.assert_allclose(fast.from_symbols(coords, shared, private), expected, rtol=1e-4, atol=1e-5)
    assert fast.dither_scale == pytest.approx(float(reference.dither_scale.detach()), rel=1e-6)


def test_numpy_centroid_moves_toward_the_prior(tmp_path, rng):
    reference, fast = _save(tmp_path, TransformKind.DIAGONAL, "Z1", 4, 4, True)
    centers = rng.normal(scale=2.0, size=(100, 4))
    mean = fast.prior.box_centroids(centers, fast.lattice)
    expected = reference.prior.box_centroids(torch.from_numpy(centers), reference.lattice).numpy()
    np.testing.assert_allclose(mean, expected, atol=1e-9)
    assert np.all(np.abs(mean - centers) <= 0.5)  # inside the unit cell around each center
    assert not np.allclose(mean, centers)


def test_encode_and_decode_never_import_torch(tmp_path):
    code = ("import sys, numpy as np, ltccodec; from ltccodec import codec; "
            "x = np.random.default_rng(0).normal(size=(64, 8)).astype(np.float32); "
            "y = codec.decode(codec.encode(x, 'gaussian8-e8-sd-l2m', 'sd')); "
            "assert y.shape == x.shape; print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
