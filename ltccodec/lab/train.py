"""Training: minimize rate + λ1·MSE + λ2·SW2² over a data source, with checkpoints at epoch boundaries so
an interrupted run resumes where it stopped. Writes a model file (`modelfile`). Used by `ltc train`."""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from ltccodec.coding import DistanceTable, FrameDither
from ltccodec.coding.tables import CodingTables, quantize_pmf
from ltccodec.errors import LtcError, UsageError
from ltccodec.lab import modelio
from ltccodec.lab.evaluate import evaluate, evaluate_audio
from ltccodec.lab.ltc import LTCModel, ModelConfig, random_directions, sliced_w2_squared
from ltccodec.lab.sources import Source, source_by_name
from ltccodec.lab.transforms import TransformConfig, TransformKind
from ltccodec.lattice import by_name
from ltccodec.media.framing import gain_pmf
from ltccodec.randomness import Randomness
from ltccodec.runtime import modelfile


@dataclass(frozen=True)
class TrainConfig:
    """One training run. ``latent`` 0 means the source dimension rounded up to a multiple of the lattice's."""

    source: str = "gaussian:8"
    lattice: str = "E8"
    randomness: str = "sd"
    transform: str = "linear"
    latent: int = 0
    lambda_mse: float = 4.0
    lambda_perception: float = 0.0
    epochs: int = 10
    steps_per_epoch: int = 300
    batch_size: int = 1024
    learning_rate: float = 1e-2
    final_learning_rate: float = 1e-3  # cosine decay to this
    projections: int = 64
    test_size: int = 20_000
    seed: int = 0
    init_scale: float = 0.0  # > 0: start linear transforms at scale·I / I/scale (square latent only)
    init_gain: float = 1.0  # with init_scale: the synthesis starts at gain·I/scale (the SD construction's gain)
    train_analysis: bool = True  # False: keep the analysis transform at its initial value (a fixed step size)
    centroid: bool = False  # decode to the prior's mean over each cell (see prior.box_centroids)
    measured_tables: bool = False  # measure the coding tables on the source after training (`measured_tables`)
    distance_code: int = 0  # code with the distance code (`coding.distance`) over this many shells (1, 2; 0: not)
    perception: str = "sw2"  # the λ2 term: "sw2" (sliced W2², vectors) or "critic" (WGAN-GP critic, 28×28 images)
    critic_steps: int = 2  # critic updates per codec update ("critic")
    critic_eval_steps: int = 600  # updates of the fresh critic that measures W1 for the card ("critic")
    channels: int = 16  # conv28 feature maps

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        raw = json.loads(text)
        unknown = set(raw) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise UsageError(f"unknown training settings: {', '.join(sorted(unknown))}")
        return cls(**raw)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2) + "\n"

    def model_config(self) -> ModelConfig:
        if self.distance_code not in (0, 1, 2):
            raise UsageError(f"--distance-code takes 1 or 2 shells (0: off), not {self.distance_code}")
        source = source_by_name(self.source)
        block = by_name(self.lattice).dim
        latent = self.latent or -(-source.dim // block) * block
        try:
            kind = TransformKind(self.transform)
        except ValueError:
            raise UsageError(f"unknown transform {self.transform!r}: linear, mlp, diagonal or conv28") from None
        return ModelConfig(TransformConfig(kind, source.dim, latent, channels=self.channels, centroid=self.centroid),
                           self.lattice, self.measured_tables, "distance" if self.distance_code else "box")


@dataclass(frozen=True)
class Progress:
    """Running figures reported to the progress callback after every step."""

    epoch: int
    step: int
    rate: float
    mse: float
    perception: float  # the λ2 term: sliced W2², or the critic's −E f(decoded)


def train(config: TrainConfig, run_dir: Path, out: Path, name: str, command: str = "",
          report: Callable[[Progress], None] = lambda _: None) -> modelfile.ModelCard:
    """Train (or resume) in ``run_dir``, then evaluate and write the model file at ``out``."""
    source = source_by_name(config.source)
    randomness = Randomness.parse(config.randomness)
    with torch.random.fork_rng():
        torch.manual_seed(config.seed)
        model = LTCModel(config.model_config())
        if config.init_scale > 0:
            _scaled_identity(model, config.init_scale, config.init_gain)
    if not config.train_analysis:
        model.analysis.requires_grad_(False)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=config.learning_rate)
    parts = {"model": (model, optimizer)}
    if config.perception == "critic":
        from ltccodec.lab import critic as wgan

        with torch.random.fork_rng():
            torch.manual_seed(config.seed + 1)
            judge = wgan.Critic()
        parts["critic"] = (judge, wgan.new_optimizer(judge))
    elif config.perception != "sw2":
        raise UsageError(f"unknown perception term {config.perception!r}: sw2 or critic")
    start_epoch, seconds = _resume(run_dir, config, parts)
    total_steps = config.epochs * config.steps_per_epoch
    for epoch in range(start_epoch, config.epochs):
        began = time.perf_counter()
        rng = np.random.default_rng([config.seed, epoch])
        generator = torch.Generator().manual_seed(config.seed * 1_000_003 + epoch)
        for step in range(config.steps_per_epoch):
            done = epoch * config.steps_per_epoch + step
            lr = config.final_learning_rate + 0.5 * (config.learning_rate - config.final_learning_rate) * (
                1.0 + math.cos(math.pi * done / total_steps))
            for group in optimizer.param_groups:
                group["lr"] = lr
            x = torch.from_numpy(source.sample(config.batch_size, rng))
            output = model.training_step(x, randomness, rng)
            rate = output.bits.mean() / source.dim
            mse = ((x - output.x_hat) ** 2).mean()
            if "critic" in parts:
                judge, judge_optimizer = parts["critic"]
                for _ in range(config.critic_steps):
                    real = torch.from_numpy(source.sample(config.batch_size, rng))
                    wgan.critic_step(judge, judge_optimizer, real, output.x_hat, generator)
                perception = -judge(output.x_hat).mean()
            else:
                perception = sliced_w2_squared(x, output.x_hat,
                                               random_directions(config.projections, source.dim, generator))
            loss = rate + config.lambda_mse * mse + config.lambda_perception * perception
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            report(Progress(epoch, step, rate.item(), mse.item(), perception.item()))
        seconds += time.perf_counter() - began
        _checkpoint(run_dir, config, parts, epoch + 1, seconds)

    model.eval()
    modelio.round_weights(model)
    if config.measured_tables:
        model.tables = measured_tables(model, source, randomness, config.seed)
    if config.distance_code:
        model.distance_table = distance_table(model, source, randomness, config.seed, config.distance_code)
    framing = getattr(source, "framing", None)
    if framing is not None:  # audio: the gains' integer table, then whole-recording figures
        model.gain_counts = quantize_pmf(gain_pmf(source.train_gains, framing))
        metrics = evaluate_audio(model, source, randomness)
    else:
        metrics = evaluate(model, source, randomness, config.test_size)
    if config.perception == "critic":  # images: a fresh critic's W1 between test images and their decodings
        metrics = dataclasses.replace(metrics, w1=_critic_w1(model, source, randomness, config.test_size,
                                                             config.critic_eval_steps))
    training = modelfile.Training(str(randomness), config.lambda_mse, config.lambda_perception, total_steps,
                                  config.batch_size, config.seed, round(seconds, 1), command)
    scaling = getattr(source, "scaling", None)
    card = modelio.card_for(model, name, source.name, training, (metrics,), framing, source.description,
                              None if scaling is None else scaling.to_card())
    return modelio.save(model, card, out)


