"""Walking a MixMonitor spool: find the recordings, group two-file calls, set aside what cannot be
taken yet (or ever), with the reason.

The store may be a FreePBX ``monitor/YYYY/MM/DD/`` tree, a flat plain-Asterisk monitor folder, or
both side by side. Day folders are often symlinks to a NAS, so links are followed (each real
folder once). A file is set aside when:

- it is empty or a 44-byte WAV header: the call was never answered (``skipped``; the scan turns
  this into ``failed`` when the CDR says the call was answered);
- its WAV header sizes are 0, or it was modified less than ``min_age`` ago: it is still being
  recorded (``deferred`` to a later run);
- it cannot be read, its header was never finalised long after the call, or what follows
  ``RIFF…WAVE`` is not WAV chunks (``failed``: a person has to fix permissions or repair the
  file).

::

    scan = walk_spool(Path("/var/spool/asterisk/monitor"), min_age_seconds=120)
    scan.recordings, scan.skipped
"""

from __future__ import annotations

import logging
import os
import re
import struct
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from qa.ingest.names import RecordingName, RecordingNameError, is_audio_name, parse_recording_name
from qa.ingest.paths import safe_text, shown

__all__ = [
    "Examined",
    "FolderListing",
    "RecordingFile",
    "RecordingSet",
    "SkipStatus",
    "SkippedFile",
    "SpoolError",
    "SpoolScan",
    "StoreFile",
    "check_file",
    "examine_files",
    "group_recordings",
    "list_store",
    "walk_spool",
]

log = logging.getLogger(__name__)

WAV_HEADER_BYTES = 44
_HEADER_READ = 512  # enough for the chunks before "data" in what Asterisk and converters write
# A header still zero this long after the last write was left by a crash, not a live call.
ABANDONED_SECONDS = 24 * 3600
_WAV_EXTENSIONS = frozenset({"wav", "wav16", "wav49"})
# When one recording exists in several formats, the original beats a later conversion (which may
# have been made from a partial leg after a transfer: the half-length mp3 beside the full wav).
_FORMAT_PREFERENCE = ("wav", "wav16", "wav49", "sln", "sln16", "ulaw", "alaw", "gsm", "g722")
_UNANSWERED = "never answered"
_SETTLED_NS = 2_000_000_000  # a folder modified this recently may change within its mtime's tick
# What file managers and people add to a copied file's name ("x copy.wav", "x (1).wav",
# "x - Copy.wav", "x~.wav"): such a file is a duplicate, never a call of its own.
_HAND_COPY = re.compile(r"(?: copy(?: \d+)?| - copy(?: \(\d+\))?| ?\(\d+\)|~)$", re.IGNORECASE)


class SpoolError(OSError):
    """The store itself cannot be walked."""


class SkipStatus(StrEnum):
    SKIPPED = "skipped"  # nothing to transcribe (unanswered, not a recording, a duplicate)
    DEFERRED = "deferred"  # not finished yet: a later run takes it
    FAILED = "failed"  # needs a person: unreadable, broken, missing


@dataclass(frozen=True)
class SkippedFile:
    """A file (or a whole call) set aside, with why and what to do."""

    path: str  # relative to the store root
    status: SkipStatus
    reason: str
    uniqueid: str | None = None


@dataclass(frozen=True)
class StoreFile:
    """A file in the store with an audio extension, as listed (one stat, nothing opened)."""

    path: str  # relative to the store root, "/"-separated
    folder: str  # its folder, relative to the store root ("" for the root)
    size: int
    mtime: float
    mtime_ns: int

    @property
    def filename(self) -> str:
        return self.path.rsplit("/", 1)[-1]


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
    def uniqueid(self) -> str | None:
        return self.files[0].name.uniqueid

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(file.path for file in self.files)


@dataclass
class FolderListing:
    """What a walk of the store saw: files with audio extensions, folder mtimes, and failures
    (folders or files that could not be listed or stat'ed)."""

    files: list[StoreFile] = field(default_factory=list)
    folders: dict[str, int] = field(default_factory=dict)  # walked folder → mtime_ns
    pruned: list[str] = field(default_factory=list)  # folders left unwalked
    failures: list[SkippedFile] = field(default_factory=list)


@dataclass
class SpoolScan:
    recordings: list[RecordingSet] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)


def _cannot(what: str, path: str, error: OSError) -> str:
    return (
        f"cannot {what} {shown(path)}: {error.strerror or error}; give this user read access "
        "(recordings are often owned by asterisk with mode 0600: add the user to the asterisk "
        "group)"
    )


def _uniqueid_of(filename: str) -> str | None:
    try:
        return parse_recording_name(shown(filename)).uniqueid
    except RecordingNameError:
        return None


