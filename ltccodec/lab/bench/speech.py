"""Speech benchmark behind ``ltc bench speech``: our codec next to the usual narrowband speech codecs on the test
recordings of the ``speech`` source (8 kHz mono), scored by PESQ-NB, STOI, segmental SNR and SNR, with the rate
measured from the bytes each codec actually wrote, and the whole-process speed of the command-line tools.

Every codec, ours included, codes the same 16-bit WAV files (the cached test clips written out again), and every
decoded signal is time-aligned to its reference (`align`) before it is scored. Rates are given twice: from the
whole coded file (container, headers and all) and from the payload alone (Ogg packets for Opus, the WAV ``data``
chunk for the soundfile codecs, the raw frames for Codec2, the range-coder words for ours).

Figures go to stdout (`format_table`, `format_speed`); progress and skipped rows go to stderr.
"""

from __future__ import annotations

import argparse
import functools
import io
import math
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import scipy.signal
import soundfile

RATE = 8000  # Hz: the speech source and every peer here are narrowband
SEGMENT_MS = 20.0  # frame length of the segmental SNR
SEGSNR_FLOOR = -10.0  # dB: each frame's SNR is clamped to [floor, ceiling]
SEGSNR_CEILING = 35.0
SILENCE_DB = 40.0  # frames of the reference this far below its loudest frame are left out of the segmental SNR
MAX_LAG_SECONDS = 0.1  # alignment search range, either way
OPUS_BITRATES = (6.0, 8.0, 10.0, 12.0, 16.0)  # kbit/s targets (VBR)
CODEC2_MODES = ("3200", "1600", "700C")
SOUNDFILE_PEERS = (("GSM 6.10", "GSM610"), ("IMA ADPCM", "IMA_ADPCM"), ("G.721", "G721_32"),
                   ("NMS ADPCM", "NMS_ADPCM_16"))
OPUS_MAX_BANDWIDTH_CTL = "4004=1101"  # OPUS_SET_MAX_BANDWIDTH_REQUEST = OPUS_BANDWIDTH_NARROWBAND
NONCE = bytes(16)  # fixed, so that our rows are reproducible
SEED = 0  # decoder seed of our rows
SPEED_SECONDS = 60.0  # length of the file timed by `speed`
SPEED_REPEATS = 3

Progress = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------------------------
# Quality metrics


@dataclass(frozen=True, eq=False)
class Aligned:
    """A reference and a decoded signal cut to their overlap once the decoded one is shifted back by ``lag``
    samples (``lag > 0``: the decoded signal was late)."""

    reference: np.ndarray
    decoded: np.ndarray
    lag: int


@dataclass(frozen=True)
class Quality:
    """Scores of one decoded signal against its reference: SNR and segmental SNR in dB, PESQ-NB (MOS-LQO) and
    STOI; ``None`` where the metric's package is missing or it could not score the signal."""

    snr: float
    segsnr: float
    pesq: float | None
    stoi: float | None


def align(reference: np.ndarray, decoded: np.ndarray, max_lag: int) -> Aligned:
    """Shift ``decoded`` by the integer delay in ``[-max_lag, max_lag]`` that maximizes its cross-correlation with
    ``reference`` (computed by FFT), and cut both to the samples they then share. Lag 0 when nothing correlates."""
    ref = np.asarray(reference, dtype=np.float64).ravel()
    dec = np.asarray(decoded, dtype=np.float64).ravel()
    if ref.size == 0 or dec.size == 0:
        raise ValueError("align: empty signal")
    if max_lag < 0:
        raise ValueError(f"align: max_lag {max_lag} < 0")
    corr = scipy.signal.correlate(dec, ref, mode="full", method="fft")
    lags = scipy.signal.correlation_lags(dec.size, ref.size, mode="full")
    window = np.abs(lags) <= max_lag
    corr, lags = corr[window], lags[window]
    lag = int(lags[np.argmax(corr)]) if corr.size and corr.max() > 0 else 0
    # decoded[n + lag] ≈ reference[n]
    ref_start, dec_start = max(0, -lag), max(0, lag)
    length = min(ref.size - ref_start, dec.size - dec_start)
    if length <= 0:
        raise ValueError(f"align: no overlap at lag {lag}")
    return Aligned(ref[ref_start:ref_start + length], dec[dec_start:dec_start + length], lag)


