"""Walking a MixMonitor spool: find the recordings, group two-file calls, set aside what cannot be
taken yet (or ever), with the reason.

FreePBX files recordings under ``monitor/YYYY/MM/DD/``; day folders are often symlinks to a NAS,
so links are followed (each real folder once). A file is set aside when:

- it is empty or a 44-byte WAV header: the call was never answered (``skipped``);
- its WAV header sizes are 0, or it was modified less than ``min_age`` ago: it is still being
  recorded (``deferred`` to a later run);
- it cannot be read, or its header was never finalised long after the call (``failed``: a
  person has to fix permissions or repair the file).
"""

from __future__ import annotations

import logging
import os
import struct
import time
from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from qa.ingest.names import RecordingName, RecordingNameError, is_audio_name, parse_recording_name

__all__ = [
    "RecordingFile",
    "RecordingSet",
    "SkipStatus",
    "SkippedFile",
    "SpoolError",
    "SpoolScan",
    "walk_spool",
]

log = logging.getLogger(__name__)

WAV_HEADER_BYTES = 44
# A header still zero this long after the last write was left by a crash, not a live call.
_ABANDONED_HEADER_SECONDS = 24 * 3600
_WAV_EXTENSIONS = frozenset({"wav", "wav16", "wav49"})
# When one recording exists in several formats, the original beats a later conversion (which may
# have been made from a partial leg after a transfer).
_FORMAT_PREFERENCE = ("wav", "wav16", "wav49", "sln", "sln16", "ulaw", "alaw", "gsm", "g722")


class SpoolError(OSError):
    """The store itself cannot be walked."""


class SkipStatus(StrEnum):
    SKIPPED = "skipped"  # nothing to transcribe (unanswered, not a recording)
    DEFERRED = "deferred"  # not finished yet: a later run takes it
    FAILED = "failed"  # needs a person: unreadable, broken


@dataclass(frozen=True)
class SkippedFile:
    """A file (or a whole call) set aside, with why and what to do."""

    path: str  # relative to the store root
    status: SkipStatus
    reason: str
    uniqueid: str | None = None


@dataclass(frozen=True)
class RecordingFile:
    path: str  # relative to the store root, "/"-separated
    name: RecordingName
    size: int
    mtime: float


@dataclass(frozen=True)
class RecordingSet:
    """One call's audio: one file (mono or stereo) or two legs, channel 0 first."""

    files: tuple[RecordingFile, ...]

    @property
    def name(self) -> RecordingName:
        return self.files[0].name

    @property
    def uniqueid(self) -> str:
        return self.files[0].name.uniqueid

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(file.path for file in self.files)


@dataclass
class SpoolScan:
    recordings: list[RecordingSet] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)


def _riff_size(header: bytes) -> int | None:
    """The RIFF chunk size from a WAV header, None when the bytes are not RIFF/WAVE."""
    if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
        return None
    return struct.unpack("<I", header[4:8])[0]


def _check_file(
    path: Path, rel: str, name: RecordingName, size: int, age: float, min_age: float
) -> SkippedFile | None:
    """None if the file can be taken now, else why not."""
    uid = name.uniqueid
    if size == 0:
        return SkippedFile(rel, SkipStatus.SKIPPED, "empty file: the call was never answered", uid)
    if age < min_age:
        return SkippedFile(
            rel,
            SkipStatus.DEFERRED,
            f"modified {age:.0f}s ago (less than {min_age:.0f}s): still being recorded? "
            "taken by a later run",
            uid,
        )
    try:
        with path.open("rb") as handle:
            header = handle.read(12)
    except OSError as error:
        return SkippedFile(
            rel,
            SkipStatus.FAILED,
            f"cannot read {path}: {error.strerror}; give this user read access (recordings are "
            "often owned by asterisk with mode 0600: add the user to the asterisk group)",
            uid,
        )
    riff_size = _riff_size(header) if name.extension.lower() in _WAV_EXTENSIONS else None
    if riff_size == 0:
        if age > _ABANDONED_HEADER_SECONDS:
            return SkippedFile(
                rel,
                SkipStatus.FAILED,
                "WAV header sizes are 0 a day after the last write: the recording was never "
                "closed (a crash); repair the header, e.g. sox --ignore-length in.wav out.wav",
                uid,
            )
        return SkippedFile(
            rel,
            SkipStatus.DEFERRED,
            "WAV header sizes are 0: still being recorded; taken by a later run",
            uid,
        )
    if riff_size is not None and size <= WAV_HEADER_BYTES:
        return SkippedFile(
            rel,
            SkipStatus.SKIPPED,
            f"header-only WAV ({size} bytes): the call was never answered",
            uid,
        )
    return None


def _format_rank(file: RecordingFile) -> int:
    extension = file.name.extension.lower()
    if extension in _FORMAT_PREFERENCE:
        return _FORMAT_PREFERENCE.index(extension)
    return len(_FORMAT_PREFERENCE)