def _within(real: str, roots: Sequence[str]) -> bool:
    return any(real == root or real.startswith(root.rstrip("/") + "/") for root in roots)


def _outside(root: Path, link: str, real: str) -> str:
    return (
        f"recording {shown(link)} is a link to {shown(real)}, outside the store {shown(str(root))} "
        "and the allowed link roots: not taken. Move or copy the recording into the store, or add "
        "its folder to allowed_link_roots in the config if it is meant to be there"
    )


def list_store(
    root: Path,
    *,
    prune: Callable[[str, int], bool] | None = None,
    link_roots: Sequence[Path] = (),
) -> FolderListing:
    """List every file with an audio extension under ``root``, following symlinked folders once
    per real folder. ``prune(folder, mtime_ns)`` may leave a folder (and what is under it) out.
    A folder link is followed (FreePBX sites link day folders to a NAS), and the folder it leads
    to counts as part of the store; a recording that is a link leading outside the store (its
    folders) and ``link_roots`` is not taken: a ``failed`` decision names the link and its target.

    Raises :class:`SpoolError` when ``root`` is not a readable folder.
    """
    if not root.is_dir():
        raise SpoolError(f"recording store {root} is not a folder; check --store / store =")
    roots = [os.path.realpath(root), *(os.path.realpath(extra) for extra in link_roots)]
    listing = FolderListing()
    seen: set[str] = set()
    stack = [("", str(root))]
    while stack:
        rel, folder = stack.pop()
        real = os.path.realpath(folder)
        if real in seen:
            listing.failures.append(
                SkippedFile(
                    rel,
                    SkipStatus.SKIPPED,
                    f"folder {shown(rel)} leads to {shown(real)}, already walked (a symlink loop "
                    "or a second link to one folder): its recordings are taken once; remove the "
                    "link if it is a mistake",
                )
            )
            continue
        seen.add(real)
        if not _within(real, roots):  # a linked folder (a NAS day folder) is part of the store
            roots.append(real)
        try:
            # The mtime before the listing: a file added meanwhile changes it, so a later run
            # walks the folder again. One too fresh to trust (coarse NFS clocks) is not kept.
            mtime_ns = os.stat(folder).st_mtime_ns
            with os.scandir(folder) as scanner:
                entries = sorted(scanner, key=lambda entry: entry.name)
            listing.folders[rel] = mtime_ns if time.time_ns() - mtime_ns > _SETTLED_NS else -1
        except OSError as error:
            listing.failures.append(
                SkippedFile(rel or ".", SkipStatus.FAILED, _cannot("list folder", folder, error))
            )
            continue
        subfolders = []
        for entry in entries:
            path = f"{rel}/{entry.name}" if rel else entry.name
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                subfolders.append((path, entry))
                continue
            if not is_audio_name(entry.name):
                continue
            if entry.is_symlink():
                target = os.path.realpath(entry.path)
                # a link whose target is gone is a stat failure below (a NAS that went away)
                if os.path.exists(target) and not _within(target, roots):
                    reason = _outside(root, entry.path, target)
                    failure = SkippedFile(path, SkipStatus.FAILED, reason, _uniqueid_of(entry.name))
                    listing.failures.append(failure)
                    continue
            try:
                stat = entry.stat()
            except OSError as error:
                listing.failures.append(
                    SkippedFile(
                        path,
                        SkipStatus.FAILED,
                        _cannot("stat", entry.path, error),
                        _uniqueid_of(entry.name),
                    )
                )
                continue
            listing.files.append(
                StoreFile(path, rel, stat.st_size, stat.st_mtime, stat.st_mtime_ns)
            )
        for path, entry in reversed(subfolders):
            if prune is not None:
                try:
                    mtime_ns = entry.stat().st_mtime_ns
                except OSError:
                    mtime_ns = -1
                if prune(path, mtime_ns):
                    listing.pruned.append(path)
                    continue
            stack.append((path, entry.path))
    listing.files.sort(key=lambda file: file.path)
    return listing


def _is_chunk_id(raw: bytes) -> bool:
    """RIFF chunk ids are four printable ASCII characters ("fmt ", "LIST", "data")."""
    return len(raw) == 4 and all(0x20 <= byte < 0x7F for byte in raw)


