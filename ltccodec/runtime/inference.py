"""The coder's model in numpy: the forward passes of a trained model's transforms and prior, read straight from
its model file, so that `ltc encode` and `ltc decode` never import torch (it costs over a second to start).

It computes what `ltc.LTCModel`'s symbols and reconstruction paths compute, in float32 like torch, and is tested
equal to them within float tolerance; the integer coordinates it decides are the coded symbols either way (a
last-bit difference can only move a point that sits on a cell boundary, and the stream records what was chosen).
Every transform kind the lab trains has a numpy version. Used by `registry` and `codec`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ltccodec.coding import Coder, coder_for
from ltccodec.coding.tables import CodingTables
from ltccodec.errors import LtcError
from ltccodec.lattice import Lattice, covering
from ltccodec.randomness import Randomness, private_dither
from ltccodec.runtime import modelfile

Layer = Callable[[np.ndarray], np.ndarray]
NUMPY_KINDS = ("linear", "mlp", "diagonal", "conv28")


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(np.float32(0.0), x)


def _linear(weights: dict[str, np.ndarray], prefix: str) -> Layer:
    w, b = weights[f"{prefix}.weight"].T.copy(), weights[f"{prefix}.bias"]
    return lambda x: x @ w + b


def _mlp(weights: dict[str, np.ndarray], prefix: str, depth: int) -> Layer:
    """torch's Sequential(Linear, Softplus, ..., Linear): Linear layers at even indices."""
    layers = [_linear(weights, f"{prefix}.{2 * i}") for i in range(depth)]

    def forward(x: np.ndarray) -> np.ndarray:
        for layer in layers[:-1]:
            x = _softplus(layer(x))
        return layers[-1](x)

    return forward


def _conv(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, stride: int, padding: int) -> np.ndarray:
    """torch's Conv2d: ``x`` ``[B, Cin, H, W]``, ``weight`` ``[Cout, Cin, k, k]`` -> ``[B, Cout, H', W']``."""
    k = weight.shape[-1]
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("bchwij,ocij->bohw", windows, weight, optimize=True) + bias[None, :, None, None]


