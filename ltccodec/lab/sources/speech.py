"""The ``speech`` source: real recordings of one speaker (Allison Smith's Asterisk prompts, CC-BY-SA-3.0), from
the Debian package ``asterisk-core-sounds-en-wav`` — about 25 minutes of 8 kHz 16-bit mono speech.

`prepare` (``ltc data speech``) reads the installed package, leaves out what is not speech (``silence/``,
beeps, tones, ``tt-monkeys``), splits by file with a fixed seed and caches both splits as int16 arrays with a
manifest. `SpeechSource` serves MDCT frames of the cache (`framing`) for training and evaluation.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ltccodec.errors import LtcError
from ltccodec.media.framing import Framing, to_vectors

PACKAGE = "asterisk-core-sounds-en-wav"
SOUNDS_DIRS = (Path("/usr/share/asterisk/sounds/en_US_f_Allison"), Path("/usr/share/asterisk/sounds/en"))
LICENCE = "CC-BY-SA-3.0; recorded by Allison Smith for the Asterisk core sounds, Digium, Inc."
NOT_SPEECH_FILES = frozenset({"beep.wav", "beeperr.wav", "ascending-2tone.wav", "descending-2tone.wav"})
SPLIT_SEED = 8000
TEST_FRACTION = 0.1
DATA_ENV = "LTC_DATA"
# The framings of the speech sources: one gain per frame (3 dB steps), or one per band of eight (6 dB steps) whose
# edges grow geometrically from 4 coefficients (167 Hz) to 96 (4 kHz), so dither noise follows the envelope.
FRAMINGS = {"speech": Framing(),
            "speech:bands8": Framing(gain_steps=1, gain_min=-17, gain_max=2, bands=(4, 6, 10, 16, 25, 39, 61, 96))}


def cache_dir() -> Path:
    """Where prepared data lives: ``$LTC_DATA`` or ``~/.cache/ltccodec``."""
    return Path(os.environ.get(DATA_ENV) or Path.home() / ".cache" / "ltccodec")


def find_sounds() -> Path:
    for folder in SOUNDS_DIRS:
        if any(folder.glob("*.wav")):
            return folder
    raise LtcError(f"no recordings found in {SOUNDS_DIRS[0]}: install them with `apt-get install {PACKAGE}`")


def speech_files(folder: Path) -> list[str]:
    """Relative paths of the speech recordings under ``folder``, sorted."""
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.wav"))
    return [n for n in names if not n.startswith("silence/") and n not in NOT_SPEECH_FILES and "tt-monkeys" not in n]


def split(names: list[str], seed: int = SPLIT_SEED) -> tuple[list[str], list[str]]:
    """(train, test) file lists: a seeded permutation, the first ``TEST_FRACTION`` of it for test."""
    order = np.random.default_rng(seed).permutation(len(names))
    test_count = max(1, round(TEST_FRACTION * len(names)))
    test = sorted(names[i] for i in order[:test_count])
    train = sorted(names[i] for i in order[test_count:])
    return train, test


def prepare(out: Path | None = None, folder: Path | None = None) -> Path:
    """Read, split and cache the recordings; returns the cache folder (``<cache>/speech``)."""
    import soundfile

    folder = folder or find_sounds()
    out = (out or cache_dir()) / "speech"
    out.mkdir(parents=True, exist_ok=True)
    names = speech_files(folder)
    if not names:
        raise LtcError(f"no speech recordings in {folder}")
    manifest: dict[str, object] = {"source": f"Debian package {PACKAGE}", "folder": str(folder), "licence": LICENCE,
                                   "split_seed": SPLIT_SEED, "test_fraction": TEST_FRACTION, "sample_rate": 8000}
    for part, files in zip(("train", "test"), split(names), strict=True):
        clips = []
        for name in files:
            data, rate = soundfile.read(folder / name, dtype="int16", always_2d=True)
            if rate != 8000:
                raise LtcError(f"{folder / name}: {rate} Hz, expected 8000")
            clips.append(data[:, 0])
        offsets = np.cumsum([0] + [len(c) for c in clips]).astype(np.int64)
        np.save(out / f"{part}-samples.npy", np.concatenate(clips))
        np.save(out / f"{part}-offsets.npy", offsets)
        manifest[part] = {"files": files, "seconds": float(offsets[-1]) / 8000}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return out


def describe(folder: Path | None = None) -> str:
    """Where the speech data came from and how it was split (from the cache's manifest)."""
    manifest = json.loads(((folder or cache_dir() / "speech") / "manifest.json").read_text())
    return (f"{manifest['source']} ({manifest['licence']}): split by file with seed {manifest['split_seed']}, "
            f"train {len(manifest['train']['files'])} files / {manifest['train']['seconds'] / 60:.1f} min, "
            f"test {len(manifest['test']['files'])} files / {manifest['test']['seconds'] / 60:.1f} min")


def load_split(part: str, folder: Path | None = None) -> list[np.ndarray]:
    """The clips of one split (float64 in [-1, 1)), as prepared by `prepare`."""
    folder = folder or cache_dir() / "speech"
    try:
        samples = np.load(folder / f"{part}-samples.npy")
        offsets = np.load(folder / f"{part}-offsets.npy")
    except FileNotFoundError:
        raise LtcError("speech data not prepared: run `ltc data speech` first") from None
    audio = samples.astype(np.float64) / 32768.0
    return [audio[a:b] for a, b in zip(offsets[:-1], offsets[1:], strict=True)]


def frames_of(clips: list[np.ndarray], framing: Framing) -> tuple[np.ndarray, list[np.ndarray]]:
    """Normalized MDCT vectors ``[F, hop]`` of every clip, concatenated, and each clip's gain indices."""
    pairs = [to_vectors(c, framing) for c in clips]
    return np.concatenate([p[0] for p in pairs]), [p[1] for p in pairs]


@dataclass(frozen=True, eq=False)
class SpeechSource:
    """Normalized MDCT frames of the train and test recordings."""

    name: str
    dim: int
    train: np.ndarray  # float32 [F_train, hop]
    test: np.ndarray  # float32 [F_test, hop]
    train_gains: list[np.ndarray]  # int64 gain indices of each training clip
    framing: Framing
    test_clips: list[np.ndarray]  # float64 waveforms of the test recordings

    @classmethod
    def load(cls, name: str = "speech", framing: Framing | None = None, folder: Path | None = None) -> SpeechSource:
        framing = framing or FRAMINGS[name]
        train, gains = frames_of(load_split("train", folder), framing)
        clips = load_split("test", folder)
        test, _ = frames_of(clips, framing)
        return cls(name, framing.hop, train, test, gains, framing, clips)

    @property
    def gaussian(self) -> bool:
        return False

    @property
    def description(self) -> str:
        return describe()

    def sample(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """float32 ``[count, hop]`` training frames drawn with replacement."""
        return self.train[rng.integers(0, len(self.train), size=count)]

    def test_set(self, count: int) -> np.ndarray:
        """float32 ``[min(count, F_test), hop]``: a fixed, evenly spaced subset of the test frames."""
        if count >= len(self.test):
            return self.test
        return self.test[np.linspace(0, len(self.test) - 1, count).astype(np.int64)]
