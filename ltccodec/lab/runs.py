"""The lab's runs as `ltc train` and `ltc eval` start them: training settings from a JSON file and flags, a model
trained to a file, and model files evaluated under several randomness settings. Needs torch (the `train` extra);
over `train` and `evaluate`, which it leaves as they are."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ltccodec.errors import UsageError
from ltccodec.lab import modelio
from ltccodec.lab.evaluate import Row, evaluate, plot_rows, row_for, write_rows
from ltccodec.lab.sources import source_by_name
from ltccodec.lab.train import Progress, TrainConfig, train
from ltccodec.randomness import Randomness
from ltccodec.runtime import modelfile

RENAMED = {"lr": "learning_rate"}  # flag name -> TrainConfig field, where they differ


def settings(config_file: Path | None, flags: Mapping[str, object]) -> TrainConfig:
    """The settings in ``config_file`` (JSON with `TrainConfig`'s names; None: the defaults), overridden by the
    flags given (None values mean "not given"; ``lr`` sets ``learning_rate``)."""
    config = TrainConfig.from_json(config_file.read_text()) if config_file else TrainConfig()
    given = {RENAMED.get(k, k): v for k, v in flags.items() if v is not None}
    unknown = set(given) - {f.name for f in dataclasses.fields(TrainConfig)}
    if unknown:
        raise UsageError(f"unknown training settings: {', '.join(sorted(unknown))}")
    return dataclasses.replace(config, **given)


def train_model(config: TrainConfig, name: str, out_dir: Path, run_dir: Path | None = None, force: bool = False,
                command: str = "", report: Callable[[Progress], None] = lambda _: None) -> modelfile.ModelCard:
    """Train (or resume from ``run_dir``, default ``runs/NAME``) and write ``out_dir/NAME.{json,safetensors}``;
    an existing model file is overwritten only with ``force``."""
    out = out_dir / name
    if Path(f"{out}.json").exists() and not force:
        raise UsageError(f"{out}.json exists; use --force to overwrite")
    return train(config, run_dir or Path("runs") / name, out, name, command=command, report=report)


@dataclass(frozen=True)
class Evaluation:
    rows: tuple[Row, ...]  # one per model and randomness, in the order measured
    gaussian: bool  # every model's source is Gaussian (the theory curves and gap table apply)


def evaluate_models(paths: Sequence[Path], randomness: Sequence[str] = (), count: int = 20_000,
                    update_cards: bool = False, report: Callable[[Row], None] = lambda _: None) -> Evaluation:
    """Each model file on its source's first ``count`` test vectors, under each of ``randomness`` (default: what
    it was trained for); with ``update_cards``, the figures for the trained randomness go into the model's card.
    ``report`` gets each row as it is measured."""
    rows = []
    gaussian = True
    for path in paths:
        model, card = modelio.load(path)
        source = source_by_name(card.source)
        gaussian = gaussian and source.gaussian
        for text in randomness or (card.training.randomness,):
            metrics = evaluate(model, source, Randomness.parse(text), count)
            rows.append(row_for(card, metrics))
            if update_cards and metrics.randomness == card.training.randomness:
                modelio.update_card(path, dataclasses.replace(card, metrics=(metrics,)))
            report(rows[-1])
    return Evaluation(tuple(rows), gaussian)


def save(evaluation: Evaluation, out: Path, title: str = "") -> tuple[Path, Path, Path]:
    """``OUT.csv``, ``OUT.json`` and the plot ``OUT.png`` of an evaluation."""
    csv_path, json_path = write_rows(evaluation.rows, out)
    return csv_path, json_path, plot_rows(evaluation.rows, out, evaluation.gaussian, title)
