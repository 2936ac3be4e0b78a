"""Data sources: the speech preparation (what it leaves out, the seeded split by file, the cache) on a folder of
small stand-in recordings, and the source names."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile

from ltccodec.errors import LtcError, UsageError
from ltccodec.lab.sources import source_by_name, speech

NAMES = ["silence/1.wav", "silence/10.wav", "beep.wav", "beeperr.wav", "ascending-2tone.wav", "tt-monkeys.wav",
         "tt-monkeysintro.wav", "digits/1.wav", "digits/2.wav", "hello.wav", "goodbye.wav", "at-tone-time-exactly.wav"]
SPEECH = ["at-tone-time-exactly.wav", "digits/1.wav", "digits/2.wav", "goodbye.wav", "hello.wav"]


@pytest.fixture
def recordings(tmp_path):
    folder = tmp_path / "sounds"
    for index, name in enumerate(NAMES):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        clip = 0.1 * np.sin(np.arange(800 + 8 * index) * (0.05 + 0.01 * index))
        soundfile.write(folder / name, clip, 8000, subtype="PCM_16")
    return folder


def test_only_speech_is_kept(recordings):
    assert speech.speech_files(recordings) == SPEECH


def test_split_is_by_file_seeded_and_disjoint():
    names = [f"f{i:03d}.wav" for i in range(200)]
    train, test = speech.split(names)
    assert len(test) == 20 and not set(train) & set(test) and sorted(train + test) == names
    assert speech.split(names) == (train, test)
    assert speech.split(names, seed=1) != (train, test)


def test_prepare_caches_both_splits_with_a_manifest(recordings, tmp_path):
    out = speech.prepare(tmp_path / "cache", recordings)
    manifest = json.loads((out / "manifest.json").read_text())
    assert "CC-BY-SA-3.0" in manifest["licence"] and manifest["split_seed"] == speech.SPLIT_SEED
    assert sorted(manifest["train"]["files"] + manifest["test"]["files"]) == SPEECH
    clips = speech.load_split("test", out) + speech.load_split("train", out)
    originals = {n: soundfile.read(recordings / n)[0] for n in SPEECH}
    order = manifest["test"]["files"] + manifest["train"]["files"]
    for name, clip in zip(order, clips, strict=True):
        np.testing.assert_allclose(clip, originals[name], atol=1 / 32768)


def test_a_missing_cache_says_what_to_run(tmp_path):
    with pytest.raises(LtcError, match="ltc data speech"):
        speech.load_split("train", tmp_path / "nothing")


def test_source_names():
    assert source_by_name("gaussian:8").dim == 8
    with pytest.raises(UsageError, match="speech:bands8"):
        source_by_name("speech:bands3")
    assert speech.FRAMINGS["speech:bands8"].band_count == 8 and speech.FRAMINGS["speech"].band_count == 1
