"""`labruns`: how `ltc train` merges a JSON file with its flags, and what it refuses before training."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ltccodec.errors import UsageError
from ltccodec.lab import runs as labruns
from ltccodec.lab.train import TrainConfig


def test_flags_override_the_file_and_unset_flags_keep_it(tmp_path: Path) -> None:
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"lattice": "D4", "epochs": 3, "source": "gaussian:4"}))
    merged = labruns.settings(config, {"lattice": "E8", "epochs": None, "lr": 0.5, "seed": 0})
    assert (merged.lattice, merged.epochs, merged.source) == ("E8", 3, "gaussian:4")
    assert merged.learning_rate == 0.5 and merged.seed == 0
    assert labruns.settings(None, {}) == TrainConfig()


def test_unknown_settings_are_one_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown training settings: anchor"):
        labruns.settings(None, {"anchor": True})
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"rank": True}))
    with pytest.raises(UsageError, match="unknown training settings: rank"):
        labruns.settings(config, {})


def test_an_existing_model_file_is_kept_without_force(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text("{}")
    with pytest.raises(UsageError, match="--force"):
        labruns.train_model(TrainConfig(), "m", tmp_path)
    assert (tmp_path / "m.json").read_text() == "{}" and not (tmp_path / "runs").exists()
