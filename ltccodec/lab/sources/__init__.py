"""Training and test data by name, one module per data set: ``gaussian:<n>`` (i.i.d. N(0, 1) vectors) and
``speech`` / ``speech:bands8`` (MDCT frames of real recordings with one gain per frame or per band; see
`sources.speech`), ``digits`` (MNIST, `sources.digits`) and ``physics`` (Pythia Z -> ee events, `sources.physics`).

Every source has a ``name``, a vector dimension ``dim``, seeded training batches (`sample`) and a fixed test
set (`test_set`). Used by `train`, `evaluate` and the benchmarks; nothing here knows a codec.
"""

from __future__ import annotations

import re
from typing import Protocol

import numpy as np

from ltccodec.errors import UsageError


class Source(Protocol):
    name: str
    dim: int

    @property
    def gaussian(self) -> bool: ...

    @property
    def description(self) -> str: ...

    def sample(self, count: int, rng: np.random.Generator) -> np.ndarray: ...

    def test_set(self, count: int) -> np.ndarray: ...


def source_by_name(name: str) -> Source:
    """A source from its name: ``gaussian:<n>`` or ``speech`` (prepared with ``ltc data speech``)."""
    text = name.strip().lower()
    match = re.fullmatch(r"gaussian:(\d+)", text)
    if match and 1 <= int(match.group(1)) <= 4096:
        from ltccodec.lab.sources.gaussian import GaussianSource

        return GaussianSource(f"gaussian:{int(match.group(1))}", int(match.group(1)))
    if text == "digits":
        from ltccodec.lab.sources.digits import DigitsSource

        return DigitsSource.load(text)
    if text == "physics":
        from ltccodec.lab.sources.physics import PhysicsSource

        return PhysicsSource.load(text)
    if text in ("speech", "speech:bands8"):
        from ltccodec.lab.sources.speech import FRAMINGS, SpeechSource

        return SpeechSource.load(text, FRAMINGS[text])
    raise UsageError(f"unknown data source {name!r}; available: gaussian:<n>, speech, speech:bands8, digits, physics")
