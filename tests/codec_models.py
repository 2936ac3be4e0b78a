"""Small untrained models for codec tests: a codec does not care whether a model is good."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ltccodec.coding import FrameDither, distance
from ltccodec.coding.tables import quantize_pmf
from ltccodec.lab import distance_fit, modelio
from ltccodec.lab.ltc import LTCModel, ModelConfig
from ltccodec.lab.prior import FactorizedPrior, freeze_tables
from ltccodec.lab.transforms import TransformConfig, TransformKind
from ltccodec.media.framing import Framing
from ltccodec.runtime import modelfile

SPECS = {"test-z": ("Z1", 4, 4), "test-e8": ("E8", 8, 8), "test-bw16": ("BW16", 16, 16), "test-leech": ("Leech", 8, 24),
         "test-e8x": ("E8", 8, 8)}
DISTANCED = {"test-e8x"}  # code with the distance code (two shells), at a low rate


def make_model(directory: Path, name: str, seed: int = 0, spec: str | None = None,
               randomness: str = "sd") -> modelfile.ModelCard:
    lattice, n, latent = SPECS[spec or name]
    low_rate = (spec or name) in DISTANCED
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = LTCModel(ModelConfig(TransformConfig(TransformKind.LINEAR, n, latent), lattice,
                                     coder="distance" if low_rate else "box"))
        # latents a few cells wide, so every mode codes a few bits per value; a prior narrower than the
        # latents, so some values take the escape path; small tables keep the golden files small. The distance
        # coded model's latents are a fraction of a cell wide around the prior's mode, where its candidates are.
        model.prior = FactorizedPrior(latent, init_scale=0.3 if low_rate else 2.0)
        with torch.no_grad():
            model.analysis.weight.mul_(0.5 if low_rate else 3.0)  # some escape
            if low_rate:  # latent and prior both centred on 0, where the anchor is
                model.analysis.bias.zero_()
                for bias in model.prior.biases:
                    bias.zero_()
    modelio.round_weights(model)
    if low_rate:  # fitted as training fits it, under SD's dither grid
        rng = np.random.default_rng(seed)
        x = rng.normal(size=(8192, n)).astype(np.float32)
        u, dither = FrameDither.drawn(model.lattice, len(x), 1 << 16, rng)
        frames = [(distance.frame_candidates(freeze_tables(model.prior, model.lattice), model.lattice, dither),
                   model.to_symbols(torch.from_numpy(x), u))]
        model.distance_table = distance_fit.fit(frames, model.lattice, shells=2)
    training = modelfile.Training(randomness, 1.0, 0.0, 0, 0, seed, 0.0, "tests/codec_models.py")
    card = modelio.card_for(model, name, f"gaussian:{n}", training)
    return modelio.save(model, card, directory / name)


AUDIO_FRAMING = Framing(hop=16, gain_steps=1, gain_min=-17, gain_max=2, bands=(4, 8, 16))


def make_audio_model(directory: Path, name: str, seed: int = 0, randomness: str = "none") -> modelfile.ModelCard:
    """A small audio model (MDCT frames of 16 coefficients in three gain bands, BW16, cell means on decode)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        config = TransformConfig(TransformKind.DIAGONAL, 16, 16, width=16, centroid=True)
        model = LTCModel(ModelConfig(config, "BW16"))
        model.prior = FactorizedPrior(16, init_scale=2.0)
        with torch.no_grad():
            model.analysis.log_scale.fill_(2.0)
            model.synthesis.log_scale.fill_(-2.0)
    modelio.round_weights(model)
    deltas = np.arange(2 * AUDIO_FRAMING.gain_symbols - 1) - (AUDIO_FRAMING.gain_symbols - 1)
    pmf = np.exp(-np.abs(deltas))  # gains mostly stay put from frame to frame, as in speech
    model.gain_counts = quantize_pmf(np.tile(pmf / pmf.sum(), (AUDIO_FRAMING.band_count, 1)))
    training = modelfile.Training(randomness, 1.0, 0.0, 0, 0, seed, 0.0, "tests/codec_models.py")
    card = modelio.card_for(model, name, "speech", training, framing=AUDIO_FRAMING)
    return modelio.save(model, card, directory / name)


def make_image_model(directory: Path, name: str, seed: int = 0, randomness: str = "sd") -> modelfile.ModelCard:
    """A small untrained digits-shaped model: 28×28 grayscale through conv28 transforms to an E8 latent."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = LTCModel(ModelConfig(TransformConfig(TransformKind.CONV28, 784, 8, channels=4), "E8"))
        model.prior = FactorizedPrior(8, init_scale=2.0)
    modelio.round_weights(model)
    training = modelfile.Training(randomness, 1.0, 0.0, 0, 0, seed, 0.0, "tests/codec_models.py")
    card = modelio.card_for(model, name, "digits", training)
    return modelio.save(model, card, directory / name)
