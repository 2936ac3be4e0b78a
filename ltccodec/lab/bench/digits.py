"""Digits benchmark behind ``ltc bench digits``: our image models next to JPEG and WebP (pillow) on the 1,000 test
digits of the ``digits`` source, each digit coded as its own file.

Per setting: bits per pixel of the whole file and of the coded data alone (ours: the range-coder payload; JPEG:
the entropy-coded scan between SOS and EOI; WebP: the VP8/VP8L chunk), PSNR, the Wasserstein-1 estimate of a fresh
WGAN-GP critic between the decoded and the real test digits (`critic.wasserstein_estimate`, the seed's perception
figure), and how often a classifier trained on the real training digits still reads the decoded digit as its
label (its accuracy on the real test digits is printed with the table).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ltccodec import codec, media
from ltccodec.lab.sources import digits
from ltccodec.randomness import Randomness
from ltccodec.runtime import registry

JPEG_QUALITIES = (1, 5, 10, 25, 50, 90)
WEBP_QUALITIES = (0, 5, 20, 50, 80)
NONCE = bytes(16)
SEED = 0
W1_STEPS = 300  # updates of each row's fresh critic (training cards use 600)
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Row:
    codec: str
    setting: str
    file_bpp: float
    data_bpp: float
    psnr: float
    w1: float
    agreement: float  # share of decoded digits the classifier reads as their label


def train_classifier(images: np.ndarray, labels: np.ndarray, seed: int = 0) -> Callable[[np.ndarray], np.ndarray]:
    """A small convolutional classifier (about 99 % on real test digits), trained in a few seconds; returns a
    function from uint8 images ``[N, 28, 28]`` to predicted labels."""
    import torch
    from torch import nn

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        net = nn.Sequential(nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                            nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                            nn.Flatten(), nn.Linear(32 * 49, 10))
        x = torch.from_numpy(images.astype(np.float32) / 255).reshape(-1, 1, 28, 28)
        y = torch.from_numpy(labels)
        optimizer = torch.optim.Adam(net.parameters(), lr=2e-3)
        generator = torch.Generator().manual_seed(seed)
        for _ in range(4):
            order = torch.randperm(len(x), generator=generator)
            for start in range(0, len(x), 64):
                batch = order[start:start + 64]
                loss = nn.functional.cross_entropy(net(x[batch]), y[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
    net.eval()

    def predict(pixels: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            inputs = torch.from_numpy(pixels.astype(np.float32) / 255).reshape(-1, 1, 28, 28)
            return net(inputs).argmax(dim=1).numpy()

    return predict


def psnr(reference: np.ndarray, decoded: np.ndarray) -> float:
    """Mean over images of each image's PSNR (8-bit peak)."""
    error = ((reference.astype(np.float64) - decoded.astype(np.float64)) ** 2).reshape(len(reference), -1).mean(axis=1)
    return float(np.mean(10 * np.log10(255.0 ** 2 / np.maximum(error, 1e-10))))


def jpeg_scan_bytes(data: bytes) -> int:
    """Bytes of a baseline JPEG's entropy-coded data: from after the SOS segment to the EOI marker."""
    sos = data.find(b"\xff\xda")
    length = int.from_bytes(data[sos + 2:sos + 4], "big")
    return len(data) - (sos + 2 + length) - 2


def webp_data_bytes(data: bytes) -> int:
    """Bytes of a WebP file's VP8 / VP8L chunk payload."""
    for tag in (b"VP8 ", b"VP8L"):
        at = data.find(tag)
        if at >= 0:
            return int.from_bytes(data[at + 4:at + 8], "little")
    return len(data)


def _pillow(pixels: np.ndarray, fmt: str, quality: int) -> tuple[bytes, np.ndarray]:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(pixels, "L").save(out, fmt, quality=quality)
    data = out.getvalue()
    with Image.open(io.BytesIO(data)) as decoded:
        return data, np.asarray(decoded.convert("L"), dtype=np.uint8)


