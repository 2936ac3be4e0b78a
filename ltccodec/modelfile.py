"""Model files: weights in safetensors (float16, no pickle) beside a JSON card that says what the model is,
how it was trained, what it measured, and the SHA-256 of the weights. Used by `train`, `evaluate`, the CLI."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from ltccodec import tables as tables_format
from ltccodec.atomic import write_atomic
from ltccodec.errors import LtcError
from ltccodec.ltc import LTCModel, ModelConfig
from ltccodec.prior import freeze_tables
from ltccodec.transforms import TransformConfig, TransformKind

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

    def config(self) -> ModelConfig:
        kind = TransformKind(self.transform)
        return ModelConfig(TransformConfig(kind, self.source_dim, self.latent_dim, self.width, self.depth,
                                           self.channels), self.lattice)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ModelCard:
        raw = json.loads(text)
        raw["training"] = Training(**raw["training"])
        raw["metrics"] = tuple(Metrics(**m) for m in raw["metrics"])
        return cls(**raw)


def card_for(model: LTCModel, name: str, source: str, training: Training,
             metrics: tuple[Metrics, ...] = ()) -> ModelCard:
    t = model.config.transform
    return ModelCard(name, source, model.config.lattice, t.kind.value, t.n, t.latent, t.width, t.depth, t.channels,
                     float(model.dither_scale.detach()), training, metrics)


def weights_bytes(model: LTCModel) -> bytes:
    """The model's parameters as float16 safetensors bytes, with the prior's integer coding tables frozen
    from those very weights (deterministic for given weights)."""
    tensors = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    if all(b.embedding is None for b in model.lattice.blocks):
        rounded = LTCModel(model.config)
        rounded.load_state_dict({k: v.to(torch.float32) for k, v in tensors.items()})
        packed = tables_format.pack(freeze_tables(rounded.prior, rounded.lattice))
        tensors.update({f"tables.{k}": torch.from_numpy(v) for k, v in packed.items()})
    return save_tensors(tensors, metadata={"format": FORMAT})


def round_weights(model: LTCModel) -> None:
    """Round the parameters to what the model file stores, so measured figures match a reloaded model."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(torch.float16).to(p.dtype))


def stem_of(path: Path) -> Path:
    """The common stem of a model file pair, given either file or the stem (names may contain dots)."""
    return path.with_suffix("") if path.suffix in (".json", ".safetensors") else path


def files_of(path: Path) -> tuple[Path, Path]:
    """(card, weights) paths of the model at ``path``."""
    stem = stem_of(path)
    return stem.parent / f"{stem.name}.json", stem.parent / f"{stem.name}.safetensors"


def save(model: LTCModel, card: ModelCard, path: Path) -> ModelCard:
    """Write the weights and the card atomically; returns the card with its hash filled in."""
    data = weights_bytes(model)
    card = dataclasses.replace(card, sha256=hashlib.sha256(data).hexdigest())
    card_path, weights_path = files_of(path)
    _atomic_write(weights_path, data)
    _atomic_write(card_path, card.to_json().encode())
    return card


def update_card(path: Path, card: ModelCard) -> None:
    """Rewrite a model's card (new figures); its weights and so its SHA-256 stay as they are."""
    _atomic_write(files_of(path)[0], card.to_json().encode())


def load(path: Path) -> tuple[LTCModel, ModelCard]:
    """Read a model file pair (``path`` may name either file or their common stem)."""
    stem = stem_of(path)
    card_path, weights_path = files_of(path)
    try:
        card = ModelCard.from_json(card_path.read_text())
        data = weights_path.read_bytes()
    except FileNotFoundError as error:
        raise LtcError(f"model file missing: {error.filename}") from None
    except (ValueError, TypeError, KeyError) as error:
        raise LtcError(f"{stem}.json is not a valid model card ({error})") from None
    if card.format != FORMAT:
        raise LtcError(f"{stem}: model format {card.format!r}, this ltc reads {FORMAT!r}")
    if hashlib.sha256(data).hexdigest() != card.sha256:
        raise LtcError(f"{stem}.safetensors does not match the SHA-256 in its card (corrupt or replaced)")
    model = LTCModel(card.config())
    tensors = load_tensors(data)
    model.load_state_dict({k: v.to(torch.float32) for k, v in tensors.items() if not k.startswith("tables.")})
    model.eval()
    if "tables.counts" in tensors:
        try:
            model.tables = tables_format.unpack({k[len("tables."):]: v.numpy() for k, v in tensors.items()
                                                 if k.startswith("tables.")})
        except (ValueError, KeyError) as error:
            raise LtcError(f"{stem}: {error}") from None
    return model, card


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data)
