"""The review store shared by the call-view and browser tests (``build_review_store``): hand-made
transcripts and scorecards written through the pipeline's own save path (qa.results.store), and
real WAV files in a FreePBX-like layout: a leg pair, a mono file and a stereo file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
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
from qa.db import open_db
from qa.results.store import insert_scorecards, save_call, save_results

RATE = 8000
DAY = "monitor/2026/11/20"
PHONE = "415 555 0134"
GOOD_ID, COMPLAINT_ID = "1763651705.11", "1763655760.42"
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


def tone(seconds: float, pitch: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)  # syllable-like amplitude movement
    return (0.3 * envelope * np.sin(2 * np.pi * pitch * t)).astype(np.float32)


def _track(turns: list, duration: float, roles: set[Role]) -> np.ndarray:
    """Silence with a tone burst for each turn spoken by one of ``roles``."""
    signal = np.zeros(int(duration * RATE), dtype=np.float32)
    for role, start, end, _ in turns:
        if role in roles:
            burst = tone(end - start, PITCH[role])
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


def rescored_v2_cards() -> list[Scorecard]:
    """The complaint call and the good call, re-scored by inbound-service v2 (pass mark 80)."""
    complaint = Flag(id="complaint", title="Customer complaint", severity="high",
                     evidence=(_evidence(COMPLAINT_TURNS, 1),))  # fmt: skip
    bad = Scorecard(
        call_id=COMPLAINT_ID, rubric_id="inbound-service", rubric_version="2", score=0.0,
        max_score=100.0, passed=False, pass_mark=80.0, flags=(complaint,),
        items=(
            ItemResult(id="greeting", title="Greets the caller", result=Verdict.FAIL, weight=20,
                       reason="no greeting phrase", evidence=(_evidence(COMPLAINT_TURNS, 0),)),
            ItemResult(id="identity_verification", title="Verifies identity", weight=25,
                       critical=True, result=Verdict.NA, reason="no account change"),
            ItemResult(id="closing", title="Closes the call", result=Verdict.FAIL, weight=20,
                       reason="no closing phrase", evidence=(_evidence(COMPLAINT_TURNS, 2),)),
        ),
    )  # fmt: skip
    good = Scorecard(
        call_id=GOOD_ID, rubric_id="inbound-service", rubric_version="2", score=100.0,
        max_score=100.0, passed=True, pass_mark=80.0,
        items=(
            ItemResult(id="greeting", title="Greets the caller", result=Verdict.PASS, weight=20,
                       evidence=(_evidence(GOOD_TURNS, 0),)),
            ItemResult(id="closing", title="Closes the call", result=Verdict.PASS, weight=20,
                       evidence=(_evidence(GOOD_TURNS, 4),)),
        ),
    )  # fmt: skip
    return [bad, good]