MEASURE_VECTORS = 1 << 18


def measured_tables(model: LTCModel, source: Source, randomness: Randomness, seed: int,
                    count: int = MEASURE_VECTORS) -> CodingTables:
    """The coding tables measured on ``count`` fresh source vectors under the codec's dither grid."""
    from ltccodec.codec import FRAME_VECTORS, nesting_of
    from ltccodec.coding.box import BoxCoder, measure_tables
    from ltccodec.lab.prior import freeze_tables

    if model.lattice.blocks[0].embedding is not None:
        raise UsageError(f"{model.lattice.name} cannot be entropy coded, so its tables cannot be measured")
    rng = np.random.default_rng([seed, 11])
    nesting = nesting_of(randomness)
    frozen = BoxCoder(freeze_tables(model.prior, model.lattice), model.lattice)

    def frames() -> Iterator[tuple[np.ndarray, FrameDither]]:
        for start in range(0, count, FRAME_VECTORS):
            x = source.sample(min(FRAME_VECTORS, count - start), rng).astype(np.float32)
            u, dither = FrameDither.drawn(model.lattice, len(x), nesting, rng)
            yield model.to_symbols(torch.from_numpy(x), u), dither

    return measure_tables(frozen, frames())


DISTANCE_VECTORS = 1 << 16


def distance_table(model: LTCModel, source: Source, randomness: Randomness, seed: int, shells: int,
                   count: int = DISTANCE_VECTORS) -> DistanceTable:
    """The distance code's table, fitted on ``count`` fresh source vectors under the codec's dither grid."""
    from ltccodec.codec import FRAME_VECTORS, nesting_of
    from ltccodec.coding import distance
    from ltccodec.lab import distance_fit
    from ltccodec.lab.prior import freeze_tables

    if not distance.supports(model.lattice) or shells not in (1, 2):
        raise UsageError(f"the distance code takes 1 or 2 shells of small blocks (Z, D4, E8 and their powers), not "
                         f"{shells} of {model.lattice.name}")
    rng = np.random.default_rng([seed, 13])
    nesting = nesting_of(randomness)
    tables = model.tables if model.tables is not None else freeze_tables(model.prior, model.lattice)
    frames = []
    for start in range(0, count, FRAME_VECTORS):
        x = source.sample(min(FRAME_VECTORS, count - start), rng).astype(np.float32)
        u, dither = FrameDither.drawn(model.lattice, len(x), nesting, rng)
        frames.append((distance.frame_candidates(tables, model.lattice, dither),
                       model.to_symbols(torch.from_numpy(x), u)))
    return distance_fit.fit(frames, model.lattice, shells)


