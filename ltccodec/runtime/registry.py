"""The model registry: where model files are found, how they are named, and which one codes a given input.

Names follow ``<ladder>-<randomness>-<point>``: ``speech-z-sd-q3`` is the model of the ``speech-z`` ladder
at rate point ``q3`` trained with shared dither. A *family* is a name without its randomness
(``speech-z-q3``): members differ only in the randomness they were trained for. A *ladder* is a family
without its rate point (``speech-z``): its families are rate points, picked by ``--bitrate`` or ``--quality``.

Models are looked up in ``$LTC_MODELS`` (a path list), the repository's ``models/`` and the ``models`` folder
installed inside the package. A stream's model is looked up by name only, never as a path. Used by `codec`
(stream headers) and `files` (the command line's choices).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ltccodec.errors import LtcError, UsageError
from ltccodec.format import compact
from ltccodec.format.container import MODEL_NAME
from ltccodec.randomness import Mode, Randomness
from ltccodec.runtime import modelfile
from ltccodec.runtime.inference import NumpyModel, load_for_coding

MODELS_ENV = "LTC_MODELS"
# The family used when no --model is given, per input kind (its ladder when --bitrate or --quality is given).
DEFAULT_FAMILIES = {"audio": "speech-z-q3", "image": "digits-bw16-q2", "array": None}
# --model SOURCE (a card's declared data source, e.g. `--model physics`): the ladder that codes it
SOURCE_LADDERS = {"physics": "physics-e8", "digits": "digits-bw16", "speech": "speech-z"}
# `ltc models` lists these ladders' models by default; the other shipped ladders (scalar Z, BW16 and Leech on Gaussian
# data, digits on E8) are research comparisons, listed with --all.
LISTED_LADDERS = frozenset({*SOURCE_LADDERS.values(), "gaussian8-e8"})


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A model ready to code: forward passes (numpy where possible), card, integer tables."""

    model: NumpyModel
    card: modelfile.ModelCard

    @property
    def name(self) -> str:
        return self.card.name


def model_dirs() -> list[Path]:
    """``$LTC_MODELS`` entries, then the checkout's models/, then the copy installed with the package."""
    package = Path(__file__).resolve().parents[1]
    dirs = [Path(p) for p in os.environ.get(MODELS_ENV, "").split(os.pathsep) if p]
    return [*dirs, package.parent / "models", package / "models"]


def list_models(dirs: Sequence[Path] | None = None) -> list[modelfile.ModelCard]:
    """Cards of every model found; the first directory wins for a repeated name."""
    seen: dict[str, modelfile.ModelCard] = {}
    for d in dirs or model_dirs():
        if not d.is_dir():
            continue
        for path in sorted(d.glob("*.json")):
            try:
                card = modelfile.ModelCard.from_json(path.read_text())
            except (ValueError, TypeError, KeyError):
                continue
            seen.setdefault(card.name, card)
    return list(seen.values())


_CACHE: dict[tuple[str, str], LoadedModel] = {}  # (weights path, sha256) -> model; models are read-only
_CACHE_LOCK = threading.Lock()


def _load(path: Path, sha256: bytes | None) -> LoadedModel | None:
    card_path, weights_path = modelfile.files_of(path)
    if not card_path.is_file() or not weights_path.is_file():
        return None
    key = (str(weights_path.resolve()), sha256.hex() if sha256 else "")
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
    model, card = load_for_coding(path)
    if sha256 is not None and bytes.fromhex(card.sha256) != sha256:
        return None
    if model.tables is None:
        raise LtcError(f"model {card.name} has no integer coding tables (its lattice cannot be coded)")
    loaded = LoadedModel(model, card)
    with _CACHE_LOCK:
        _CACHE[key] = loaded
    return loaded


def by_name(name: str, sha256: bytes | None = None, dirs: Sequence[Path] | None = None) -> LoadedModel:
    """The installed model called ``name`` (never read as a path); with ``sha256``, only that exact file."""
    if not MODEL_NAME.fullmatch(name):
        raise LtcError(f"{name!r} is not a valid model name")
    for d in dirs or model_dirs():
        loaded = _load(d / name, sha256)
        if loaded is not None:
            return loaded
    wanted = f" with SHA-256 {sha256.hex()[:16]}…" if sha256 is not None else ""
    raise LtcError(f"model {name}{wanted} not found; put its files in models/ or a folder listed in ${MODELS_ENV}")


