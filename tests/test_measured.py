"""Coding tables measured on the source (`ltc train --measured-tables`, `coding.box.measure_tables`): stored in the
model file instead of the frozen ones, cheaper on held-out data, and decoded by the codec like any other table."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import numpy as np
import pytest

from ltccodec import codec
from ltccodec.coding import BoxCoder
from ltccodec.keyed import DEFAULT_KEY
from ltccodec.lab import modelio
from ltccodec.lab.prior import freeze_tables
from ltccodec.lab.sources import source_by_name
from ltccodec.lab.train import measured_tables
from ltccodec.randomness import Randomness
from ltccodec.runtime import registry

from .codec_models import make_model


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained E8 model (its prior far from its latent), and the same weights with measured tables."""
    directory = tmp_path_factory.mktemp("measured")
    make_model(directory, "test-e8")
    model, card = modelio.load(directory / "test-e8")
    model.tables = measured_tables(model, source_by_name("gaussian:8"), Randomness.parse("sd"), seed=3, count=16_384)
    model.config = dataclasses.replace(model.config, measured=True)
    modelio.save(model, dataclasses.replace(card, name="test-e8m", measured_tables=True), directory / "test-e8m")
    return directory


@pytest.fixture(scope="module")
def pair(directory: Path) -> tuple[registry.LoadedModel, registry.LoadedModel]:
    return registry.by_name("test-e8", dirs=[directory]), registry.by_name("test-e8m", dirs=[directory])


def _table_bits(loaded: registry.LoadedModel, x: np.ndarray) -> float:
    rand = Randomness.parse("sd")
    u, dither = codec.frame_dither(loaded, rand, DEFAULT_KEY, bytes(16), 0, len(x))
    coords = loaded.model.to_symbols(x, u)
    return loaded.model.coder.bits(coords, dither) / x.size


def test_the_file_holds_the_measured_tables(directory: Path, pair) -> None:
    plain, measured = pair
    assert measured.card.measured_tables and not plain.card.measured_tables
    torch_model, _ = modelio.load(directory / "test-e8m")
    assert np.array_equal(freeze_tables(torch_model.prior, torch_model.lattice).counts, plain.model.tables.counts)
    assert np.array_equal(torch_model.tables.counts, measured.model.tables.counts)  # the torch path reads them too
    assert np.array_equal(measured.model.tables.low, plain.model.tables.low)
    assert np.array_equal(measured.model.tables.size, plain.model.tables.size)
    assert not np.array_equal(measured.model.tables.counts, plain.model.tables.counts)
    measured.model.tables.validate()


def test_measured_tables_code_held_out_data_in_fewer_bits(pair) -> None:
    """The untrained prior is far from the latent: counting the coded symbols saves a lot (measured: 3.36 → 2.94
    bit/value, −12 %); a table filled from the wrong symbols or buckets would not."""
    plain, measured = pair
    x = source_by_name("gaussian:8").test_set(4096)
    before, after = _table_bits(plain, x), _table_bits(measured, x)
    assert after < 0.93 * before


def test_streams_of_a_measured_model_decode(directory: Path, pair) -> None:
    """A stream coded against the measured tables decodes to what the plain model decodes the same points to (same
    weights, same lattice points), at the measured tables' rate; decoding with the plain model is refused."""
    plain, measured = pair
    x = source_by_name("gaussian:8").test_set(3000)
    data = codec.encode(x, measured, "sd", nonce=bytes(range(16)))
    y = codec.decode(data, dirs=[directory])
    same_points = codec.decode(codec.encode(x, plain, "sd", nonce=bytes(range(16))), dirs=[directory])
    np.testing.assert_array_equal(y, same_points)
    payload = sum(len(f.payload) for f in codec.read_frame_table(io.BytesIO(data), dirs=[directory])[1])
    assert abs(8 * payload / x.size - _table_bits(measured, x)) < 0.02  # another dither draw: not exact
    assert len(data) < 0.93 * len(codec.encode(x, plain, "sd", nonce=bytes(range(16))))  # measured: 8,981 vs 10,224


def test_a_measured_model_must_hold_its_tables(directory: Path) -> None:
    model, _ = modelio.load(directory / "test-e8")
    model.config = dataclasses.replace(model.config, measured=True)
    model.tables = None
    with pytest.raises(ValueError, match="must hold them"):
        modelio.weights_bytes(model)


def test_ltc_train_measures_the_tables_when_asked(tmp_path: Path) -> None:
    """`ltc train --measured-tables`, a short run: the card says so, and the file's tables beat the ones frozen
    from the same weights on held-out data."""
    import subprocess
    import sys

    ltc = str(Path(sys.executable).parent / "ltc")
    subprocess.run([ltc, "train", "--source", "gaussian:8", "--lattice", "E8", "--randomness", "sd", "--transform",
                    "linear", "--epochs", "1", "--steps-per-epoch", "60", "--batch-size", "256", "--lambda-mse", "2",
                    "--measured-tables", "--name", "m", "--out-dir", str(tmp_path), "--run-dir",
                    str(tmp_path / "run"), "--quiet"], check=True, capture_output=True)
    measured = registry.by_name("m", dirs=[tmp_path])
    assert measured.card.measured_tables
    model, _ = modelio.load(tmp_path / "m")
    frozen = freeze_tables(model.prior, model.lattice)
    x = source_by_name("gaussian:8").test_set(8192)
    rand = Randomness.parse("sd")
    u, dither = codec.frame_dither(measured, rand, DEFAULT_KEY, bytes(16), 0, len(x))
    coords = measured.model.to_symbols(x, u)
    with_measured = BoxCoder(measured.model.tables, model.lattice).bits(coords, dither)
    with_frozen = BoxCoder(frozen, model.lattice).bits(coords, dither)
    assert with_measured < with_frozen
