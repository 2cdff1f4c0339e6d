"""Decoding every format an Asterisk store holds, channels kept apart, and the broken files a
nightly run meets (header-only, still being written, unreadable, corrupt). Real files, made
here with espeak-ng, soundfile (libsndfile: GSM 6.10) and PyAV (ffmpeg: mu-law, A-law, mp3)."""

from __future__ import annotations

import contextlib
import os
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr
from pbx_store import encode

from asr.audio import AudioDecodeError, AudioIncompleteError, load_audio, load_call_audio

RATE = 8000


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """A 8 kHz spoken sentence, float32 (what MixMonitor records from a phone line)."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.fail("espeak-ng is missing: run `make system` (scripts/install-system.sh)")
    wav = tmp_path_factory.mktemp("speech") / "clip.wav"
    text = "Thank you for calling Acme Telecom. How can I help you today?"
    subprocess.run([espeak, "-v", "en-us", "-w", str(wav), text], check=True)
    samples, rate = sf.read(wav, dtype="float32")
    return soxr.resample(samples, rate, RATE).astype(np.float32)


@pytest.fixture(scope="module")
def formats(clip: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same clip in each format, named the way Asterisk names them."""
    d = tmp_path_factory.mktemp("formats")
    sf.write(d / "call.wav", clip, RATE, subtype="PCM_16")
    sf.write(d / "call.wav16", soxr.resample(clip, RATE, 16000), 16000, format="WAV")
    sf.write(d / "call.WAV", clip, RATE, format="WAV", subtype="GSM610")  # wav49
    sf.write(d / "call.gsm", clip, RATE, format="RAW", subtype="GSM610")
    (d / "call.sln").write_bytes((clip * 32767).astype("<i2").tobytes())
    return {
        "wav": d / "call.wav",
        "wav16": d / "call.wav16",
        "wav49": d / "call.WAV",
        "gsm": d / "call.gsm",
        "sln": d / "call.sln",
        "ulaw": encode(d / "call.ulaw", clip, RATE, "mulaw", "pcm_mulaw"),
        "alaw": encode(d / "call.alaw", clip, RATE, "alaw", "pcm_alaw"),
        "mp3": encode(d / "call.mp3", clip, RATE, "mp3", "libmp3lame"),
    }


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    n = min(len(a), len(b))
    return float(np.corrcoef(a[:n], b[:n])[0, 1])


@pytest.mark.parametrize("fmt", ["wav", "wav16", "wav49", "gsm", "sln", "ulaw", "alaw", "mp3"])
def test_every_store_format_decodes_to_the_same_clip(fmt, formats, clip):
    audio = load_audio(formats[fmt])
    reference = load_audio(formats["wav"])
    assert audio.sample_rate == 16000
    assert len(audio.channels) == 1 and audio.channels[0].dtype == np.float32
    assert audio.duration == pytest.approx(len(clip) / RATE, abs=0.06)
    assert audio.source == (formats[fmt],)
    if fmt != "mp3":  # lossy codecs keep the waveform; mp3 shifts it by its encoder delay
        assert similarity(audio.channels[0], reference.channels[0]) > 0.9
    assert np.sqrt(np.mean(audio.channels[0] ** 2)) > 0.01


def test_headerless_audio_is_read_at_its_native_rate_when_asked(formats):
    audio = load_audio(formats["ulaw"], sample_rate=None)
    assert audio.sample_rate == 8000


def test_a_renamed_file_is_decoded_by_its_content(formats, tmp_path):
    renamed = tmp_path / "call.ulaw"
    shutil.copy(formats["wav"], renamed)  # a real WAV with a headerless-format name
    assert load_audio(renamed).duration == pytest.approx(load_audio(formats["wav"]).duration)


def test_two_channels_stay_apart(clip, tmp_path):
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(len(clip)) / RATE)).astype(np.float32)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([clip, tone], axis=1), RATE, subtype="PCM_16")
    audio = load_audio(path, sample_rate=None)
    assert len(audio.channels) == 2
    assert similarity(audio.channels[0], clip) > 0.99
    assert similarity(audio.channels[1], tone) > 0.99
    mixed = audio.mixdown()
    assert mixed.shape == clip.shape


