"""Lattice quantizer benchmark: measured NSM, closest-point throughput on one core, memory per vector, and
the coset-enumeration baselines for Λ16 and Λ24 side by side."""

from __future__ import annotations

import dataclasses
import time
import tracemalloc
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from ltccodec.lattice import Lattice, by_name, measure_nsm
from ltccodec.lattice.naive import naive_barnes_wall, naive_leech

DEFAULT_LATTICES = ("Z8", "A2", "D4", "D4*", "E8", "BW16", "Leech", "E8^3")
_NAIVE: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {"BW16": naive_barnes_wall, "Leech": naive_leech}


@dataclass(frozen=True)
class Speed:
    """Throughput and memory of one closest-point routine."""

    vectors_per_second: float
    bytes_per_vector: float  # peak traced memory per vector with the whole batch in one piece
    peak_bytes: float  # peak traced memory for the benchmark batch (chunked as in normal use)
    peak_projected: bool = False  # True when peak_bytes = bytes_per_vector × batch (too big to run)


@dataclass(frozen=True)
class LatticeFigures:
    name: str
    dim: int
    nsm_known: float | None
    nsm_measured: float
    nsm_stderr: float
    fast: Speed
    naive: Speed | None = None


def bench_lattices(names: Iterable[str] = DEFAULT_LATTICES, vectors: int = 100_000, nsm_samples: int = 200_000,
                   naive_vectors: int = 2_000, seed: int = 0,
                   progress: Callable[[str], None] = lambda _: None) -> list[LatticeFigures]:
    """Measure every lattice in ``names``. Runs on one core (BLAS limited to one thread)."""
    rows = []
    with threadpool_limits(limits=1):
        for name in names:
            lattice = by_name(name)
            rng = np.random.default_rng(seed)
            progress(f"{name}: NSM from {nsm_samples} samples")
            nsm = measure_nsm(lattice, nsm_samples, rng)
            x = rng.normal(size=(vectors, lattice.dim)) * 4.0
            progress(f"{name}: closest point of {vectors} vectors")
            unchunked = dataclasses.replace(lattice, chunk_bytes=1 << 62)
            fast = _speed(lattice.nearest, x, unchunked.nearest)
            naive = None
            if name in _NAIVE:
                progress(f"{name}: coset-enumeration baseline on {min(naive_vectors, vectors)} vectors")
                naive = _naive_speed(lattice, _NAIVE[name], x, naive_vectors)
            rows.append(LatticeFigures(name, lattice.dim, lattice.nsm, nsm.value, nsm.stderr, fast, naive))
    return rows


def _speed(run: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
           unchunked: Callable[[np.ndarray], np.ndarray]) -> Speed:
    rate = _rate(run, x)
    peak = _peak(run, x)
    probe = x[:1024]
    return Speed(rate, _peak(unchunked, probe) / len(probe), peak)


def _naive_speed(lattice: Lattice, naive: Callable[[np.ndarray, int], np.ndarray], x: np.ndarray,
                 count: int) -> Speed:
    """The baseline in the native frame; memory per vector measured on one 128-vector piece, then
    projected to the whole batch as the published approach (one piece) would need."""
    scale = lattice.scales[0]
    z = x[:count] * scale
    rate = _rate(lambda v: naive(v, 128), z)
    probe = z[:128]
    per_vector = _peak(lambda v: naive(v, len(v)), probe) / len(probe)
    return Speed(rate, per_vector, per_vector * len(x), peak_projected=True)


def _rate(run: Callable[[np.ndarray], np.ndarray], x: np.ndarray, min_seconds: float = 1.0) -> float:
    """Best vectors/s over up to three runs (stops early once a run takes min_seconds)."""
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        run(x)
        elapsed = time.perf_counter() - start
        best = max(best, len(x) / elapsed)
        if elapsed >= min_seconds:
            break
    return best


def _peak(run: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> float:
    """Peak traced allocation (bytes) during ``run(x)``, output included, input excluded."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        run(x)
        return float(tracemalloc.get_traced_memory()[1] - before)
    finally:
        tracemalloc.stop()


def format_table(rows: list[LatticeFigures], vectors: int) -> str:
    """A plain-text table of the figures, then the fast/baseline ratios."""
    lines = [f"{'lattice':<8} {'dim':>3}  {'NSM known':>9}  {'NSM measured':>20}  {'vectors/s':>10}  "
             f"{'bytes/vector':>12}  {'peak MB @' + format(vectors, ','):>16}"]

    def speed_cells(s: Speed) -> str:
        peak = f"{s.peak_bytes / 2**20:,.1f}" + (" (proj.)" if s.peak_projected else "")
        return f"{s.vectors_per_second:>10,.0f}  {s.bytes_per_vector:>12,.0f}  {peak:>16}"

    for r in rows:
        known = f"{r.nsm_known:.6f}" if r.nsm_known is not None else "-"
        measured = f"{r.nsm_measured:.6f} ± {r.nsm_stderr:.6f}"
        lines.append(f"{r.name:<8} {r.dim:>3}  {known:>9}  {measured:>20}  {speed_cells(r.fast)}")
        if r.naive is not None:
            lines.append(f"{'  naive':<8} {'':>3}  {'':>9}  {'':>20}  {speed_cells(r.naive)}")
    for r in rows:
        if r.naive is not None:
            lines.append(f"{r.name}: {r.fast.vectors_per_second / r.naive.vectors_per_second:.1f}x the baseline's "
                         f"throughput, {r.naive.bytes_per_vector / r.fast.bytes_per_vector:.0f}x less memory per "
                         f"vector, {r.naive.peak_bytes / r.fast.peak_bytes:.0f}x less peak memory for "
                         f"{vectors:,} vectors")
    return "\n".join(lines)
