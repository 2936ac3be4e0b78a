"""Training and test data by name: ``gaussian:<n>`` (i.i.d. N(0, 1) vectors). Real sets join here.

A `Source` draws training batches from a seeded generator and has a fixed, separately seeded test set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ltccodec.errors import UsageError

_TEST_SEED = 2_503_17558  # fixed: every model of a source is scored on the same test vectors


@dataclass(frozen=True)
class Source:
    """A named data source of ``dim``-dimensional float vectors with variance ``variance`` per coordinate."""

    name: str
    dim: int
    variance: float = 1.0

    def sample(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """float32 ``[count, dim]`` training vectors."""
        return rng.normal(0.0, np.sqrt(self.variance), size=(count, self.dim)).astype(np.float32)

    def test_set(self, count: int) -> np.ndarray:
        """float32 ``[count, dim]``: the same vectors every call."""
        return self.sample(count, np.random.default_rng(_TEST_SEED))

    @property
    def gaussian(self) -> bool:
        return self.name.startswith("gaussian")


def source_by_name(name: str) -> Source:
    match = re.fullmatch(r"gaussian:(\d+)", name.strip().lower())
    if match and 1 <= int(match.group(1)) <= 4096:
        return Source(f"gaussian:{int(match.group(1))}", int(match.group(1)))
    raise UsageError(f"unknown data source {name!r}; available: gaussian:<n>")