def test_leg_pair_becomes_two_channels_padded_to_one_length(clip, formats, tmp_path):
    short = tmp_path / "call-t.wav"
    sf.write(short, clip[: len(clip) // 2], RATE, subtype="PCM_16")
    audio = load_call_audio([formats["wav16"], short])  # legs at different rates
    assert len(audio.channels) == 2 and audio.sample_rate == 16000
    assert len(audio.channels[0]) == len(audio.channels[1])
    assert audio.duration == pytest.approx(len(clip) / RATE, abs=0.01)
    half = len(audio.channels[1]) // 2 + 800
    assert not audio.channels[1][half:].any()  # the shorter leg is padded with silence
    assert audio.source == (formats["wav16"], short)


def wav_header(data_bytes: int, riff_size: int | None = None, data_size: int | None = None):
    """A canonical 44-byte 8 kHz 16-bit mono WAV header."""
    riff = 36 + data_bytes if riff_size is None else riff_size
    data = data_bytes if data_size is None else data_size
    fmt = struct.pack("<HHIIHH", 1, 1, RATE, RATE * 2, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", riff)
        + b"WAVEfmt "
        + struct.pack("<I", 16)
        + fmt
        + (b"data" + struct.pack("<I", data))
    )


def test_header_only_recording_of_an_unanswered_call_is_an_error(tmp_path):
    path = tmp_path / "q-600-5551234567-20240115-143015-1705347015.101.wav"
    path.write_bytes(wav_header(0))
    assert path.stat().st_size == 44
    with pytest.raises(AudioDecodeError, match="header only") as caught:
        load_audio(path)
    assert str(path) in str(caught.value)
    assert not isinstance(caught.value, AudioIncompleteError)


def test_gsm_wav_header_only_is_an_error(tmp_path):
    path = tmp_path / "empty.WAV"
    sf.write(path, np.zeros(0, dtype=np.float32), RATE, format="WAV", subtype="GSM610")
    with pytest.raises(AudioDecodeError, match="header only"):
        load_audio(path)


def test_recording_still_being_written_is_incomplete(clip, tmp_path):
    pcm = (clip * 32767).astype("<i2").tobytes()
    path = tmp_path / "in-progress.wav"
    path.write_bytes(wav_header(len(pcm), riff_size=0, data_size=0) + pcm)
    with pytest.raises(AudioIncompleteError, match="still being recorded") as caught:
        load_audio(path)
    assert str(path) in str(caught.value)
    assert isinstance(caught.value, AudioDecodeError)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (os.urandom(4000), "corrupt or not audio"),
    ],
)
def test_empty_and_corrupt_files_are_errors_naming_the_file(tmp_path, content, message):
    path = tmp_path / "broken.mp3"
    path.write_bytes(content)
    with pytest.raises(AudioDecodeError, match=message) as caught:
        load_audio(path)
    assert str(path) in str(caught.value)


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(AudioDecodeError, match="no such file"):
        load_call_audio([tmp_path / "gone.wav"])


@contextlib.contextmanager
def _without_root() -> Iterator[None]:
    """Run the block as user `nobody` when the tests run as root (root reads any file whatever its
    mode). Only the effective uid changes, so root gets it back afterwards."""
    if os.geteuid() != 0:
        yield
        return
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)


def test_unreadable_file_says_how_to_get_access(formats):
    # Asterisk writes recordings as its own user with mode 0600; the nightly job may run as another.
    folder = Path(tempfile.mkdtemp(prefix="callqa-private-"))
    try:
        folder.chmod(0o755)
        path = folder / "private.wav"
        shutil.copy(formats["wav"], path)
        path.chmod(0o600 if os.geteuid() == 0 else 0o000)
        load_audio(formats["wav"])  # the decoder's own imports happen while we can still read them
        with _without_root(), pytest.raises(AudioDecodeError, match="permission denied") as caught:
            load_audio(path)
        assert str(path) in str(caught.value)
        assert "asterisk" in str(caught.value)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_wav_with_large_metadata_before_the_audio_decodes(clip, tmp_path):
    pcm = (clip * 32767).astype("<i2").tobytes()
    info = b"LIST" + struct.pack("<I", 6000) + b"INFO" + b"\0" * 5996
    header = wav_header(len(pcm), riff_size=36 + len(info) + len(pcm))
    path = tmp_path / "tagged.wav"
    path.write_bytes(header[:36] + info + header[36:] + pcm)
    assert load_audio(path, sample_rate=None).duration == pytest.approx(len(clip) / RATE)
