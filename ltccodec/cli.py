"""The `ltc` command line: parse arguments, call the library, report. No logic of its own.

Every command runs under `_report_errors`, so an `LtcError` becomes one line on stderr and an exit code.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import click

from ltccodec import __version__
from ltccodec.errors import LtcError, UsageError

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


@contextlib.contextmanager
def _report_errors() -> Iterator[None]:
    """Turn user errors and Ctrl-C into one line on stderr and an exit code (usable as a decorator too)."""
    try:
        yield
    except LtcError as error:
        click.echo(f"ltc: error: {error}", err=True)
        raise SystemExit(error.exit_code) from None
    except KeyboardInterrupt:
        click.echo("ltc: interrupted", err=True)
        raise SystemExit(EXIT_INTERRUPTED) from None


class _Group(click.Group):
    """A click group whose subcommands all run under `_report_errors`."""

    def invoke(self, ctx: click.Context) -> object:
        with _report_errors():
            return super().invoke(ctx)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="ltc", message="%(prog)s %(version)s")
def main() -> None:
    """ltc: a lossy codec for audio, images and arrays, built on lattice transform coding.

    \b
    An analysis transform maps the signal to a latent, a lattice quantizer (E8, Barnes-Wall,
    Leech, ...) rounds it, optionally after a dither shared with the decoder, and a range
    coder writes the lattice points; the decoder adds the dither back and synthesizes.

    \b
    Planned commands (those this version has are listed under Commands below):
      encode    signal -> .ltc bitstream    decode    .ltc bitstream -> signal
      info      describe a .ltc file        models    list and describe models
      train     fit a model to data         eval      rate-distortion-perception curves
      bench     speed and size              lattices  check and time the lattice quantizers

    \b
    Example:
      ltc encode speech.wav -o speech.ltc --randomness 4bits
      ltc decode speech.ltc -o speech.out.wav
    """


def _progress(message: str) -> None:
    click.echo(f"ltc: {message}", err=True)


@main.command()
@click.argument("names", nargs=-1)
@click.option("--quick", is_flag=True, help="Small sample sizes: a check in seconds, not a benchmark.")
@click.option("--vectors", type=click.IntRange(1), default=None, help="Batch size timed per lattice [100000].")
@click.option("--nsm-samples", type=click.IntRange(100), default=None, help="Monte Carlo samples [200000].")
@click.option("--naive-vectors", type=click.IntRange(1), default=None,
              help="Vectors given to the slow coset-enumeration baselines [2000].")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON instead of a table.")
def lattices(names: tuple[str, ...], quick: bool, vectors: int | None, nsm_samples: int | None,
             naive_vectors: int | None, as_json: bool) -> None:
    """Measure the lattice quantizers: NSM, closest-point speed and memory on one core.

    \b
    NAMES are lattices such as Z8, A2, D4, D4*, E8, BW16, Leech, E8^2, E8xD4 (default: a
    representative set). For BW16 and Leech the coset-enumeration baseline runs beside the
    fast decoder and the ratios are printed. Progress goes to stderr, figures to stdout.

    \b
    Examples:
      ltc lattices --quick
      ltc lattices Leech --vectors 100000
    """
    import dataclasses
    import json

    from ltccodec.bench.lattices import DEFAULT_LATTICES, bench_lattices, format_table

    size = 10_000 if quick else 100_000
    rows = bench_lattices(names or DEFAULT_LATTICES, vectors=vectors or size,
                          nsm_samples=nsm_samples or (20_000 if quick else 200_000),
                          naive_vectors=naive_vectors or (256 if quick else 2_000), progress=_progress)
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(r) for r in rows], indent=2))
    else:
        click.echo(format_table(rows, vectors or size))


_TRAIN_FLAGS = {  # option name -> TrainConfig field; None values mean "not given"
    "source": "source", "lattice": "lattice", "randomness": "randomness", "transform": "transform",
    "latent": "latent", "lambda_mse": "lambda_mse", "lambda_perception": "lambda_perception", "epochs": "epochs",
    "steps_per_epoch": "steps_per_epoch", "batch_size": "batch_size", "lr": "learning_rate", "seed": "seed",
}


@main.command()
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False), help="JSON training settings.")
@click.option("--source", help="Data source, e.g. gaussian:8.")
@click.option("--lattice", help="Block lattice: Z1, E8, BW16, Leech, ... (the latent uses a power of it).")
@click.option("--randomness", help="none, pd (0), <N>bits, nesting<A>, or sd (inf).")
@click.option("--transform", help="linear, mlp or conv28.")
@click.option("--latent", type=click.IntRange(1), help="Latent dimension (multiple of the lattice's).")
@click.option("--lambda-mse", type=float, help="Weight λ1 of the MSE term.")
@click.option("--lambda-perception", type=float, help="Weight λ2 of the sliced-W2² term.")
@click.option("--epochs", type=click.IntRange(1))
@click.option("--steps-per-epoch", type=click.IntRange(1))
@click.option("--batch-size", type=click.IntRange(2))
@click.option("--lr", type=float, help="Initial learning rate (cosine decay).")
@click.option("--seed", type=int)
@click.option("--name", required=True, help="Model name; the file is models/NAME.{json,safetensors}.")
@click.option("--out-dir", type=click.Path(file_okay=False), default="models", show_default=True)
@click.option("--run-dir", type=click.Path(file_okay=False), help="Checkpoints [runs/NAME]; resumes from it.")
@click.option("--force", is_flag=True, help="Overwrite an existing model file.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(config_file: str | None, name: str, out_dir: str, run_dir: str | None, force: bool, quiet: bool,
          **flags: object) -> None:
    """Train an LTC model: rate + λ1·MSE + λ2·SW2², checkpointed every epoch.

    \b
    Settings come from --config (JSON with the same names, underscores) and then the flags.
    Re-running the same command after an interrupt resumes from the last finished epoch.

    \b
    Example:
      ltc train --source gaussian:8 --lattice E8 --randomness sd --lambda-mse 4 \\
                --lambda-perception 100 --name gaussian8-e8-sd-l4
    """
    import dataclasses
    import sys
    from pathlib import Path

    from ltccodec.train import TrainConfig
    from ltccodec.train import train as run_training

    config = TrainConfig.from_json(Path(config_file).read_text()) if config_file else TrainConfig()
    given = {_TRAIN_FLAGS[k]: v for k, v in flags.items() if v is not None}
    config = dataclasses.replace(config, **given)
    out = Path(out_dir) / name
    if Path(f"{out}.json").exists() and not force:
        raise UsageError(f"{out}.json exists; use --force to overwrite")
    bar = _Bar(config.epochs * config.steps_per_epoch, quiet)
    card = run_training(config, Path(run_dir or Path("runs") / name), out, name,
                        command=" ".join(["ltc", *sys.argv[1:]]), report=bar)
    bar.close()
    m = card.metrics[0]
    click.echo(f"{out}.safetensors: {card.training.randomness}, rate {m.rate:.4f} bits/dim (Voronoi estimate "
               f"{m.rate_voronoi:.4f}), MSE {m.mse:.4f}, SW2² {m.sw2:.5f}, {card.training.seconds:.0f} s")


class _Bar:
    """tqdm on stderr showing the running loss terms; a no-op when quiet."""

    def __init__(self, total: int, quiet: bool):
        from tqdm import tqdm

        self._bar = None if quiet else tqdm(total=total, file=sys.stderr, unit="step", smoothing=0.05)
        self._seen = 0

    def __call__(self, p: object) -> None:
        if self._bar is None:
            return
        self._bar.update(1)
        self._seen += 1
        if self._seen % 20 == 0:
            self._bar.set_postfix(epoch=p.epoch, rate=f"{p.rate:.3f}", mse=f"{p.mse:.4f}", sw2=f"{p.sw2:.5f}")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


@main.command("eval")
@click.argument("models", nargs=-1, required=True, type=click.Path())
@click.option("--randomness", "-r", multiple=True,
              help="Evaluate under this randomness (repeatable; default: what each model was trained for).")
@click.option("--count", type=click.IntRange(100), default=20_000, show_default=True, help="Test vectors.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write OUT.csv, OUT.json and OUT.png.")
@click.option("--title", default="", help="Plot title.")
@click.option("--update-cards", is_flag=True,
              help="Write the figures measured for each model's own randomness into its card.")
def eval_command(models: tuple[str, ...], randomness: tuple[str, ...], count: int, out: str | None,
                 title: str, update_cards: bool) -> None:
    """Measure models on their source's test set: rate, MSE, perception; plot against theory.

    \b
    MODELS are model files (either file of the pair, or their stem). For Gaussian sources the
    plot shows R(D,0), R(D/2,∞) and R(D,∞), and a gap table (rate − bound) is printed.

    \b
    Example:
      ltc eval models/gaussian8-*.json --out docs/figures/gaussian8
    """
    from pathlib import Path

    from ltccodec import modelfile
    from ltccodec.data import source_by_name
    from ltccodec.evaluate import evaluate, gap_table, plot_rows, row_for, write_rows
    from ltccodec.ltc import Randomness

    rows = []
    gaussian = True
    for path in models:
        model, card = modelfile.load(Path(path))
        source = source_by_name(card.source)
        gaussian = gaussian and source.gaussian
        for text in randomness or (card.training.randomness,):
            metrics = evaluate(model, source, Randomness.parse(text), count)
            rows.append(row_for(card, metrics))
            if update_cards and metrics.randomness == card.training.randomness:
                import dataclasses

                modelfile.update_card(Path(path), dataclasses.replace(card, metrics=(metrics,)))
            click.echo(f"{card.name:<34} {metrics.randomness:>8}  rate {metrics.rate:.4f}  "
                       f"voronoi {metrics.rate_voronoi:.4f}  mse {metrics.mse:.4f}  sw2 {metrics.sw2:.5f}")
    if gaussian:
        click.echo(gap_table(rows))
    if out:
        csv_path, json_path = write_rows(rows, Path(out))
        png = plot_rows(rows, Path(out), gaussian, title)
        _progress(f"wrote {csv_path}, {json_path}, {png}")


@main.group()
def bench() -> None:
    """Benchmarks that print measured figures (speed, size, rate against theory)."""


@bench.command("codec")
@click.argument("names", nargs=-1)
@click.option("--vectors", type=click.IntRange(1), default=20_000, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def bench_codec_command(names: tuple[str, ...], vectors: int, as_json: bool) -> None:
    """Coded bits vs the model's estimate and R(D,P); encode/decode speed on one core.

    NAMES are installed models (default: every model whose name contains "gaussian").
    """
    import dataclasses
    import json

    from ltccodec import codec
    from ltccodec.bench.codec import bench_codec, format_table

    chosen = list(names) or [c.name for c in codec.list_models() if "gaussian" in c.name]
    if not chosen:
        raise UsageError("no models to benchmark (see `ltc models`)")
    rows = bench_codec(chosen, vectors, progress=_progress)
    click.echo(json.dumps([dataclasses.asdict(r) for r in rows], indent=2) if as_json else format_table(rows))


class _FrameProgress:
    """A progress bar over vectors on stderr, shown only for inputs of several frames on a terminal."""

    def __init__(self, what: str):
        self._what, self._bar = what, None

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="vec", desc=self._what, file=sys.stderr, leave=False,
                             disable=not sys.stderr.isatty() or total <= 4096)
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _read_input(path: str) -> bytes:
    if path == "-":
        if sys.stdin.isatty():
            raise UsageError("reading from stdin, which is a terminal: pipe data in or give a file")
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None


def _write_output(path: str, data: bytes, force: bool) -> None:
    """stdout for '-', else an atomic write (temp file + rename) that refuses to overwrite without --force."""
    from pathlib import Path

    from ltccodec.atomic import write_atomic

    if path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    target = Path(path)
    if target.exists() and not force:
        raise UsageError(f"{path} exists; use --force to overwrite")
    if not target.parent.is_dir():
        raise UsageError(f"no such directory: {target.parent}")
    write_atomic(target, data)


def _key(key_file: str | None) -> object:
    from pathlib import Path

    from ltccodec.keyed import load_key

    return load_key(Path(key_file) if key_file else None)


_KEY_HELP = "Key for the shared dither: a file's bytes (else $LTC_KEY, else the public default key)."


@main.command()
@click.argument("input_path", metavar="IN")
@click.option("-o", "--output", required=True, metavar="OUT", help="Output .ltc file, or - for stdout.")
@click.option("-m", "--model", metavar="NAME|PATH", help="Model name (see `ltc models`) or model file.")
@click.option("-r", "--randomness", metavar="R",
              help="none | 0 (pd) | <N>bits (QSD, a = 2^N) | inf (sd). Default: what the model was trained for.")
@click.option("--nesting", type=click.IntRange(2, 65536), help="QSD with this integer nesting ratio a.")
@click.option("--key-file", type=click.Path(dir_okay=False), help=_KEY_HELP)
@click.option("--nonce", metavar="HEX", help="32 hex digits (default: random from the OS); for reproducible output.")
@click.option("-f", "--force", is_flag=True, help="Overwrite OUT if it exists.")
def encode(input_path: str, output: str, model: str | None, randomness: str | None, nesting: int | None,
           key_file: str | None, nonce: str | None, force: bool) -> None:
    """Compress IN (a .npy float array, or - for stdin) to an .ltc stream.

    \b
    The array's last axis must be the model's source dimension; any leading shape is kept.
    Shared randomness (sd, QSD) is derived from the key and a nonce stored in the stream,
    so the decoder needs the same key. Dither is not encryption.

    \b
    --model takes a model name, a model file, or a family name (the name without its
    randomness, e.g. gaussian8-e8-l2): then the member trained for --randomness is used.

    \b
    Examples:
      ltc encode x.npy -o x.ltc --model gaussian8-e8-sd-l2
      ltc encode x.npy -o x.ltc --model gaussian8-e8-l2 --randomness 1bits
      cat x.npy | ltc encode - -o - --model gaussian8-e8-sd-l2 > x.ltc
    """
    import io

    import numpy as np

    from ltccodec import codec
    from ltccodec.keyed import parse_nonce
    from ltccodec.ltc import Randomness

    if model is None:
        raise UsageError("choose a model with --model (list them with `ltc models`)")
    if nesting is not None and randomness not in (None, "qsd"):
        raise UsageError("--nesting is QSD's ratio; leave out --randomness or use --randomness qsd")
    raw = _read_input(input_path)
    try:
        array = np.load(io.BytesIO(raw), allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise UsageError(f"{input_path} is not a .npy array ({error})") from None
    wanted = f"nesting{nesting}" if nesting else randomness
    try:
        loaded = codec.load_model(model)
    except LtcError:
        if wanted is None:
            raise
        # a family name (``gaussian8-e8-l2``): take the member that fits the randomness
        loaded = codec.load_model(codec.choose_member(model, Randomness.parse(wanted)))
    rand = Randomness.parse(wanted or loaded.card.training.randomness)
    out = io.BytesIO()
    bar = _FrameProgress("encode")
    header = codec.encode_to(array, out, loaded, rand, _key(key_file), parse_nonce(nonce) if nonce else None,
                             progress=bar)
    bar.close()
    _write_output(output, out.getvalue(), force)
    bits = 8 * len(out.getvalue())
    _progress(f"{header.vectors} vectors -> {len(out.getvalue())} bytes ({bits / array.size:.4f} bits/value), "
              f"model {loaded.name}, randomness {rand}")


@main.command()
@click.argument("input_path", metavar="IN")
@click.option("-o", "--output", required=True, metavar="OUT", help="Output .npy file, or - for stdout.")
@click.option("--key-file", type=click.Path(dir_okay=False), help=_KEY_HELP)
@click.option("--seed", type=int, help="Seed the decoder's private dither (default: OS randomness).")
@click.option("-f", "--force", is_flag=True, help="Overwrite OUT if it exists.")
def decode(input_path: str, output: str, key_file: str | None, seed: int | None, force: bool) -> None:
    """Decompress an .ltc stream (or - for stdin) to a .npy array.

    \b
    The model named in the stream must be installed (`ltc models`); the key must be the
    encoder's (wrong key: a clear error, never garbage).

    \b
    Example:
      ltc decode x.ltc -o x.out.npy
    """
    import io

    import numpy as np

    from ltccodec import codec

    bar = _FrameProgress("decode")
    array = codec.decode_from(io.BytesIO(_read_input(input_path)), _key(key_file), seed, progress=bar)
    bar.close()
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    _write_output(output, buffer.getvalue(), force)
    _progress(f"decoded {array.shape} {array.dtype}")


@main.command()
@click.argument("input_path", metavar="FILE")
@click.option("--json", "as_json", is_flag=True, help="All header fields as JSON.")
def info(input_path: str, as_json: bool) -> None:
    """Show an .ltc stream's header: model, randomness, shape, framing, sizes."""
    import dataclasses
    import io
    import json

    from ltccodec import codec

    raw = _read_input(input_path)
    header = codec.read_info(io.BytesIO(raw))
    fields = dataclasses.asdict(header)
    fields.update(model_sha256=header.model_sha256.hex(), nonce=header.nonce.hex(), key_check=header.key_check.hex(),
                  mode=header.mode.name.lower(), kind=header.kind.name.lower(), file_bytes=len(raw),
                  payload_bytes=header.payload_bytes,
                  bits_per_value=8 * len(raw) / (header.vectors * header.source_dim))
    fields["frames"] = [dataclasses.asdict(f) for f in header.frames]
    if as_json:
        click.echo(json.dumps(fields, indent=2))
        return
    for name in ("version", "model_name", "model_sha256", "mode", "nesting", "nonce", "key_check", "kind", "dtype",
                 "shape", "source_dim", "latent_dim", "vectors", "frame_vectors", "file_bytes", "payload_bytes",
                 "bits_per_value"):
        click.echo(f"{name:<15} {fields[name]}")
    click.echo(f"{'frames':<15} {len(header.frames)}")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="The full model cards as JSON.")
def models(as_json: bool) -> None:
    """List installed models: name, source, lattice, dimensions, rate points.

    Models are looked up in $LTC_MODELS (a path list) and the repository's models/ folder.
    """
    import dataclasses
    import json

    from ltccodec import codec

    cards = codec.list_models()
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(c) for c in cards], indent=2))
        return
    for c in cards:
        points = ", ".join(f"{m.randomness}: {m.rate:.3f} b/dim mse {m.mse:.4f}" for m in c.metrics)
        click.echo(f"{c.name}  source={c.source} lattice={c.lattice} n={c.source_dim} latent={c.latent_dim} "
                   f"trained={c.training.randomness} family={codec.family_of(c)}  [{points}]")


if __name__ == "__main__":
    main(prog_name="ltc")