def _same_length(reference: np.ndarray, decoded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ref = np.asarray(reference, dtype=np.float64).ravel()
    dec = np.asarray(decoded, dtype=np.float64).ravel()
    if ref.shape != dec.shape:
        raise ValueError(f"signals differ in length: {ref.size} and {dec.size} (align them first)")
    return ref, dec


def snr_db(reference: np.ndarray, decoded: np.ndarray) -> float:
    """10·log10(reference energy / error energy) over the whole signal; +inf for an exact copy."""
    ref, dec = _same_length(reference, decoded)
    signal = float(np.sum(ref**2))
    noise = float(np.sum((ref - dec) ** 2))
    if noise == 0.0:
        return math.inf
    if signal == 0.0:
        return -math.inf
    return 10.0 * math.log10(signal / noise)


def segmental_snr_db(reference: np.ndarray, decoded: np.ndarray, rate: int, frame_ms: float = SEGMENT_MS,
                     floor: float = SEGSNR_FLOOR, ceiling: float = SEGSNR_CEILING,
                     silence_db: float = SILENCE_DB) -> float:
    """Mean over frames of ``frame_ms`` of each frame's SNR clamped to ``[floor, ceiling]`` dB, leaving out the
    frames whose reference energy is more than ``silence_db`` below the loudest frame's (and silent ones). A
    trailing partial frame is dropped. NaN when no frame is left."""
    ref, dec = _same_length(reference, decoded)
    n = max(1, round(rate * frame_ms / 1000))
    frames = ref.size // n
    if frames == 0:
        return math.nan
    r = ref[:frames * n].reshape(frames, n)
    e = (ref - dec)[:frames * n].reshape(frames, n)
    signal = np.sum(r**2, axis=1)
    noise = np.sum(e**2, axis=1)
    loudest = float(signal.max())
    if loudest <= 0.0:
        return math.nan
    keep = signal > loudest * 10.0 ** (-silence_db / 10.0)
    with np.errstate(divide="ignore"):
        snr = 10.0 * np.log10(signal[keep] / noise[keep])  # +inf where a frame is exact
    return float(np.mean(np.clip(snr, floor, ceiling)))


def pesq_nb(reference: np.ndarray, decoded: np.ndarray, rate: int = RATE) -> float | None:
    """Narrowband PESQ (ITU-T P.862, MOS-LQO) from the ``pesq`` package; None when the package is missing, the
    rate is not 8 or 16 kHz, or PESQ refuses the signal (e.g. no utterance found)."""
    try:
        from pesq import pesq
    except ImportError:
        return None
    if rate not in (8000, 16000):
        return None
    try:
        return float(pesq(rate, np.asarray(reference, dtype=np.float64), np.asarray(decoded, dtype=np.float64), "nb"))
    except Exception:  # the package raises its own errors (NoUtterancesError, BufferTooShortError, ...)
        return None


def stoi(reference: np.ndarray, decoded: np.ndarray, rate: int = RATE) -> float | None:
    """Short-time objective intelligibility (pystoi, classic STOI); None when the package is missing or fails."""
    try:
        from pystoi import stoi as _stoi
    except ImportError:
        return None
    try:
        return float(_stoi(np.asarray(reference, dtype=np.float64), np.asarray(decoded, dtype=np.float64), rate,
                           extended=False))
    except Exception:
        return None


def _measure(reference: np.ndarray, decoded: np.ndarray, rate: int,
             max_lag: int | None = None) -> tuple[Quality, float, float]:
    """`Quality` of the aligned pair, with its signal and error energies (for an SNR over many files)."""
    lag = round(MAX_LAG_SECONDS * rate) if max_lag is None else max_lag
    pair = align(reference, decoded, lag)
    ref, dec = pair.reference, pair.decoded
    score = Quality(snr=snr_db(ref, dec), segsnr=segmental_snr_db(ref, dec, rate), pesq=pesq_nb(ref, dec, rate),
                    stoi=stoi(ref, dec, rate))
    return score, float(np.sum(ref**2)), float(np.sum((ref - dec) ** 2))


def quality(reference: np.ndarray, decoded: np.ndarray, rate: int, max_lag: int | None = None) -> Quality:
    """Align ``decoded`` to ``reference`` (within ``max_lag`` samples, default 100 ms) and score it."""
    return _measure(reference, decoded, rate, max_lag)[0]


# ----------------------------------------------------------------------------------------------------------------
# Peers


@dataclass(frozen=True, eq=False)
class Coded:
    """What one codec made of one file: the coded file's bytes, how many of them are payload, and the decoded
    signal (float64, 8 kHz mono)."""

    data: bytes
    payload_bytes: int
    decoded: np.ndarray
    model: str = ""  # our codec: the model the encoder resolved


class Peer(Protocol):
    """A reference codec: `code` a 16-bit 8 kHz mono WAV file; `missing` says why it cannot run (None if it can)."""

    @property
    def codec(self) -> str: ...

    @property
    def setting(self) -> str: ...

    @property
    def note(self) -> str: ...

    def missing(self) -> str | None: ...

    def code(self, wav: Path, workdir: Path) -> Coded: ...


def _run(command: Sequence[str]) -> None:
    """Run a tool; on failure raise RuntimeError with its stderr."""
    done = subprocess.run(list(command), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["(no message)"]
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {tail[0]}")


def _missing_tools(*names: str) -> str | None:
    absent = [n for n in names if shutil.which(n) is None]
    return f"{', '.join(absent)} not installed" if absent else None


def _read_mono(data: bytes | Path) -> np.ndarray:
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    audio, _ = soundfile.read(source, dtype="float64", always_2d=True)
    return audio[:, 0]


def ogg_packet_sizes(data: bytes) -> list[int]:
    """Sizes of the packets of an Ogg stream (one logical stream), in order, from the pages' lacing tables."""
    sizes: list[int] = []
    pending = 0
    position = 0
    while position + 27 <= len(data):
        if data[position:position + 4] != b"OggS":
            raise ValueError(f"not an Ogg page at byte {position}")
        segments = data[position + 26]
        lacing = data[position + 27:position + 27 + segments]
        body = sum(lacing)
        for value in lacing:
            pending += value
            if value < 255:
                sizes.append(pending)
                pending = 0
        position += 27 + segments + body
    if pending:
        sizes.append(pending)
    return sizes


@functools.cache
def opus_narrowband_cap() -> bool:
    """Whether the installed opusenc accepts ``--set-ctl-int 4004=1101`` (probed once on 0.1 s of noise)."""
    if _missing_tools("opusenc") is not None:
        return False
    with tempfile.TemporaryDirectory(prefix="ltc-opus-") as folder:
        wav = Path(folder) / "probe.wav"
        noise = np.random.default_rng(0).normal(0.0, 0.1, RATE // 10)
        soundfile.write(wav, noise, RATE, subtype="PCM_16")
        try:
            _run(["opusenc", "--quiet", "--set-ctl-int", OPUS_MAX_BANDWIDTH_CTL, str(wav),
                  str(wav.with_suffix(".opus"))])
        except RuntimeError:
            return False
    return True


@dataclass(frozen=True)
class OpusPeer:
    """Opus (opus-tools) at a VBR target ``bitrate`` kbit/s, capped at narrowband when opusenc accepts the control;
    without the 512 bytes of tag padding opusenc reserves by default. Decoded at 8 kHz without dither."""

    bitrate: float

    @property
    def codec(self) -> str:
        return "Opus NB"

    @property
    def setting(self) -> str:
        return f"{self.bitrate:g} kbit/s VBR"

    @property
    def note(self) -> str:
        return "" if opus_narrowband_cap() else "no NB cap accepted; 8 kHz input"

    def missing(self) -> str | None:
        return _missing_tools("opusenc", "opusdec")

    def code(self, wav: Path, workdir: Path) -> Coded:
        coded, out = workdir / f"{wav.stem}.opus", workdir / f"{wav.stem}.opus.wav"
        cap = ["--set-ctl-int", OPUS_MAX_BANDWIDTH_CTL] if opus_narrowband_cap() else []
        _run(["opusenc", "--quiet", "--bitrate", f"{self.bitrate:g}", "--padding", "0", *cap, str(wav), str(coded)])
        _run(["opusdec", "--quiet", "--rate", str(RATE), "--no-dither", str(coded), str(out)])
        data = coded.read_bytes()
        payload = sum(ogg_packet_sizes(data)[2:])  # after OpusHead and OpusTags
        return Coded(data, payload, _read_mono(out))


@dataclass(frozen=True)
class Codec2Peer:
    """Codec2 (c2enc/c2dec) in ``mode``, headerless raw frames: the whole file is payload (each frame rounded up to
    whole bytes, so 700C writes 0.8 kbit/s)."""

    mode: str

    @property
    def codec(self) -> str:
        return "Codec2"

    @property
    def setting(self) -> str:
        return self.mode

    @property
    def note(self) -> str:
        return ""

    def missing(self) -> str | None:
        return _missing_tools("c2enc", "c2dec")

    def code(self, wav: Path, workdir: Path) -> Coded:
        samples, rate = soundfile.read(wav, dtype="int16", always_2d=True)
        if rate != RATE:
            raise ValueError(f"{wav}: {rate} Hz, Codec2 needs {RATE}")
        raw, coded, out = (workdir / f"{wav.stem}.{ext}" for ext in ("raw", "c2bin", "c2.raw"))
        raw.write_bytes(samples[:, 0].astype("<i2").tobytes())
        _run(["c2enc", self.mode, str(raw), str(coded)])
        _run(["c2dec", self.mode, str(coded), str(out)])
        data = coded.read_bytes()
        decoded = np.frombuffer(out.read_bytes(), dtype="<i2").astype(np.float64) / 32768.0
        return Coded(data, len(data), decoded)


def wav_chunk_size(data: bytes, name: bytes) -> int:
    """Size field of the first RIFF/WAVE chunk called ``name`` (e.g. ``b"data"``)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    position = 12
    while position + 8 <= len(data):
        size = int.from_bytes(data[position + 4:position + 8], "little")
        if data[position:position + 4] == name:
            return size
        position += 8 + size + (size & 1)
    raise ValueError(f"no {name!r} chunk")


@dataclass(frozen=True)
class SoundfilePeer:
    """A codec libsndfile writes in WAV (``subtype``, e.g. GSM610); the payload is the ``data`` chunk."""

    name: str
    subtype: str

    @property
    def codec(self) -> str:
        return self.name

    @property
    def setting(self) -> str:
        return self.subtype

    @property
    def note(self) -> str:
        return ""

    def missing(self) -> str | None:
        if self.subtype not in soundfile.available_subtypes("WAV"):
            return f"libsndfile has no WAV subtype {self.subtype}"
        return None

    def code(self, wav: Path, workdir: Path) -> Coded:
        samples, rate = soundfile.read(wav, dtype="int16", always_2d=True)
        buffer = io.BytesIO()
        soundfile.write(buffer, samples[:, 0], rate, subtype=self.subtype, format="WAV")
        data = buffer.getvalue()
        return Coded(data, wav_chunk_size(data, b"data"), _read_mono(data))


def default_peers() -> list[Peer]:
    """Opus NB at `OPUS_BITRATES`, Codec2 at `CODEC2_MODES`, then the soundfile codecs."""
    peers: list[Peer] = [OpusPeer(b) for b in OPUS_BITRATES]
    peers += [Codec2Peer(m) for m in CODEC2_MODES]
    peers += [SoundfilePeer(name, subtype) for name, subtype in SOUNDFILE_PEERS]
    return peers


# ----------------------------------------------------------------------------------------------------------------
# Our codec


@dataclass(frozen=True)
class Setting:
    """One configuration of our codec: a model name, family, ladder or model file; a randomness (None: what the
    model was trained for); and a rate point, by ``bitrate`` (kbit/s) or ``quality`` (1..5), or neither."""

    model: str = "speech-z"
    randomness: str | None = None
    bitrate: float | None = None
    quality: int | None = None

    @property
    def label(self) -> str:
        parts = [self.model, f"r={self.randomness}" if self.randomness else ""]
        parts += [f"{self.bitrate:g} kbit/s" if self.bitrate is not None else "",
                  f"q{self.quality}" if self.quality is not None else ""]
        return " ".join(p for p in parts if p)


DEFAULT_SETTINGS = tuple(Setting("speech-z", r, quality=q) for r in ("none", "pd") for q in range(1, 6))


def settings_for(models: Sequence[str] = (), randomness: Sequence[str] = ()) -> list[Setting]:
    """`ltc bench speech`'s settings: each of ``models`` under each of ``randomness`` (default: the model's own),
    or without models the five rate points of ``speech-z`` under each of ``randomness`` (default none, pd, 4bits)."""
    if models:
        return [Setting(m, r) for m in models for r in randomness or (None,)]
    return [Setting("speech-z", r, quality=q) for r in randomness or ("none", "pd", "4bits") for q in range(1, 6)]


@dataclass(frozen=True)
class LtcCoder:
    """Our codec in-process through `files.encode_file` / `files.decode_file` (fixed nonce, decoder seed 0), with
    the `Peer` interface."""

    choice: Setting

    @property
    def codec(self) -> str:
        return "ltc"

    @property
    def setting(self) -> str:
        return self.choice.label

    @property
    def note(self) -> str:
        return ""

    def missing(self) -> str | None:
        return None  # a missing model shows as an LtcError on the first file

    def code(self, wav: Path, workdir: Path) -> Coded:
        from ltccodec import files
        from ltccodec.randomness import Randomness
        from ltccodec.runtime import registry

        s = self.choice
        randomness = Randomness.parse(s.randomness) if s.randomness is not None else None
        choice = registry.Choice(model=s.model, randomness=randomness, bitrate=s.bitrate, quality=s.quality)
        coded, out = workdir / f"{wav.stem}.ltc", workdir / f"{wav.stem}.ltc.wav"
        stats = files.encode_file(str(wav), str(coded), choice, nonce=NONCE, force=True)
        files.decode_file(str(coded), str(out), seed=SEED, force=True)
        data = coded.read_bytes()
        if len(data) != stats.output_bytes:
            raise RuntimeError(f"{coded}: {len(data)} bytes on disk, encode reported {stats.output_bytes}")
        return Coded(data, stats.payload_bytes, _read_mono(out), stats.model)


# ----------------------------------------------------------------------------------------------------------------
# Running


@dataclass(frozen=True)
class Row:
    """One codec setting averaged over the test files: kbit/s = total bits / total seconds (whole files, and
    payload only); SNR over all files together; the other scores are means over files (PESQ and STOI over the
    files they could score, ``None`` if none)."""

    codec: str
    setting: str
    files: int
    seconds: float
    kbps: float
    payload_kbps: float
    snr: float
    segsnr: float
    pesq: float | None
    stoi: float | None
    note: str = ""


def load_test_clips(files: int | None = None) -> list[np.ndarray]:
    """The test recordings (float64, 8 kHz), the first ``files`` of them when given."""
    from ltccodec.lab.sources import speech

    clips = speech.load_split("test")
    return clips if files is None else clips[:files]


def write_clips(clips: Sequence[np.ndarray], folder: Path) -> list[Path]:
    """Write each clip as 16-bit 8 kHz mono WAV ``clip-NNN.wav`` under ``folder``."""
    paths = []
    for index, clip in enumerate(clips):
        path = folder / f"clip-{index:03d}.wav"
        soundfile.write(path, _to_int16(clip), RATE, subtype="PCM_16")
        paths.append(path)
    return paths


def _to_int16(clip: np.ndarray) -> np.ndarray:
    return np.clip(np.round(np.asarray(clip, dtype=np.float64) * 32768.0), -32768, 32767).astype(np.int16)


def _mean(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.mean(kept)) if kept else None


def evaluate(coder: Peer, clips: Sequence[np.ndarray], wavs: Sequence[Path], workdir: Path,
             progress: Progress = _stderr) -> Row:
    """Code every file with ``coder``, score it against its clip and average (see `Row`). Raises what the coder
    raises (LtcError, RuntimeError, OSError) so that the caller can skip the row."""
    total_bytes = payload_bytes = 0
    signal = noise = 0.0
    scores: list[Quality] = []
    setting = coder.setting
    for index, (clip, wav) in enumerate(zip(clips, wavs, strict=True)):
        coded = coder.code(wav, workdir)
        if index == 0 and coded.model and coded.model != coder.setting:
            setting = f"{coded.model} ({coder.setting})"
        score, energy, error = _measure(clip, coded.decoded, RATE)
        total_bytes += len(coded.data)
        payload_bytes += coded.payload_bytes
        signal += energy
        noise += error
        scores.append(score)
        if (index + 1) % 10 == 0 or index + 1 == len(clips):
            progress(f"  {coder.codec} {setting}: {index + 1}/{len(clips)} files")
    seconds = sum(len(c) for c in clips) / RATE
    snr = math.inf if noise == 0 else 10.0 * math.log10(signal / noise) if signal > 0 else -math.inf
    segsnr = _mean([s.segsnr for s in scores])
    return Row(codec=coder.codec, setting=setting, files=len(clips), seconds=seconds,
               kbps=8 * total_bytes / seconds / 1000, payload_kbps=8 * payload_bytes / seconds / 1000, snr=snr,
               segsnr=math.nan if segsnr is None else segsnr, pesq=_mean([s.pesq for s in scores]),
               stoi=_mean([s.stoi for s in scores]), note=coder.note)


def run(settings: Sequence[Setting] = DEFAULT_SETTINGS, peers: Sequence[Peer] | None = None, files: int | None = None,
        progress: Progress = _stderr) -> list[Row]:
    """Rows for our codec at each of ``settings`` and for each peer (default: `default_peers`; pass ``()`` for
    none) over the test recordings, or their first ``files``. A setting whose model is missing, or a peer whose
    tool or subtype is missing or fails, is skipped with a line on stderr. Our codec runs on one thread."""
    from threadpoolctl import threadpool_limits

    from ltccodec.errors import LtcError

    peers = default_peers() if peers is None else peers
    clips = load_test_clips(files)
    if not clips:
        raise ValueError("no test recordings selected")
    progress(f"speech bench: {len(clips)} test files, {sum(len(c) for c in clips) / RATE:.1f} s")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="ltc-bench-speech-") as folder:
        workdir = Path(folder)
        wavs = write_clips(clips, workdir)
        if settings:
            import torch

            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                with threadpool_limits(limits=1):
                    for setting in settings:
                        progress(f"ltc {setting.label}")
                        try:
                            rows.append(evaluate(LtcCoder(setting), clips, wavs, workdir, progress))
                        except LtcError as error:
                            _stderr(f"skipping ltc {setting.label}: {error}")
            finally:
                torch.set_num_threads(threads)
        for peer in peers:
            reason = peer.missing()
            if reason is not None:
                _stderr(f"skipping {peer.codec} {peer.setting}: {reason}")
                continue
            progress(f"{peer.codec} {peer.setting}")
            try:
                rows.append(evaluate(peer, clips, wavs, workdir, progress))
            except (RuntimeError, OSError, ValueError, soundfile.LibsndfileError) as error:
                _stderr(f"skipping {peer.codec} {peer.setting}: {error}")
    return rows


def _fmt(value: float | None, digits: int) -> str:
    if value is None or math.isnan(value):
        return "–"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    return f"{value:.{digits}f}"


def format_table(rows: Sequence[Row]) -> str:
    """The rows as a markdown table."""
    lines = ["| codec | setting | kbit/s (file) | kbit/s (payload) | PESQ-NB | STOI | segSNR dB | SNR dB | files "
             "| note |", "|---|---|--:|--:|--:|--:|--:|--:|--:|---|"]
    for r in rows:
        lines.append(f"| {r.codec} | {r.setting} | {_fmt(r.kbps, 2)} | {_fmt(r.payload_kbps, 2)} | {_fmt(r.pesq, 2)} "
                     f"| {_fmt(r.stoi, 3)} | {_fmt(r.segsnr, 1)} | {_fmt(r.snr, 1)} | {r.files} | {r.note} |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------------------
# Speed


@dataclass(frozen=True)
class CommandPair:
    """Encode and decode commands of one codec; ``{input}``, ``{coded}`` and ``{output}`` in any argument are
    replaced by the input WAV, the coded file and the decoded WAV."""

    name: str
    encode: tuple[str, ...]
    decode: tuple[str, ...]
    coded_suffix: str = ".bin"


@dataclass(frozen=True)
class Speed:
    """Best-of-``repeats`` wall-clock seconds of whole processes on ``audio_seconds`` of speech."""

    name: str
    audio_seconds: float
    encode_seconds: float
    decode_seconds: float
    repeats: int

    @property
    def encode_xrt(self) -> float:
        """× real time of encoding (audio seconds per second of wall clock)."""
        return self.audio_seconds / self.encode_seconds

    @property
    def decode_xrt(self) -> float:
        return self.audio_seconds / self.decode_seconds


def ltc_executable() -> str:
    """The ``ltc`` script next to this interpreter (the venv's), else the one on PATH."""
    beside = Path(sys.executable).parent / "ltc"
    return str(beside) if beside.is_file() else shutil.which("ltc") or "ltc"


def ltc_pair(setting: Setting = Setting()) -> CommandPair:
    """``ltc encode`` / ``ltc decode`` of ``setting`` (fixed nonce, seed 0)."""
    ltc = ltc_executable()
    encode = [ltc, "encode", "{input}", "-o", "{coded}", "-f", "--model", setting.model, "--nonce", NONCE.hex()]
    if setting.randomness is not None:
        encode += ["--randomness", setting.randomness]
    if setting.bitrate is not None:
        encode += ["--bitrate", f"{setting.bitrate:g}"]
    if setting.quality is not None:
        encode += ["--quality", str(setting.quality)]
    decode = (ltc, "decode", "{coded}", "-o", "{output}", "-f", "--seed", str(SEED))
    return CommandPair(f"ltc {setting.label}", tuple(encode), decode, ".ltc")


def opus_pair(bitrate: float = 8.0) -> CommandPair:
    """``opusenc`` / ``opusdec`` as `OpusPeer` runs them."""
    cap = ("--set-ctl-int", OPUS_MAX_BANDWIDTH_CTL) if opus_narrowband_cap() else ()
    encode = ("opusenc", "--quiet", "--bitrate", f"{bitrate:g}", "--padding", "0", *cap, "{input}", "{coded}")
    decode = ("opusdec", "--quiet", "--rate", str(RATE), "--no-dither", "{coded}", "{output}")
    return CommandPair(f"Opus NB {bitrate:g} kbit/s", encode, decode, ".opus")


def make_speech_file(clips: Sequence[np.ndarray], path: Path, seconds: float = SPEED_SECONDS) -> Path:
    """Write ``seconds`` of the clips back to back (repeated if they are shorter) as 16-bit 8 kHz mono WAV."""
    if not clips or not any(len(c) for c in clips):
        raise ValueError("no audio to concatenate")
    wanted = round(seconds * RATE)
    parts, have = [], 0
    while have < wanted:
        for clip in clips:
            parts.append(clip)
            have += len(clip)
            if have >= wanted:
                break
    soundfile.write(path, _to_int16(np.concatenate(parts)[:wanted]), RATE, subtype="PCM_16")
    return path


def _time(command: Sequence[str]) -> float:
    start = time.perf_counter()
    _run(command)
    return time.perf_counter() - start


def speed(pair: CommandPair, audio: Path, repeats: int = SPEED_REPEATS) -> Speed:
    """Time ``pair``'s encode, then decode, of the WAV file ``audio`` as whole processes (wall clock, best of
    ``repeats``). Raises RuntimeError when a command fails."""
    audio_seconds = soundfile.info(str(audio)).duration
    with tempfile.TemporaryDirectory(prefix="ltc-speed-") as folder:
        names = {"input": str(audio), "coded": str(Path(folder) / f"coded{pair.coded_suffix}"),
                 "output": str(Path(folder) / "decoded.wav")}
        encode = [a.format(**names) for a in pair.encode]
        decode = [a.format(**names) for a in pair.decode]
        encode_seconds = min(_time(encode) for _ in range(repeats))
        decode_seconds = min(_time(decode) for _ in range(repeats))
    return Speed(pair.name, audio_seconds, encode_seconds, decode_seconds, repeats)


def default_pairs() -> list[CommandPair]:
    """Our default ladder at quality 3 (randomness none) and Opus NB at 8 kbit/s."""
    return [ltc_pair(Setting("speech-z", "none", quality=3)), opus_pair(8.0)]


def speed_pairs(settings: Sequence[Setting], ours: bool = True, peers: bool = True) -> list[CommandPair]:
    """What `ltc bench speech` times: the third of ``settings`` (or its last) with ``ours``, Opus NB at 8 kbit/s
    with ``peers``."""
    return ([ltc_pair(settings[min(2, len(settings) - 1)])] if ours and settings else []) + \
        ([opus_pair(8.0)] if peers else [])


def run_speed(pairs: Sequence[CommandPair] | None = None, seconds: float = SPEED_SECONDS,
              repeats: int = SPEED_REPEATS, progress: Progress = _stderr) -> list[Speed]:
    """`speed` of each pair (default: `default_pairs`) on ``seconds`` of test clips back to back; a pair whose
    tool is missing or whose command fails is skipped with a line on stderr."""
    pairs = default_pairs() if pairs is None else pairs
    results = []
    with tempfile.TemporaryDirectory(prefix="ltc-speed-audio-") as folder:
        audio = make_speech_file(load_test_clips(), Path(folder) / "speech-minute.wav", seconds)
        for pair in pairs:
            tool = pair.encode[0]
            if shutil.which(tool) is None and not Path(tool).is_file():
                _stderr(f"skipping speed of {pair.name}: {tool} not installed")
                continue
            progress(f"timing {pair.name}: {seconds:g} s of speech, best of {repeats}")
            try:
                results.append(speed(pair, audio, repeats))
            except RuntimeError as error:
                _stderr(f"skipping speed of {pair.name}: {error}")
    return results


def format_speed(speeds: Sequence[Speed]) -> str:
    """Speed figures as a markdown table."""
    lines = ["| codec | audio s | encode s | decode s | encode × real time | decode × real time |",
             "|---|--:|--:|--:|--:|--:|"]
    for s in speeds:
        lines.append(f"| {s.name} | {s.audio_seconds:.1f} | {s.encode_seconds:.3f} | {s.decode_seconds:.3f} "
                     f"| {s.encode_xrt:.1f} | {s.decode_xrt:.1f} |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------------------
# Stand-alone entry (the CLI's ``ltc bench speech`` calls `run` and `format_table` itself)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ltccodec.lab.bench.speech [--files N] [--peers-only | --ours-only] [--speed]``."""
    parser = argparse.ArgumentParser(prog="python -m ltccodec.lab.bench.speech",
                                     description="Speech benchmark: our codec and narrowband peers on the test split.")
    parser.add_argument("--files", type=int, default=None, help="use only the first N test files")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--peers-only", action="store_true", help="leave out our codec")
    group.add_argument("--ours-only", action="store_true", help="leave out the peers")
    parser.add_argument("--model", action="append", default=None,
                        help="our model, family or ladder (repeatable; default: speech-z q1..q5, none and pd)")
    parser.add_argument("--speed", action="store_true", help="also time the command-line tools on 60 s of speech")
    args = parser.parse_args(argv)
    if args.files is not None and args.files < 1:
        parser.error("--files must be at least 1")
    settings: Sequence[Setting] = DEFAULT_SETTINGS
    if args.model:
        settings = [Setting(m) for m in args.model]
    if args.peers_only:
        settings = ()
    rows = run(settings, () if args.ours_only else None, args.files)
    print(format_table(rows))
    if args.speed:
        pairs = [ltc_pair(s) for s in settings[:1]] + ([] if args.ours_only else [opus_pair(8.0)])
        print()
        print(format_speed(run_speed(pairs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
