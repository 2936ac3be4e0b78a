"""Codec benchmark: coded bits next to the model's own estimate and the Gaussian bound, encode/decode speed
on one core, and the entropy coder's share of encoding time; next to it (`compare`), the array compressors a user
would otherwise pick at the same MSE (`bench.peers`) and the whole-process time of coding a small file."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from ltccodec import codec, kernels
from ltccodec.coding import frame as frame_coding
from ltccodec.keyed import DEFAULT_KEY
from ltccodec.lab import modelio, theory
from ltccodec.lab.bench import peers
from ltccodec.lab.sources import source_by_name
from ltccodec.randomness import Mode, Randomness
from ltccodec.runtime import registry


@dataclass(frozen=True)
class CodecFigures:
    model: str
    lattice: str
    randomness: str
    vectors: int
    coded_bits: float  # per source value, whole stream (header included)
    payload_bits: float  # per source value, range-coder words only
    table_bits: float  # ideal code length under the integer tables
    estimate_bits: float  # the model's box code length of the same points (float prior)
    bound: float  # R(D,0), or R(D/2,∞) for pd, at the measured MSE
    bound_name: str
    mse: float
    encode_vps: float
    decode_vps: float
    entropy_share: float  # entropy coding time / whole encode time
    sw2: float = 0.0  # sliced W2² of decoded vs input (bench.peers.sliced_w2)
    kernels: bool = False  # the compiled kernels ran (else numpy and constriction)
    coder: str = "box"  # the model's coder: "box" or "distance"


def bench_codec(names: Sequence[str], vectors: int = 20_000, progress: Callable[[str], None] = lambda _: None,
                repeats: int = 3) -> list[CodecFigures]:
    rows = []
    with threadpool_limits(limits=1):
        torch.set_num_threads(1)
        for name in names:
            progress(f"{name}: {vectors} vectors")
            loaded = registry.by_name(name)
            card = loaded.card
            rand = Randomness.parse(card.training.randomness)
            x = source_by_name(card.source).test_set(vectors)
            nonce = bytes(16)
            codec.decode(codec.encode(x[:2048], loaded, rand, nonce=nonce), seed=0)  # per-model tables built once
            encode_seconds = decode_seconds = float("inf")
            for _ in range(repeats):  # the fastest of a few runs: the machine is shared
                start = time.perf_counter()
                data = codec.encode(x, loaded, rand, nonce=nonce)
                encode_seconds = min(encode_seconds, time.perf_counter() - start)
                start = time.perf_counter()
                y = codec.decode(data, seed=0)
                decode_seconds = min(decode_seconds, time.perf_counter() - start)
            table, estimate, coder_seconds = _frame_bits(loaded, rand, x, nonce, repeats)
            mse = float(((x.astype(np.float64) - y) ** 2).mean())
            values = x.size
            bound_name = "R(D/2,inf)" if rand.mode is Mode.PRIVATE else "R(D,0)"
            bound = float(theory.rate_no_common_randomness(mse) if rand.mode is Mode.PRIVATE
                          else theory.rdp_zero_perception(mse))
            payload = 8 * codec.payload_size(data)
            rows.append(CodecFigures(name, card.lattice, str(rand), vectors, 8 * len(data) / values, payload / values,
                                     table / values,
                                     estimate / values, bound, bound_name, mse, vectors / encode_seconds,
                                     vectors / decode_seconds, coder_seconds / encode_seconds,
                                     peers.sliced_w2(x, np.asarray(y, dtype=np.float64)), kernels.active() is not None,
                                     loaded.card.coder))
    return rows


def _frame_bits(loaded: registry.LoadedModel, rand: Randomness, x: np.ndarray, nonce: bytes,
                repeats: int = 3) -> tuple[float, float, float]:
    """(table bits, float-prior box bits, seconds in the entropy coder) over the same frames as `encode`; the box
    bits are those of the coded points, and for a distance-coded model the table bits."""
    model, tables = loaded.model, loaded.model.tables
    reference, _ = modelio.load(registry.find(loaded.name))  # the torch model holds the float prior
    assert tables is not None
    table = estimate = seconds = 0.0
    for index, start in enumerate(range(0, len(x), codec.FRAME_VECTORS)):
        part = x[start:start + codec.FRAME_VECTORS]
        u, dither = codec.frame_dither(loaded, rand, DEFAULT_KEY, nonce, index, len(part))
        coords = model.to_symbols(part, u)
        fastest = float("inf")
        for _ in range(repeats):  # as the whole encode is timed: the fastest of a few, so the share compares like
            began = time.perf_counter()
            frame_coding.encode(model.coder, coords, dither)
            fastest = min(fastest, time.perf_counter() - began)
        seconds += fastest
        table += model.coder.bits(coords, dither)
        if loaded.card.coder != "box":  # no float counterpart: the estimate is the integer length
            estimate = table
            continue
        with torch.no_grad():
            centers = reference.centers(coords, u)
            estimate += float(reference.prior.box_bits(centers, reference.lattice).double().sum())
    return table, estimate, seconds


def format_table(rows: list[CodecFigures]) -> str:
    head = (f"{'model':<30} {'randomness':>10} {'coded':>7} {'payload':>7} {'tables':>7} {'estimate':>8} "
            f"{'over est.':>9} "
            f"{'bound':>6} {'gap':>6} {'mse':>7} {'enc vec/s':>10} {'dec vec/s':>10} {'box %':>7}")
    lines = [head, "(bits per source value; coded = whole stream, payload = coder words, over est. = payload vs the "
                   "model's box estimate; gap = coded − bound, bound R(D,0), or R(D/2,∞) for pd; speeds: the "
                   "fastest of 3 runs, one thread; box % = encode time in the entropy code, conditions and range "
                   "coder together: scripts/coder_share.py times the range coder alone)"]
    for r in rows:
        over = 100 * (r.payload_bits / r.estimate_bits - 1) if r.estimate_bits > 0.01 else float("nan")
        lines.append(f"{r.model:<30} {r.randomness:>10} {r.coded_bits:7.4f} {r.payload_bits:7.4f} {r.table_bits:7.4f} "
                     f"{r.estimate_bits:8.4f} "
                     f"{over:8.2f}% {r.bound:6.3f} {r.coded_bits - r.bound:+6.3f} "
                     f"{r.mse:7.4f} {r.encode_vps:10,.0f} {r.decode_vps:10,.0f} {100 * r.entropy_share:6.1f}%")
    if rows:
        lines.append("coding ran on " + ("the compiled kernels" if rows[0].kernels else
                                         "numpy and constriction (kernels not built, or LTC_KERNELS=0)"))
    return "\n".join(lines)


def compare(row: CodecFigures, progress: Callable[[str], None] = lambda _: None) -> list[peers.PeerFigures]:
    """The peers at ``row``'s MSE, on the same test vectors."""
    card = registry.by_name(row.model).card
    x = source_by_name(card.source).test_set(row.vectors)
    with threadpool_limits(limits=1):
        return peers.run(np.asarray(x, dtype=np.float32), row.mse, progress)