def _ours(pixels: np.ndarray, loaded: registry.LoadedModel, randomness: Randomness) -> tuple[bytes, int, np.ndarray]:
    out = io.BytesIO()
    codec.encode_images(media.Image(pixels[None, :, :, None]), out, loaded, randomness, nonce=NONCE)
    data = out.getvalue()
    decoded = codec.open_stream(io.BytesIO(data), model=loaded).decode(SEED).image
    assert decoded is not None
    return data, codec.payload_size(data), decoded.pixels[0, :, :, 0]


def _score(name: str, setting: str, sizes: Sequence[tuple[int, int]], reference: np.ndarray, decoded: np.ndarray,
           labels: np.ndarray, predict: Callable[[np.ndarray], np.ndarray]) -> Row:
    import torch

    from ltccodec.lab.critic import wasserstein_estimate

    pixels = reference[0].size
    real = torch.from_numpy(reference.reshape(len(reference), -1).astype(np.float32) / 255)
    fake = torch.from_numpy(decoded.reshape(len(decoded), -1).astype(np.float32) / 255)
    return Row(name, setting, 8 * float(np.mean([s[0] for s in sizes])) / pixels,
               8 * float(np.mean([s[1] for s in sizes])) / pixels, psnr(reference, decoded),
               wasserstein_estimate(real, fake, steps=W1_STEPS), float(np.mean(predict(decoded) == labels)))


def run(models: Sequence[str], randomness: Sequence[str | None], count: int = 1000, peers: bool = True,
        progress: Progress = lambda _: None) -> tuple[list[Row], float]:
    """Rows for our ``models`` (each with each ``randomness``; None: the model's own) and the peers, and the
    classifier's accuracy on the real test digits."""
    train_images, train_labels = digits.load("train")
    images, labels = digits.load("test")
    images, labels = images[:count], labels[:count]
    predict = train_classifier(train_images, train_labels)
    accuracy = float(np.mean(predict(images) == labels))
    progress(f"classifier: {accuracy:.3f} on {len(images)} real test digits")
    rows = []
    for name in models:
        for wanted in randomness:
            loaded = registry.by_name(name)
            rand = Randomness.parse(wanted) if wanted else registry.trained_for(loaded.card)
            coded = [_ours(p, loaded, rand) for p in images]
            rows.append(_score("ltc", f"{name} {rand}", [(len(d), s) for d, s, _ in coded], images,
                               np.stack([c[2] for c in coded]), labels, predict))
            progress(f"ltc {name} {rand}: {rows[-1].file_bpp:.3f} bpp")
    if peers:
        for fmt, qualities, data_bytes in (("JPEG", JPEG_QUALITIES, jpeg_scan_bytes),
                                           ("WEBP", WEBP_QUALITIES, webp_data_bytes)):
            for quality in qualities:
                coded = [_pillow(p, fmt, quality) for p in images]
                rows.append(_score(fmt.lower(), f"quality {quality}", [(len(d), data_bytes(d)) for d, _ in coded],
                                   images, np.stack([c[1] for c in coded]), labels, predict))
                progress(f"{fmt} q{quality}: {rows[-1].file_bpp:.3f} bpp")
    return rows, accuracy


def format_table(rows: Sequence[Row], accuracy: float) -> str:
    lines = [f"classifier accuracy on the real test digits: {accuracy:.3f}", "",
             "| codec | setting | file bpp | file bytes | data bpp | PSNR dB | critic W1 | classifier agrees |",
             "|---|---|--:|--:|--:|--:|--:|--:|"]
    lines += [f"| {r.codec} | {r.setting} | {r.file_bpp:.3f} | {r.file_bpp * 784 / 8:.1f} | {r.data_bpp:.3f} | "
              f"{r.psnr:.2f} | {r.w1:.3f} | {r.agreement:.3f} |" for r in rows]
    return "\n".join(lines)
