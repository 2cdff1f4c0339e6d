"""Regenerate the bundled sample store from samples/calls.yaml (deterministic).

    .venv/bin/python samples/generate.py            # samples/store/ and samples/expected.json
    .venv/bin/python samples/generate.py --out DIR  # DIR/store/ and DIR/expected.json

Speech comes from espeak-ng (English voices, and Mandarin read from tone-numbered pinyin, because
Debian's espeak-ng reads most Chinese characters as English digits). Each line is synthesised,
resampled to the telephone rate (8 kHz), levelled and placed on its speaker's track; the tracks
are written as MixMonitor would: one 2-channel file (``D``: channel 0 the caller), two leg files
(``r()`` the caller, ``t()`` the agent) or one mono mix. Master.csv and queue_log get the rows
and lines FreePBX writes for each call, plus an unanswered direct call and an abandoned queue
call whose recording is a 44-byte header-only WAV. Running it twice gives byte-identical files:
the noise and the timing jitter come from RNGs seeded by each call's key.

The pieces (``synthesise``, ``render_call``, ``StoreWriter``, the voices) are reused by
``benchmarks/heard_store.py``, which renders real dialogues as a held-out store; a call there may
also name a ``format`` (``wav``, ``wav49`` = GSM 6.10 in WAV, ``mp3``: :func:`write_recording`).
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import struct
import subprocess
import sys
import wave
import zlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import yaml
from pypinyin import Style, lazy_pinyin
from scipy.signal import resample_poly

HERE = Path(__file__).resolve().parent
RATE = 8000
ESPEAK = "espeak-ng"


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice: ``variant`` is ``-v``, ``speed`` words per minute, ``pitch`` 0-99,
    ``word_gap`` in 10 ms units, ``level`` the line's RMS in dBFS."""

    variant: str
    speed: int
    pitch: int
    word_gap: int = 0
    level: float = -20.0


# Chosen by transcribing the generated audio with Whisper base (see README.md). The klatt and
# female variants survive the 8 kHz band best; male and female voices face each other on every
# call so that a mono recording's two speakers are easy to tell apart.
AGENT_VOICES: dict[str, Voice] = {
    "1001": Voice("en-us+f2", 140, 60, 3, -19.0),  # Alice Smith
    "1002": Voice("en-us+klatt", 140, 50, 3, -19.0),  # Bob Jones
    "1003": Voice("cmn-latn-pinyin+f2", 120, 60, 0, -19.0),  # Wang Fang
}
CUSTOMER_VOICES: dict[tuple[str, str], Voice] = {  # (language, the agent's voice is female?)
    ("en", True): Voice("en-us+klatt", 140, 25, 3, -21.0),
    ("en", False): Voice("en-us+f2", 135, 70, 3, -21.0),
    ("zh", True): Voice("cmn-latn-pinyin+m7", 120, 40, 0, -21.0),
    ("zh", False): Voice("cmn-latn-pinyin+f2", 120, 70, 0, -21.0),
}
CALLER_NAMES = ["John Carter", "Mary Lopez", "Kevin Brown", "Susan Miller", "Li Ming", "Zhang Wei"]
DIDS = {"600": "8005551212", "601": "8005551213"}
NOISE_DBFS = -62.0  # line noise under the speech
# One longer pause: the agent works on the account before saying what was done.
LONG_PAUSES: dict[str, tuple[int, float]] = {"good-en": (6, 2.4), "good-zh": (5, 2.0)}
# cdr_csv's columns with loguniqueid and loguserfield on (no newcdrcolumns).
# Timing jitter seeds picked (by transcribing, see README.md) so that Whisper base hears each
# call's key phrases: Mandarin from espeak-ng is fragile, and where a line falls in Whisper's
# 30-second window changes what it hears.
SEED_SALT: dict[str, int] = {"complaint-en": 1, "complaint-zh": 2}
CDR_COLUMNS = (
    *("accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp"),
    *("lastdata", "start", "answer", "end", "duration", "billsec", "disposition", "amaflags"),
    *("uniqueid", "userfield"),
)


@dataclass(frozen=True)
class Site:
    timezone: ZoneInfo
    day: date
    agents: dict[str, dict[str, str]]


