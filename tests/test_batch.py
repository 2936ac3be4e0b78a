"""`ltc batch` as a user runs it: a few hundred tiny files, a corrupt one among them, a run killed with SIGKILL
and resumed, a real local Dask cluster, and reruns that skip what is done — every tree compared byte for byte
with an uninterrupted run with the same seed."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile

from ltccodec import batch
from ltccodec.batch import manifest

LTC = str(Path(sys.executable).parent / "ltc")
FILES = 240


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """240 clips of 0.3 s of real speech in nested folders, one corrupt .wav, one text file (ignored)."""
    root = tmp_path_factory.mktemp("dataset")
    speech, rate = soundfile.read(Path(__file__).parent.parent / "examples" / "speech.wav", dtype="int16")
    for i in range(FILES):
        folder = root / f"spk{i % 4}" / f"day{i % 3}"
        folder.mkdir(parents=True, exist_ok=True)
        start = (i * 997) % (len(speech) - 2400)
        soundfile.write(folder / f"clip{i:03d}.wav", speech[start:start + 2400], rate, subtype="PCM_16")
    (root / "spk0" / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunk")
    (root / "spk1" / "notes.txt").write_text("not audio")
    return root


def _ltc(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([LTC, *args], capture_output=True, text=True, timeout=600, **kwargs)


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.startswith(manifest.FILE_NAME)}


def _content(folder: Path) -> dict[str, tuple]:
    return {rel: row.content() for rel, row in manifest.read(folder).items()}


@pytest.fixture(scope="module")
def straight(dataset, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("straight") / "out"
    done = _ltc("batch", "encode", str(dataset), "-o", str(out), "--seed", "7", "-j", "2")
    assert done.returncode == 1, done.stderr  # the corrupt file
    return out


def test_a_full_run_codes_every_file_and_reports_the_bad_one(straight, dataset):
    rows = manifest.read(straight)
    assert len(rows) == FILES + 1
    bad = rows["spk0/broken.wav"]
    assert bad.status == manifest.FAILED and "audio file ltc can read" in bad.error
    good = [r for r in rows.values() if r.status == manifest.OK]
    assert len(good) == FILES and all(r.model == "speech-z-none-q3" and r.seconds == pytest.approx(0.3) for r in good)
    tree = _tree(straight)
    assert sorted(tree) == sorted(r.dst for r in good)  # the mirrored tree, nothing else, no temp files
    assert "spk2/day2/clip002.wav.ltc" in tree
    for row in good[:5]:
        assert tree[row.dst].startswith(b"\xc7\x4c")  # 0.3 s clips: the compact profile
        assert len(tree[row.dst]) == row.dst_size


def test_the_summary_names_the_failure_and_the_exit_status_says_so(dataset, tmp_path):
    done = _ltc("batch", "encode", str(dataset / "spk0"), "-o", str(tmp_path / "o"), "--seed", "7", "-j", "1")
    assert done.returncode == 1
    assert "ltc: failed: broken.wav: " in done.stderr
    assert f"{FILES // 4 + 1} files: {FILES // 4} coded, 0 already done, 1 failed" in done.stderr
    assert "Traceback" not in done.stderr


def test_kill_9_mid_run_then_resume_gives_the_same_tree(straight, dataset, tmp_path):
    out = tmp_path / "out"
    process = subprocess.Popen([LTC, "batch", "encode", str(dataset), "-o", str(out), "--seed", "7", "-j", "2"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    ok = 0
    for _ in range(3000):
        time.sleep(0.01)
        if (out / manifest.FILE_NAME).exists():
            try:
                with sqlite3.connect(f"file:{out / manifest.FILE_NAME}?mode=ro", uri=True) as db:
                    ok = db.execute("SELECT COUNT(*) FROM files WHERE status = 'ok'").fetchone()[0]
            except sqlite3.OperationalError:
                continue
        if ok >= 40 or process.poll() is not None:
            break
    assert process.poll() is None, "the run finished before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)  # the coordinator and its workers, mid-run
    process.wait(timeout=30)
    assert 40 <= ok < FILES
    resumed = _ltc("batch", "encode", str(dataset), "-o", str(out), "--seed", "7", "-j", "2")
    assert resumed.returncode == 1, resumed.stderr
    assert f", {FILES - 0}" not in resumed.stderr  # it did not start over
    skipped = int(resumed.stderr.split(" coded, ")[1].split(" already done")[0])
    assert skipped >= 40
    assert _tree(out) == _tree(straight)
    assert _content(out) == _content(straight)
    assert not [p for p in out.rglob("*.part")]


def test_a_dask_cluster_writes_the_same_tree_and_manifest(straight, dataset, tmp_path):
    out = tmp_path / "out"
    done = _ltc("batch", "encode", str(dataset), "-o", str(out), "--seed", "7", "-j", "2", "--executor", "dask")
    assert done.returncode == 1, done.stderr
    assert _tree(out) == _tree(straight)
    assert _content(out) == _content(straight)


def test_a_rerun_skips_what_is_done_and_redoes_what_changed(dataset, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for i, clip in enumerate(sorted(dataset.rglob("clip00*.wav"))):
        (src / f"c{i}.wav").write_bytes(clip.read_bytes())
    out = tmp_path / "out"
    first = _ltc("batch", "encode", str(src), "-o", str(out), "--seed", "1", "-j", "1")
    assert first.returncode == 0 and "10 files: 10 coded, 0 already done" in first.stderr
    again = _ltc("batch", "encode", str(src), "-o", str(out), "--seed", "1", "-j", "1")
    assert "10 files: 0 coded, 10 already done" in again.stderr
    (out / "c1.wav.ltc").write_bytes(b"tampered")  # a damaged output
    (out / "c2.wav.ltc").unlink()  # a lost output
    os.utime(src / "c3.wav", ns=(1, 1))  # touched, same content: kept
    (src / "c4.wav").write_bytes((src / "c5.wav").read_bytes())  # new content: recoded
    third = _ltc("batch", "encode", str(src), "-o", str(out), "--seed", "1", "-j", "1")
    assert "10 files: 3 coded, 7 already done" in third.stderr, third.stderr
    # the same clip under two paths: deterministic compact streams carry no nonce, so the same bytes
    assert (out / "c4.wav.ltc").read_bytes() == (out / "c5.wav.ltc").read_bytes()
    other = _ltc("batch", "encode", str(src), "-o", str(out), "--seed", "2", "-j", "1")
    assert other.returncode == 2 and "other settings" in other.stderr


def test_an_output_the_batch_did_not_write_is_not_overwritten(dataset, tmp_path):
    out = tmp_path / "out"
    (out / "day0").mkdir(parents=True)
    mine = out / "day0" / "clip000.wav.ltc"
    mine.write_bytes(b"my own file")
    done = _ltc("batch", "encode", str(dataset / "spk0"), "-o", str(out), "-j", "1")
    assert done.returncode == 1 and "day0/clip000.wav.ltc exists in the output folder" in done.stderr
    assert mine.read_bytes() == b"my own file"


def test_batch_decode_restores_the_tree_and_the_same_seed_the_same_bytes(straight, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    for out, jobs in ((one, "2"), (two, "1")):
        done = _ltc("batch", "decode", str(straight), "-o", str(out), "--seed", "3", "-j", jobs, "--verify")
        assert done.returncode == 0, done.stderr
    tree = _tree(one)
    assert len(tree) == FILES and "spk2/day2/clip002.wav" in tree
    assert tree == _tree(two)
    audio, rate = soundfile.read(one / "spk2" / "day2" / "clip002.wav")
    assert rate == 8000 and audio.shape == (2400,)


def test_seeds_give_each_path_its_own_nonce():
    files = [Path("/data/a/x.wav"), Path("/data/b/x.wav")]
    tasks = batch.plan(files, batch.ENCODE, seed=5)
    assert [t.rel for t in tasks] == ["a/x.wav", "b/x.wav"] and [t.dst for t in tasks] == ["a/x.wav.ltc", "b/x.wav.ltc"]
    assert tasks[0].nonce != tasks[1].nonce and len(tasks[0].nonce) == 16
    assert batch.plan(files, batch.ENCODE, seed=5) == tasks
    assert batch.plan(files, batch.ENCODE)[0].nonce is None
    decode = batch.plan([Path("/c/a/x.wav.ltc")], batch.DECODE, seed=5)
    assert decode[0].dst == "x.wav" and decode[0].seed is not None


def test_from_list_and_globs(dataset, tmp_path):
    listed = "\n".join(str(p) for p in sorted(dataset.rglob("clip01*.wav")))
    done = subprocess.run([LTC, "batch", "encode", "--from-list", "-", "-o", str(tmp_path / "o"), "--root",
                           str(dataset), "-j", "1"], input=listed, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert sorted(p.relative_to(tmp_path / "o").as_posix() for p in (tmp_path / "o").rglob("*.ltc"))[:2] == [
        "spk0/day0/clip012.wav.ltc", "spk0/day1/clip016.wav.ltc"]
    files = batch.gather([str(dataset / "spk3" / "**" / "clip01*.wav")], batch.ENCODE)
    assert sorted(p.name for p in files) == ["clip011.wav", "clip015.wav", "clip019.wav"]


@pytest.fixture(scope="module")
def large(tmp_path_factory) -> Path:
    """A 50,000-vector array (13 frames) and a small one, for batches that split arrays of over 8,192 vectors."""
    import numpy as np

    root = tmp_path_factory.mktemp("large")
    np.save(root / "big.npy", np.random.default_rng(4).normal(size=(2, 25_000, 8)).astype(np.float32))
    np.save(root / "small.npy", np.random.default_rng(5).normal(size=(100, 8)).astype(np.float32))
    return root


@pytest.mark.parametrize("executor", ["local", "dask"])
def test_a_large_array_is_coded_in_parts_to_the_bytes_one_process_writes(large, tmp_path, executor):
    import numpy as np

    from ltccodec import codec

    out, back = tmp_path / "out", tmp_path / "back"
    common = ["--seed", "9", "-j", "2", "--split-vectors", "8192", "--executor", executor]
    done = _ltc("batch", "encode", str(large), "-o", str(out), "-m", "gaussian8-z1-pd-l2", *common)
    assert done.returncode == 0, done.stderr
    nonce = batch.plan([large / "big.npy"], batch.ENCODE, root=large, seed=9)[0].nonce
    x = np.load(large / "big.npy")
    assert (out / "big.npy.ltc").read_bytes() == codec.encode(x, "gaussian8-z1-pd-l2", "pd", nonce=nonce)
    done = _ltc("batch", "decode", str(out), "-o", str(back), *common)
    assert done.returncode == 0, done.stderr
    y = np.load(back / "big.npy")
    assert y.shape == x.shape and y.dtype == x.dtype
    assert 0.2 < float(np.mean((y - x) ** 2)) < 0.35  # decoded, private dither included (pd band: 0.28)
    again = tmp_path / "again"
    assert _ltc("batch", "decode", str(out), "-o", str(again), *common).returncode == 0
    assert (again / "big.npy").read_bytes() == (back / "big.npy").read_bytes()  # same seed, same parts, same bytes


def test_a_bad_part_fails_its_file_and_leaves_no_output(large, tmp_path):
    import numpy as np

    src = tmp_path / "src"
    src.mkdir()
    x = np.random.default_rng(4).normal(size=(40_000, 8)).astype(np.float32)
    x[30_000, 3] = np.nan
    np.save(src / "bad.npy", x)
    done = _ltc("batch", "encode", str(src), "-o", str(tmp_path / "out"), "-m", "gaussian8-z1-pd-l2", "-j", "2",
                "--split-vectors", "8192")
    assert done.returncode == 1
    assert "failed: bad.npy: frames 6-7: the array contains NaN or infinite values" in done.stderr
    assert [p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith(".ltc-manifest")] == []


def test_part_of_a_stream_decodes_alone(large):
    import io

    import numpy as np
    import pytest as _pytest

    from ltccodec import codec
    from ltccodec.errors import UsageError

    data = codec.encode(np.load(large / "big.npy"), "gaussian8-z1-sd-l2", "sd", nonce=bytes(16))
    full = codec.decode(data).reshape(-1, 8)
    reader = codec.open_stream(io.BytesIO(data))
    part = np.concatenate(list(reader.array_chunks(first=5, stop=7)))
    assert np.array_equal(part, full[5 * 4096:7 * 4096])

    class Pipe(io.BytesIO):
        def tell(self) -> int:
            raise io.UnsupportedOperation("not seekable")

    with _pytest.raises(UsageError, match="needs a file, not a pipe"):
        list(codec.open_stream(Pipe(data)).array_chunks(first=5, stop=7))
