"""Where an encode's time goes, for one model: the whole `codec.encode`, the box code (`BoxCoder.encode`: dither
natives, per-coordinate conditions and the range coder, fused in the kernels) and the range coder alone (the same
symbols and buckets, precomputed, through `RangeEncoder.categorical`). One thread, fastest of 5.

    .venv/bin/python scripts/coder_share.py gaussian8-e8-sd-l2m [--vectors 125000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from ltccodec import codec, kernels
from ltccodec.coding import BoxCoder
from ltccodec.coding.rangecoder import RangeEncoder
from ltccodec.keyed import DEFAULT_KEY
from ltccodec.lab.sources import source_by_name
from ltccodec.randomness import Randomness
from ltccodec.runtime import registry


def fastest(fn, repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--vectors", type=int, default=125_000)
    args = parser.parse_args()
    with threadpool_limits(limits=1):
        loaded = registry.by_name(args.model)
        rand = Randomness.parse(loaded.card.training.randomness)
        x = source_by_name(loaded.card.source).test_set(args.vectors)
        model, tables = loaded.model, loaded.model.tables
        box_coder = BoxCoder(tables, model.lattice)
        frames = []
        for index, start in enumerate(range(0, len(x), codec.FRAME_VECTORS)):
            part = x[start:start + codec.FRAME_VECTORS]
            u, dither = codec.frame_dither(loaded, rand, DEFAULT_KEY, bytes(16), index, len(part))
            coords = model.to_symbols(part, u)
            coded = [(j, np.where((s := coords[:, j] + shift - tables.low[j]) >= tables.size[j] - 1, tables.size[j] - 1,
                                  np.maximum(s, 0)), bucket)
                     for j, shift, bucket in box_coder.conditions(coords, dither)]
            frames.append((coords, dither, coded))
        codec.encode(x[:2048], loaded, rand, nonce=bytes(16))
        whole = fastest(lambda: codec.encode(x, loaded, rand, nonce=bytes(16)))
        box = fastest(lambda: [box_coder.encode(RangeEncoder(), c, d) for c, d, _ in frames])

        def coder_only() -> None:
            for _, _, coded in frames:
                encoder = RangeEncoder()
                for j, symbols, bucket in coded:
                    encoder.categorical(symbols, tables.pmf(j), bucket)
                encoder.words()

        coder = fastest(coder_only)
    values = x.size
    print(f"{args.model}, {values:,} values, {'compiled kernels' if kernels.active() else 'numpy and constriction'}")
    print(f"  whole encode      {values / whole / 1e6:6.2f} M values/s")
    print(f"  box code          {100 * box / whole:5.1f} % of encode ({box / values * 1e9:.1f} ns/value)")
    print(f"  range coder alone {100 * coder / whole:5.1f} % of encode ({coder / values * 1e9:.1f} ns/symbol)")


if __name__ == "__main__":
    main()
