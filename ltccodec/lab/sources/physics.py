"""The ``physics`` source: proton–proton collisions at 13 TeV producing a Z (or γ*) that decays to an electron and a
positron, generated with Pythia 8 (PyPI ``pythia8mc``; hadronization, initial- and final-state showers and multiparton
interactions left on) — the seed paper's 16-dimensional "ppzee" domain, made here.

Each event becomes 16 features (`FEATURES`): the electron's and the positron's pT, η, φ, E; the pair's pT,
rapidity, φ and invariant mass; the scalar sum of the other visible particles' pT (hadronic activity); the missing
transverse momentum; the number of charged particles (|η| < 2.5, pT > 0.5 GeV); and cos θ* = tanh(Δη / 2) of the
pair. `standardize` maps them to what the models code: logarithms of the positive, heavy-tailed ones (momenta,
energies, the count), then each feature minus its training mean over its training standard deviation (`Scaling`,
kept with the data and on the model card); `unstandardize` maps back to GeV and radians.

`prepare` (``ltc data physics --events N``) generates the events in seeded chunks (one Pythia seed per chunk of
`CHUNK` events, so a run can be extended, resumed and split across processes) and caches the raw features and the
train/test split. Pythia is needed only to make data; `features` is pure numpy (tested on hand-made particles).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ltccodec.errors import LtcError, UsageError
from ltccodec.lab.sources.speech import cache_dir

FEATURES = ("e- pT", "e- eta", "e- phi", "e- E", "e+ pT", "e+ eta", "e+ phi", "e+ E",
            "ee pT", "ee y", "ee phi", "ee mass", "hadronic HT", "missing pT", "charged count", "cos theta*")
UNITS = ("GeV", "", "rad", "GeV", "GeV", "", "rad", "GeV", "GeV", "", "rad", "GeV", "GeV", "GeV", "", "")
LOGGED = np.array([0, 3, 4, 7, 8, 12, 13, 14])  # positive and heavy-tailed: coded as log(value + 1)
MASS = FEATURES.index("ee mass")
DIM = len(FEATURES)
CHUNK = 1000  # events per Pythia seed
TEST_EVENTS = 2000  # the first chunks are the test split
DEFAULT_EVENTS = 30_000
BASE_SEED = 23_11  # Pythia seed of chunk c: BASE_SEED + c
SETTINGS = (
    "Beams:eCM = 13000.",
    "WeakSingleBoson:ffbar2gmZ = on",
    "23:onMode = off",
    "23:onIfAny = 11",
    "PhaseSpace:mHatMin = 60.",
    "PhaseSpace:mHatMax = 120.",
    "Next:numberCount = 0",
    "Init:showChangedSettings = off",
    "Init:showChangedParticleData = off",
    "Init:showProcesses = off",
    "Print:quiet = on",
    "Random:setSeed = on",
)
LICENCE = ("generated here with Pythia 8.3 (T. Sjöstrand et al., SciPost Phys. Codebases 8 (2022); GPL-2.0-or-later, "
           "PyPI pythia8mc); the events themselves are ours to ship")


def physics_dir(root: Path | None = None) -> Path:
    return (root or cache_dir()) / "physics"


def features(ids: np.ndarray, momenta: np.ndarray, charged: np.ndarray) -> np.ndarray | None:
    """The 16 raw features of one event from its final-state visible and invisible particles: PDG ``ids``
    (int ``[P]``), ``momenta`` (px, py, pz, E in GeV, ``[P, 4]``), ``charged`` (bool ``[P]``). Neutrinos count as
    missing momentum. None when the event has no electron or no positron."""
    px, py, pz, energy = momenta.T
    pt = np.hypot(px, py)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.arcsinh(np.where(pt > 0, pz / np.maximum(pt, 1e-300), np.sign(pz) * 1e6))
    electrons, positrons = np.flatnonzero(ids == 11), np.flatnonzero(ids == -11)
    if not len(electrons) or not len(positrons):
        return None
    lead = [electrons[np.argmax(pt[electrons])], positrons[np.argmax(pt[positrons])]]
    pair = momenta[lead].sum(axis=0)
    pair_pt = float(np.hypot(pair[0], pair[1]))
    mass = float(np.sqrt(max(pair[3] ** 2 - pair[0] ** 2 - pair[1] ** 2 - pair[2] ** 2, 0.0)))
    rapidity = float(0.5 * np.log((pair[3] + pair[2]) / max(pair[3] - pair[2], 1e-12)))
    neutrino = np.isin(np.abs(ids), (12, 14, 16))
    visible = ~neutrino & (np.abs(eta) < 5.0)
    others = visible.copy()
    others[lead] = False
    sum_x, sum_y = px[visible].sum(), py[visible].sum()
    tracks = int(np.sum(charged & (np.abs(eta) < 2.5) & (pt > 0.5)))
    row = [pt[lead[0]], eta[lead[0]], np.arctan2(py[lead[0]], px[lead[0]]), energy[lead[0]],
           pt[lead[1]], eta[lead[1]], np.arctan2(py[lead[1]], px[lead[1]]), energy[lead[1]],
           pair_pt, rapidity, np.arctan2(pair[1], pair[0]), mass,
           pt[others].sum(), np.hypot(sum_x, sum_y), tracks, np.tanh(0.5 * (eta[lead[0]] - eta[lead[1]]))]
    return np.asarray(row, dtype=np.float64)


def generate(events: int, seed: int) -> np.ndarray:
    """Raw features ``[events, 16]`` (float64) of ``events`` Pythia events generated with ``seed``."""
    try:
        import pythia8mc
    except ImportError:
        raise LtcError("making physics events needs Pythia 8: pip install pythia8mc (it builds from source; "
                       "scripts/build_pythia.py builds it faster)") from None
    pythia = pythia8mc.Pythia("", False)
    for line in SETTINGS + (f"Random:seed = {seed}",):
        if not pythia.readString(line):
            raise LtcError(f"Pythia refused the setting {line!r}")
    if not pythia.init():
        raise LtcError("Pythia failed to initialise")
    rows: list[np.ndarray] = []
    failures = 0
    while len(rows) < events:
        if not pythia.next():
            failures += 1
            if failures > 100 + events:
                raise LtcError("Pythia keeps failing to generate events")
            continue
        final = [p for p in pythia.event if p.isFinal()]
        ids = np.array([p.id() for p in final], dtype=np.int64)
        momenta = np.array([(p.px(), p.py(), p.pz(), p.e()) for p in final], dtype=np.float64)
        charged = np.array([p.isCharged() for p in final], dtype=bool)
        row = features(ids, momenta, charged)
        if row is not None:
            rows.append(row)
    return np.stack(rows)


@dataclass(frozen=True)
class Scaling:
    """How raw features become the standardized values the models code (see the module text)."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def fit(cls, raw: np.ndarray) -> Scaling:
        logged = _logged(raw)
        return cls(tuple(float(v) for v in logged.mean(axis=0)), tuple(float(v) for v in logged.std(axis=0)))

    def to_card(self) -> dict:
        """The form a model card keeps (`ModelCard.standardize`)."""
        return {"log1p": [int(i) for i in LOGGED], "mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def of_card(cls, card: object) -> Scaling:
        """The scaling a physics model was trained with (its card's ``standardize``): raw events you made
        yourself go through `standardize` before `ltc encode`, and decoded values through `unstandardize`."""
        found = getattr(card, "standardize", None)
        if not found or list(found.get("log1p", ())) != [int(i) for i in LOGGED]:
            raise UsageError(f"model {getattr(card, 'name', '?')} does not record a physics feature scaling")
        return cls(tuple(found["mean"]), tuple(found["std"]))

    def standardize(self, raw: np.ndarray) -> np.ndarray:
        """float32 ``[N, 16]``."""
        return ((_logged(raw) - np.asarray(self.mean)) / np.asarray(self.std)).astype(np.float32)

    def unstandardize(self, values: np.ndarray) -> np.ndarray:
        """float64 ``[N, 16]`` raw features (GeV, radians) of standardized values."""
        raw = np.asarray(values, dtype=np.float64) * np.asarray(self.std) + np.asarray(self.mean)
        raw[:, LOGGED] = np.expm1(raw[:, LOGGED])
        return raw


def _logged(raw: np.ndarray) -> np.ndarray:
    out = np.array(raw, dtype=np.float64)
    out[:, LOGGED] = np.log1p(np.maximum(out[:, LOGGED], 0.0))
    return out


def _chunk(index: int, folder: Path) -> Path:
    path = folder / "chunks" / f"{index:05d}.npy"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(f".{path.name}.{os.getpid()}.part")
        with part.open("wb") as out:
            np.save(out, generate(CHUNK, BASE_SEED + index))
        part.replace(path)
    return path


def prepare(events: int | None = None, root: Path | None = None, jobs: int = 1,
            progress: Callable[[int, int], None] | None = None) -> Path:
    """Generate (or reuse) ``events`` events (a multiple of `CHUNK`, at least `TEST_EVENTS` + `CHUNK`; None: what
    is prepared, else `DEFAULT_EVENTS`): the first `TEST_EVENTS` are the test split, the rest train; writes
    ``raw.npz`` and ``manifest.json`` (with the scaling fitted on the training split). Chunks already made are
    kept, so a larger ``events`` only adds chunks."""
    folder = physics_dir(root)
    if events is None:
        if (folder / "manifest.json").is_file():
            return folder
        events = DEFAULT_EVENTS
    if events < TEST_EVENTS + CHUNK or events % CHUNK:
        raise UsageError(f"--events must be a multiple of {CHUNK} and at least {TEST_EVENTS + CHUNK}")
    chunks = events // CHUNK
    done = 0
    with ProcessPoolExecutor(max(1, jobs)) as pool:
        for _ in pool.map(_chunk, range(chunks), [folder] * chunks):
            done += CHUNK
            if progress is not None:
                progress(done, events)
    raw = np.concatenate([np.load(_chunk(c, folder)) for c in range(chunks)])
    test, train = raw[:TEST_EVENTS], raw[TEST_EVENTS:]
    scaling = Scaling.fit(train)
    np.savez_compressed(folder / "raw.npz", train=train, test=test)
    manifest = {"generator": f"pythia8mc {_version()}", "settings": list(SETTINGS), "base_seed": BASE_SEED,
                "chunk": CHUNK, "events": int(len(raw)), "train": int(len(train)), "test": int(len(test)),
                "features": FEATURES, "scaling": {"mean": scaling.mean, "std": scaling.std}, "licence": LICENCE}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return folder


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pythia8mc")
    except PackageNotFoundError:
        return "(not installed: every chunk was made before)"


def load(root: Path | None = None) -> tuple[np.ndarray, np.ndarray, Scaling]:
    """(raw train, raw test, scaling) of the prepared events."""
    folder = physics_dir(root)
    if not (folder / "manifest.json").is_file():
        raise UsageError("the physics events are not prepared: run `ltc data physics` first (needs pythia8mc)")
    manifest = json.loads((folder / "manifest.json").read_text())
    with np.load(folder / "raw.npz") as data:
        return data["train"], data["test"], Scaling(tuple(manifest["scaling"]["mean"]),
                                                    tuple(manifest["scaling"]["std"]))


def export_test(path: Path, root: Path | None = None) -> int:
    """Write the prepared test events' standardized features (float32 [N, 16], what the physics models code) to
    the .npy file ``path``, atomically; returns N."""
    import io

    from ltccodec.atomic import write_atomic

    _, test, scaling = load(root)
    buffer = io.BytesIO()
    np.save(buffer, scaling.standardize(test))
    write_atomic(path, buffer.getvalue(), overwrite=True)
    return len(test)


@dataclass(frozen=True, eq=False)
class PhysicsSource:
    """Standardized 16-feature events."""

    name: str
    train: np.ndarray  # float32 [N, 16], standardized
    test: np.ndarray
    scaling: Scaling
    dim: int = DIM

    @classmethod
    def load(cls, name: str = "physics") -> PhysicsSource:
        train, test, scaling = load()
        return cls(name, scaling.standardize(train), scaling.standardize(test), scaling)

    @property
    def gaussian(self) -> bool:
        return False

    @property
    def description(self) -> str:
        return (f"pp -> Z/γ* -> e+e- events at 13 TeV, {len(self.train)} train / {len(self.test)} test, 16 "
                f"standardized features; {LICENCE}")

    def sample(self, count: int, rng: np.random.Generator) -> np.ndarray:
        return self.train[rng.integers(0, len(self.train), count)]

    def test_set(self, count: int) -> np.ndarray:
        return self.test[:count]