def _wav_state(header: bytes, size: int) -> str | None:
    """ "incomplete" (RIFF or data size still 0), "header-only", "corrupt" (what follows
    ``RIFF….WAVE`` is not WAV chunks), "ok", or None if not RIFF."""
    if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
        return None
    riff = struct.unpack_from("<I", header, 4)[0]
    offset, data_start, data_size = 12, None, None
    while offset + 8 <= len(header):
        chunk_id = header[offset : offset + 4]
        chunk_size = struct.unpack_from("<I", header, offset + 4)[0]
        if not _is_chunk_id(chunk_id):
            return "corrupt"
        if chunk_id == b"data":
            data_start, data_size = offset + 8, chunk_size
            break
        offset += 8 + chunk_size + (chunk_size & 1)
    if data_start is None and offset > size:
        return "corrupt"  # a chunk before "data" claims more bytes than the file has
    if riff == 0 or (data_size == 0 and data_start is not None and size > data_start):
        return "incomplete"
    if (data_start is not None and size <= data_start) or (data_start is None and offset >= size):
        return "header-only"
    return "ok"


def check_file(
    store: Path, file: StoreFile, name: RecordingName, *, now: float, min_age: float
) -> SkippedFile | None:
    """None if the file can be taken now, else why not (reads at most the WAV header)."""
    uid, rel = name.uniqueid, file.path
    age = now - file.mtime
    if file.size == 0:
        return SkippedFile(rel, SkipStatus.SKIPPED, f"empty file: the call was {_UNANSWERED}", uid)
    if age < min_age:
        return SkippedFile(
            rel,
            SkipStatus.DEFERRED,
            f"modified {age:.0f}s ago (less than {min_age:.0f}s): still being recorded? "
            "taken by a later run",
            uid,
        )
    path = os.path.join(store, rel)  # plain strings: pathlib costs more than the read here
    if name.extension.lower() not in _WAV_EXTENSIONS:
        return _check_readable(path, rel, uid)
    try:
        with open(path, "rb") as handle:
            header = handle.read(_HEADER_READ)
    except OSError as error:
        return SkippedFile(rel, SkipStatus.FAILED, _cannot("read", path, error), uid)
    state = _wav_state(header, file.size)
    if state == "incomplete":
        if age > ABANDONED_SECONDS:
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
    if state == "corrupt":
        return SkippedFile(
            rel,
            SkipStatus.FAILED,
            f"{shown(rel)}: the bytes after RIFF…WAVE are not WAV chunks ({file.size} bytes of "
            "garbage): the recording is damaged; copy it again from the PBX (or restore it from "
            "a backup), then the next run takes it",
            uid,
        )
    if state == "header-only":
        return SkippedFile(
            rel,
            SkipStatus.SKIPPED,
            f"header-only WAV ({file.size} bytes): the call was {_UNANSWERED}",
            uid,
        )
    return None


def _check_readable(path: str, rel: str, uid: str | None) -> SkippedFile | None:
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except OSError as error:
        return SkippedFile(rel, SkipStatus.FAILED, _cannot("read", path, error), uid)
    return None


def is_unanswered(item: SkippedFile) -> bool:
    """Whether a set-aside file is the trace of a call never answered (empty or header-only)."""
    return item.status == SkipStatus.SKIPPED and _UNANSWERED in item.reason


def _format_rank(file: RecordingFile) -> int:
    extension = file.name.extension.lower()
    if extension in _FORMAT_PREFERENCE:
        return _FORMAT_PREFERENCE.index(extension)
    return len(_FORMAT_PREFERENCE)


def _aside(file: RecordingFile, reason: str) -> SkippedFile:
    return SkippedFile(file.path, SkipStatus.SKIPPED, reason, file.name.uniqueid)


def group_recordings(files: list[RecordingFile]) -> tuple[list[RecordingSet], list[SkippedFile]]:
    """Turn the files of one recording stem into calls: one format per file (the original over a
    conversion), the two legs of a pair together (over a mixed copy). Returns the recordings and
    the files set aside as duplicates."""
    skipped: list[SkippedFile] = []
    by_leg: dict[str | None, list[RecordingFile]] = defaultdict(list)
    for file in files:
        by_leg[file.name.leg].append(file)
    chosen: dict[str | None, RecordingFile] = {}
    for leg, candidates in by_leg.items():
        candidates.sort(key=lambda f: (_format_rank(f), f.path))
        chosen[leg] = candidates[0]
        for other in candidates[1:]:
            skipped.append(
                _aside(other, f"the same recording in another format; using {candidates[0].path}")
            )
    pairs = [("r", "t"), ("in", "out")]
    legs = next((pair for pair in pairs if pair[0] in chosen and pair[1] in chosen), None)
    if legs is not None:
        for leg, file in chosen.items():
            if leg not in legs:
                skipped.append(
                    _aside(
                        file,
                        f"another copy of a call recorded as two legs; using the "
                        f"-{legs[0]}/-{legs[1]} legs",
                    )
                )
        return [RecordingSet((chosen[legs[0]], chosen[legs[1]]))], skipped
    if None in chosen:
        single = chosen.pop(None)
        for file in chosen.values():
            skipped.append(
                _aside(file, f"a single leg next to the full recording; using {single.path}")
            )
        return [RecordingSet((single,))], skipped
    # Legs without their partner: each is all the audio there is of its side.
    recordings = []
    for leg in sorted(chosen, key=lambda name: name or ""):
        log.warning("%s: leg without its partner; transcribed alone", chosen[leg].path)
        recordings.append(RecordingSet((chosen[leg],)))
    return recordings, skipped


