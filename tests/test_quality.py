"""Quality bands: the shipped Gaussian models, every randomness mode and lattice, must decode to the distortion
and cost the rate measured when they were shipped (4,096 seeded vectors, fixed nonce). A decoder that drops,
subtracts or misplaces the shared dither, or forgets the private dither, lands far outside these bands.

Bands are the measured value ±2 % (MSE, over four private-dither seeds) and ±1 % (bits per value)."""

from __future__ import annotations

import numpy as np
import pytest

from ltccodec import codec
from ltccodec.runtime import inference, registry

# model: (bits per value of the whole stream, MSE) measured with `_code` below
BANDS = {
    "gaussian8-z1-none-l2": (1.300, 0.2633),
    "gaussian8-z1-pd-l2": (1.294, 0.2830),
    "gaussian8-z1-1bits-l2": (1.298, 0.2673),
    "gaussian8-z1-nesting3-l2": (1.292, 0.2687),
    "gaussian8-z1-sd-l2": (1.296, 0.2680),
    "gaussian8-e8-none-l2": (1.218, 0.2549),
    "gaussian8-e8-pd-l2": (1.200, 0.2843),
    "gaussian8-e8-1bits-l2": (1.226, 0.2580),
    "gaussian8-e8-nesting3-l2": (1.219, 0.2574),
    "gaussian8-e8-sd-l2m": (1.220, 0.2564),  # measured tables
    "gaussian16-bw16-pd-l2": (1.290, 0.2170),
    "gaussian16-bw16-nesting3-l2": (1.285, 0.2180),
    "gaussian16-bw16-sd-l2": (1.276, 0.2192),
    "gaussian24-leech-pd-l2": (1.496, 0.1540),
    "gaussian24-leech-nesting3-l2": (1.493, 0.1535),
    "gaussian24-leech-sd-l2": (1.490, 0.1534),
}


def _code(name: str) -> tuple[np.ndarray, bytes]:
    loaded = registry.by_name(name)
    x = np.random.default_rng(7).normal(size=(4096, loaded.card.source_dim)).astype(np.float32)
    return x, codec.encode(x, loaded, name.split("-")[2], nonce=bytes(16))


def _mse(x: np.ndarray, data: bytes, seed: int) -> float:
    return float(np.mean((codec.decode(data, seed=seed) - x) ** 2))


@pytest.mark.parametrize("name", list(BANDS))
def test_rate_and_distortion_inside_the_measured_band(name):
    bits, mse = BANDS[name]
    x, data = _code(name)
    assert 8 * len(data) / x.size == pytest.approx(bits, rel=0.01)
    for seed in range(2):
        assert _mse(x, data, seed) == pytest.approx(mse, rel=0.02)


@pytest.mark.parametrize("name", ["gaussian8-z1-1bits-l2", "gaussian8-e8-sd-l2m", "gaussian24-leech-nesting3-l2"])
def test_the_band_catches_a_decoder_that_subtracts_the_shared_dither(name, monkeypatch):
    x, data = _code(name)
    honest = inference.NumpyModel.from_symbols
    monkeypatch.setattr(inference.NumpyModel, "from_symbols",
                        lambda self, coords, shared, private: honest(self, coords, -shared, private))
    assert _mse(x, data, 0) > 2.5 * BANDS[name][1]


@pytest.mark.parametrize("name", ["gaussian8-z1-pd-l2", "gaussian8-e8-pd-l2"])
def test_the_band_catches_a_decoder_that_drops_the_private_dither(name, monkeypatch):
    x, data = _code(name)
    honest = inference.NumpyModel.from_symbols
    monkeypatch.setattr(inference.NumpyModel, "from_symbols",
                        lambda self, coords, shared, private: honest(self, coords, shared, None))
    assert _mse(x, data, 0) < 0.98 * BANDS[name][1]
