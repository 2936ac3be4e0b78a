"""Training interrupted at a given step, then resumed from its checkpoints: shared by the training tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from ltccodec.lab.train import TrainConfig, train
from ltccodec.runtime.modelfile import ModelCard


def interrupted_then_resumed(config: TrainConfig, folder: Path, epoch: int, step: int) -> ModelCard:
    """Train in ``folder``, stop with Ctrl-C at (``epoch``, ``step``), train again: the resumed run's card."""

    def interrupt(p):
        if p.epoch == epoch and p.step == step:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(config, folder, folder / "m", "m", report=interrupt)
    return train(config, folder, folder / "m", "m")
