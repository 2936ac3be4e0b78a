"""What a batch run is made of: the `Job` every file of a run shares and the `Task` of one file. Used by the runner
(`batch`) and by the parts of large arrays (`split`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ltccodec.keyed import Key

SPLIT_VECTORS = 1 << 20


@dataclass(frozen=True)
class Task:
    """One file to code: absolute source, its path relative to the input root (the manifest key), the output
    path relative to the output folder, and what makes the run reproducible."""

    src: str
    rel: str
    dst: str
    nonce: bytes | None = None  # encode: derived from --seed and rel
    seed: int | None = None  # decode: the private dither's seed, derived likewise


@dataclass(frozen=True)
class Job:
    """What every task of a run shares. ``settings()`` is what decides the outputs (kept in the manifest)."""

    verb: str
    out: str  # output folder (absolute)
    model: str | None = None
    randomness: str | None = None
    bitrate: float | None = None
    quality: int | None = None
    key: Key | None = None
    seed: int | None = None
    verify: bool = False
    max_output_bytes: int | None = None
    split_vectors: int = SPLIT_VECTORS  # arrays with more vectors are coded in parts by all workers (`split`)

    def settings(self) -> dict[str, object]:
        key = None if self.key is None else hashlib.sha256(b"ltc-batch-key" + self.key.secret).hexdigest()[:16]
        return {"verb": self.verb, "model": self.model, "randomness": self.randomness, "bitrate": self.bitrate,
                "quality": self.quality, "key": key, "seed": self.seed, "split_vectors": self.split_vectors}
