"""Building recording stores the way Asterisk and FreePBX write them, for the ingest tests: real
audio files in every format the store holds, the unfinished and empty files a live PBX leaves,
Master.csv rows and queue_log lines (formats: ../shared/reference asterisk-store)."""

from __future__ import annotations

import os
import time
import wave
from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np
import soundfile as sf

OLD = time.time() - 3600  # an hour ago: finished recordings
RATE = 8000


def set_mtime(path: Path, when: float) -> Path:
    os.utime(path, (when, when))
    return path


def tone(seconds: float, rate: int = RATE, freq: float = 300.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_wav(
    path: Path,
    seconds: float = 0.5,
    channels: int = 1,
    rate: int = RATE,
    freq: float = 300.0,
    mtime: float = OLD,
) -> Path:
    """A real PCM WAV with a tone on each channel (each channel its own pitch)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tones = [tone(seconds, rate, freq + 200 * c) for c in range(channels)]
    frames = (np.stack(tones, axis=1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames.tobytes())
    return set_mtime(path, mtime)


def write_header_only(path: Path, mtime: float = OLD) -> Path:
    """What MixMonitor leaves for a call that was never answered: a 44-byte WAV."""
    write_wav(path, seconds=0, mtime=mtime)
    assert path.stat().st_size == 44
    return path


def write_in_progress(path: Path, seconds: float = 1.0, mtime: float = OLD) -> Path:
    """A WAV whose RIFF and data sizes are still 0, as while MixMonitor is writing it."""
    write_wav(path, seconds=seconds)
    data = bytearray(path.read_bytes())
    data[4:8] = b"\0\0\0\0"
    data[40:44] = b"\0\0\0\0"
    path.write_bytes(bytes(data))
    return set_mtime(path, mtime)


def encode(path: Path, samples: np.ndarray, rate: int, container: str, codec: str) -> Path:
    """Write ``samples`` with ffmpeg's own encoder (mu-law, A-law, mp3)."""
    pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)[None, :]
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def write_format(path: Path, seconds: float = 1.0, freq: float = 300.0, mtime: float = OLD) -> Path:
    """The tone in the format the extension names, as Asterisk's format modules (or a later
    conversion) write it: wav (8 kHz), wav16, WAV/wav49 (GSM in WAV), gsm, ulaw, alaw, sln, mp3."""
    path.parent.mkdir(parents=True, exist_ok=True)
    extension = path.suffix.lstrip(".")
    samples = tone(seconds, freq=freq)
    if extension == "wav":
        sf.write(path, samples, RATE, format="WAV", subtype="PCM_16")
    elif extension == "wav16":
        sf.write(path, tone(seconds, 16000, freq), 16000, format="WAV", subtype="PCM_16")
    elif extension in ("WAV", "wav49"):
        sf.write(path, samples, RATE, format="WAV", subtype="GSM610")
    elif extension == "gsm":
        sf.write(path, samples, RATE, format="RAW", subtype="GSM610")
    elif extension == "sln":
        path.write_bytes((samples * 32767).astype("<i2").tobytes())
    elif extension in ("ulaw", "alaw"):
        codec = "pcm_mulaw" if extension == "ulaw" else "pcm_alaw"
        encode(path, samples, RATE, "mulaw" if extension == "ulaw" else "alaw", codec)
    elif extension == "mp3":
        encode(path, samples, RATE, "mp3", "libmp3lame")
    else:
        raise ValueError(f"no writer for .{extension}")
    return set_mtime(path, mtime)


def _quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def master_csv_row(
    *,
    src: str,
    dst: str,
    start: str,
    answer: str | None,
    end: str,
    duration: int,
    billsec: int,
    disposition: str = "ANSWERED",
    channel: str = "PJSIP/trunk1-00000021",
    dstchannel: str = "",
    dcontext: str = "ext-queues",
    lastapp: str = "Queue",
    uniqueid: str | None = None,
    userfield: str | None = None,
    linkedid: str | None = None,
    sequence: int = 1,
    clid: str | None = None,
) -> str:
    """One Master.csv line as cdr_csv writes it: the 16 base columns, then uniqueid (when given,
    i.e. loguniqueid), userfield (when given, loguserfield), then peeraccount, linkedid and
    sequence (when linkedid is given, newcdrcolumns). Strings quoted, integers bare, an empty
    answer time an empty bare field."""
    fields = [
        _quoted(""),
        _quoted(src),
        _quoted(dst),
        _quoted(dcontext),
        _quoted(clid if clid is not None else f'"Caller" <{src}>'),
        _quoted(channel),
        _quoted(dstchannel),
        _quoted(lastapp),
        _quoted(dst),
        _quoted(start),
        _quoted(answer) if answer else "",
        _quoted(end),
        str(duration),
        str(billsec),
        _quoted(disposition),
        _quoted("DOCUMENTATION"),
    ]
    if uniqueid is not None:
        fields.append(_quoted(uniqueid))
    if userfield is not None:
        fields.append(_quoted(userfield))
    if linkedid is not None:
        fields += [_quoted(""), _quoted(linkedid), str(sequence)]
    return ",".join(fields) + "\n"