def _conv_transpose(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, stride: int, padding: int,
                    output_padding: int) -> np.ndarray:
    """torch's ConvTranspose2d (``weight`` ``[Cin, Cout, k, k]``): the input spread ``stride`` apart, padded by
    ``k − 1 − padding`` (plus ``output_padding`` after), convolved with the flipped, transposed kernel."""
    b, c, h, w = x.shape
    k = weight.shape[-1]
    spread = np.zeros((b, c, (h - 1) * stride + 1, (w - 1) * stride + 1), dtype=x.dtype)
    spread[:, :, ::stride, ::stride] = x
    edge = k - 1 - padding
    spread = np.pad(spread, ((0, 0), (0, 0), (edge, edge + output_padding), (edge, edge + output_padding)))
    kernel = np.ascontiguousarray(weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    return _conv(spread, kernel, bias, 1, 0)


def _conv28(weights: dict[str, np.ndarray], channels: int) -> tuple[Layer, Layer]:
    """`transforms._ConvAnalysis` and `_ConvSynthesis`: 28×28 -> two stride-2 convolutions -> latent, and back."""
    get = weights.__getitem__
    read_out = _linear(weights, "analysis.body.5")
    expand = _linear(weights, "synthesis.head.0")

    def analysis(x: np.ndarray) -> np.ndarray:
        h = _softplus(_conv(x.reshape(-1, 1, 28, 28), get("analysis.body.0.weight"), get("analysis.body.0.bias"), 2, 2))
        h = _softplus(_conv(h, get("analysis.body.2.weight"), get("analysis.body.2.bias"), 2, 2))
        return read_out(h.reshape(len(h), -1))

    def synthesis(y: np.ndarray) -> np.ndarray:
        h = _softplus(expand(y)).reshape(-1, channels, 7, 7)
        h = _softplus(_conv_transpose(h, get("synthesis.body.0.weight"), get("synthesis.body.0.bias"), 2, 2, 1))
        h = _conv_transpose(h, get("synthesis.body.2.weight"), get("synthesis.body.2.bias"), 2, 2, 1)
        return h.reshape(len(h), 28 * 28)

    return analysis, synthesis


@dataclass(frozen=True, eq=False)
class NumpyPrior:
    """`prior.FactorizedPrior`'s log density, for the decoder's cell centroids."""

    matrices: tuple[np.ndarray, ...]  # softplus'd, float64 [C, out, in]
    biases: tuple[np.ndarray, ...]  # float64 [C, out, 1]
    factors: tuple[np.ndarray, ...]  # tanh'd, float64 [C, out, 1]

    @classmethod
    def from_weights(cls, weights: dict[str, np.ndarray]) -> NumpyPrior:
        count = sum(1 for k in weights if k.startswith("prior.matrices."))
        get = weights.__getitem__
        return cls(tuple(np.logaddexp(0.0, get(f"prior.matrices.{k}").astype(np.float64)) for k in range(count)),
                   tuple(get(f"prior.biases.{k}").astype(np.float64) for k in range(count)),
                   tuple(np.tanh(get(f"prior.factors.{k}").astype(np.float64)) for k in range(count - 1)))

    def log_density(self, y: np.ndarray, channels: np.ndarray | None = None) -> np.ndarray:
        """Natural-log density of each coordinate of ``y`` ``[..., C]`` (float64); with ``channels`` (int ``[C]``),
        column ``c`` of ``y`` is evaluated under the density of coordinate ``channels[c]``."""
        pick = (lambda a: a) if channels is None else (lambda a: a[channels])
        shape = y.shape
        x = y.reshape(-1, shape[-1])[:, :, None]  # [N, C, 1]: the chain's widths are tiny, so broadcast
        slope = np.ones_like(x)
        for k, (matrix, bias) in enumerate(zip(self.matrices, self.biases, strict=True)):
            x = _small_matmul(pick(matrix), x) + pick(bias)[:, :, 0]
            slope = _small_matmul(pick(matrix), slope)
            if k < len(self.factors):
                bump = np.tanh(x)
                factor = pick(self.factors[k])[:, :, 0]
                slope = slope * (1.0 + factor * (1.0 - bump * bump))
                x = x + factor * bump
        h, slope = x[:, :, 0].reshape(shape), slope[:, :, 0].reshape(shape)
        return -np.logaddexp(0.0, -h) - np.logaddexp(0.0, h) + np.log(slope)

    def box_centroids(self, centers: np.ndarray, lattice: Lattice, points: int = 16, chunk: int = 256) -> np.ndarray:
        """`prior.Prior.box_centroids` in numpy: ``[N, C]`` float64, ``chunk`` rows at a time (cache-sized)."""
        if len(centers) > chunk:
            return np.concatenate([self.box_centroids(centers[i:i + chunk], lattice, points, chunk)
                                   for i in range(0, len(centers), chunk)])
        side = np.abs(np.diag(lattice.lower_generator))
        offsets = (np.arange(points) + 0.5) / points - 0.5
        nodes = centers[..., None] + offsets * side[:, None]  # [N, C, P]
        log_p = np.moveaxis(self.log_density(np.moveaxis(nodes, -1, -2)), -1, -2)
        log_p = log_p - log_p.max(axis=-1, keepdims=True)
        weights = np.exp(log_p)
        mean = (weights * nodes).sum(-1) / weights.sum(-1)
        return np.where(np.isfinite(mean), mean, centers)


@dataclass(frozen=True, eq=False)
class CentroidTable:
    """Per coordinate, the shift from a cell's center to the prior's mean over its box, tabulated against the
    center on a grid of ``1/STEPS`` of the box side over the coded range, and linearly interpolated (the shift
    is a smooth function of the center; clamped beyond the grid). Built once per model: decoding then costs
    one interpolation per value instead of a quadrature of the prior."""

    start: np.ndarray  # float64 [C] first grid point
    step: np.ndarray  # float64 [C] grid spacing
    shifts: tuple[np.ndarray, ...]  # float64 [G_c] per coordinate

    STEPS = 16  # grid points per box side; also the quadrature's points per box, so their nodes coincide

    @classmethod
    def build(cls, prior: NumpyPrior, lattice: Lattice, tables: CodingTables) -> CentroidTable:
        """The box mean at grid point ``i`` is a 16-point midpoint quadrature over ``[g_i − side/2, g_i + side/2]``,
        whose nodes ``g_i + (k − 7.5)·step`` are the half-step points ``j − 7.5`` shared by 16 neighbouring grid
        points: the prior is evaluated once per distinct node (16× fewer than per grid point and node) and each
        mean is a window of 16 of them."""
        side = np.abs(np.diag(lattice.lower_generator))
        step = side / cls.STEPS
        start = (tables.low - 2.0) * side
        counts = ((tables.size + 3) * cls.STEPS + 1).astype(np.int64)
        spans = counts + cls.STEPS - 1  # distinct nodes per coordinate
        channel = np.repeat(np.arange(len(side)), spans)
        first = np.concatenate([[0], np.cumsum(spans)[:-1]])
        nodes = start[channel] + step[channel] * (np.arange(len(channel)) - first[channel] - (cls.STEPS - 1) / 2)
        log_p = prior.log_density(nodes[None, :], channel)[0]
        shifts = []
        for c in range(len(side)):
            part = slice(first[c], first[c] + spans[c])
            window_p = np.lib.stride_tricks.sliding_window_view(log_p[part], cls.STEPS)  # [counts[c], 16]
            window_x = np.lib.stride_tricks.sliding_window_view(nodes[part], cls.STEPS)
            weights = np.exp(window_p - window_p.max(axis=1, keepdims=True))
            mean = (weights * window_x).sum(1) / weights.sum(1)
            grid = start[c] + step[c] * np.arange(counts[c])
            shifts.append(np.where(np.isfinite(mean), mean - grid, 0.0))
        return cls(start, step, tuple(shifts))

    def centroids(self, centers: np.ndarray) -> np.ndarray:
        """``[N, C]`` float64 estimates of the latent for cell centers ``[N, C]``."""
        out = np.empty_like(centers)
        for j, shift in enumerate(self.shifts):
            position = np.clip((centers[:, j] - self.start[j]) / self.step[j], 0.0, len(shift) - 1.0)
            low = np.minimum(position.astype(np.int64), len(shift) - 2)
            fraction = position - low
            out[:, j] = centers[:, j] + shift[low] * (1.0 - fraction) + shift[low + 1] * fraction
        return out


def _small_matmul(matrix: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Per channel ``matrix[c] @ x[n, c]``: ``[C, out, in]`` with ``[N, C, in]`` -> ``[N, C, out]``, as a sum over
    the (at most three) inputs, which numpy does far faster than a batch of 3×3 matrix products."""
    out = x[:, :, 0:1] * matrix[None, :, :, 0]
    for i in range(1, matrix.shape[2]):
        out = out + x[:, :, i:i + 1] * matrix[None, :, :, i]
    return out


class NumpyModel:
    """Transforms, lattice, prior and tables of a model file, for coding."""

    def __init__(self, verified: modelfile.Verified):
        card, weights = verified.card, verified.weights
        if card.transform not in NUMPY_KINDS:
            raise ValueError(f"no numpy forward pass for {card.transform} transforms")
        self.card = card
        self.tables: CodingTables | None = verified.tables
        self.gain_counts = verified.gain_counts
        self.lattice = covering(card.lattice, card.latent_dim)
        self.coder: Coder | None = None if self.tables is None else coder_for(card.coder, self.tables, self.lattice,
                                                                verified.distance_table)
        self.dither_scale = float(np.exp(weights["log_dither_scale"]))
        self.prior = NumpyPrior.from_weights(weights) if card.centroid else None
        self._centroid_table: CentroidTable | None = None
        try:
            self.analysis, self.synthesis = _transforms(card, weights)
        except KeyError as error:
            raise LtcError(f"model {card.name}: weight {error} missing") from None

    def to_symbols(self, x: np.ndarray, shared: np.ndarray | None) -> np.ndarray:
        """Integer lattice coordinates ``[B, latent]`` of ``Q(g_a(x) − shared)`` (``x`` float32 ``[B, n]``)."""
        y = self.analysis(np.asarray(x, dtype=np.float32)).astype(np.float64)
        return self.lattice.nearest_coords(y if shared is None else y - shared)

    def from_symbols(self, coords: np.ndarray, shared: np.ndarray | None,
                     private: np.ndarray | None) -> np.ndarray:
        """Decoder: ``g_s(estimate(c + shared) + s·private)``, float32 ``[B, n]``."""
        center = self.lattice.from_coords(coords)
        if shared is not None:
            center = center + shared
        if self.prior is not None:
            center = self.centroid_table().centroids(center)
        center = center.astype(np.float32)
        if private is not None:
            center = center + np.float32(self.dither_scale) * private.astype(np.float32)
        return self.synthesis(center).astype(np.float32, copy=False)

    def private_dither(self, randomness: Randomness, count: int, rng: np.random.Generator) -> np.ndarray | None:
        return private_dither(self.lattice, randomness, count, rng)

    def centroid_table(self) -> CentroidTable:
        """The decoder's tabulated cell means (built on first use)."""
        if self._centroid_table is None:
            if self.prior is None or self.tables is None:
                raise ValueError("this model decodes to cell centers")
            self._centroid_table = CentroidTable.build(self.prior, self.lattice, self.tables)
        return self._centroid_table


def _transforms(card: modelfile.ModelCard, weights: dict[str, np.ndarray]) -> tuple[Layer, Layer]:
    if card.transform == "linear":
        return _linear(weights, "analysis"), _linear(weights, "synthesis")
    if card.transform == "mlp":
        return _mlp(weights, "analysis", card.depth), _mlp(weights, "synthesis", card.depth)
    if card.transform == "conv28":
        return _conv28(weights, card.channels)
    scale_in = np.exp(weights["analysis.log_scale"])
    scale_out = np.exp(weights["synthesis.log_scale"])
    correction = _mlp(weights, "synthesis.correction", card.depth)
    return (lambda x: x * scale_in), (lambda y: y * scale_out + correction(y))


def load_for_coding(path: Path) -> tuple[NumpyModel, modelfile.ModelCard]:
    """The coding model of the file at ``path`` (every transform kind the lab trains has a numpy forward pass)."""
    verified = modelfile.read_verified(path)
    if verified.card.transform not in NUMPY_KINDS:
        raise LtcError(f"model {verified.card.name}: {verified.card.transform} transforms have no numpy forward pass "
                       "in this ltc")
    return NumpyModel(verified), verified.card