@dataclass
class Counters:
    """Asterisk's channel sequence: each new channel takes the next number."""

    seq: int = 101
    channel: int = 0x21
    local: int = 0x0D

    def take(self) -> int:
        self.seq += 1
        return self.seq - 1


def espeak_version() -> str:
    """The installed espeak-ng version (``1.51``), or raise if it is missing."""
    out = subprocess.run([ESPEAK, "--version"], capture_output=True, text=True, check=True).stdout
    return out.split("text-to-speech:")[1].split()[0]


def pinyin_text(text: str) -> str:
    """Mandarin text as tone-numbered pinyin that espeak-ng's ``cmn-latn-pinyin`` voice reads."""
    text = text.translate(str.maketrans("，。？！、；：", ",.?!,,,"))
    syllables = lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True, tone_sandhi=True)
    out = " ".join(s.strip() for s in syllables if s.strip())
    for mark in ",.?!":
        out = out.replace(" " + mark, mark)
    return out


def synthesise(text: str, voice: Voice, language: str) -> np.ndarray:
    """One line as 8 kHz float samples at the voice's level."""
    spoken = pinyin_text(text) if language == "zh" else text
    args = [ESPEAK, "--stdout", "-v", voice.variant, "-s", str(voice.speed), "-p", str(voice.pitch)]
    args += ["-g", str(voice.word_gap), spoken]
    raw = subprocess.run(args, capture_output=True, check=True).stdout
    with wave.open(io.BytesIO(raw)) as wav:
        rate = wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    x = resample_poly(samples.astype(np.float64), RATE, rate)
    rms = float(np.sqrt(np.mean(x**2))) or 1.0
    return x * (32768.0 * 10 ** (voice.level / 20) / rms)


def render_call(call: dict, agent_voice: Voice, customer_voice: Voice) -> dict[str, np.ndarray]:
    """The call's two tracks (``customer``, ``agent``) as int16, padded to whole seconds."""
    rng = np.random.default_rng(zlib.crc32(call["key"].encode()) + SEED_SALT.get(call["key"], 0))
    pause_at, pause = LONG_PAUSES.get(call["key"], (-1, 0.0))
    placed: list[tuple[str, int, np.ndarray]] = []
    cursor, previous = 0.45, None
    for index, (speaker, text) in enumerate(call["lines"]):
        voice = agent_voice if speaker == "agent" else customer_voice
        audio = synthesise(text, voice, call["language"])
        if previous is not None:
            cursor += rng.uniform(0.3, 0.5) if speaker == previous else rng.uniform(0.5, 1.0)
        if index == pause_at:
            cursor += pause
        placed.append((speaker, round(cursor * RATE), audio))
        cursor += len(audio) / RATE
        previous = speaker
    total = int(np.ceil(cursor + 0.6)) * RATE  # billsec = the audio's length, whole seconds
    tracks = {"customer": np.zeros(total), "agent": np.zeros(total)}
    for speaker, at, audio in placed:
        tracks[speaker][at : at + len(audio)] += audio
    noise = 32768.0 * 10 ** (NOISE_DBFS / 20)
    return {
        role: np.clip(np.round(track + rng.normal(0.0, noise, total)), -32768, 32767).astype("<i2")
        for role, track in tracks.items()
    }


