"""Audio framing for the codec: a waveform becomes vectors the LTC model codes, and back.

A modified discrete cosine transform (MDCT; Princen–Bradley time-domain aliasing cancellation, sine window,
50 % overlap) cuts the signal into frames of ``hop`` coefficients with perfect reconstruction by overlap-add.
Speech is loud and quiet in turn, so each frame carries gain indices ``q`` (side information, coded losslessly),
one per band of coefficients (one band: the whole frame), and the model sees each band's coefficients divided by
``gain(q) ** exponent``: with exponent ½ quiet frames keep a share of the bits without getting the same SNR as
loud ones (the partial normalization measured best in ../shared/DESIGN.md §7). With several bands the
normalization follows the frame's spectral envelope, so dither noise does too. Pure numpy; knows no model, coder
or file. Used by `sources.speech` and `codec`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np


@dataclass(frozen=True)
class Framing:
    """How a model's audio is framed; stored on the model card (``sample_rate`` is the model's own)."""

    sample_rate: int = 8000
    hop: int = 96  # MDCT coefficients per frame = the model's source dimension
    gain_steps: int = 2  # gain indices per octave (3 dB apart)
    gain_exponent: float = 0.5
    gain_min: int = -34  # lowest gain index: 2**-17, below 16-bit silence
    gain_max: int = 4  # highest gain index: 2**2
    bands: tuple[int, ...] = ()  # upper edges of the gain bands (the last is ``hop``); () is one band
    silence: int | None = None  # frames whose every band gain is at most this are silent [gain_min + 3 octaves]

    def __post_init__(self) -> None:
        object.__setattr__(self, "bands", tuple(int(b) for b in self.bands))  # JSON gives lists
        edges = self.band_edges
        if any(b <= a for a, b in zip(edges[:-1], edges[1:], strict=True)) or edges[-1] != self.hop:
            raise ValueError(f"band edges {self.bands} must rise to the hop {self.hop}")

    @property
    def gain_symbols(self) -> int:
        return self.gain_max - self.gain_min + 1

    @property
    def silent_at(self) -> int:
        """The highest gain index of silence: RMS 2^-14 (−84 dBFS) by default, far below any noise floor."""
        return self.gain_min + 3 * self.gain_steps if self.silence is None else self.silence

    @property
    def band_edges(self) -> tuple[int, ...]:
        """``(0, e1, ..., hop)``."""
        return (0, *(self.bands or (self.hop,)))

    @property
    def band_count(self) -> int:
        return len(self.band_edges) - 1

    @property
    def band_widths(self) -> np.ndarray:
        return np.diff(np.array(self.band_edges))

    def frames_for(self, samples: int) -> int:
        """MDCT frames that cover ``samples`` samples (plus the half window before and after)."""
        return -(-samples // self.hop) + 1


@lru_cache(maxsize=8)
def _basis(hop: int) -> np.ndarray:
    """float64 ``[2·hop, hop]``: sine window times the orthonormal MDCT cosines (the TDAC pair is its own
    transpose: analysis ``x @ B``, synthesis ``c @ B.T`` then overlap-add)."""
    n = np.arange(2 * hop)[:, None]
    k = np.arange(hop)[None, :]
    window = np.sin(np.pi * (n + 0.5) / (2 * hop))
    basis = window * np.sqrt(2.0 / hop) * np.cos(np.pi / hop * (n + 0.5 + hop / 2) * (k + 0.5))
    basis.setflags(write=False)
    return basis


def mdct(signal: np.ndarray, hop: int) -> np.ndarray:
    """float64 ``[F, hop]`` coefficients of a 1-D signal, ``F = ceil(T / hop) + 1`` frames; frame ``f`` covers
    samples ``[(f − 1)·hop, (f + 1)·hop)`` with zeros outside the signal."""
    samples = len(signal)
    frames = -(-samples // hop) + 1
    padded = np.zeros((frames + 1) * hop, dtype=np.float64)
    padded[hop:hop + samples] = signal
    blocks = np.lib.stride_tricks.sliding_window_view(padded, 2 * hop)[::hop]  # [F, 2·hop]
    return blocks @ _basis(hop)


def imdct(coefficients: np.ndarray, hop: int, samples: int) -> np.ndarray:
    """Inverse of `mdct`: float64 ``[samples]`` by windowed overlap-add of ``[F, hop]`` coefficients."""
    frames = len(coefficients)
    blocks = coefficients @ _basis(hop).T  # [F, 2·hop]
    out = np.zeros((frames + 1) * hop, dtype=np.float64)
    out[: frames * hop] += blocks[:, :hop].reshape(-1)
    out[hop: (frames + 1) * hop] += blocks[:, hop:].reshape(-1)
    return out[hop:hop + samples]


def gain_indices(coefficients: np.ndarray, framing: Framing) -> np.ndarray:
    """int64 ``[F, B]``: each band's RMS on a log2 grid of ``gain_steps`` per octave, clipped to the range."""
    power = np.square(coefficients)
    edges = framing.band_edges
    rms = np.sqrt(np.stack([power[:, a:b].mean(axis=-1) for a, b in zip(edges[:-1], edges[1:], strict=True)], 1))
    with np.errstate(divide="ignore"):
        index = np.round(framing.gain_steps * np.log2(rms))
    return np.clip(np.nan_to_num(index, neginf=framing.gain_min), framing.gain_min, framing.gain_max).astype(np.int64)


