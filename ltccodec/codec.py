"""The codec: model + randomness + keyed dither + entropy coder + container. Arrays in, bytes out, and back;
never touches paths except to find model files. The CLI and `ltccodec.encode`/`decode` call this.

Per frame (``frame_vectors`` vectors): analysis transform, shared dither from (key, nonce, frame), integer
lattice coordinates of ``Q(y − u)``, range coding against the model's integer tables. The decoder rebuilds
the same dither and tables from integers only; its private dither comes from OS randomness unless seeded.
"""

from __future__ import annotations

import io
import os
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from ltccodec import container, entropy, keyed, modelfile
from ltccodec.container import Header, Kind, ModeCode
from ltccodec.errors import LtcError, UsageError
from ltccodec.lattice import coset_coords
from ltccodec.ltc import LTCModel, Mode, Randomness

SD_GRID = 1 << 16  # shared dither of SD is drawn on Λ / 2^16: a fixed-point grid both sides reproduce
FRAME_VECTORS = 4096
MODELS_ENV = "LTC_MODELS"
Progress = Callable[[int, int], None]
_MODE_CODES = {Mode.DETERMINISTIC: ModeCode.NONE, Mode.PRIVATE: ModeCode.PRIVATE, Mode.QUANTIZED: ModeCode.QUANTIZED,
               Mode.SHARED: ModeCode.SHARED}


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A model ready to code: weights, card and integer tables."""

    model: LTCModel
    card: modelfile.ModelCard

    @property
    def name(self) -> str:
        return self.card.name


def model_dirs() -> list[Path]:
    """Where models are looked up by name: ``$LTC_MODELS`` (path list), then the repository's models/."""
    dirs = [Path(p) for p in os.environ.get(MODELS_ENV, "").split(os.pathsep) if p]
    return [*dirs, Path(__file__).resolve().parent.parent / "models"]


def list_models(dirs: Sequence[Path] | None = None) -> list[modelfile.ModelCard]:
    """Cards of every model found, first directory wins for a repeated name."""
    seen: dict[str, modelfile.ModelCard] = {}
    for d in dirs or model_dirs():
        for path in sorted(d.glob("*.json")):
            try:
                card = modelfile.ModelCard.from_json(path.read_text())
            except (ValueError, TypeError, KeyError):
                continue
            seen.setdefault(card.name, card)
    return list(seen.values())


def load_model(name_or_path: str | Path, sha256: bytes | None = None,
               dirs: Sequence[Path] | None = None) -> LoadedModel:
    """A model by file path or by name (searched in ``dirs``); with ``sha256``, only that exact model."""
    path = Path(name_or_path)
    if modelfile.files_of(path)[0].exists():
        candidates = [path]
    else:
        candidates = [d / str(name_or_path) for d in dirs or model_dirs()]
    for candidate in candidates:
        if not modelfile.files_of(candidate)[0].exists():
            continue
        model, card = modelfile.load(candidate)
        if sha256 is not None and bytes.fromhex(card.sha256) != sha256:
            continue
        if model.tables is None:
            raise LtcError(f"model {card.name} has no integer coding tables (its lattice cannot be coded)")
        return LoadedModel(model, card)
    wanted = f" with SHA-256 {sha256.hex()[:16]}…" if sha256 is not None else ""
    raise LtcError(f"model {name_or_path}{wanted} not found; put its files in models/ or a folder listed in "
                   f"${MODELS_ENV}")


def family_of(card: modelfile.ModelCard) -> str:
    """A model's family: its name without the randomness it was trained for (``gaussian8-e8-sd-l2`` ->
    ``gaussian8-e8-l2``). Members of a family share source, lattice and λs and differ in randomness."""
    token = card.training.randomness
    parts = card.name.split("-")
    return "-".join(p for p in parts if p != token) if token in parts else card.name


