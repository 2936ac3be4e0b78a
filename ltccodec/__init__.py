"""ltccodec: lattice transform coding with dithering, as a codec (`ltc`) and a library.

``encode(array, model=..., randomness=...) -> bytes`` and ``decode(data) -> array`` are the two verbs;
`ltccodec.codec` has the file-object variants, `ltccodec.runtime.registry` the model lookup, `ltccodec.lattice`
the quantizers.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "decode", "decode_from", "encode", "encode_to", "load_key"]


def __getattr__(name: str) -> Any:
    # The verbs load numpy and the codec; import them on first use so `ltc --version` stays instant.
    if name in ("encode", "encode_to", "decode", "decode_from"):
        from ltccodec import codec

        return getattr(codec, name)
    if name == "load_key":
        from ltccodec.keyed import load_key

        return load_key
    raise AttributeError(name)