def by_compact_id(found: int, dirs: Sequence[Path] | None = None) -> compact.ModelFacts:
    """The installed model whose compact-profile id is ``found`` (`compact.model_id`); an error if none or several
    are."""
    matches = [c for c in list_models(dirs) if compact.model_id(c.name, bytes.fromhex(c.sha256)) == found]
    if not matches:
        raise LtcError(f"no installed model has the compact id {found:04x} (corrupt file, or a model not installed)")
    if len(matches) > 1:
        raise LtcError(f"compact id {found:04x} names several installed models ({', '.join(c.name for c in matches)}):"
                       " decode with the full profile's file, or install only one of them")
    card = matches[0]
    return compact.ModelFacts(card.name, bytes.fromhex(card.sha256), card.source_dim, card.latent_dim, card.image,
                              compact.CoderCode.BOX if card.coder == "box" else compact.CoderCode.DISTANCE,
                              None if card.framing is None else card.framing.sample_rate)


def find(name: str, dirs: Sequence[Path] | None = None) -> Path:
    """The stem path of the installed model called ``name``."""
    for d in dirs or model_dirs():
        if modelfile.files_of(d / name)[0].is_file():
            return d / name
    raise LtcError(f"model {name} not found; see `ltc models`")


def is_path(text: str) -> bool:
    """Whether the user's model argument names a file (a path, or a model file's name) rather than a model."""
    path = Path(text)
    return len(path.parts) > 1 or path.suffix in (".json", ".safetensors") or modelfile.files_of(path)[0].is_file()


def by_path(path: Path) -> LoadedModel:
    """A model file given by the user (either file of the pair, or their stem)."""
    loaded = _load(path, None)
    if loaded is None:
        raise LtcError(f"no model file at {path}")
    return loaded


def family_of(card: modelfile.ModelCard) -> str:
    """A model's name without the randomness it was trained for."""
    token = card.training.randomness
    parts = card.name.split("-")
    return "-".join(p for p in parts if p != token) if token in parts else card.name


def kind_of(card: modelfile.ModelCard) -> str:
    """The input a model codes: "audio", "image" or "array"."""
    return "audio" if card.framing is not None else "image" if card.image is not None else "array"


def defaults(cards: Sequence[modelfile.ModelCard]) -> dict[str, modelfile.ModelCard]:
    """The model each input kind codes with when no --model is given, as `resolve` picks it (kinds without a default,
    or whose default family is not installed, are left out)."""
    chosen = {}
    for kind, family in DEFAULT_FAMILIES.items():
        if family is not None and any(family_of(c) == family for c in cards):
            chosen[kind] = choose_member(family, _default_randomness(family, cards, kind), cards)
    return chosen


@dataclass(frozen=True)
class Listing:
    """What `ltc models` shows."""

    cards: tuple[modelfile.ModelCard, ...]  # the default model of each input kind first, then by name
    default_for: dict[str, str]  # model name -> the input kind it is the default for
    hidden: int  # models that matched but are superseded or research models (shown with everything=True)


def listing(query: str | None = None, everything: bool = False, dirs: Sequence[Path] | None = None) -> Listing:
    """The installed models that match ``query`` — a data source (``speech``, ``digits``, ``physics``,
    ``gaussian`` or ``gaussian:8``), an input kind (``audio``, ``image``, ``array``) or a prefix of the name —,
    defaults first; superseded models (`ModelCard.superseded_by`) and models outside `LISTED_LADDERS` only with
    ``everything``."""
    cards = list_models(dirs)
    default_for = {card.name: kind for kind, card in defaults(cards).items()}
    wanted = [c for c in cards if query is None or _matches(c, query.lower())]
    shown = [c for c in wanted if everything or c.name in default_for
             or (not c.superseded_by and ladder_of(family_of(c)) in LISTED_LADDERS)]
    kinds = list(DEFAULT_FAMILIES)
    shown.sort(key=lambda c: (kinds.index(default_for[c.name]) if c.name in default_for else len(kinds), c.name))
    return Listing(tuple(shown), default_for, len(wanted) - len(shown))


def _matches(card: modelfile.ModelCard, query: str) -> bool:
    kind = kind_of(card)
    return query in (card.source, card.source.split(":")[0], kind, kind + "s") or card.name.startswith(query)


def ladders_for(dim: int, dirs: Sequence[Path] | None = None) -> list[str]:
    """The ladders of installed array models that code vectors of ``dim`` values (for a hint: arrays have no
    default model, since a column count does not say what the data is)."""
    return sorted({ladder_of(family_of(c)) for c in list_models(dirs)
                   if c.source_dim == dim and c.framing is None and c.image is None})


def ladder_of(family: str) -> str:
    """A family's name without its rate point (the last dash-separated token)."""
    return family.rsplit("-", 1)[0] if "-" in family else family


def trained_for(card: modelfile.ModelCard) -> Randomness:
    return Randomness.parse(card.training.randomness)