def write_wav(path: Path, channels: list[np.ndarray]) -> None:
    """A 16-bit PCM WAV at 8 kHz; several channels are interleaved."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = np.stack(channels, axis=1).astype("<i2").tobytes()
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(len(channels))
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(frames)


#: recording formats a call may name: Asterisk's extension for each
FORMATS = {"wav": "wav", "wav49": "WAV", "mp3": "mp3"}
MP3_BITRATE = 32_000  # a voice-grade conversion (ffmpeg's default at 8 kHz would be 8 kbit/s)


def write_recording(path: Path, channels: list[np.ndarray], fmt: str = "wav") -> None:
    """One recording in ``fmt`` (a key of :data:`FORMATS`; ``path`` has no extension yet):
    ``wav`` 16-bit PCM as MixMonitor writes it, ``wav49`` GSM 6.10 in WAV (Asterisk's ``WAV``;
    one channel only, as Asterisk writes it), ``mp3`` as sites convert recordings later."""
    target = path.with_name(f"{path.name}.{FORMATS[fmt]}")
    if fmt == "wav":
        write_wav(target, channels)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    pcm = np.stack(channels, axis=1).astype("<i2")
    if fmt == "wav49":
        import soundfile

        if len(channels) != 1:
            raise SystemExit(f"{target.name}: GSM 6.10 in WAV holds one channel (mono or legs)")
        soundfile.write(target, pcm[:, 0], RATE, format="WAV", subtype="GSM610")
        return
    import av  # PyAV (ffmpeg's libmp3lame), as the decoder that reads it back

    layout = "mono" if len(channels) == 1 else "stereo"
    with av.open(str(target), "w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=RATE, layout=layout)
        stream.bit_rate = MP3_BITRATE
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout=layout)
        frame.sample_rate = RATE
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)


def write_header_only_wav(path: Path) -> None:
    """The 44 bytes MixMonitor leaves for a call that was never answered."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = struct.pack("<IHHIIHH", 16, 1, 1, RATE, RATE * 2, 2, 16)  # PCM, mono, 16-bit
    path.write_bytes(b"RIFF" + struct.pack("<I", 36) + b"WAVEfmt " + fmt + b"data\0\0\0\0")


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def recording_stem(queue: str, caller: str, start: datetime, uniqueid: str) -> str:
    return f"q-{queue}-{caller}-{start:%Y%m%d}-{start:%H%M%S}-{uniqueid}"


