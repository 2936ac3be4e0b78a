"""Shared fixtures: seeded randomness only."""

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator, fresh for each test."""
    return np.random.default_rng(12345)


KERNEL_MODES = ("compiled", "reference")


@pytest.fixture(params=KERNEL_MODES)
def kernels_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs the test twice: with the compiled kernels (``LTC_KERNELS=1``; skipped when `kernels.built()` is false)
    and on the numpy/constriction reference (``LTC_KERNELS=0``). `kernels.active()` reads the variable on every
    call, so the switch holds for everything the test does, subprocesses included (they inherit the environment).
    Yields the mode's name."""
    from ltccodec import kernels

    mode = request.param
    if mode == "compiled":
        if not kernels.built():
            pytest.skip("the compiled kernels (ltccodec/_kernels.c) are not built in this install, or are stale")
        monkeypatch.setenv("LTC_KERNELS", "1")
        assert kernels.active() is not None
    else:
        monkeypatch.setenv("LTC_KERNELS", "0")
        assert kernels.active() is None
    return mode