def choose_member(family: str, randomness: Randomness, cards: Sequence[modelfile.ModelCard]) -> modelfile.ModelCard:
    """The model of ``family`` for ``randomness``: the member trained for it, else for QSD with a >= 4 the member
    trained with continuous shared dither (measured: from 4 bits per dimension it codes as well as under sd;
    docs/results.md). Raises `LtcError` listing the members otherwise."""
    members = {trained_for(c): c for c in cards if family_of(c) == family}
    if not members:
        raise LtcError(f"model {family} not found; see `ltc models`")
    if randomness in members:
        return members[randomness]
    shared = Randomness(Mode.SHARED)
    if randomness.mode is Mode.QUANTIZED and randomness.nesting >= 4 and shared in members:
        return members[shared]
    have = ", ".join(sorted(str(r) for r in members))
    raise LtcError(f"family {family} has no model for randomness {randomness} (it has: {have})")


@dataclass(frozen=True)
class Choice:
    """What the user asked for: a model (name, family, ladder or file), randomness, and a rate point."""

    model: str | None = None
    randomness: Randomness | None = None
    bitrate: float | None = None  # kbit/s, audio
    quality: int | None = None  # 1 = lowest rate point of the ladder


def resolve(choice: Choice, kind: str, dirs: Sequence[Path] | None = None) -> tuple[LoadedModel, Randomness]:
    """The model and randomness that code an input of ``kind`` ("audio", "array") as ``choice`` asks."""
    if choice.model is not None and is_path(choice.model):
        loaded = by_path(Path(choice.model))
        return loaded, choice.randomness or trained_for(loaded.card)
    cards = list_models(dirs)
    names = {c.name: c for c in cards}
    wanted = choice.model or DEFAULT_FAMILIES.get(kind)
    if wanted is None:
        raise UsageError(f"choose a model for this {kind} with --model (list them with `ltc models`)")
    if wanted in names and choice.bitrate is None and choice.quality is None:
        card = names[wanted]
        return by_name(card.name, dirs=dirs), choice.randomness or trained_for(card)
    families = sorted({family_of(c) for c in cards})
    if wanted in names:
        wanted = family_of(names[wanted])
    if wanted not in families and wanted in SOURCE_LADDERS and any(c.source == wanted for c in cards):
        wanted = SOURCE_LADDERS[wanted]
    if wanted in families and choice.bitrate is None and choice.quality is None:
        family = wanted
    else:
        ladder = ladder_of(wanted) if wanted in families else wanted
        points = [f for f in families if ladder_of(f) == ladder]
        if not points:
            raise LtcError(f"model {wanted!r} not found (no model, family or ladder has that name); see `ltc models`")
        family = _pick_point(points, cards, choice)
    randomness = choice.randomness or _default_randomness(family, cards, kind)
    card = choose_member(family, randomness, cards)
    return by_name(card.name, dirs=dirs), randomness


def _rate_of(family: str, cards: Sequence[modelfile.ModelCard], randomness: Randomness | None) -> float:
    """A family's rate for ordering and --bitrate: the measured kbit/s (else bits/dim) of the member that would
    code with ``randomness`` (default: the family's default randomness); infinite when no member would, or when
    that member is superseded (`ModelCard.superseded_by`)."""
    try:
        member = choose_member(family, randomness or _default_randomness(family, cards), cards)
    except LtcError:
        return float("inf")
    if member.superseded_by:  # kept for its streams; a ladder offers its successor instead
        return float("inf")
    rates = [m.kbps if m.kbps is not None else m.rate for m in member.metrics]
    return min(rates) if rates else 0.0


def _pick_point(points: list[str], cards: Sequence[modelfile.ModelCard], choice: Choice) -> str:
    rate = {f: _rate_of(f, cards, choice.randomness) for f in points}
    ordered = sorted((f for f in points if rate[f] < float("inf")), key=rate.__getitem__)
    if not ordered:
        raise LtcError(f"no rate point of {ladder_of(points[0])} has a model for randomness {choice.randomness}")
    if choice.quality is not None:
        if not 1 <= choice.quality <= len(ordered):
            raise UsageError(f"--quality goes from 1 to {len(ordered)} for {ladder_of(ordered[0])}")
        return ordered[choice.quality - 1]
    if choice.bitrate is None:
        return ordered[len(ordered) // 2]
    below = [f for f in ordered if rate[f] <= choice.bitrate * 1.02]
    return below[-1] if below else ordered[0]


def _default_randomness(family: str, cards: Sequence[modelfile.ModelCard], kind: str = "") -> Randomness:
    """The randomness a family codes with by default: the first present of its members in `PREFERENCE` (for
    images, `IMAGE_PREFERENCE`)."""
    present = {trained_for(c) for c in cards if family_of(c) == family}
    for text in IMAGE_PREFERENCE if kind == "image" else PREFERENCE:
        if Randomness.parse(text) in present:
            return Randomness.parse(text)
    return next(iter(present))


PREFERENCE = ("none", "sd", "pd")  # speech measured best deterministic (docs/results.md)
IMAGE_PREFERENCE = ("sd", "none", "pd")  # tiny images: shared dither keeps decoded digits realistic at low rates