class StoreWriter:
    """Collects the store's files, Master.csv rows and queue_log lines, then writes them."""

    def __init__(self, out: Path, site: Site) -> None:
        self.store = out / "store"
        self.site = site
        self.counters = Counters()
        self.cdr: list[tuple[datetime, list[str | int]]] = []
        self.queue_log: list[tuple[int, int, str]] = []
        self.expected_calls: list[dict] = []
        self.skipped: list[dict] = []

    def local(self, clock: str) -> datetime:
        return datetime.combine(self.site.day, time.fromisoformat(clock), self.site.timezone)

    def log(self, epoch: int, uniqueid: str, queue: str, agent: str, event: str, *data) -> None:
        fields = [str(epoch), uniqueid, queue, agent, event, *map(str, data)]
        self.queue_log.append((epoch, len(self.queue_log), "|".join(fields)))

    def add_members(self, queues: list[dict], calls: list[dict]) -> None:
        """ADDMEMBER lines at 08:00 for each agent that takes calls in each queue."""
        epoch = int(self.local("08:00:00").timestamp())
        for queue in queues:
            extensions = sorted({c["agent"] for c in calls if c["queue"] == queue["name"]})
            for offset, ext in enumerate(extensions):
                interface = f"Local/{self.site.agents[ext]['extension']}@from-queue/n"
                self.log(epoch + offset, "NONE", queue["name"], interface, "ADDMEMBER", "")

    def _channels(self) -> tuple[str, str]:
        trunk = f"PJSIP/trunk1-{self.counters.channel:08x}"
        local = f"Local/{{ext}}@from-queue-{self.counters.local:08x};1"
        self.counters.channel += 2
        self.counters.local += 1
        return trunk, local

    def add_call(self, call: dict, index: int, tracks: dict[str, np.ndarray]) -> None:
        """One answered queue call: its recording(s), CDR row and queue_log lines."""
        start = self.local(call["time"])
        epoch = int(start.timestamp())
        uniqueid = f"{epoch}.{self.counters.take()}"
        agent = self.site.agents[call["agent"]]
        others = [a for a in self.site.agents.values() if a is not agent]
        queue = call["queue"]
        rng = np.random.default_rng(zlib.crc32(("times-" + call["key"]).encode()))
        ring_other = queue == "600" and index % 2 == 0
        ringtime = int(rng.integers(3, 8))
        hold = int(rng.integers(6, 12)) + (15 if ring_other else 0) + ringtime
        billsec = len(tracks["agent"]) // RATE
        answer = start + timedelta(seconds=hold)
        end = answer + timedelta(seconds=billsec)
        self.log(epoch, uniqueid, queue, "NONE", "DID", DIDS[queue])
        self.log(epoch, uniqueid, queue, "NONE", "ENTERQUEUE", "", call["caller"], 1)
        if ring_other:
            other = next(a for a in others if a["id"] in ("1001", "1002"))
            self.log(epoch + 15, uniqueid, queue, other["name"], "RINGNOANSWER", 15000)
            self.counters.take()
        member_uid = f"{int(answer.timestamp()) - ringtime}.{self.counters.take()}"
        self.counters.take()
        self.log(int(answer.timestamp()), uniqueid, queue, agent["name"], "CONNECT", hold,
                 member_uid, ringtime)  # fmt: skip
        event = "COMPLETEAGENT" if call["hangup"] == "agent" else "COMPLETECALLER"
        self.log(int(end.timestamp()), uniqueid, queue, agent["name"], event, hold, billsec, 1)

        trunk, local = self._channels()
        name = CALLER_NAMES[index % len(CALLER_NAMES)]
        self.cdr.append((start, [
            "", call["caller"], queue, "ext-queues", f'"{name}" <{call["caller"]}>', trunk,
            local.format(ext=agent["extension"]), "Queue", f"{queue},t,,,,,,,,", stamp(start),
            stamp(answer), stamp(end), hold + billsec, billsec, "ANSWERED", "DOCUMENTATION",
            uniqueid, "",
        ]))  # fmt: skip

        folder = f"{start:%Y/%m/%d}"
        stem = recording_stem(queue, call["caller"], start, uniqueid)
        monitor = self.store / "monitor" / folder
        fmt = call.get("format", "wav")
        if fmt not in FORMATS:
            raise SystemExit(f"{call['key']}: format must be one of {', '.join(FORMATS)}")
        if call["layout"] == "stereo":
            files = {stem: [tracks["customer"], tracks["agent"]]}
        elif call["layout"] == "legs":
            files = {f"{stem}-r": [tracks["customer"]], f"{stem}-t": [tracks["agent"]]}
        elif call["layout"] == "mono":
            mixed = tracks["customer"].astype(np.int32) + tracks["agent"]
            files = {stem: [np.clip(mixed, -32768, 32767)]}
        else:
            raise SystemExit(f"{call['key']}: layout must be stereo, legs or mono")
        for base, channels in files.items():
            write_recording(monitor / base, channels, fmt)
        names = [f"{base}.{FORMATS[fmt]}" for base in files]
        self.expected_calls.append({
            "key": call["key"], "call_id": uniqueid, "agent": call["agent"],
            "agent_name": agent["name"], "queue": queue, "language": call["language"],
            "layout": call["layout"], "hangup": call["hangup"], "duration": billsec,
            **({"format": fmt} if "format" in call else {}),
            "recordings": [f"{folder}/{n}" for n in names],
            "items": dict(sorted(call["expected"]["items"].items())),
            "flags": sorted(call["expected"].get("flags") or []),
        })  # fmt: skip

    def add_unanswered(self) -> None:
        """A direct call nobody answered (no recording) and an abandoned queue call (44 bytes)."""
        start = self.local("12:47:31")
        epoch = int(start.timestamp())
        trunk, _ = self._channels()
        self.cdr.append((start, [
            "", "5558889999", "1002", "from-did-direct", '"WIRELESS CALLER" <5558889999>', trunk,
            f"PJSIP/1002-{self.counters.channel - 1:08x}", "Dial", "PJSIP/1002,,HhTtrb",
            stamp(start), "", stamp(start + timedelta(seconds=30)), 30, 0, "NO ANSWER",
            "DOCUMENTATION", f"{epoch}.{self.counters.take()}", "",
        ]))  # fmt: skip

        start = self.local("13:05:12")
        epoch = int(start.timestamp())
        uniqueid = f"{epoch}.{self.counters.take()}"
        caller, queue, wait = "5551112222", "600", 24
        self.log(epoch, uniqueid, queue, "NONE", "DID", DIDS[queue])
        self.log(epoch, uniqueid, queue, "NONE", "ENTERQUEUE", "", caller, 1)
        self.log(epoch + 15, uniqueid, queue, "Alice Smith", "RINGNOANSWER", 15000)
        self.log(epoch + wait, uniqueid, queue, "NONE", "ABANDON", 1, 1, wait)
        trunk, local = self._channels()
        self.cdr.append((start, [
            "", caller, queue, "ext-queues", f'"Robert Hall" <{caller}>', trunk,
            local.format(ext="1001"), "Queue", f"{queue},t,,,,,,,,", stamp(start), "",
            stamp(start + timedelta(seconds=wait)), wait, 0, "NO ANSWER", "DOCUMENTATION",
            uniqueid, "",
        ]))  # fmt: skip
        path = f"{start:%Y/%m/%d}/{recording_stem(queue, caller, start, uniqueid)}.wav"
        write_header_only_wav(self.store / "monitor" / path)
        self.skipped.append(
            {"recording": path, "call_id": uniqueid, "status": "skipped", "reason": "unanswered"}
        )

    def write_logs(self) -> None:
        """Master.csv (cdr_csv with loguniqueid and loguserfield) and queue_log, in time order."""
        buffer = io.StringIO()
        for _, row in sorted(self.cdr, key=lambda item: item[0]):
            cells = []
            for column, value in enumerate(row):
                if isinstance(value, int):
                    cells.append(str(value))
                elif value == "" and CDR_COLUMNS[column] in ("start", "answer", "end"):
                    cells.append("")  # cdr_csv leaves an empty date unquoted
                else:
                    cells.append('"' + value.replace('"', '""') + '"')
            buffer.write(",".join(cells) + "\n")
        (self.store / "Master.csv").write_text(buffer.getvalue(), encoding="utf-8")
        lines = [line for _, _, line in sorted(self.queue_log)]
        (self.store / "queue_log").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def write_expected(
        self, path: Path, version: str, script: str = "samples/generate.py", **extra: object
    ) -> None:
        """``expected.json``: the calls (by call id) with their expected verdicts, the skipped
        recordings, and ``extra`` top-level keys (e.g. where the scripts came from)."""
        expected = {
            "generator": {"espeak_ng": version, "script": script},
            **extra,
            "store": "store/monitor",
            "calls": sorted(self.expected_calls, key=lambda c: c["call_id"]),
            "skipped": self.skipped,
        }
        path.write_text(json.dumps(expected, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


def open_store(out: Path, spec: dict, calls: list[dict]) -> StoreWriter:
    """A writer for a new ``out/store`` (an old one is removed) on the site of ``spec`` (its
    ``site``, ``agents`` and ``queues``, as calls.yaml has them), with the queue members of
    ``calls``."""
    site = Site(
        timezone=ZoneInfo(spec["site"]["timezone"]),
        day=date.fromisoformat(spec["site"]["date"]),
        agents={a["id"]: a for a in spec["agents"]},
    )
    if (out / "store").exists():
        shutil.rmtree(out / "store")
    writer = StoreWriter(out, site)
    writer.add_members(spec["queues"], calls)
    return writer


def speak_calls(writer: StoreWriter, calls: list[dict]) -> None:
    """Render each call with its agent's voice and a customer voice of the other sex, in order."""
    for index, call in enumerate(calls):
        agent_voice = AGENT_VOICES[call["agent"]]
        female_agent = "+f" in agent_voice.variant
        customer_voice = CUSTOMER_VOICES[(call["language"], female_agent)]
        writer.add_call(call, index, render_call(call, agent_voice, customer_voice))


def generate(out: Path, calls_file: Path = HERE / "calls.yaml") -> None:
    """Write ``out/store`` and ``out/expected.json`` from ``calls_file``."""
    spec = yaml.safe_load(calls_file.read_text(encoding="utf-8"))
    calls = sorted(spec["calls"], key=lambda c: c["time"])
    writer = open_store(out, spec, calls)
    speak_calls(writer, calls)
    writer.add_unanswered()
    writer.write_logs()
    writer.write_expected(out / "expected.json", espeak_version())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, default=HERE, help="folder for store/ and expected.json"
    )
    parser.add_argument("--calls", type=Path, default=HERE / "calls.yaml", help="the call scripts")
    args = parser.parse_args(argv)
    if shutil.which(ESPEAK) is None:
        print("espeak-ng is not installed: apt-get install espeak-ng", file=sys.stderr)
        return 2
    generate(args.out, args.calls)
    return 0


if __name__ == "__main__":
    sys.exit(main())