def scales(indices: np.ndarray, framing: Framing) -> np.ndarray:
    """float64 ``[F, hop]`` divisors of each coefficient: its band's ``gain ** exponent``. Only the reconstruction
    uses them, never a coded symbol, so a last-bit difference between machines cannot make the two ends drift."""
    per_band = np.exp2(indices.astype(np.float64) * (framing.gain_exponent / framing.gain_steps))  # [F, B]
    return np.repeat(per_band, framing.band_widths, axis=1)


def to_vectors(signal: np.ndarray, framing: Framing) -> tuple[np.ndarray, np.ndarray]:
    """A mono signal at the model's rate -> (float32 ``[F, hop]`` normalized vectors, int64 ``[F, B]`` gains)."""
    coefficients = mdct(signal, framing.hop)
    indices = gain_indices(coefficients, framing)
    return (coefficients / scales(indices, framing)).astype(np.float32), indices


def from_vectors(vectors: np.ndarray, indices: np.ndarray, framing: Framing, samples: int) -> np.ndarray:
    """Inverse of `to_vectors`: float64 ``[samples]``."""
    return imdct(np.asarray(vectors, dtype=np.float64) * scales(indices, framing), framing.hop, samples)


def silent(indices: np.ndarray, framing: Framing) -> np.ndarray:
    """bool ``[F]``: frames whose gains ``[F, B]`` are all at silence level. The codec sends only their gains and
    the decoder makes them exact zeros: a factorized prior would spend bits on every coefficient of silence."""
    return np.all(indices <= framing.silent_at, axis=1)


def gain_deltas(indices: np.ndarray, framing: Framing) -> np.ndarray:
    """Symbols ``[F, B]`` of a run of gain indices ``[F, B]``: per band, each index minus the one before (the first
    minus ``gain_min``), shifted into ``[0, 2·G − 1)`` for G gain symbols. A run starts at every coded frame."""
    previous = np.concatenate([np.full((1, indices.shape[1]), framing.gain_min), indices[:-1]])
    return indices - previous + (framing.gain_symbols - 1)


def gain_indices_from_deltas(symbols: np.ndarray, framing: Framing) -> np.ndarray:
    """Inverse of `gain_deltas` (``[F, B]``); raises ValueError if an index leaves the gain range (corrupt data)."""
    indices = framing.gain_min + np.cumsum(symbols.astype(np.int64) - (framing.gain_symbols - 1), axis=0)
    if len(indices) and (indices.min() < framing.gain_min or indices.max() > framing.gain_max):
        raise ValueError("gain index out of range")
    return indices


def gain_pmf(runs: list[np.ndarray], framing: Framing) -> np.ndarray:
    """float64 ``[B, 2·G − 1]``: per band, frequencies of the gain symbols over runs of training indices
    (``[F, B]`` each), with one extra count per symbol so that every symbol stays codable."""
    counts = np.ones((framing.band_count, 2 * framing.gain_symbols - 1))
    for run in runs:
        symbols = gain_deltas(run, framing)
        for band in range(framing.band_count):
            counts[band] += np.bincount(symbols[:, band], minlength=counts.shape[1])
    return counts / counts.sum(axis=1, keepdims=True)


def by_time(channels: list[np.ndarray], span: int) -> np.ndarray:
    """The channels' frame sequences (each ``[F, ...]``) in the order a stream holds them: ``span`` frames of
    channel 0, the same span of channel 1, and so on, then the next span (the last may be shorter). So each frame
    record of ``span · C`` vectors covers one stretch of time for every channel."""
    frames = len(channels[0])
    return np.concatenate([c[start:start + span] for start in range(0, frames, span) for c in channels])


def by_channel(vectors: np.ndarray, channels: int, span: int) -> list[np.ndarray]:
    """Inverse of `by_time`: each channel's frames ``[F, ...]`` from ``vectors`` ``[C·F, ...]``."""
    frames = len(vectors) // channels
    parts: list[list[np.ndarray]] = [[] for _ in range(channels)]
    at = 0
    for start in range(0, frames, span):
        length = min(span, frames - start)
        for c in range(channels):
            parts[c].append(vectors[at:at + length])
            at += length
    return [np.concatenate(p) for p in parts]
