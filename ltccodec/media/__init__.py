"""Media files <-> arrays: audio through soundfile (WAV, FLAC, OGG; any rate, channels, 8/16/24/32-bit integer
or float samples), images through pillow (PNG, JPEG; grayscale, RGB, RGBA), ``.npy`` arrays through numpy, and
resampling through soxr. Each reader returns the samples or pixels and what is needed to write them back as they
came (rate, channels, length, sample format, file format).

Media knows no codec: `codec` codes the arrays, `files` joins the two for the command line.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from ltccodec.errors import LtcError, UsageError

NPY_MAGIC = b"\x93NUMPY"
MAX_RATE = 768_000
MAX_CHANNELS = 64


class FileFormat(IntEnum):
    """Container of an audio file; the codes are stored in .ltc headers (docs/FORMAT.md)."""

    WAV = 1
    FLAC = 2
    OGG = 3


class SampleFormat(IntEnum):
    """How samples were stored; the codes are stored in .ltc headers (docs/FORMAT.md)."""

    PCM_16 = 1
    PCM_24 = 2
    PCM_32 = 3
    PCM_U8 = 4
    PCM_S8 = 5
    FLOAT = 6
    DOUBLE = 7
    VORBIS = 8
    ULAW = 9  # G.711 μ-law in WAV
    ALAW = 10  # G.711 A-law in WAV


_EXTENSIONS = {".wav": FileFormat.WAV, ".wave": FileFormat.WAV, ".flac": FileFormat.FLAC, ".ogg": FileFormat.OGG,
               ".oga": FileFormat.OGG}
# What each file format can hold; a sample format it cannot is written as the nearest one it can.
_WRITABLE = {
    FileFormat.WAV: {SampleFormat.PCM_16, SampleFormat.PCM_24, SampleFormat.PCM_32, SampleFormat.PCM_U8,
                     SampleFormat.FLOAT, SampleFormat.DOUBLE, SampleFormat.ULAW, SampleFormat.ALAW},
    FileFormat.FLAC: {SampleFormat.PCM_16, SampleFormat.PCM_24, SampleFormat.PCM_S8},
    FileFormat.OGG: {SampleFormat.VORBIS},
}
_FALLBACK = {FileFormat.WAV: SampleFormat.PCM_16, FileFormat.FLAC: SampleFormat.PCM_24,
             FileFormat.OGG: SampleFormat.VORBIS}


@dataclass(frozen=True, eq=False)
class Audio:
    """Samples ``[T, C]`` (float32 in [-1, 1] for integer formats) and how they were stored."""

    samples: np.ndarray  # float32 [T, C]
    sample_rate: int
    sample_format: SampleFormat = SampleFormat.PCM_16
    file_format: FileFormat = FileFormat.WAV

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.sample_rate


class ImageFormat(IntEnum):
    """File format of an image; the codes are stored in .ltc headers (docs/FORMAT.md)."""

    PNG = 1
    JPEG = 2


MAX_PIXELS = 1 << 26  # 64 Mpixel: larger images are refused before pillow decodes them
_IMAGE_EXTENSIONS = {".png": ImageFormat.PNG, ".jpg": ImageFormat.JPEG, ".jpeg": ImageFormat.JPEG}
_PILLOW_MODES = {1: "L", 3: "RGB", 4: "RGBA"}


@dataclass(frozen=True, eq=False)
class Image:
    """Pixels ``[N, H, W, C]`` (uint8; C = 1 gray, 3 RGB, 4 RGBA): one image or a stack, and its file format."""

    pixels: np.ndarray
    file_format: ImageFormat = ImageFormat.PNG

    @property
    def shape(self) -> tuple[int, int, int]:
        """(height, width, channels) of each image."""
        return tuple(int(s) for s in self.pixels.shape[1:])  # type: ignore[return-value]

    @property
    def describe(self) -> str:
        height, width, channels = self.shape
        kind = {1: "grayscale", 3: "RGB", 4: "RGBA"}.get(channels, f"{channels}-channel")
        count = f"{len(self.pixels)} × " if len(self.pixels) > 1 else ""
        return f"{count}{width}×{height} {kind}"


def is_image(data: bytes) -> bool:
    return data[:8] == b"\x89PNG\r\n\x1a\n" or data[:3] == b"\xff\xd8\xff"


def image_format_for(name: str) -> ImageFormat | None:
    """The image format an output name asks for by its extension, or None."""
    lower = name.lower()
    return next((fmt for ext, fmt in _IMAGE_EXTENSIONS.items() if lower.endswith(ext)), None)


def read_image(data: bytes, label: str) -> Image:
    """One PNG or JPEG as ``[1, H, W, C]`` uint8: grayscale (with or without alpha) becomes 1 channel (alpha
    dropped only if fully opaque), palette and other modes become RGB or RGBA."""
    from PIL import Image as Pillow
    from PIL import UnidentifiedImageError

    try:
        with Pillow.open(io.BytesIO(data)) as picture:
            width, height = picture.size
            if width * height > MAX_PIXELS:
                raise UsageError(f"{label} is {width}×{height}, more than {MAX_PIXELS >> 20} Mpixel")
            fmt = ImageFormat.JPEG if picture.format == "JPEG" else ImageFormat.PNG
            mode = picture.mode
            if mode in ("LA", "La") and picture.getchannel("A").getextrema() == (255, 255):
                mode = "L"
            target = {"1": "L", "L": "L", "I;16": "L", "I": "L", "RGB": "RGB", "RGBA": "RGBA", "LA": "RGBA",
                      "La": "RGBA"}.get(mode, "RGBA" if "transparency" in picture.info else "RGB")
            pixels = np.asarray(picture.convert(target), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError, Pillow.DecompressionBombError) as error:
        raise UsageError(f"{label} is not an image ltc can read ({error})") from None
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    return Image(pixels[None], fmt)


def write_image(pixels: np.ndarray, file_format: ImageFormat = ImageFormat.PNG) -> bytes:
    """One image ``[H, W, C]`` uint8 as PNG (lossless) or JPEG (quality 95; alpha is dropped)."""
    from PIL import Image as Pillow

    channels = pixels.shape[2]
    picture = Pillow.fromarray(pixels[:, :, 0] if channels == 1 else pixels, _PILLOW_MODES[channels])
    out = io.BytesIO()
    if file_format is ImageFormat.JPEG:
        picture.convert("L" if channels == 1 else "RGB").save(out, "JPEG", quality=95)
    else:
        picture.save(out, "PNG", optimize=True)
    return out.getvalue()


def to_grayscale(image: Image, height: int, width: int) -> Image:
    """``image`` converted to 8-bit grayscale and resized to ``height`` × ``width`` (Lanczos), as --resize asks."""
    from PIL import Image as Pillow

    frames = []
    for pixels in image.pixels:
        channels = pixels.shape[2]
        picture = Pillow.fromarray(pixels[:, :, 0] if channels == 1 else pixels, _PILLOW_MODES[channels])
        if channels == 4:  # composite onto white, as a viewer shows it
            background = Pillow.new("RGBA", picture.size, (255, 255, 255, 255))
            picture = Pillow.alpha_composite(background, picture)
        picture = picture.convert("L").resize((width, height), Pillow.Resampling.LANCZOS)
        frames.append(np.asarray(picture, dtype=np.uint8)[:, :, None])
    return Image(np.stack(frames), image.file_format)


def is_npy(data: bytes) -> bool:
    return data[:6] == NPY_MAGIC


def file_format_for(name: str) -> FileFormat | None:
    """The audio format an output name asks for by its extension, or None (not an audio name)."""
    lower = name.lower()
    return next((fmt for ext, fmt in _EXTENSIONS.items() if lower.endswith(ext)), None)


def read_array(data: bytes, label: str) -> np.ndarray:
    """A ``.npy`` array (no pickles)."""
    if not is_npy(data):
        raise UsageError(f"{label} is not a .npy array (it does not start with the .npy magic)")
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise UsageError(f"{label} is not a .npy array numpy can read without pickles ({error})") from None


def write_array(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, array, allow_pickle=False)
    return out.getvalue()


def npy_header(dtype: str, shape: tuple[int, ...]) -> bytes:
    """The ``.npy`` header `write_array` would write for a C-order array of ``dtype`` and ``shape``: the data
    may then follow in pieces."""
    fields = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": shape}
    out = io.BytesIO()
    try:
        np.lib.format.write_array_header_1_0(out, fields)
    except ValueError:  # a header too long for version 1.0
        out = io.BytesIO()
        np.lib.format.write_array_header_2_0(out, fields)
    return out.getvalue()


def read_audio(data: bytes, label: str) -> Audio:
    """Decode an audio file held in memory (WAV, FLAC, OGG Vorbis, and what else libsndfile reads)."""
    import soundfile

    try:
        with soundfile.SoundFile(io.BytesIO(data)) as f:
            info = (f.samplerate, f.channels, f.format, f.subtype, f.frames)
            samples = f.read(dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as error:
        reason = str(error).split("\n")[0].split(": ")[-1].rstrip(".")  # libsndfile's reason, without our buffer
        raise UsageError(f"{label} is neither a .npy array nor an audio file ltc can read ({reason})") from None
    rate, channels, file_format, subtype, _ = info
    if not 1 <= rate <= MAX_RATE or not 1 <= channels <= MAX_CHANNELS:
        raise UsageError(f"{label}: {rate} Hz, {channels} channels is out of range")
    if len(samples) == 0:
        raise UsageError(f"{label} holds no samples")
    if not np.all(np.isfinite(samples)):
        raise UsageError(f"{label} contains NaN or infinite samples")
    fmt = {"WAV": FileFormat.WAV, "WAVEX": FileFormat.WAV, "FLAC": FileFormat.FLAC, "OGG": FileFormat.OGG}.get(
        file_format, FileFormat.WAV)
    sample_format = SampleFormat.__members__.get(subtype, SampleFormat.FLOAT if "FLOAT" in subtype
                                                 else SampleFormat.PCM_16)
    return Audio(samples, rate, sample_format, fmt)


def write_audio(audio: Audio, file_format: FileFormat | None = None) -> bytes:
    """Encode ``audio`` as ``file_format`` (default: its own) in its sample format, or the nearest one the
    file format holds. Integer formats (and μ-law, A-law) are clipped to [-1, 1]; float formats are written as they
    are: a float input may exceed ±1 and keeps its level, and coding noise can take a full-scale peak a little past
    1 (README: audio)."""
    import soundfile

    fmt = file_format or audio.file_format
    sample_format = audio.sample_format if audio.sample_format in _WRITABLE[fmt] else _FALLBACK[fmt]
    samples = audio.samples
    if sample_format not in (SampleFormat.FLOAT, SampleFormat.DOUBLE):
        samples = np.clip(samples, -1.0, 1.0)
    out = io.BytesIO()
    try:
        soundfile.write(out, samples, audio.sample_rate, subtype=sample_format.name, format=fmt.name)
    except (soundfile.LibsndfileError, RuntimeError, ValueError) as error:
        raise LtcError(f"cannot write {fmt.name} audio at {audio.sample_rate} Hz ({error})") from None
    return out.getvalue()


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """``[T, C]`` float samples at ``to_rate`` (soxr, high quality); the same array when the rates agree."""
    if from_rate == to_rate:
        return samples
    import soxr

    return soxr.resample(np.ascontiguousarray(samples, dtype=np.float32), from_rate, to_rate, quality="HQ")


def fit_length(samples: np.ndarray, length: int) -> np.ndarray:
    """Cut or zero-pad ``[T, C]`` to exactly ``length`` rows (resampling can be off by a sample)."""
    if len(samples) >= length:
        return samples[:length]
    return np.concatenate([samples, np.zeros((length - len(samples), samples.shape[1]), samples.dtype)])
