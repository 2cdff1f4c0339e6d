"""The review app's read side (qa.review.call_view): the call list, one call's record, its audio,
and which viewers see it masked (the masking rules: tests/access/test_masking.py).

The store is tests/review_store.py's (shared with the browser tests).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from review_store import PHONE, RATE, build_review_store, tone

from calldata import (
    Call,
    Role,
    Verdict,
)
from qa.access.roles import Role as UserRole
from qa.db import memory_db, open_db
from qa.results.store import save_call
from qa.review.call_view import (
    CallNotFoundError,
    RecordingError,
    audio_path,
    call_detail,
    list_agents,
    list_calls,
    playable_audio,
)


@pytest.fixture(scope="module")
def store_db(tmp_path_factory: pytest.TempPathFactory):
    db_path = build_review_store(tmp_path_factory.mktemp("review"))
    db = open_db(db_path)
    yield db
    db.close()


# --- the list ----------------------------------------------------------------------------------


def test_list_calls_newest_first_with_latest_scores(store_db) -> None:
    rows = list_calls(store_db)
    assert [r.call_id for r in rows] == [
        "1763655760.42", "1763651705.11", "1763647200.7", "1763640000.3"
    ]  # fmt: skip
    bad, good, zh, pending = rows
    assert (bad.agent_label, bad.queue, bad.language, bad.status) == (
        "Bob Jones",
        "600",
        "en",
        "done",
    )
    assert bad.score == 0.0 and bad.passed is False
    assert [(f.id, f.severity) for f in bad.flags] == [("complaint", "high")]
    # The re-scored call shows its latest rubric version only: 4 of 4 points, not the old fail.
    assert good.score == 100.0 and good.passed is True and good.flags == ()
    assert good.duration == 18.0 and good.rubrics == ("inbound-service",)
    assert zh.language == "zh" and zh.passed is True
    assert pending.status == "pending" and pending.score is None and pending.passed is None


def test_list_calls_filters(store_db) -> None:
    ids = lambda **kw: [r.call_id for r in list_calls(store_db, **kw)]  # noqa: E731
    assert ids(agent="1001") == ["1763651705.11", "1763640000.3"]
    assert ids(agent="Bob Jones") == ["1763655760.42"]
    assert ids(flagged=True) == ["1763655760.42"]
    assert "1763655760.42" not in ids(flagged=False)
    assert ids(passed=False) == ["1763655760.42"]
    assert ids(passed=True) == ["1763651705.11", "1763647200.7"]
    assert ids(scored=False) == ["1763640000.3"]
    assert ids(status="done", limit=1) == ["1763655760.42"]
    assert ids(agent="nobody") == []


def test_list_agents_gives_filter_keys_and_labels(store_db) -> None:
    agents = list_agents(store_db)
    assert agents == [("1001", "Alice Smith"), ("1002", "Bob Jones"), ("1003", "Wang Fang")]
    for key, _ in agents:
        assert list_calls(store_db, agent=key)


# --- one call ----------------------------------------------------------------------------------


def test_call_detail_has_call_transcript_scorecard_and_flags(store_db) -> None:
    detail = call_detail(store_db, "1763655760.42", viewer_role=UserRole.ADMIN)
    assert detail.call.agent_name == "Bob Jones" and detail.status == "done"
    assert [t.role for t in detail.transcript.turns] == [
        Role.AGENT, Role.CUSTOMER, Role.AGENT, Role.CUSTOMER
    ]  # fmt: skip
    (card,) = detail.scorecards
    assert card.item("greeting").result == Verdict.FAIL
    assert card.item("identity_verification").result == Verdict.NA
    (flag,) = detail.flags
    assert flag.severity == "high"
    assert flag.evidence[0].text.startswith("I want to make a complaint")
    assert flag.evidence[0].start == 2.0


def test_call_detail_shows_only_the_latest_rubric_version(store_db) -> None:
    detail = call_detail(store_db, "1763651705.11", viewer_role=UserRole.AUDITOR)
    assert [(c.rubric_id, c.rubric_version) for c in detail.scorecards] == [
        ("inbound-service", "1")
    ]
    evidence = detail.scorecards[0].item("identity_verification").evidence[0]
    assert (evidence.speaker, evidence.start) == (Role.AGENT, 7.5)


def test_call_detail_of_a_pending_call_has_no_transcript(store_db) -> None:
    detail = call_detail(store_db, "1763640000.3", viewer_role=UserRole.REVIEWER)
    assert detail.transcript is None and detail.scorecards == () and detail.status == "pending"


def test_call_detail_masks_personal_data_unless_auditor_or_admin(store_db) -> None:
    for role in (UserRole.REVIEWER, UserRole.SUPERVISOR, None):
        detail = call_detail(store_db, "1763651705.11", viewer_role=role)
        text = detail.transcript.turns[3].text
        assert detail.masked and PHONE not in text and "[phone ···0134]" in text
        assert detail.call.caller == "···0134" and detail.call.destination == "600"
        assert all(turn.words == () for turn in detail.transcript.turns)
    for role in (UserRole.AUDITOR, UserRole.ADMIN, "admin"):
        detail = call_detail(store_db, "1763651705.11", viewer_role=role)
        assert not detail.masked and PHONE in detail.transcript.turns[3].text
        assert detail.call.caller == "4155550134"
    zh = call_detail(store_db, "1763647200.7", viewer_role=UserRole.REVIEWER)
    assert "一三八一二三四五六七八" not in zh.transcript.turns[1].text
    assert "[phone ···5678]" in zh.transcript.turns[1].text


def test_call_detail_refuses_an_unknown_call(store_db) -> None:
    with pytest.raises(CallNotFoundError, match="no call 'nope'"):
        call_detail(store_db, "nope", viewer_role=UserRole.ADMIN)


# --- audio -------------------------------------------------------------------------------------


def test_audio_path_resolves_each_leg_inside_the_store(store_db) -> None:
    root = Path(store_db.execute("select store_root from calls limit 1").fetchone()[0])
    leg0 = audio_path(store_db, "1763651705.11")
    leg1 = audio_path(store_db, "1763651705.11", leg=1)
    assert leg0.name.endswith("-r.wav") and leg1.name.endswith("-t.wav")
    assert leg0.is_file() and leg0.is_relative_to(root)
    with pytest.raises(RecordingError, match="no leg 2"):
        audio_path(store_db, "1763651705.11", leg=2)


def test_audio_path_refuses_a_call_not_in_the_store(store_db) -> None:
    with pytest.raises(CallNotFoundError):
        audio_path(store_db, "../../etc/passwd")


def _store_with_recording(tmp_path: Path, recording: str):
    db = memory_db()
    call = Call(call_id="1.1", recordings=(recording,), start=datetime(2026, 1, 1, tzinfo=UTC))
    save_call(db, call, tmp_path / "store", status="pending")
    return db


@pytest.mark.parametrize(
    "recording", ["../../etc/passwd", "monitor/../../../etc/passwd", "/etc/passwd", ""]
)
def test_audio_path_refuses_a_recording_outside_the_store(tmp_path: Path, recording: str) -> None:
    (tmp_path / "store").mkdir()
    db = _store_with_recording(tmp_path, recording)
    with pytest.raises(RecordingError, match="outside the store"):
        audio_path(db, "1.1")


def test_audio_path_follows_a_symlinked_day_folder(tmp_path: Path) -> None:
    # FreePBX sites often symlink day folders to a NAS: inside the store, the link is followed.
    nas = tmp_path / "nas" / "21"
    nas.mkdir(parents=True)
    sf.write(nas / "call.wav", tone(1.0, 220.0), RATE)
    (tmp_path / "store" / "monitor").mkdir(parents=True)
    (tmp_path / "store" / "monitor" / "21").symlink_to(nas)
    db = _store_with_recording(tmp_path, "monitor/21/call.wav")
    assert audio_path(db, "1.1").read_bytes() == (nas / "call.wav").read_bytes()


def test_audio_path_says_when_the_file_is_missing(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    db = _store_with_recording(tmp_path, "monitor/gone.wav")
    with pytest.raises(RecordingError, match="missing; check that the store is mounted"):
        audio_path(db, "1.1")


def test_playable_audio_mixes_a_leg_pair_to_stereo(store_db, tmp_path: Path) -> None:
    playable = playable_audio(store_db, "1763651705.11", tmp_path)
    data, rate = sf.read(playable.path, always_2d=True)
    assert rate == RATE and data.shape[1] == 2 == playable.channels
    assert playable.duration == pytest.approx(18.0, abs=0.01)
    # Left is leg 0 (the customer's -r leg): loud during turn 1, silent during turn 0.
    left, right = data[:, 0], data[:, 1]
    customer, agent = slice(int(4.5 * RATE), int(6.5 * RATE)), slice(int(1 * RATE), int(3 * RATE))
    assert np.abs(left[customer]).mean() > 0.05 and np.abs(left[agent]).max() < 1e-3
    assert np.abs(right[agent]).mean() > 0.05 and np.abs(right[customer]).max() < 1e-3
    assert "stereo" in playable.description


def test_playable_audio_keeps_mono_and_stereo_files(store_db, tmp_path: Path) -> None:
    mono = playable_audio(store_db, "1763655760.42", tmp_path)
    stereo = playable_audio(store_db, "1763647200.7", tmp_path)
    assert (mono.channels, stereo.channels) == (1, 2)
    assert sf.info(mono.path).samplerate == RATE
    assert mono.path.parent == tmp_path and mono.path != stereo.path


def test_playable_audio_reports_an_undecodable_recording(store_db, tmp_path: Path) -> None:
    db = memory_db()
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "bad.wav").write_bytes(b"RIFF not really a wav file at all" * 10)
    call = Call(call_id="2.2", recordings=("bad.wav",), start=datetime(2026, 1, 1, tzinfo=UTC))
    save_call(db, call, tmp_path / "store", status="done")
    with pytest.raises(RecordingError, match=r"call 2\.2"):
        playable_audio(db, "2.2", tmp_path / "out")


def test_call_view_html_escapes_text_and_carries_seek_times(store_db) -> None:
    # The UI renders these records as HTML: text from ASR or the PBX must never become markup.
    from ui.render import flags_html, scorecard_html, transcript_html

    detail = call_detail(store_db, "1763655760.42", viewer_role=UserRole.ADMIN)
    hostile = detail.transcript.model_copy(
        update={"turns": (detail.transcript.turns[0].model_copy(
            update={"text": '<img src=x onerror="alert(1)"> & more'}),)}
    )  # fmt: skip
    html = transcript_html(hostile, masked=False)
    assert (
        "<img" not in html and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; more" in html
    )
    assert 'data-seek="0.30" data-end="1.50"' in html
    assert 'data-seek="2.00"' in flags_html(detail.flags)
    assert "no greeting phrase" in scorecard_html(detail.scorecards)
    assert "not been processed" in transcript_html(None, masked=True)
