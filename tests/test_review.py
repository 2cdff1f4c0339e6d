"""The review app's read side (qa.review): the call list, one call's record, its audio, masking.

The store is written through the pipeline's own save path (qa.results) with hand-made transcripts
and scorecards, and real WAV files in a FreePBX-like layout: a leg pair, a mono file and a stereo
file. ``build_review_store`` is shared with the browser test.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from calldata import (
    Call,
    Direction,
    Evidence,
    Flag,
    HangupBy,
    ItemResult,
    Role,
    Scorecard,
    Transcript,
    Turn,
    Verdict,
)
from qa.db import memory_db, open_db
from qa.results import insert_scorecards, save_call, save_results
from qa.review import (
    CallNotFoundError,
    RecordingError,
    audio_path,
    call_detail,
    list_agents,
    list_calls,
    mask_personal_data,
    playable_audio,
)
from qa.users import Role as UserRole

RATE = 8000
DAY = "monitor/2026/11/20"
PHONE = "415 555 0134"
# (call id, speaker role, start, end, text) per turn; the agent speaks at 220 Hz, the customer at
# 330 Hz, so each leg's content is recognisable.
GOOD_TURNS = [
    (Role.AGENT, 0.5, 3.5, "Thank you for calling Acme Telecom, my name is Alice. How can I help?"),
    (Role.CUSTOMER, 4.0, 7.0, "Hi Alice, I would like to change my billing address."),
    (Role.AGENT, 7.5, 10.0, "For security, can you tell me your service password?"),
    (Role.CUSTOMER, 10.5, 14.0, f"My password is blue river, and my number is {PHONE}."),
    (Role.AGENT, 14.5, 17.0, "Thank you, your identity is verified. Goodbye."),
]
COMPLAINT_TURNS = [
    (Role.AGENT, 0.3, 1.5, "Yeah. What do you need?"),
    (Role.CUSTOMER, 2.0, 6.0, "I want to make a complaint, my internet is down again."),
    (Role.AGENT, 6.5, 8.0, "I can't do anything about that."),
    (Role.CUSTOMER, 8.5, 11.0, "Then let me speak to your manager."),
]
ZH_TURNS = [
    (Role.AGENT, 0.4, 3.0, "您好，安科电信，我是王芳，请问有什么可以帮您？"),
    (Role.CUSTOMER, 3.5, 7.5, "我的手机号是一三八一二三四五六七八，想查一下话费。"),
    (Role.AGENT, 8.0, 10.0, "好的，已经帮您查好了，感谢来电，再见。"),
]
PITCH = {Role.AGENT: 220.0, Role.CUSTOMER: 330.0}


def _tone(seconds: float, pitch: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)  # syllable-like amplitude movement
    return (0.3 * envelope * np.sin(2 * np.pi * pitch * t)).astype(np.float32)


def _track(turns: list, duration: float, roles: set[Role]) -> np.ndarray:
    """Silence with a tone burst for each turn spoken by one of ``roles``."""
    signal = np.zeros(int(duration * RATE), dtype=np.float32)
    for role, start, end, _ in turns:
        if role in roles:
            burst = _tone(end - start, PITCH[role])
            signal[int(start * RATE) : int(start * RATE) + len(burst)] = burst
    return signal


def _transcript(turns: list, duration: float, language: str, mode: str) -> Transcript:
    return Transcript(
        language=language,
        turns=tuple(
            Turn(index=i, speaker="ch1" if role == Role.AGENT else "ch0", role=role, start=start,
                 end=end, text=text, confidence=0.9)
            for i, (role, start, end, text) in enumerate(turns)
        ),
        duration=duration,
        channel_mode=mode,
        model="whisper-base",
    )  # fmt: skip


def _evidence(turns: list, index: int) -> Evidence:
    role, start, end, text = turns[index]
    return Evidence(turn_index=index, speaker=role, start=start, end=end, text=text)


def _card(call_id: str, items: list[ItemResult], flags: tuple[Flag, ...] = (), version: str = "1"):
    earned = sum(i.weight for i in items if i.result == Verdict.PASS)
    possible = sum(i.weight for i in items if i.result != Verdict.NA)
    return Scorecard(
        call_id=call_id,
        rubric_id="inbound-service",
        rubric_version=version,
        score=earned,
        max_score=possible,
        passed=earned / possible >= 0.8 and not any(
            i.critical and i.result == Verdict.FAIL for i in items
        ),
        items=tuple(items),
        flags=flags,
    )  # fmt: skip


def _item(item_id: str, result: Verdict, evidence: tuple[Evidence, ...] = (), *, weight=1.0,
          critical=False, reason="") -> ItemResult:  # fmt: skip
    title = item_id.replace("_", " ").capitalize()
    return ItemResult(id=item_id, title=title, result=result, weight=weight, critical=critical,
                      evidence=evidence, reason=reason)  # fmt: skip


def build_review_store(root: Path) -> Path:
    """A store under ``root``: four calls (legs, mono, stereo, pending), scored where done, and
    real 8 kHz WAV recordings in ``root/store``. Returns the database path."""
    store = root / "store"
    (store / DAY).mkdir(parents=True)
    db_path = root / "qa.db"
    db = open_db(db_path)

    # 1. A good English call, two legs (-r customer, -t agent), scored twice (v1 then v2).
    good = Call(
        call_id="1763651705.11",
        recordings=(f"{DAY}/q-600-4155550134-20261120-091505-1763651705.11-r.wav",
                    f"{DAY}/q-600-4155550134-20261120-091505-1763651705.11-t.wav"),
        start=datetime(2026, 11, 20, 14, 15, 5, tzinfo=UTC),
        direction=Direction.INBOUND, queue="600", agent="1001", agent_name="Alice Smith",
        caller="4155550134", destination="600", duration=19.0, billsec=18.0,
        hangup_by=HangupBy.CUSTOMER, language="en",
    )  # fmt: skip
    sf.write(store / good.recordings[0], _track(GOOD_TURNS, 18.0, {Role.CUSTOMER}), RATE)
    sf.write(store / good.recordings[1], _track(GOOD_TURNS, 18.0, {Role.AGENT}), RATE)
    old_card = _card(good.call_id, [_item("greeting", Verdict.FAIL)], version="0.9")
    good_card = _card(
        good.call_id,
        [
            _item("greeting", Verdict.PASS, (_evidence(GOOD_TURNS, 0),)),
            _item("identity_verification", Verdict.PASS, (_evidence(GOOD_TURNS, 2),),
                  weight=2, critical=True, reason="service password asked before the change"),
            _item("closing", Verdict.PASS, (_evidence(GOOD_TURNS, 4),)),
        ],
        version="1",
    )  # fmt: skip
    save_call(db, good, store, status="pending")
    save_results(db, good.call_id, _transcript(GOOD_TURNS, 18.0, "en", "legs"), [old_card])
    with db.conn:
        insert_scorecards(db, [good_card])  # re-scored with a new rubric version

    # 2. A complaint, mono, failed; the newest call.
    bad = Call(
        call_id="1763655760.42",
        recordings=(f"{DAY}/q-600-5552223333-20261120-102240-1763655760.42.wav",),
        start=datetime(2026, 11, 20, 15, 22, 40, tzinfo=UTC),
        direction=Direction.INBOUND, queue="600", agent="1002", agent_name="Bob Jones",
        caller="5552223333", duration=12.0, hangup_by=HangupBy.AGENT, language="en",
    )  # fmt: skip
    sf.write(store / bad.recordings[0], _track(COMPLAINT_TURNS, 12.0, set(Role)), RATE)
    complaint = Flag(id="complaint", title="Customer complaint", severity="high",
                     evidence=(_evidence(COMPLAINT_TURNS, 1),))  # fmt: skip
    bad_card = _card(
        bad.call_id,
        [
            _item("greeting", Verdict.FAIL, reason="no greeting phrase in the agent's first turn"),
            _item("identity_verification", Verdict.NA, weight=2, critical=True,
                  reason="no account change in the call"),
            _item("closing", Verdict.FAIL, reason="no closing phrase in the last 2 agent turns"),
        ],
        (complaint,),
    )  # fmt: skip
    save_call(db, bad, store, status="pending")
    save_results(db, bad.call_id, _transcript(COMPLAINT_TURNS, 12.0, "en", "mono"), [bad_card])

    # 3. A Mandarin call, one stereo file (ch0 customer, ch1 agent), passed.
    zh = Call(
        call_id="1763647200.7",
        recordings=(f"{DAY}/q-601-13812345678-20261120-080000-1763647200.7.wav",),
        start=datetime(2026, 11, 20, 13, 0, 0, tzinfo=UTC),
        direction=Direction.INBOUND, queue="601", agent="1003", agent_name="Wang Fang",
        caller="13812345678", duration=11.0, hangup_by=HangupBy.CUSTOMER, language="zh",
    )  # fmt: skip
    stereo = np.stack(
        [_track(ZH_TURNS, 10.5, {Role.CUSTOMER}), _track(ZH_TURNS, 10.5, {Role.AGENT})], axis=1
    )
    sf.write(store / zh.recordings[0], stereo, RATE)
    zh_card = _card(
        zh.call_id,
        [
            _item("greeting", Verdict.PASS, (_evidence(ZH_TURNS, 0),)),
            _item("identity_verification", Verdict.NA, weight=2, critical=True),
            _item("closing", Verdict.PASS, (_evidence(ZH_TURNS, 2),)),
        ],
    )  # fmt: skip
    save_call(db, zh, store, status="pending")
    save_results(db, zh.call_id, _transcript(ZH_TURNS, 10.5, "zh", "stereo"), [zh_card])

    # 4. Found by ingest, not processed yet; the oldest.
    pending = Call(
        call_id="1763640000.3",
        recordings=(f"{DAY}/q-600-5554445555-20261120-060000-1763640000.3.wav",),
        start=datetime(2026, 11, 20, 11, 0, 0, tzinfo=UTC),
        direction=Direction.INBOUND, queue="600", agent="1001", agent_name="Alice Smith",
        duration=30.0,
    )  # fmt: skip
    sf.write(store / pending.recordings[0], _track(GOOD_TURNS[:1], 5.0, set(Role)), RATE)
    save_call(db, pending, store, status="pending")
    db.close()
    return db_path


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
    sf.write(nas / "call.wav", _tone(1.0, 220.0), RATE)
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


# --- masking -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call me back at 415 555 0134 please", "call me back at [phone ···0134] please"),
        ("my number is (415) 555-0134.", "my number is [phone ···0134]."),
        ("it's +1 415-555-0134", "it's [phone ···0134]"),
        ("five five five, two two two, three three three three", "[phone ···3333]"),
        ("double five five two two two three three three three", "[phone ···3333]"),
        ("card 4111 1111 1111 1111, expiry 12/27", "card [card ···1111], expiry 12/27"),
        ("paid 1500 dollars on 2026-11-20, 3 lines", "paid 1500 dollars on 2026-11-20, 3 lines"),
        ("Oh, one more thing: extension 1001.", "Oh, one more thing: extension 1001."),
        ("my date of birth is 12 March 1985", "my date of birth is [date of birth]"),
        ("born on March the twelfth, nineteen eighty five", "born on [date of birth]"),
        ("DOB 03/12/1985, postcode next", "DOB [date of birth], postcode next"),
        ("my birthday is March 12th", "my birthday is [date of birth]"),
        ("your trial ends on March 12, 2027", "your trial ends on March 12, 2027"),
        ("see you on the 5th of May", "see you on the 5th of May"),
    ],
)  # fmt: skip
def test_mask_personal_data_english(text: str, expected: str) -> None:
    assert mask_personal_data(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我的手机号是13812345678。", "我的手机号是[phone ···5678]。"),
        ("手机一三八一二三四五六七八", "手机[phone ···5678]"),
        ("号码是幺三八 零零幺三 八零零零", "号码是[phone ···8000]"),
        ("身份证号110105199003071234", "身份证号[ID ···1234]"),
        ("身份证 11010519900307123X，对吗", "身份证 [ID ···123X]，对吗"),
        ("银行卡号是6222 0212 3456 7890 123", "银行卡号是[card ···0123]"),
        ("+86 138 0013 8000", "[phone ···8000]"),
        ("我要办一个套餐，每月三十九元，两个人用", "我要办一个套餐，每月三十九元，两个人用"),
        ("我的出生日期是1985年3月12日", "我的出生日期是[date of birth]"),
        ("我是八五年三月十二号出生的", "我是[date of birth]出生的"),
        ("生日是三月十二号", "生日是[date of birth]"),
        ("试用期到二零二七年三月十二号结束", "试用期到二零二七年三月十二号结束"),
    ],
)  # fmt: skip
def test_mask_personal_data_mandarin(text: str, expected: str) -> None:
    assert mask_personal_data(text) == expected


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
