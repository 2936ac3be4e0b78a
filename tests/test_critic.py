"""The image perception term: a WGAN-GP critic's Wasserstein estimate, and training with it (checkpointed with
the codec, so an interrupted run resumes to the same weights). Uses a tiny stand-in for the digits cache."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ltccodec.lab.critic import wasserstein_estimate
from ltccodec.lab.train import TrainConfig, train

from .resume import interrupted_then_resumed


def _blobs(count: int, seed: int, shift: int = 0) -> np.ndarray:
    """Bright squares at random places on a dark 28×28 field, uint8."""
    rng = np.random.default_rng(seed)
    images = np.zeros((count, 28, 28), dtype=np.uint8)
    for image, (r, c) in zip(images, rng.integers(4, 18, size=(count, 2)), strict=True):
        image[r + shift:r + shift + 6, c:c + 6] = 220
    return images


def test_the_critic_tells_unlike_sets_apart_and_like_sets_not():
    real = torch.from_numpy(_blobs(512, 1).reshape(512, -1) / 255.0).float()
    like = torch.from_numpy(_blobs(512, 2).reshape(512, -1) / 255.0).float()
    blank = torch.zeros_like(real)
    near = wasserstein_estimate(real, like, steps=150, batch=128)
    far = wasserstein_estimate(real, blank, steps=150, batch=128)
    assert far > 5 * max(near, 0.05), (near, far)


@pytest.fixture
def tiny_digits(tmp_path, monkeypatch):
    folder = tmp_path / "data" / "digits"
    folder.mkdir(parents=True)
    for part, count, seed in (("train", 400, 3), ("test", 100, 4)):
        np.savez_compressed(folder / f"{part}.npz", images=_blobs(count, seed), labels=np.zeros(count, dtype=np.int64))
    (folder / "manifest.json").write_text(json.dumps({"train": 400, "test": 100}))
    monkeypatch.setenv("LTC_DATA", str(tmp_path / "data"))


def test_critic_training_resumes_to_the_same_weights(tiny_digits, tmp_path):
    config = TrainConfig(source="digits", lattice="E8", randomness="sd", transform="conv28", latent=8,
                         lambda_mse=20.0, lambda_perception=0.05, perception="critic", epochs=2, steps_per_epoch=4,
                         batch_size=16, learning_rate=2e-3, final_learning_rate=5e-4, test_size=100, channels=4,
                         critic_eval_steps=5)
    straight = train(config, tmp_path / "a", tmp_path / "a" / "m", "m")
    assert straight.metrics[0].w1 is not None and straight.metrics[0].rate > 0
    resumed = interrupted_then_resumed(config, tmp_path / "b", epoch=1, step=1)
    assert resumed.sha256 == straight.sha256
    assert resumed.metrics == straight.metrics