def whole_process(model: str, kib: int = 32, repeats: int = 5) -> tuple[float, float]:
    """Median seconds of `ltc encode` and `ltc decode` of a ``kib`` KiB float32 array, each a new process."""
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    card = registry.by_name(model).card
    ltc = str(Path(sys.executable).parent / "ltc")
    x = source_by_name(card.source).test_set(kib * 1024 // (4 * card.source_dim))
    timings: dict[str, list[float]] = {"encode": [], "decode": []}
    with tempfile.TemporaryDirectory() as work:
        np.save(Path(work) / "x.npy", np.asarray(x, dtype=np.float32))
        commands = {"encode": [ltc, "encode", "x.npy", "-o", "x.ltc", "--model", model, "--force"],
                    "decode": [ltc, "decode", "x.ltc", "-o", "y.npy", "--force"]}
        for _ in range(repeats):
            for verb, command in commands.items():
                start = time.perf_counter()
                subprocess.run(command, cwd=work, check=True, capture_output=True)
                timings[verb].append(time.perf_counter() - start)
    return float(np.median(timings["encode"])), float(np.median(timings["decode"]))


def format_comparison(row: CodecFigures, found: list[peers.PeerFigures]) -> str:
    lines = [f"{'at MSE ' + format(row.mse, '.4f'):<28} {'setting':<24} {'bits/value':>10} {'MSE':>7} "
             f"{'SW2²':>8} {'enc Mval/s':>10} {'dec Mval/s':>10}",
             f"{'ltc ' + row.model:<28} {row.randomness:<24} {row.coded_bits:10.4f} {row.mse:7.4f} {row.sw2:8.5f} "
             f"{row.encode_vps * _dim(row) / 1e6:10.2f} "
             f"{row.decode_vps * _dim(row) / 1e6:10.2f}"]
    for p in found:
        speed = "(a bound, no coder)".rjust(21) if np.isnan(p.encode_vps) else \
            f"{p.encode_vps / 1e6:10.2f} {p.decode_vps / 1e6:10.2f}"
        lines.append(f"{p.peer:<28} {p.setting:<24} {p.bits:10.4f} {p.mse:7.4f} {p.sw2:8.5f} {speed}")
    return "\n".join(lines)


def default_models() -> list[str]:
    """What `ltc bench codec` measures when given no names: every installed model whose name says gaussian."""
    return [c.name for c in registry.list_models() if "gaussian" in c.name]


def comparisons(rows: Sequence[CodecFigures], cells: bool = True,
                progress: Callable[[str], None] = lambda _: None) -> str:
    """Each row next to the peers at its MSE (`compare`), the whole-process times of a small file with the first
    row's model and, with ``cells``, the E8 shared-dither models' cells (1,000 vectors) and the closing table of
    targets (`scoreboard`); superseded models' cells are not measured."""
    parts = [format_comparison(row, compare(row, progress)) for row in rows]
    encode_s, decode_s = whole_process(rows[0].model)
    parts.append(f"whole process, a 32 KiB array with {rows[0].model} (median of 5): "
                 f"ltc encode {encode_s:.3f} s, ltc decode {decode_s:.3f} s")
    if cells:
        from ltccodec.lab.bench.cells import bench_cells

        later = {c.name for c in registry.list_models() if c.superseded_by}
        e8_sd = [registry.find(r.model) for r in rows
                 if r.lattice == "E8" and r.randomness == "sd" and r.model not in later]
        measured = bench_cells(e8_sd, vectors=1000, progress=progress) if e8_sd else []
        parts.append(scoreboard(rows, measured, (rows[0].model, encode_s, decode_s)))
    return "\n\n".join(parts)


def _dim(row: CodecFigures) -> int:
    return registry.by_name(row.model).card.source_dim


E8_NSM = 929.0 / 12960.0  # Conway & Sloane, SPLAG ch. 21
BOX_CODERS = ("box",)  # the speed rows: the box code (the distance code trades speed for rate)


def scoreboard(rows: Sequence[CodecFigures], cells: Sequence[object], whole: tuple[str, float, float] | None) -> str:
    """The table of the codec's targets (docs/results.md), filled from this run: E8 shared-dither models' pmf cost
    against the ideal cell code (``cells``: `bench.cells.CellFigures`) and gap to R(D,0), the lowest E8 SD rate, E8
    and Leech speeds, the whole-process times of a small file (``whole``: model, encode s, decode s) and the entropy
    code's share."""
    lines = ["the codec's targets, this run (targets in brackets; bit/value unless said):"]
    e8 = [r for r in rows if r.lattice == "E8" and r.randomness == "sd"]
    if cells:
        parts = [f"{c.model.rsplit('-', 1)[-1]} {c.pmf_cost:+.4f} at {c.box_learned:.3f}" for c in
                 sorted(cells, key=lambda c: -c.box_learned)]
        lines.append(f"  E8 sd, coded − ideal cell code (ltc bench cells, {cells[0].vectors} vectors) [≤ +0.01]: "
                     + ", ".join(parts))
    if e8:
        loss = float(theory.space_filling_loss(E8_NSM))
        # payload rates: the ~180-byte header and end record are a per-file constant, not a rate
        low = sorted((r for r in e8 if r.payload_bits <= 0.66), key=lambda r: -r.payload_bits)
        if low:
            lines.append(f"  E8 sd, payload gap to R(D,0) at ≤ 0.66 [≤ loss + 0.05 = {loss + 0.05:.3f}]: " + ", ".join(
                f"{r.model.rsplit('-', 1)[-1]} {r.payload_bits - r.bound:+.3f} at {r.payload_bits:.3f}" for r in low))
        lowest = min(e8, key=lambda r: r.payload_bits)
        lines.append(f"  lowest payload rate of an E8 sd model [0.1, on the curve]: {lowest.payload_bits:.3f} "
                     f"({lowest.model}, {lowest.payload_bits - lowest.bound:+.3f} from R(D,0))")
    for lattice, target in (("E8", "≥ 25 each"), ("Leech", "≥ 1 each")):
        fast = [r for r in rows if r.lattice == lattice and r.randomness == "sd" and r.coder in BOX_CODERS]
        if fast:
            r = max(fast, key=lambda r: r.vectors)
            dim = _dim(r)
            lines.append(f"  encode / decode, {lattice} sd, one thread, {r.model} [{target}]: "
                         f"{r.encode_vps * dim / 1e6:.2f} / {r.decode_vps * dim / 1e6:.2f} M values/s")
    if whole is not None:
        lines.append(f"  ltc encode / decode of a 32 KiB file, whole process, {whole[0]} [≤ 0.2 s]: "
                     f"{whole[1]:.3f} / {whole[2]:.3f} s")
    box = [r for r in e8 if r.coder in BOX_CODERS]
    if box:
        r = max(box, key=lambda r: r.vectors)
        lines.append(f"  entropy code's share of encode, {r.model} [≤ 20 %]: {100 * r.entropy_share:.1f} % (conditions "
                     f"and range coder; the range coder alone: scripts/coder_share.py)")
    kernels_ran = bool(rows) and rows[0].kernels
    lines.append("  coding ran on " + ("the compiled kernels" if kernels_ran else "numpy and constriction"))
    return "\n".join(lines)
