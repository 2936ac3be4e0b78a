"""The i.i.d. Gaussian source ``gaussian:<n>``: N(0, 1) vectors, the seed paper's synthetic benchmark."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TEST_SEED = 2_503_17558  # fixed: every model of a source is scored on the same test vectors


@dataclass(frozen=True)
class GaussianSource:
    """``dim``-dimensional vectors with variance ``variance`` per coordinate."""

    name: str
    dim: int
    variance: float = 1.0

    def sample(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """float32 ``[count, dim]`` training vectors."""
        return rng.normal(0.0, np.sqrt(self.variance), size=(count, self.dim)).astype(np.float32)

    def test_set(self, count: int) -> np.ndarray:
        """float32 ``[count, dim]``: the same vectors every call."""
        return self.sample(count, np.random.default_rng(TEST_SEED))

    @property
    def gaussian(self) -> bool:
        return True

    @property
    def description(self) -> str:
        return f"i.i.d. N(0, {self.variance:g}) vectors of {self.dim}; test set: seed {TEST_SEED}"
