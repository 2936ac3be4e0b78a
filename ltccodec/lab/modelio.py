"""Model files from the lab's side: the torch model of a file (`load`), and a trained model written as one (`save`,
its card from `card_for`, its float16 weights with frozen integer tables from `weights_bytes`). Reading a file for
coding is `runtime.modelfile`'s, and needs no torch."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import torch

from ltccodec.coding import tables as tables_format
from ltccodec.coding.tables import BUCKETS
from ltccodec.errors import LtcError
from ltccodec.lab.ltc import LTCModel, ModelConfig
from ltccodec.lab.prior import freeze_tables
from ltccodec.lab.transforms import TransformConfig, TransformKind
from ltccodec.media.framing import Framing
from ltccodec.runtime import modelfile
from ltccodec.runtime.modelfile import Metrics, ModelCard, Training


def config_of(card: ModelCard) -> ModelConfig:
    """The torch model's shape a card describes."""
    kind = TransformKind(card.transform)
    return ModelConfig(TransformConfig(kind, card.source_dim, card.latent_dim, card.width, card.depth,
                                       card.channels, card.centroid), card.lattice,
                       card.measured_tables, card.coder)


def card_for(model: LTCModel, name: str, source: str, training: Training,
             metrics: tuple[Metrics, ...] = (), framing: Framing | None = None, data: str = "",
             standardize: dict | None = None) -> ModelCard:
    t = model.config.transform
    return ModelCard(name, source, model.config.lattice, t.kind.value, t.n, t.latent, t.width, t.depth, t.channels,
                     float(model.dither_scale.detach()), training, metrics, framing=framing, centroid=t.centroid,
                     data=data, standardize=standardize, measured_tables=model.config.measured,
                     coder=model.config.coder)


def weights_bytes(model: LTCModel, buckets: int = BUCKETS) -> bytes:
    """The model's parameters as float16 safetensors bytes, with the prior's integer coding tables frozen
    from those very weights (deterministic for given weights) with ``buckets`` phase buckets — or, for a model
    with measured tables (``config.measured``), the tables it holds."""
    from safetensors.torch import save as save_tensors

    tensors = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    if model.config.measured:
        if model.tables is None:
            raise ValueError("a model with measured tables must hold them")
        packed = tables_format.pack(model.tables)
        tensors.update({f"tables.{k}": torch.from_numpy(v) for k, v in packed.items()})
    elif all(b.embedding is None for b in model.lattice.blocks):
        rounded = LTCModel(model.config)
        rounded.load_state_dict({k: v.to(torch.float32) for k, v in tensors.items()})
        packed = tables_format.pack(freeze_tables(rounded.prior, rounded.lattice, buckets=buckets))
        tensors.update({f"tables.{k}": torch.from_numpy(v) for k, v in packed.items()})
    if model.gain_counts is not None:
        tensors["side.gain_counts"] = torch.from_numpy(model.gain_counts.astype(np.int32))
    if model.distance_table is not None:
        d = model.distance_table
        tensors.update({"distance.quad": torch.from_numpy(d.quad.astype(np.int64)),
                        "distance.lin": torch.from_numpy(d.lin.astype(np.int64)),
                        "distance.exp_table": torch.from_numpy(d.exp_table.astype(np.int64)),
                        "distance.meta": torch.tensor([d.shells, d.escape], dtype=torch.int64)})
    return save_tensors(tensors, metadata={"format": modelfile.FORMAT})


def round_weights(model: LTCModel) -> None:
    """Round the parameters to what the model file stores, so measured figures match a reloaded model."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(torch.float16).to(p.dtype))


def save(model: LTCModel, card: ModelCard, path: Path, buckets: int = BUCKETS) -> ModelCard:
    """Write the weights and the card atomically; returns the card with its hash filled in."""
    data = weights_bytes(model, buckets)
    card = dataclasses.replace(card, sha256=hashlib.sha256(data).hexdigest())
    card_path, weights_path = modelfile.files_of(path)
    modelfile.write_file(weights_path, data)
    modelfile.write_file(card_path, card.to_json().encode())
    return card


def update_card(path: Path, card: ModelCard) -> None:
    """Rewrite a model's card (new figures); its weights and so its SHA-256 stay as they are."""
    modelfile.write_file(modelfile.files_of(path)[0], card.to_json().encode())


def load(path: Path) -> tuple[LTCModel, ModelCard]:
    """The torch model of a model file pair (training, evaluation)."""
    verified = modelfile.read_verified(path)
    model = LTCModel(config_of(verified.card))
    try:
        model.load_state_dict({k: torch.from_numpy(v) for k, v in verified.weights.items()})
    except RuntimeError as error:
        reason = str(error).splitlines()[0]
        raise LtcError(f"{modelfile.stem_of(path)}: weights do not fit the card ({reason})") from None
    model.eval()
    model.tables, model.gain_counts = verified.tables, verified.gain_counts
    model.distance_table = verified.distance_table
    return model, verified.card