@dataclass
class Examined:
    """Files parsed and checked: those that can be taken, grouped by recording stem; those set
    aside; the stems of never-answered recordings; every stem seen."""

    groups: dict[str, list[RecordingFile]] = field(default_factory=dict)
    skipped: list[SkippedFile] = field(default_factory=list)
    unanswered: set[str] = field(default_factory=set)
    stems: set[str] = field(default_factory=set)
    # The empty and header-only files themselves: judged against the CDR by the scan.
    unanswered_files: list[RecordingFile] = field(default_factory=list)


def examine_files(store: Path, files: list[StoreFile], *, now: float, min_age: float) -> Examined:
    """Parse and check files; group those that can be taken by recording stem (a stem with a
    file still being recorded waits whole; conversions of a header-only file are unanswered
    too)."""
    result = Examined()
    groups: dict[str, list[RecordingFile]] = defaultdict(list)
    waiting: set[str] = set()
    unanswered: set[tuple[str, str | None]] = set()
    for file in files:
        base = file.filename.rsplit(".", 1)[0]
        if copied := _HAND_COPY.search(base):
            original = base[: copied.start()] + file.filename[len(base) :]
            result.skipped.append(
                SkippedFile(
                    file.path,
                    SkipStatus.SKIPPED,
                    f"{shown(file.filename)} is a copy made by hand of {shown(original)} (its "
                    f"name ends in {copied.group(0).strip()!r}): not a call of its own; remove "
                    "it (or, if the original is gone, give it the original's name)",
                )
            )
            continue
        try:
            # Parsed as shown: the uniqueid, numbers and call id never hold a raw byte.
            name = parse_recording_name(shown(file.filename))
        except RecordingNameError as error:
            result.skipped.append(SkippedFile(file.path, SkipStatus.SKIPPED, safe_text(str(error))))
            continue
        result.stems.add(name.stem)
        problem = check_file(store, file, name, now=now, min_age=min_age)
        if problem is None:
            groups[name.stem].append(RecordingFile(file.path, name, file.size, file.mtime))
            continue
        result.skipped.append(problem)
        if problem.status == SkipStatus.DEFERRED:
            waiting.add(name.stem)
        elif is_unanswered(problem):
            unanswered.add((name.stem, name.leg))
            result.unanswered.add(name.stem)
            result.unanswered_files.append(RecordingFile(file.path, name, file.size, file.mtime))
    for stem, stem_files in groups.items():
        kept: list[RecordingFile] = []
        for recording in stem_files:
            if stem in waiting:  # wait for the whole call: another file is still being recorded
                result.skipped.append(
                    SkippedFile(
                        recording.path,
                        SkipStatus.DEFERRED,
                        "another file of this call is still being recorded; taken by a later run",
                        recording.name.uniqueid,
                    )
                )
            elif (stem, recording.name.leg) in unanswered:
                result.skipped.append(
                    _aside(
                        recording, f"a copy of a header-only recording: the call was {_UNANSWERED}"
                    )
                )
            else:
                kept.append(recording)
        if kept:
            result.groups[stem] = kept
    return result


def iter_groups(
    groups: dict[str, list[RecordingFile]],
) -> Iterator[tuple[str, list[RecordingFile]]]:
    """The groups in a stable order (by stem)."""
    for stem in sorted(groups):
        yield stem, groups[stem]


def walk_spool(root: Path, *, min_age_seconds: float = 0.0, now: float | None = None) -> SpoolScan:
    """Find every call recording under ``root``; group leg pairs; set aside what cannot be taken.

    The whole store, every time (the incremental ingest is :func:`qa.ingest.ingest`).
    Raises :class:`SpoolError` when ``root`` is not a readable folder.
    """
    now = time.time() if now is None else now
    listing = list_store(root)
    examined = examine_files(root, listing.files, now=now, min_age=min_age_seconds)
    scan = SpoolScan(skipped=listing.failures + examined.skipped)
    for _, files in iter_groups(examined.groups):
        recordings, duplicates = group_recordings(files)
        scan.recordings += recordings
        scan.skipped += duplicates
    log.info(
        "spool %s: %d recordings, %d files set aside", root, len(scan.recordings), len(scan.skipped)
    )
    return scan
