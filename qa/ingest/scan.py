"""The incremental scan of a store: what is new since the last run, decided file by file.

1. Walk the store. Day folders (``YYYY/MM/DD``) older than the rescan window are skipped when
   their mtime is what the ledger recorded and they hold nothing deferred or failed.
2. Files the ledger has seen unchanged (same size and mtime) after ``take`` or ``skip`` are not
   opened again. The rest are parsed and checked (:func:`qa.ingest.spool.examine_files`).
3. Recordings whose identity the ledger holds (``name:<stem>``, or ``sha256:<hex>`` for names
   without a uniqueid) are already taken. The others are attributed (CDR, queue_log) and wait
   when the call may not be over: no CDR row yet while the file is recent, no CEL
   ``LINKEDID_END`` yet (with ``cel``), or a size that changed during the scan.
4. The same audio under two names (a uniqueid-named copy beside the FreePBX one) is one call.
5. CDR rows in the window that name a recording the store does not have are reported.

Each examined file gets a :class:`~qa.ingest.ledger.FileDecision`; calls get ids that stay the
same across runs (see :func:`qa.ingest.calls.base_call_id`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path

from calldata import Call
from qa import runtime
from qa.ingest.calls import (
    Attribution,
    CallSources,
    IngestResult,
    attribute,
    base_call_id,
    build_call,
)
from qa.ingest.cdr import CdrIndex, recording_stem
from qa.ingest.ledger import SETTLED, Action, FileDecision, Ledger, LedgerUpdate, TakenCall
from qa.ingest.names import NameLayout
from qa.ingest.paths import shown
from qa.ingest.sources import ConfiguredSources
from qa.ingest.spool import (
    ABANDONED_SECONDS,
    RecordingFile,
    RecordingSet,
    SkippedFile,
    SkipStatus,
    StoreFile,
    examine_files,
    group_recordings,
    iter_groups,
    list_store,
)

__all__ = ["ScanOptions", "scan_store"]

log = logging.getLogger(__name__)

_DAY_FOLDER = re.compile(r"(?:^|/)(\d{4})/(\d{2})/(\d{2})$")
_FRESH_SECONDS = 3600  # files written this recently are stat'ed again before being taken
_ACTIONS = {
    SkipStatus.SKIPPED: Action.SKIP,
    SkipStatus.DEFERRED: Action.DEFER,
    SkipStatus.FAILED: Action.FAIL,
}
_STATUSES = {action: status for status, action in _ACTIONS.items()}


@dataclass(frozen=True)
class ScanOptions:
    """How the scan judges files: ``now`` (epoch seconds), the PBX ``zone``, how old a file
    must be (``min_age``), how long a recording waits for its CDR row (``cdr_wait``), and how
    many recent days of day folders are walked on every run (``rescan_days``), and the folders
    outside the store that recordings may be symlinked from (``link_roots``)."""

    now: float
    zone: tzinfo
    min_age: float = 0.0
    cdr_wait: float = 3600.0
    rescan_days: int = 2
    link_roots: tuple[Path, ...] = ()

    @property
    def window_start(self) -> date:
        return datetime.fromtimestamp(self.now, self.zone).date() - timedelta(days=self.rescan_days)


@dataclass
class _Candidate:
    recording: RecordingSet
    files: tuple[StoreFile, ...]
    keys: list[str]
    attribution: Attribution = field(default_factory=Attribution)

    @property
    def newest_mtime(self) -> float:
        return max(file.mtime for file in self.files)


def _linked(candidate: _Candidate) -> str | None:
    """The id CEL knows the whole call by: the CDR linkedid, else the uniqueid."""
    row = candidate.attribution.row
    if row is not None:
        return row.linkedid or row.uniqueid
    return candidate.recording.uniqueid


def _content_hash(store: Path, paths: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with (store / path).open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


class _Scan:
    def __init__(
        self, store: Path, ledger: Ledger, sources: ConfiguredSources, options: ScanOptions
    ) -> None:
        self.store, self.ledger, self.sources, self.options = store, ledger, sources, options
        self.update = LedgerUpdate()
        self.files: dict[str, StoreFile] = {}
        self.stems: set[str] = set()
        self.call_sources: CallSources = sources.unloaded()
        self.empty: list[RecordingFile] = []  # empty and header-only files, to check on the CDR

    # --- decisions -----------------------------------------------------------------------------

    def decide(self, path: str, action: Action, reason: str, uniqueid: str | None = None) -> None:
        file = self.files.get(path)
        self.update.decisions.append(
            FileDecision(
                path,
                action,
                reason,
                uniqueid=uniqueid,
                size=file.size if file else None,
                mtime_ns=file.mtime_ns if file else None,
            )
        )

    def set_aside(self, item: SkippedFile) -> None:
        self.decide(item.path, _ACTIONS[item.status], item.reason, item.uniqueid)

    def all_files(self, recording: RecordingSet, action: Action, reason: str) -> None:
        for path in recording.paths:
            self.decide(path, action, reason, recording.uniqueid)

    # --- the walk ------------------------------------------------------------------------------

    def prune(self, folder: str, mtime_ns: int, unsettled: set[str]) -> bool:
        match = _DAY_FOLDER.search(folder)
        if match is None or folder in unsettled:
            return False
        try:
            day = date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return False
        return day < self.options.window_start and self.ledger.folder_mtime(folder) == mtime_ns

    def walk(self) -> list[StoreFile]:
        """List the store; return the files to examine (new, changed, or not settled)."""
        unsettled = self.ledger.unsettled_folders()
        listing = list_store(
            self.store,
            prune=lambda f, m: self.prune(f, m, unsettled),
            link_roots=self.options.link_roots,
        )
        self.update.folders = listing.folders
        self.update.known = self.ledger.count_under(listing.pruned)
        for item in listing.failures:
            self.set_aside(item)
        present = {file.path for file in listing.files}
        self.update.gone = [
            path for path in self.ledger.paths_in(set(listing.folders)) if path not in present
        ]
        fresh = []
        for file in listing.files:
            runtime.checkpoint("ingest")
            self.files[file.path] = file
            record = self.ledger.file(file.path)
            if (
                record is not None
                and record.action in SETTLED
                and (record.size, record.mtime_ns) == (file.size, file.mtime_ns)
            ):
                self.update.known += 1
            else:
                fresh.append(file)
        return fresh

    # --- candidates ----------------------------------------------------------------------------

    def candidates(self, fresh: list[StoreFile]) -> list[_Candidate]:
        examined = examine_files(
            self.store, fresh, now=self.options.now, min_age=self.options.min_age
        )
        for item in examined.skipped:
            self.set_aside(item)
        self.update.unanswered_keys = [
            f"name:{stem}"
            for stem in sorted(examined.unanswered)
            if not self.ledger.key(f"name:{stem}")[0]
        ]
        self.stems = set(examined.stems)
        self.empty = examined.unanswered_files
        found: list[_Candidate] = []
        hashes: dict[str, str] = {}
        for stem, files in iter_groups(examined.groups):
            known, call_id = self.ledger.key(f"name:{stem}")
            if known:
                reason = (
                    f"already taken as call {call_id}"
                    if call_id
                    else "a copy of a recording of a call that was never answered"
                )
                for file in files:
                    self.decide(file.path, Action.SKIP, reason, file.name.uniqueid)
                continue
            recordings, duplicates = group_recordings(files)
            for item in duplicates:
                self.set_aside(item)
            for recording in recordings:
                keys = [f"name:{stem}"]
                if recording.uniqueid is None:  # no uniqueid: the content is the identity
                    content = f"sha256:{_content_hash(self.store, recording.paths)}"
                    known, call_id = self.ledger.key(content)
                    if known or content in hashes:
                        same = f"call {call_id}" if known else hashes[content]
                        self.all_files(recording, Action.SKIP, f"the same audio as {same}")
                        continue
                    hashes[content] = recording.paths[0]
                    keys.append(content)
                store_files = tuple(self.files[path] for path in recording.paths)
                found.append(_Candidate(recording, store_files, keys))
        return found

    def wait_reason(self, candidate: _Candidate, ended: set[str] | None) -> str | None:
        """Why the call may not be over yet (None: take it now)."""
        now, recording = self.options.now, candidate.recording
        row = candidate.attribution.row
        age = now - candidate.newest_mtime
        waits_for_cdr = self.sources.has_cdr and row is None and recording.uniqueid is not None
        if waits_for_cdr and age < self.options.cdr_wait:
            return (
                f"no CDR row yet for uniqueid {recording.uniqueid} (the PBX writes it when "
                f"the call ends); taken by a later run, or as an orphan once the file is "
                f"{self.options.cdr_wait / 60:.0f} min old"
            )
        if ended is not None:
            linked = _linked(candidate)
            if linked and linked not in ended:
                if age < ABANDONED_SECONDS:
                    return (
                        f"no LINKEDID_END in CEL for linkedid {linked} yet: the call (transfers "
                        "included) is still going on; taken by a later run"
                    )
                log.warning("%s: no LINKEDID_END in CEL after a day; taken anyway", linked)
        for file in candidate.files:
            if now - file.mtime > _FRESH_SECONDS:
                continue
            try:
                stat = os.stat(self.store / file.path)
            except OSError:
                continue  # gone or unreadable now: the decoder says which
            if (stat.st_size, stat.st_mtime_ns) != (file.size, file.mtime_ns):
                return (
                    f"{file.path} grew from {file.size} to {stat.st_size} bytes during the scan: "
                    "still being written; taken by a later run"
                )
        return None

    def attribute(self, found: list[_Candidate]) -> list[_Candidate]:
        """Load the sources, attribute each candidate, and keep those whose call is over."""
        empty = [RecordingSet((file,)) for file in self.empty]
        if not found and not empty:
            return []
        self.call_sources = self.sources.load(
            [c.recording for c in found] + empty, since=self.options.window_start
        )
        self.answered_but_empty(empty)
        self.rejected_lines()
        if not found:
            return []
        for candidate in found:
            candidate.attribution = attribute(candidate.recording, self.call_sources)
        ended = None
        if self.sources.has_cel:
            linked = {
                (row.linkedid or row.uniqueid)
                if (row := c.attribution.row)
                else c.recording.uniqueid
                for c in found
            }
            ended = self.sources.ended_calls(uid for uid in linked if uid)
        ready = []
        for candidate in found:
            reason = self.wait_reason(candidate, ended)
            if reason is None:
                ready.append(candidate)
            else:
                self.all_files(candidate.recording, Action.DEFER, reason)
        return ready

    def rejected_lines(self) -> None:
        """One decision per source file with lines left out (corrupt CDR or queue_log lines),
        so that the dry run and the run report name them."""
        sources = self.call_sources
        by_file: dict[str, list[str]] = defaultdict(list)
        if sources.cdr is not None:
            by_file[sources.cdr.source] += sources.cdr.rejected
        if sources.queue_log is not None:
            for problem in sources.queue_log.rejected:
                file, _, rest = problem.partition(": ")
                by_file[file].append(rest)
        for file, problems in by_file.items():
            if not problems:
                continue
            shown_lines = "; ".join(problems[:5]) + (" …" if len(problems) > 5 else "")
            self.decide(
                file,
                Action.SKIP,
                f"{len(problems)} line(s) left out as corrupt ({shown_lines}): the calls they "
                "describe lack CDR or queue data; repair or remove the lines",
            )

    def answered_but_empty(self, empty: list[RecordingSet]) -> None:
        """An empty or header-only file is the trace of a call never answered, unless the CDR
        says the call was answered: then its audio was lost, and a person must know."""
        for recording in empty:
            row = attribute(recording, self.call_sources).row
            if row is None or not row.answered:
                continue
            path = recording.paths[0]
            reason = (
                f"{shown(path)}: {recording.files[0].size} bytes, no audio, but the CDR "
                f"(uniqueid {row.uniqueid}) says the call was ANSWERED for {row.billsec:.0f} s: "
                "the recording was lost (disk full, a failed copy or conversion); restore it "
                "from the PBX or a backup, or mark the call as unrecordable"
            )
            self.update.decisions = [d for d in self.update.decisions if d.path != path]
            self.decide(path, Action.FAIL, reason, recording.uniqueid)
            key = f"name:{recording.name.stem}"
            self.update.unanswered_keys = [k for k in self.update.unanswered_keys if k != key]

    def same_audio(self, ready: list[_Candidate]) -> list[_Candidate]:
        """Leave out recordings whose audio another recording of the same uniqueid already is
        (a plain-Asterisk <uniqueid>.wav beside FreePBX's copy)."""
        by_uid: dict[str, list[_Candidate]] = defaultdict(list)
        for candidate in ready:
            if candidate.recording.uniqueid:
                by_uid[candidate.recording.uniqueid].append(candidate)
        dropped: set[int] = set()
        for uid, group in by_uid.items():
            earlier = self.ledger.calls_of(uid)
            if len(group) + len(earlier) < 2:
                continue
            seen: dict[tuple[str, ...], str] = {}
            for call_id in earlier:
                paths = self.ledger.call(call_id).recordings
                if all((self.store / p).is_file() for p in paths):
                    seen.setdefault(self._digest(paths), f"call {call_id}")
            # FreePBX names carry more (type, numbers): they win over bare uniqueid names.
            group.sort(key=lambda c: (c.recording.name.layout != NameLayout.FREEPBX, c.keys[0]))
            for candidate in group:
                digest = self._digest(candidate.recording.paths)
                if digest in seen:
                    self.all_files(
                        candidate.recording, Action.SKIP, f"the same audio as {seen[digest]}"
                    )
                    dropped.add(id(candidate))
                else:
                    seen[digest] = candidate.recording.paths[0]
        return [c for c in ready if id(c) not in dropped]

    def _digest(self, paths: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_content_hash(self.store, (path,)) for path in paths)

    def take(self, ready: list[_Candidate]) -> None:
        bases = {id(c): base_call_id(c.recording, c.attribution) for c in ready}
        counts = Counter(bases.values())
        used: set[str] = set()
        for candidate in ready:
            base = bases[id(candidate)]
            call_id = base
            if counts[base] > 1 or self.ledger.has_call(base) or base in used:
                call_id = f"{base}/{candidate.recording.name.stem}"
            while self.ledger.has_call(call_id) or call_id in used:
                call_id += "+"
            used.add(call_id)
            call = build_call(
                candidate.recording,
                self.call_sources,
                call_id=call_id,
                attribution=candidate.attribution,
            )
            self.update.calls.append(
                TakenCall(call, candidate.recording.uniqueid, tuple(candidate.keys))
            )
            for path in candidate.recording.paths:
                self.update.decisions.append(
                    FileDecision(
                        path,
                        Action.TAKE,
                        "",
                        call_id=call.call_id,
                        uniqueid=candidate.recording.uniqueid,
                        agent=call.agent or call.agent_name,
                        queue=call.queue,
                        start=call.start,
                        size=self.files[path].size,
                        mtime_ns=self.files[path].mtime_ns,
                    )
                )

    def missing(self, cdr: CdrIndex | None) -> None:
        """Report answered calls in the window whose CDR names a recording the store lacks."""
        if cdr is None:
            return
        have = self.stems | self.ledger.known_stems()
        reported: set[str] = set()
        for row in cdr.recorded():
            assert row.recordingfile is not None
            stem = recording_stem(row.recordingfile)
            if not row.answered or row.local_start is None or stem in have or stem in reported:
                continue
            if row.local_start.date() < self.options.window_start:
                continue
            reported.add(stem)
            name = row.recordingfile.replace("\\", "/")
            path = name if "/" in name else f"{row.local_start:%Y/%m/%d}/{name}"
            last_seen = row.end or row.start
            ended = last_seen.timestamp() if last_seen else 0.0
            if self.options.now - ended < max(self.options.min_age, 600):
                reason = f"the CDR names {name}, not in the store yet; looked for by a later run"
                self.decide(path, Action.DEFER, reason, row.uniqueid)
            else:
                self.decide(
                    path,
                    Action.FAIL,
                    f"the CDR (uniqueid {row.uniqueid}, answered, {row.billsec:.0f} s) names "
                    f"recording {name}, which is not in the store (any format): deleted, on "
                    "another server, or the store path is wrong",
                    row.uniqueid,
                )

    def result(self) -> IngestResult:
        taken = [t.call for t in self.update.calls]
        calls: list[Call] = self.ledger.calls() + taken
        calls.sort(key=lambda call: (call.start, call.call_id))
        skipped = [
            SkippedFile(d.path, _STATUSES[d.action], d.reason, d.uniqueid)
            for d in self.update.decisions
            if d.action != Action.TAKE
        ]
        return IngestResult(
            store=self.store,
            calls=calls,
            skipped=skipped,
            decisions=sorted(self.update.decisions, key=lambda d: d.path),
            new_call_ids={call.call_id for call in taken},
            known_files=self.update.known,
        )


def scan_store(
    store: Path, ledger: Ledger, sources: ConfiguredSources, options: ScanOptions
) -> tuple[IngestResult, LedgerUpdate]:
    """Scan ``store`` against what ``ledger`` has seen; return the result and what to record.

    Raises :class:`qa.ingest.SpoolError` when the store is not a readable folder, and the CDR
    and queue_log read errors when a source is needed and cannot be read.
    """
    started = time.perf_counter()
    scan = _Scan(store, ledger, sources, options)
    fresh = scan.walk()
    ready = scan.same_audio(scan.attribute(scan.candidates(fresh)))
    scan.take(ready)
    scan.missing(scan.call_sources.cdr)
    scan.update.seconds = time.perf_counter() - started
    scan.update.started_at = datetime.fromtimestamp(options.now, UTC).isoformat(timespec="seconds")
    result = scan.result()
    log.info(
        "ingest %s: %d examined, %d new calls, %d known files, %.1fs",
        store,
        len(result.decisions),
        len(result.new_call_ids),
        result.known_files,
        scan.update.seconds,
    )
    return result, scan.update