def _scaled_identity(model: LTCModel, scale: float, gain: float = 1.0) -> None:
    """Start from the plain transform coder: analysis ``scale·x``, synthesis ``gain·y/scale`` (uniform quantization
    of each source coordinate with step ``1/scale``; ``gain`` < 1 shrinks the output as the SD construction does
    when the cells are large), which training then refines."""
    t = model.config.transform
    if t.kind is TransformKind.DIAGONAL:
        with torch.no_grad():
            model.analysis.log_scale.fill_(math.log(scale))
            model.synthesis.log_scale.fill_(math.log(gain / scale))
        return
    if t.kind is not TransformKind.LINEAR or t.n != t.latent:
        raise UsageError("init_scale needs a linear or diagonal transform with latent = source dimension")
    with torch.no_grad():
        model.analysis.weight.copy_(torch.eye(t.n) * scale)
        model.synthesis.weight.copy_(torch.eye(t.n) * (gain / scale))
        model.analysis.bias.zero_()
        model.synthesis.bias.zero_()


Parts = dict[str, tuple[torch.nn.Module, torch.optim.Optimizer]]  # what a checkpoint holds: modules and optimizers


def _critic_w1(model: LTCModel, source: object, randomness: Randomness, count: int, steps: int) -> float:
    from ltccodec.lab.critic import wasserstein_estimate
    from ltccodec.lab.evaluate import EVAL_SEED

    x = torch.from_numpy(source.test_set(count))
    with torch.no_grad():
        x_hat = model.reconstruct(x, randomness, np.random.default_rng(EVAL_SEED)).x_hat.float()
    return wasserstein_estimate(x, x_hat.clamp(0, 1), steps=steps, seed=EVAL_SEED % 1000)


def _checkpoint(run_dir: Path, config: TrainConfig, parts: Parts, epochs_done: int, seconds: float) -> None:
    """Weights and optimizer moments in safetensors, progress in JSON; the JSON is written last. The codec's
    tensors are named ``model.*`` and ``optim.*``, another part's ``<part>.model.*`` and ``<part>.optim.*``."""
    run_dir.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for part, (module, optimizer) in parts.items():
        prefix = "" if part == "model" else f"{part}."
        tensors.update({f"{prefix}model.{k}": v.detach().clone().contiguous() for k, v in module.state_dict().items()})
        for index, state in optimizer.state_dict()["state"].items():
            for key, value in state.items():
                tensors[f"{prefix}optim.{index}.{key}"] = torch.as_tensor(value).clone().contiguous()
    tmp = run_dir / "checkpoint.safetensors.tmp"
    save_file(tensors, str(tmp))
    tmp.replace(run_dir / "checkpoint.safetensors")
    meta = {"config": dataclasses.asdict(config), "epochs_done": epochs_done, "seconds": seconds}
    tmp_json = run_dir / "checkpoint.json.tmp"
    tmp_json.write_text(json.dumps(meta, indent=2))
    tmp_json.replace(run_dir / "checkpoint.json")


def _resume(run_dir: Path, config: TrainConfig, parts: Parts) -> tuple[int, float]:
    """Load the run's checkpoint if there is one; returns (epochs already done, seconds spent)."""
    meta_path = run_dir / "checkpoint.json"
    if not meta_path.exists():
        return 0, 0.0
    meta = json.loads(meta_path.read_text())
    if meta["config"] != dataclasses.asdict(config):
        raise LtcError(f"{run_dir} holds a run with other settings; pick another --run-dir or delete it")
    tensors = load_file(str(run_dir / "checkpoint.safetensors"))
    for part, (module, optimizer) in parts.items():
        prefix = "" if part == "model" else f"{part}."
        module.load_state_dict({k[len(prefix) + 6:]: v for k, v in tensors.items() if k.startswith(f"{prefix}model.")})
        state = optimizer.state_dict()
        for key, value in tensors.items():
            if key.startswith(f"{prefix}optim."):
                index, name = key[len(prefix) + 6:].split(".", 1)
                state["state"].setdefault(int(index), {})[name] = value
        optimizer.load_state_dict(state)
    return int(meta["epochs_done"]), float(meta["seconds"])