def choose_member(family: str, randomness: Randomness, dirs: Sequence[Path] | None = None) -> str:
    """The model of ``family`` to use for ``randomness``: the member trained for it, else for QSD with
    a >= 4 the member trained with continuous shared dither (measured: at 4 and 8 bits per dimension it
    codes as well as under sd; see docs/results.md). Raises `LtcError` listing the members otherwise."""
    members = {c.training.randomness: c.name for c in list_models(dirs) if family_of(c) == family}
    if not members:
        raise LtcError(f"model {family} not found; see `ltc models`")
    if str(randomness) in members:
        return members[str(randomness)]
    if randomness.mode is Mode.QUANTIZED and randomness.nesting >= 4 and "sd" in members:
        return members["sd"]
    raise LtcError(f"family {family} has no model for randomness {randomness} (it has: {', '.join(sorted(members))})")


def nesting_of(randomness: Randomness) -> int:
    """The nesting ratio the stream uses: QSD's a, the fixed-point grid for SD, 1 without shared dither."""
    return {Mode.SHARED: SD_GRID, Mode.QUANTIZED: randomness.nesting}.get(randomness.mode, 1)


def frame_dither(loaded: LoadedModel, randomness: Randomness, key: keyed.Key, nonce: bytes, frame: int,
                 count: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(integer dither coordinates of a·u, float dither u) of one frame, or (None, None)."""
    a = nesting_of(randomness)
    if a == 1:
        return None, None
    lattice = loaded.model.lattice
    digits = keyed.dither_digits(key, nonce, frame, count, lattice.dim, a)
    coords = coset_coords(lattice, digits, a)
    return coords, lattice.from_coords(coords) / a


def encode(array: np.ndarray, model: str | Path | LoadedModel, randomness: str | Randomness = "sd",
           key: keyed.Key | None = None, nonce: bytes | None = None, frame_vectors: int = FRAME_VECTORS) -> bytes:
    """Compress a float array whose last axis is the model's source dimension; returns the .ltc bytes."""
    out = io.BytesIO()
    encode_to(array, out, model, randomness, key, nonce, frame_vectors)
    return out.getvalue()


def encode_to(array: np.ndarray, out: BinaryIO, model: str | Path | LoadedModel,
              randomness: str | Randomness = "sd", key: keyed.Key | None = None, nonce: bytes | None = None,
              frame_vectors: int = FRAME_VECTORS, progress: Progress | None = None) -> Header:
    """As `encode`, writing to a binary file object; returns the header written. ``progress(done, total)``
    is called after each frame."""
    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    rand = randomness if isinstance(randomness, Randomness) else Randomness.parse(randomness)
    key = key or keyed.DEFAULT_KEY
    nonce = nonce if nonce is not None else keyed.new_nonce()
    data = _check_array(array, loaded.card.source_dim)
    flat = data.reshape(-1, loaded.card.source_dim)
    tables, lattice = loaded.model.tables, loaded.model.lattice
    assert tables is not None
    frames, payloads = [], []
    for index, start in enumerate(range(0, len(flat), frame_vectors)):
        x = torch.from_numpy(np.ascontiguousarray(flat[start:start + frame_vectors], dtype=np.float32))
        dither_coords, u = frame_dither(loaded, rand, key, nonce, index, len(x))
        coords = loaded.model.to_symbols(x, u)
        words = entropy.encode(tables, lattice, coords, dither_coords, nesting_of(rand))
        payload = words.astype("<u4").tobytes()
        frames.append(container.Frame(len(payload), zlib.crc32(payload), _symbol_check(coords)))
        payloads.append(payload)
        if progress is not None:
            progress(min(start + frame_vectors, len(flat)), len(flat))
    header = Header(loaded.name, bytes.fromhex(loaded.card.sha256), _MODE_CODES[rand.mode], nesting_of(rand), nonce,
                    keyed.key_check(key, nonce), entropy.CODER_ID, entropy.CODER_VERSION, Kind.ARRAY,
                    data.dtype.name, tuple(int(s) for s in data.shape), loaded.card.source_dim,
                    loaded.card.latent_dim, len(flat), frame_vectors, tuple(frames))
    container.write(header, payloads, out)
    return header


def decode(data: bytes, key: keyed.Key | None = None, seed: int | None = None,
           dirs: Sequence[Path] | None = None) -> np.ndarray:
    """Decompress .ltc bytes to the array that was encoded (shape and dtype restored)."""
    return decode_from(io.BytesIO(data), key, seed, dirs)


def decode_from(stream: BinaryIO, key: keyed.Key | None = None, seed: int | None = None,
                dirs: Sequence[Path] | None = None, progress: Progress | None = None) -> np.ndarray:
    """As `decode`, reading a binary file object. ``seed`` makes the private dither reproducible;
    ``progress(done, total)`` is called after each frame."""
    header = container.read_header(stream)
    if header.kind is not Kind.ARRAY:
        raise LtcError("this stream holds audio or an image; this ltc decodes arrays only")
    if header.coder_id != entropy.CODER_ID or header.coder_version != entropy.CODER_VERSION:
        raise LtcError(f"stream written with coder {header.coder_id} v{'.'.join(map(str, header.coder_version))}, "
                       f"this ltc has {entropy.CODER_ID} v{'.'.join(map(str, entropy.CODER_VERSION))}")
    key = key or keyed.DEFAULT_KEY
    keyed.verify_key(key, header.nonce, header.key_check)
    loaded = load_model(header.model_name, header.model_sha256, dirs)
    if (loaded.card.source_dim, loaded.card.latent_dim) != (header.source_dim, header.latent_dim):
        raise LtcError("the stream's dimensions do not match its model (corrupt file)")
    rand = _randomness_of(header)
    rng = np.random.default_rng(seed)
    tables, lattice = loaded.model.tables, loaded.model.lattice
    assert tables is not None
    out = np.empty((header.vectors, header.source_dim), dtype=header.dtype)
    start = 0
    for index, (payload, count, frame) in enumerate(zip(container.read_frames(stream, header), header.frame_sizes(),
                                                        header.frames, strict=True)):
        dither_coords, u = frame_dither(loaded, rand, key, header.nonce, index, count)
        words = np.frombuffer(payload, dtype="<u4")
        try:
            coords = entropy.decode(tables, lattice, words, count, dither_coords, header.nesting)
        except (ValueError, RuntimeError, OverflowError) as error:
            raise container.FormatError(f"frame {index} does not decode ({error}); corrupt file?") from None
        if _symbol_check(coords) != frame.symbols:
            raise container.FormatError(f"frame {index}: decoded symbols do not match the encoder's check "
                                        "(encoder/decoder drift or a corrupt file)")
        private = loaded.model.private_dither(rand, count, rng)
        x_hat = loaded.model.from_symbols(coords, u, private)
        out[start:start + count] = x_hat.numpy().astype(header.dtype)
        start += count
        if progress is not None:
            progress(start, header.vectors)
    return out.reshape(header.shape)


def read_info(stream: BinaryIO) -> Header:
    """The header of a stream, validated (payload not read)."""
    return container.read_header(stream)


def _randomness_of(header: Header) -> Randomness:
    mode = {ModeCode.NONE: Mode.DETERMINISTIC, ModeCode.PRIVATE: Mode.PRIVATE, ModeCode.QUANTIZED: Mode.QUANTIZED,
            ModeCode.SHARED: Mode.SHARED}[header.mode]
    return Randomness(mode, header.nesting if mode is Mode.QUANTIZED else 1)


def _symbol_check(coords: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(coords, dtype="<i8").tobytes())


def _check_array(array: np.ndarray, dim: int) -> np.ndarray:
    data = np.asarray(array)
    if data.dtype.name not in container.DTYPE_CODES:
        raise UsageError(f"arrays of {data.dtype} are not supported; use float16, float32 or float64")
    if data.ndim < 1 or data.ndim > container.MAX_NDIM or data.shape[-1] != dim:
        raise UsageError(f"the model codes vectors of {dim} values: the array's last axis must be {dim}, "
                         f"got shape {data.shape}")
    if data.size == 0:
        raise UsageError("the array is empty")
    if not np.all(np.isfinite(data)):
        raise UsageError("the array contains NaN or infinite values")
    return data
