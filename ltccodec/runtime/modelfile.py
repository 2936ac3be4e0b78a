"""Model files: weights in safetensors (float16, no pickle) beside a JSON card that says what the model is,
how it was trained, what it measured, and the SHA-256 of the weights.

Reading a file (`read_verified`) needs no torch: the coder's numpy model (`inference`) is built from it directly.
Writing one, and building its torch model, is the lab's (`lab.modelio`)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ltccodec.atomic import write_atomic
from ltccodec.coding import CODERS
from ltccodec.coding import tables as tables_format
from ltccodec.errors import LtcError
from ltccodec.media.framing import Framing

if TYPE_CHECKING:
    from ltccodec.coding import DistanceTable

FORMAT = "ltc-model/1"


@dataclass(frozen=True)
class Metrics:
    """Test-set figures of one model under one randomness setting (rates in bits per source dimension)."""

    randomness: str
    rate: float  # box code length of the coded lattice points (what the coder can reach)
    rate_voronoi: float  # Monte Carlo prior mass of the Voronoi cell (the seed's estimate)
    mse: float  # per source dimension
    sw2: float  # sliced W2² between test vectors and reconstructions (fixed directions)
    w2_gaussian: float | None  # W2² between Gaussian fits (Gaussian sources)
    vectors: int
    kbps: float | None = None  # audio: coded kbit/s (lattice points and gains) on the test recordings
    pesq: float | None = None  # audio: PESQ narrowband on the test recordings
    snr: float | None = None  # audio: SNR in dB on the test recordings
    w1: float | None = None  # images: a fresh WGAN-GP critic's Wasserstein-1 estimate, test images vs decoded


@dataclass(frozen=True)
class Training:
    """How the weights were made."""

    randomness: str
    lambda_mse: float
    lambda_perception: float
    steps: int
    batch_size: int
    seed: int
    seconds: float
    command: str


@dataclass(frozen=True)
class ModelCard:
    name: str
    source: str
    lattice: str  # block lattice; the latent uses lattice^(latent/dim)
    transform: str
    source_dim: int
    latent_dim: int
    width: int
    depth: int
    channels: int
    dither_scale: float
    training: Training
    metrics: tuple[Metrics, ...]
    sha256: str = ""
    format: str = FORMAT
    framing: Framing | None = None  # audio models: how a waveform becomes vectors
    centroid: bool = False  # the decoder uses the prior's mean over each cell (TransformConfig.centroid)
    coder: str = "box"  # how its streams code lattice points: "box" or "distance" (weights hold distance.*)
    measured_tables: bool = False  # the weights hold coding tables measured on the source, not frozen from the prior
    data: str = ""  # where the training and test data came from and how they were split
    # what turns the source's raw values into the coded ones (physics: `sources.physics.Scaling`): "log1p" lists
    # the columns coded as log(1 + value), then each column is (value - mean) / std
    standardize: dict | None = None
    # a newer model that codes the same source at the same quality in fewer bits: this one stays installed so its
    # streams decode, and ladders (--quality, --bitrate) skip it
    superseded_by: str = ""

    @property
    def image(self) -> tuple[int, int, int] | None:
        """(height, width, channels) of the images an image model codes, one image per vector; else None."""
        return (28, 28, 1) if self.transform == "conv28" else None

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ModelCard:
        raw = json.loads(text)
        raw["training"] = Training(**raw["training"])
        raw["metrics"] = tuple(Metrics(**m) for m in raw["metrics"])
        if raw.get("framing") is not None:
            raw["framing"] = Framing(**raw["framing"])
        return cls(**raw)


def stem_of(path: Path) -> Path:
    """The common stem of a model file pair, given either file or the stem (names may contain dots)."""
    return path.with_suffix("") if path.suffix in (".json", ".safetensors") else path


def files_of(path: Path) -> tuple[Path, Path]:
    """(card, weights) paths of the model at ``path``."""
    stem = stem_of(path)
    return stem.parent / f"{stem.name}.json", stem.parent / f"{stem.name}.safetensors"


@dataclass(frozen=True, eq=False)
class Verified:
    """A model file pair read and checked: its card, its float32 weights, its integer tables."""

    card: ModelCard
    weights: dict[str, np.ndarray]  # float32, the torch state dict's names
    tables: tables_format.CodingTables | None
    gain_counts: np.ndarray | None  # int64, audio models
    distance_table: DistanceTable | None = None  # distance-coded models


def read_verified(path: Path) -> Verified:
    """Read a model file pair (``path`` may name either file or their common stem); the SHA-256 of the weights
    file is checked before a byte of it is parsed."""
    from safetensors import SafetensorError
    from safetensors.numpy import load as load_numpy

    stem = stem_of(path)
    card_path, weights_path = files_of(path)
    try:
        card = ModelCard.from_json(card_path.read_text())
        data = weights_path.read_bytes()
    except FileNotFoundError as error:
        raise LtcError(f"model file missing: {error.filename}") from None
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise LtcError(f"{stem}.json is not a valid model card ({error})") from None
    if card.format != FORMAT:
        raise LtcError(f"{stem}: model format {card.format!r}, this ltc reads {FORMAT!r}")
    if card.coder not in CODERS:
        raise LtcError(f"{stem}: the card names coder {card.coder!r}; this ltc codes with {', '.join(CODERS)}")
    if hashlib.sha256(data).hexdigest() != card.sha256:
        raise LtcError(f"{stem}.safetensors does not match the SHA-256 in its card (corrupt or replaced)")
    try:
        tensors = load_numpy(data)
    except (SafetensorError, ValueError) as error:
        raise LtcError(f"{stem}.safetensors is not a valid safetensors file ({error})") from None
    weights = {k: v.astype(np.float32) for k, v in tensors.items()
               if not k.startswith(("tables.", "side.", "distance."))}
    tables = None
    if "tables.counts" in tensors:
        try:
            tables = tables_format.unpack({k[len("tables."):]: v for k, v in tensors.items()
                                           if k.startswith("tables.")})
        except (ValueError, KeyError) as error:
            raise LtcError(f"{stem}: {error}") from None
    gain_counts = None
    if "side.gain_counts" in tensors:
        gain_counts = tensors["side.gain_counts"].astype(np.int64)
        gain_counts = gain_counts[None] if gain_counts.ndim == 1 else gain_counts  # one band, as first written
        if card.framing is None or gain_counts.shape != (card.framing.band_count, 2 * card.framing.gain_symbols - 1) \
                or np.any(gain_counts < 1) or np.any(gain_counts.sum(axis=1) != 1 << 16):
            raise LtcError(f"{stem}: the gain table does not fit the model's framing")
    elif card.framing is not None:
        raise LtcError(f"{stem}: an audio model without a gain table")
    return Verified(card, weights, tables, gain_counts, _distance_table(stem, card, tensors))


def _distance_table(stem: Path, card: ModelCard, tensors: dict[str, np.ndarray]) -> DistanceTable | None:
    """The distance code's table of a distance-coded model, checked against its lattice."""
    if card.coder != "distance":
        return None
    from ltccodec.coding import distance
    from ltccodec.lattice import covering

    parts = [tensors.get(f"distance.{k}") for k in ("quad", "lin", "exp_table", "meta")]
    lattice = covering(card.lattice, card.latent_dim)
    if any(p is None for p in parts) or parts[3].shape != (2,):
        raise LtcError(f"{stem}: a distance-coded model without a usable distance table")
    quad, lin, exp_table, meta = (p.astype(np.int64).reshape(-1) for p in parts)
    table = distance.DistanceTable(int(meta[0]), quad, lin, exp_table, int(meta[1]))
    try:
        table.validate(lattice)
    except ValueError as error:
        raise LtcError(f"{stem}: {error}") from None
    return table


def write_file(path: Path, data: bytes) -> None:
    """Write one file of a model pair atomically, its folder made if missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data)