def _group(files: list[RecordingFile], scan: SpoolScan) -> None:
    """Turn the files of one recording stem (one folder) into a call, setting aside duplicates."""
    by_leg: dict[str | None, list[RecordingFile]] = defaultdict(list)
    for file in files:
        by_leg[file.name.leg].append(file)
    chosen: dict[str | None, RecordingFile] = {}
    for leg, candidates in by_leg.items():
        candidates.sort(key=lambda f: (_format_rank(f), f.path))
        chosen[leg] = candidates[0]
        for other in candidates[1:]:
            scan.skipped.append(
                SkippedFile(
                    other.path,
                    SkipStatus.SKIPPED,
                    f"the same recording in another format; using {candidates[0].path}",
                    other.name.uniqueid,
                )
            )
    pairs = [("r", "t"), ("in", "out")]
    legs = next((pair for pair in pairs if pair[0] in chosen and pair[1] in chosen), None)
    if legs is not None:
        for leg, file in chosen.items():
            if leg not in legs:
                scan.skipped.append(
                    SkippedFile(
                        file.path,
                        SkipStatus.SKIPPED,
                        f"another copy of a call recorded as two legs; using the "
                        f"-{legs[0]}/-{legs[1]} legs",
                        file.name.uniqueid,
                    )
                )
        scan.recordings.append(RecordingSet((chosen[legs[0]], chosen[legs[1]])))
        return
    if None in chosen:
        single = chosen.pop(None)
        for file in chosen.values():
            scan.skipped.append(
                SkippedFile(
                    file.path,
                    SkipStatus.SKIPPED,
                    f"a single leg next to the full recording; using {single.path}",
                    file.name.uniqueid,
                )
            )
        scan.recordings.append(RecordingSet((single,)))
        return
    # Legs without their partner: each is all the audio there is of its side.
    for leg in sorted(chosen, key=lambda name: name or ""):
        log.warning("%s: leg without its partner; transcribed alone", chosen[leg].path)
        scan.recordings.append(RecordingSet((chosen[leg],)))


def _walk(root: Path, scan: SpoolScan):
    """Yield (folder, file names), following symlinked folders once per real folder."""
    seen: set[str] = set()

    def on_error(error: OSError) -> None:
        rel = os.path.relpath(error.filename, root) if error.filename else "."
        scan.skipped.append(
            SkippedFile(
                rel,
                SkipStatus.FAILED,
                f"cannot list folder {error.filename}: {error.strerror}; give this user read "
                "access",
            )
        )

    for folder, dirs, names in os.walk(root, followlinks=True, onerror=on_error):
        real = os.path.realpath(folder)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs.sort()
        yield Path(folder), sorted(names)


def walk_spool(root: Path, *, min_age_seconds: float = 0.0, now: float | None = None) -> SpoolScan:
    """Find every call recording under ``root``; group leg pairs; set aside what cannot be taken.

    Raises :class:`SpoolError` when ``root`` is not a readable folder.
    """
    if not root.is_dir():
        raise SpoolError(f"recording store {root} is not a folder; check --store / store =")
    now = time.time() if now is None else now
    scan = SpoolScan()
    deferred_stems: set[tuple[Path, str]] = set()
    groups: dict[tuple[Path, str], list[RecordingFile]] = defaultdict(list)
    for folder, names in _walk(root, scan):
        for filename in names:
            if not is_audio_name(filename):
                continue
            path = folder / filename
            rel = path.relative_to(root).as_posix()
            try:
                name = parse_recording_name(filename)
            except RecordingNameError as error:
                scan.skipped.append(SkippedFile(rel, SkipStatus.SKIPPED, str(error)))
                continue
            try:
                stat = path.stat()
            except OSError as error:
                scan.skipped.append(
                    SkippedFile(rel, SkipStatus.FAILED, f"cannot stat: {error}", name.uniqueid)
                )
                continue
            age = now - stat.st_mtime
            problem = _check_file(path, rel, name, stat.st_size, age, min_age_seconds)
            if problem is not None:
                scan.skipped.append(problem)
                if problem.status == SkipStatus.DEFERRED:
                    deferred_stems.add((folder, name.stem))
                continue
            file = RecordingFile(rel, name, stat.st_size, stat.st_mtime)
            groups[(folder, name.stem)].append(file)
    for key, files in groups.items():
        if key in deferred_stems:  # wait for the whole call: its other leg is still recording
            for file in files:
                scan.skipped.append(
                    SkippedFile(
                        file.path,
                        SkipStatus.DEFERRED,
                        "another file of this call is still being recorded; taken by a later run",
                        file.name.uniqueid,
                    )
                )
            continue
        _group(files, scan)
    log.info(
        "spool %s: %d recordings, %d files set aside", root, len(scan.recordings), len(scan.skipped)
    )
    return scan
