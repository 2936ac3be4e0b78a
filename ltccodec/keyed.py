"""Shared randomness between encoder and decoder: the key, the per-stream nonce, the key check value, and
the keyed stream of dither indices. Stdlib hashing only, so every machine derives the same bits.

The dither of frame ``f`` comes from SHAKE-256 over a BLAKE2b-keyed digest of (nonce, f): any frame can be
dithered on its own, in any order. This hides nothing: dither is not encryption, and anyone with the key
(the default key is public) and the file can decode it.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ltccodec.errors import LtcError, UsageError

NONCE_BYTES = 16
KEY_CHECK_BYTES = 4
KEY_ENV = "LTC_KEY"
MAX_KEY_FILE = 1 << 20
_DEFAULT_MATERIAL = b"ltccodec public default dither key, version 1"


@dataclass(frozen=True)
class Key:
    """32 bytes derived from the user's key material, and where that material came from."""

    secret: bytes
    origin: str  # "default", "environment" or the key file's path

    @classmethod
    def from_material(cls, material: bytes, origin: str) -> Key:
        if not material:
            raise UsageError(f"the key from {origin} is empty")
        return cls(hashlib.blake2b(material, digest_size=32, person=b"ltc-key-v1").digest(), origin)


DEFAULT_KEY = Key.from_material(_DEFAULT_MATERIAL, "default")


def load_key(key_file: Path | None = None, environ: Mapping[str, str] | None = None) -> Key:
    """The key from ``key_file`` (raw bytes), else from ``$LTC_KEY`` (its UTF-8 text), else the public
    default. Keys are never taken from the command line, where other users could see them."""
    if key_file is not None:
        try:
            with open(key_file, "rb") as handle:
                material = handle.read(MAX_KEY_FILE + 1)
        except OSError as error:
            raise UsageError(f"cannot read key file {key_file}: {error.strerror}") from None
        if len(material) > MAX_KEY_FILE:
            raise UsageError(f"key file {key_file} is larger than 1 MiB")
        return Key.from_material(material, str(key_file))
    value = (os.environ if environ is None else environ).get(KEY_ENV)
    if value:
        return Key.from_material(value.encode(), "environment")
    return DEFAULT_KEY


def new_nonce() -> bytes:
    return os.urandom(NONCE_BYTES)


def parse_nonce(text: str) -> bytes:
    """32 hex digits -> 16 bytes."""
    try:
        nonce = bytes.fromhex(text)
    except ValueError:
        raise UsageError("--nonce takes 32 hex digits") from None
    if len(nonce) != NONCE_BYTES:
        raise UsageError("--nonce takes 32 hex digits")
    return nonce


def key_check(key: Key, nonce: bytes) -> bytes:
    """A short keyed value of the nonce: lets a decoder with the wrong key say so."""
    return hashlib.blake2b(nonce, key=key.secret, digest_size=KEY_CHECK_BYTES, person=b"ltc-check-v1").digest()


def verify_key(key: Key, nonce: bytes, check: bytes) -> None:
    if key_check(key, nonce) != check:
        where = "the default key" if key.origin == "default" else f"the key from {key.origin}"
        raise LtcError(f"wrong key: the stream was not encoded with {where} (see --key-file / ${KEY_ENV})")


def dither_digits(key: Key, nonce: bytes, frame: int, count: int, dim: int, nesting: int) -> np.ndarray:
    """int64 ``[count, dim]`` uniform digits in ``[0, nesting)`` for frame ``frame``.

    Each digit is ``(r · nesting) >> 32`` for a 32-bit little-endian word ``r`` of the frame's stream (exactly
    uniform when ``nesting`` is a power of two, within 2^-32 otherwise)."""
    if not 1 <= nesting <= 1 << 16:
        raise ValueError("nesting ratio out of range")
    seed = hashlib.blake2b(nonce + struct.pack("<Q", frame), key=key.secret, digest_size=32,
                           person=b"ltc-dither-v1").digest()
    words = np.frombuffer(hashlib.shake_256(seed).digest(4 * count * dim), dtype="<u4")
    if nesting & (nesting - 1) == 0 and nesting > 1:  # (r·2^k) >> 32 is r >> (32 − k): one pass fewer
        return (words >> np.uint32(32 - nesting.bit_length() + 1)).astype(np.int64).reshape(count, dim)
    return ((words.astype(np.uint64) * np.uint64(nesting)) >> np.uint64(32)).astype(np.int64).reshape(count, dim)
