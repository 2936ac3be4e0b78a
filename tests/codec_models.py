"""Small untrained models for codec tests: a codec does not care whether a model is good."""

from __future__ import annotations

from pathlib import Path

import torch

from ltccodec import modelfile
from ltccodec.ltc import LTCModel, ModelConfig
from ltccodec.prior import FactorizedPrior
from ltccodec.transforms import TransformConfig, TransformKind

SPECS = {"test-z": ("Z1", 4, 4), "test-e8": ("E8", 8, 8), "test-bw16": ("BW16", 16, 16), "test-leech": ("Leech", 8, 24)}


def make_model(directory: Path, name: str, seed: int = 0, spec: str | None = None,
               randomness: str = "sd") -> modelfile.ModelCard:
    lattice, n, latent = SPECS[spec or name]
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = LTCModel(ModelConfig(TransformConfig(TransformKind.LINEAR, n, latent), lattice))
        # latents a few cells wide, so every mode codes a few bits per value; a prior narrower than the
        # latents, so some values take the escape path; small tables keep the golden files small
        model.prior = FactorizedPrior(latent, init_scale=2.0)
        with torch.no_grad():
            model.analysis.weight.mul_(3.0)
    modelfile.round_weights(model)
    training = modelfile.Training(randomness, 1.0, 0.0, 0, 0, seed, 0.0, "tests/codec_models.py")
    card = modelfile.card_for(model, name, f"gaussian:{n}", training)
    return modelfile.save(model, card, directory / name)