def queue_call_lines(
    uniqueid: str,
    *,
    queue: str = "600",
    caller: str = "5551234567",
    agent: str = "Bob Jones",
    hold: int = 19,
    talk: int = 300,
    hangup: str = "COMPLETECALLER",
    did: str = "8005551212",
) -> list[str]:
    """The queue_log lines FreePBX writes for one answered queue call."""
    epoch = int(uniqueid.rsplit("-", 1)[-1].split(".")[0])
    member = f"{epoch + hold - 4}.{int(uniqueid.split('.')[-1]) + 3}"
    return [
        f"{epoch}|{uniqueid}|{queue}|NONE|DID|{did}",
        f"{epoch}|{uniqueid}|{queue}|NONE|ENTERQUEUE||{caller}|1",
        f"{epoch + hold}|{uniqueid}|{queue}|{agent}|CONNECT|{hold}|{member}|4",
        f"{epoch + hold + talk}|{uniqueid}|{queue}|{agent}|{hangup}|{hold}|{talk}|1",
    ]


def write_lines(path: Path, lines: Sequence[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line if line.endswith("\n") else line + "\n" for line in lines))
    return path


# --- fixtures made the way sox and Asterisk make them (tests/*/test_*faults.py) ---------------

# sox's arguments for each Asterisk format: the output type and encoding its format module
# writes (formats/format_wav_gsm.c: GSM 6.10 in WAV, 65-byte blocks, a pad byte after an odd
# data chunk; format_gsm.c: raw 33-byte frames; format_pcm.c: raw mu-law/A-law; format_sln.c:
# raw signed 16-bit at the rate the name says; format_wav.c: PCM WAV at 8 or 16 kHz).
SOX_FORMATS: dict[str, tuple[str, ...]] = {
    "wav": ("-t", "wav", "-r", "8000", "-e", "signed-integer", "-b", "16"),
    "wav16": ("-t", "wav", "-r", "16000", "-e", "signed-integer", "-b", "16"),
    "WAV": ("-t", "wav", "-r", "8000", "-e", "gsm-full-rate"),
    "wav49": ("-t", "wav", "-r", "8000", "-e", "gsm-full-rate"),
    "gsm": ("-t", "gsm", "-r", "8000"),
    "ulaw": ("-t", "ul", "-r", "8000"),
    "alaw": ("-t", "al", "-r", "8000"),
    "sln": ("-t", "sw", "-r", "8000"),
    "sln16": ("-t", "sw", "-r", "16000"),
    "mp3": ("-t", "mp3", "-r", "8000"),
}


def speak(text: str, rate: int = RATE) -> np.ndarray:
    """``text`` spoken by espeak-ng, at ``rate`` (the PBX's 8 kHz by default)."""
    import io
    import subprocess

    import soxr

    result = subprocess.run(
        ["espeak-ng", "-v", "en-us", "-s", "160", "--stdout", text],
        check=True,
        capture_output=True,
    )
    audio, native = sf.read(io.BytesIO(result.stdout), dtype="float32")
    return np.asarray(soxr.resample(audio, native, rate), dtype=np.float32)


def write_with_sox(path: Path, samples: np.ndarray, rate: int = RATE, mtime: float = OLD) -> Path:
    """``samples`` (mono, at ``rate``) in the format ``path``'s extension names, written by sox
    itself (``SOX_FORMATS``): the bytes real sites hold, not a Python library's idea of them."""
    import shutil
    import subprocess
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "source.wav"
        sf.write(source, samples, rate, subtype="PCM_16")
        target = Path(folder) / "out"
        subprocess.run(
            ["sox", str(source), *SOX_FORMATS[path.suffix.lstrip(".")], str(target)],
            check=True,
            capture_output=True,
        )
        shutil.move(target, path)
    return set_mtime(path, mtime)
