"""How close a "distance code" would come to the ideal, for a rank-coded Gaussian model: instead of the rank of the
chosen candidate against a fixed pmf (coder 0.7), price candidate j by softmax(−β·d_j) over the anchor's closest
point and its shell, d_j the exact distance key (squared distance to μ − u minus that of p, native units), one β fitted
on training vectors; escapes as the rank code pays them (−log2 ε + the box code). A measurement for planning a coder,
not a coder: same test vectors and dither draw as `ltc bench cells` (so its cell* column is the ideal to compare).

    .venv/bin/python scripts/distance_code.py gaussian8-e8-sd-r1.3 [--vectors 4000] [--shells 2]

``--shells 2`` (E8 only) adds the second shell (2,160 vectors of norm 16 in E8's native frame) to the candidates.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from ltccodec import distcode, entropy, modelfile, rankcode, registry
from ltccodec.bench.cells import CELL_SEED
from ltccodec.codec import nesting_of
from ltccodec.lattice import Lattice
from ltccodec.randomness import Randomness
from ltccodec.sources import source_by_name


def e8_second_shell(lattice: Lattice) -> np.ndarray:
    """E8's 2,160 vectors of norm 16 in its native frame, as the distance code lists them (`distcode.candidates`)."""
    native, _ = distcode.candidates(lattice, 2)
    return native[1 + 240:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--vectors", type=int, default=4000)
    parser.add_argument("--train", type=int, default=8000)
    parser.add_argument("--shells", type=int, choices=(1, 2), default=1)
    args = parser.parse_args()
    model, card = modelfile.load(registry.find(args.model))
    if card.lattice not in ("E8", "D4", "Z1"):
        raise SystemExit(f"{args.model}: candidates are defined for Z, D4 and E8 (and their powers)")
    if args.shells == 2 and card.lattice != "E8":
        raise SystemExit("--shells 2 is written for E8")
    rand = Randomness.parse(card.training.randomness)
    nesting, lattice, tables = nesting_of(rand), model.lattice, model.tables
    source = source_by_name(card.source)

    def frame(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """(distance keys / scale [N, K + 1], chosen candidate (−1: escape), box bits of each escape, rank bits)."""
        dither_coords, u = rankcode.grid_dither(lattice, len(x), nesting, rng)
        coords = model.to_symbols(torch.from_numpy(x), u)
        candidates = rankcode.frame_candidates(tables, lattice, entropy.native_dither(lattice, dither_coords, len(x)),
                                               nesting)
        keys = candidates.keys
        distance = (keys // keys.shape[1]).astype(np.float64) / candidates.scale
        index = rankcode._candidate_index(coords - candidates.p, lattice)
        if args.shells == 2:
            second = e8_second_shell(lattice)
            diff = candidates.diff.astype(np.float64)
            more = (candidates.scale * (second * second).sum(axis=1)[None, :] - 2.0 * diff @ second.T) \
                / candidates.scale
            distance = np.concatenate([distance, more], axis=1)
            delta = np.concatenate(lattice.native_from_coords(coords - candidates.p), axis=1)
            lookup = {tuple(v): i for i, v in enumerate(second)}
            for i in np.flatnonzero(index < 0):
                j = lookup.get(tuple(delta[i]))
                if j is not None:
                    index[i] = keys.shape[1] + j
        box = np.zeros(len(x))
        for i in np.flatnonzero(index < 0):
            box[i] = entropy.table_bits(tables, lattice, coords[i:i + 1],
                                        None if dither_coords is None else dither_coords[i:i + 1], nesting)
        rank_bits = entropy.table_bits(tables, lattice, coords, dither_coords, nesting, rank_table=model.rank_table)
        # (without a rank table: the box code's length, what the model codes with)
        return distance, index, box, rank_bits

    def bits(distance: np.ndarray, index: np.ndarray, box: np.ndarray, beta: float, escape: float) -> float:
        logits = -beta * distance
        logits -= logits.max(axis=1, keepdims=True)
        log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        chosen = log_p[np.arange(len(index)), np.maximum(index, 0)] / np.log(2.0)
        return float(np.where(index < 0, -np.log2(escape) + box, -chosen - np.log2(1.0 - escape)).sum())

    train = source.sample(args.train, np.random.default_rng(1)).astype(np.float32)
    distance, index, box, _ = frame(train, np.random.default_rng(2))
    escape = max(float((index < 0).mean()), 1e-5)
    beta = min(np.geomspace(0.01, 100.0, 81), key=lambda b: bits(distance, index, box, b, escape))
    x = source.test_set(args.vectors)
    distance, index, box, rank_bits = frame(x, np.random.default_rng(CELL_SEED + 1))
    coded = bits(distance, index, box, beta, escape) / x.size
    coder = "rank code" if model.rank_table is not None else "box code"
    print(f"{args.model}: {coder} {rank_bits / x.size:.4f} bit/value, distance code over {args.shells} shell(s) "
          f"{coded:.4f} (β = {beta:.3g} per native unit², escapes {float((index < 0).mean()):.4f})")


if __name__ == "__main__":
    main()
