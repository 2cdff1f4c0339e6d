"""``qa transcribe`` on a real two-channel 8 kHz clip spoken by espeak-ng, with the real models."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr
from click.testing import CliRunner

from asr.models import default_models_dir
from asr.role_evidence import phrase_in
from qa.cli import main

RATE = 8000
AGENT = (["-v", "en-us+m3", "-p", "20", "-s", "150"], "Thank you for calling Acme Telecom.")
CUSTOMER = (
    ["-v", "en-gb+f4", "-p", "85", "-s", "170"],
    "I would like to change the billing address on my account.",
)


def _speak(voice: list[str], text: str, workdir: Path) -> np.ndarray:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.fail("espeak-ng is missing: run `make system` (scripts/install-system.sh)")
    wav = workdir / "line.wav"
    subprocess.run([espeak, *voice, "-w", str(wav), text], check=True)
    samples, rate = sf.read(wav, dtype="float32")
    return soxr.resample(samples, rate, RATE).astype(np.float32)


@pytest.fixture(scope="session")
def models_dir() -> Path:
    return default_models_dir()


@pytest.fixture(scope="module")
def stereo_call(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ch0 the customer, ch1 the agent; the agent speaks first, then the customer."""
    d = tmp_path_factory.mktemp("transcribe-cli")
    agent, customer = _speak(*AGENT, d), _speak(*CUSTOMER, d)
    pause = np.zeros(int(0.6 * RATE), dtype=np.float32)
    ch1 = np.concatenate([agent, pause, np.zeros_like(customer), pause])
    ch0 = np.concatenate([np.zeros_like(agent), pause, customer, pause])
    path = d / "q-600-cli.wav"
    sf.write(path, np.stack([ch0, ch1], axis=1), RATE, subtype="PCM_16")
    return path


@pytest.mark.models
def test_json_prints_one_object_per_turn_then_the_metrics(stereo_call, models_dir):
    result = CliRunner().invoke(
        main, ["transcribe", str(stereo_call), "--json", "--models-dir", str(models_dir)]
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    *turns, summary = records
    assert [t["role"] for t in turns] == ["agent", "customer"]
    assert [t["speaker"] for t in turns] == ["ch1", "ch0"]
    assert [t["index"] for t in turns] == [0, 1]
    assert turns[0]["start"] < turns[0]["end"] <= turns[1]["start"] < turns[1]["end"]
    assert all(0.0 < t["confidence"] <= 1.0 for t in turns)
    assert phrase_in("thank you for calling", turns[0]["text"]), turns[0]["text"]
    assert phrase_in("billing address", turns[1]["text"]), turns[1]["text"]
    assert summary["channel_mode"] == "stereo" and summary["language"] == "en"
    metrics = summary["metrics"]
    assert metrics["first_speaker"] == "agent" and metrics["last_speaker"] == "customer"
    assert set(metrics["by_role"]) == {"agent", "customer"}
    assert metrics["by_role"]["agent"]["turns"] == 1


@pytest.mark.models
def test_table_and_forced_language(stereo_call, models_dir):
    args = ["transcribe", str(stereo_call), "--language", "en", "--models-dir", str(models_dir)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("language en, stereo")
    assert lines[1].split()[:5] == ["role", "speaker", "start", "end", "conf"]
    assert lines[2].startswith("agent") and "ch1" in lines[2]
    assert lines[3].startswith("customer") and "ch0" in lines[3]


@pytest.mark.models
def test_undecodable_audio_is_a_clean_error(tmp_path, models_dir):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF not really a wave file")
    result = CliRunner().invoke(main, ["transcribe", str(bad), "--models-dir", str(models_dir)])
    assert result.exit_code == 1
    assert "Error:" in result.output and "Traceback" not in result.output


def test_more_than_two_files_is_a_usage_error(tmp_path):
    paths = []
    for name in ("a.wav", "b.wav", "c.wav"):
        (tmp_path / name).write_bytes(b"")
        paths.append(str(tmp_path / name))
    result = CliRunner().invoke(main, ["transcribe", *paths])
    assert result.exit_code == 2
    assert "two leg files" in result.output
