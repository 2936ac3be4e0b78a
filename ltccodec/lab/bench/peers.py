"""Array compressors a user would otherwise pick, at a matched MSE, for ``ltc bench codec``: uniform scalar
quantization with an ideal entropy coder (the empirical entropy of each coordinate's indices: a bound) and with
zstd -19 (a real file), SZ3 (PyPI ``pysz``, absolute error bound) and ZFP (PyPI ``zfpy``, fixed accuracy). Each
peer's one knob is bisected until its MSE is within 1 % of the target. The peers are optional extras of the
benchmark (``pip install "ltccodec[bench]"``); a missing one is skipped with its reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

DIRECTIONS_SEED = 2503


@dataclass(frozen=True)
class PeerFigures:
    peer: str
    setting: str
    bits: float  # per value
    mse: float
    sw2: float
    encode_vps: float  # values per second, one thread (NaN: a bound, not a coder)
    decode_vps: float


def sliced_w2(x: np.ndarray, y: np.ndarray, projections: int = 64) -> float:
    """Sliced W2² between two equally sized sets of vectors ``[N, n]`` (fixed random directions)."""
    rng = np.random.default_rng(DIRECTIONS_SEED)
    directions = rng.normal(size=(x.shape[1], projections))
    directions /= np.linalg.norm(directions, axis=0)
    a, b = np.sort(x @ directions, axis=0), np.sort(y @ directions, axis=0)
    return float(np.mean((a - b) ** 2))


Coder = Callable[[np.ndarray, float], tuple[bytes, Callable[[], np.ndarray]]]


def _matched(x: np.ndarray, target: float, coder: Coder, low: float, high: float) -> tuple[float, bytes, np.ndarray]:
    """(knob, bytes, decoded) with the knob bisected (geometrically) until the MSE is within 1 % of ``target``
    (MSE grows with the knob); a peer whose MSE moves in steps (ZFP's accuracy is a power of two) gets the
    closest setting at or below the target."""
    best, below = None, None
    for _ in range(40):
        knob = float(np.sqrt(low * high))
        data, decode = coder(x, knob)
        y = decode()
        mse = float(np.mean((x.astype(np.float64) - y) ** 2))
        best = (knob, data, y)
        if mse <= target and (below is None or mse > below[0]):
            below = (mse, best)
        if abs(mse / target - 1) < 0.01:
            return best
        low, high = (knob, high) if mse < target else (low, knob)
    assert best is not None
    return below[1] if below is not None else best


def _usq(x: np.ndarray, step: float) -> tuple[bytes, Callable[[], np.ndarray]]:
    q = np.rint(x / step).astype(np.int32)
    return q.tobytes(), lambda: q.astype(np.float64) * step


def _entropy_bits(indices: np.ndarray) -> float:
    total = 0.0
    for column in indices.reshape(len(indices), -1).T:
        _, counts = np.unique(column, return_counts=True)
        p = counts / len(column)
        total -= float(np.sum(counts * np.log2(p)))
    return total


def _timed(run: Callable[[], object], values: int) -> float:
    start = time.perf_counter()
    run()
    return values / max(time.perf_counter() - start, 1e-9)


def usq_ideal(x: np.ndarray, target: float) -> PeerFigures:
    step, _, y = _matched(x, target, _usq, 1e-4, 16.0)
    indices = np.rint(x / step).astype(np.int32)
    return PeerFigures("USQ + ideal entropy coder", f"step {step:.4g}", _entropy_bits(indices) / x.size,
                       float(np.mean((x - y) ** 2)), sliced_w2(x, y), float("nan"), float("nan"))


def usq_zstd(x: np.ndarray, target: float) -> PeerFigures:
    import zstandard

    step, _, y = _matched(x, target, _usq, 1e-4, 16.0)
    indices = np.rint(x / step).astype(np.int32)
    narrow = indices.astype(np.int16) if np.abs(indices).max(initial=0) < 1 << 15 else indices
    compressor, decompressor = zstandard.ZstdCompressor(level=19), zstandard.ZstdDecompressor()
    data = compressor.compress(narrow.tobytes())
    encode = _timed(lambda: compressor.compress(np.rint(x / step).astype(narrow.dtype).tobytes()), x.size)
    decode = _timed(lambda: np.frombuffer(decompressor.decompress(data), narrow.dtype).astype(np.float32) * step,
                    x.size)
    return PeerFigures("USQ + zstd -19", f"step {step:.4g}", 8 * len(data) / x.size, float(np.mean((x - y) ** 2)),
                       sliced_w2(x, y), encode, decode)


def sz3(x: np.ndarray, target: float) -> PeerFigures:
    from pysz import sz, szConfig, szErrorBoundMode

    def coder(x: np.ndarray, bound: float) -> tuple[bytes, Callable[[], np.ndarray]]:
        config = szConfig()
        config.errorBoundMode = szErrorBoundMode.ABS
        config.absErrorBound = bound
        compressed, _ = sz.compress(np.ascontiguousarray(x), config)
        return compressed.tobytes(), lambda: sz.decompress(compressed, x.dtype, x.shape)[0]

    bound, data, y = _matched(x, target, coder, 1e-4, 16.0)
    encode = _timed(lambda: coder(x, bound), x.size)
    blob = np.frombuffer(data, np.uint8)
    decode = _timed(lambda: sz.decompress(blob, x.dtype, x.shape), x.size)
    return PeerFigures("SZ3 (pysz)", f"abs bound {bound:.4g}", 8 * len(data) / x.size, float(np.mean((x - y) ** 2)),
                       sliced_w2(x, y), encode, decode)


def zfp(x: np.ndarray, target: float) -> PeerFigures:
    import zfpy

    def coder(x: np.ndarray, tolerance: float) -> tuple[bytes, Callable[[], np.ndarray]]:
        data = zfpy.compress_numpy(np.ascontiguousarray(x), tolerance=tolerance)
        return data, lambda: zfpy.decompress_numpy(data)

    tolerance, data, y = _matched(x, target, coder, 1e-4, 64.0)
    encode = _timed(lambda: zfpy.compress_numpy(np.ascontiguousarray(x), tolerance=tolerance), x.size)
    decode = _timed(lambda: zfpy.decompress_numpy(data), x.size)
    return PeerFigures("ZFP (zfpy)", f"tolerance {tolerance:.4g}", 8 * len(data) / x.size,
                       float(np.mean((x - y) ** 2)), sliced_w2(x, y), encode, decode)


PEERS: dict[str, Callable[[np.ndarray, float], PeerFigures]] = {
    "usq": usq_ideal, "usq+zstd": usq_zstd, "sz3": sz3, "zfp": zfp}


def run(x: np.ndarray, target: float, progress: Callable[[str], None] = lambda _: None) -> list[PeerFigures]:
    """Every peer that is installed, at MSE ``target`` on ``x`` (float32 ``[N, n]``)."""
    rows = []
    for name, peer in PEERS.items():
        try:
            rows.append(peer(x, target))
        except ImportError as error:
            progress(f"{name}: skipped ({error.name} is not installed: pip install \"ltccodec[bench]\")")
    return rows
