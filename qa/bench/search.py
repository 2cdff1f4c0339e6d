"""``qa bench search``: transcript search on a generated store of many calls (not committed).

The store is made the way the nightly run makes one — each call saved by
:func:`qa.results.store.save_results` (transcript with word timings, a scorecard with item
results, the search index) in its own transaction — from generated English and Mandarin
conversations (templates with varied slots; 30% Mandarin), 50 agents, 5 queues, a year of days.
Then it measures:

- **latency**: the median (and 90th percentile) of phrase searches with two filters (an agent
  and the last 90 days; a role and a language; an item verdict and a queue), each phrase run
  once as a warm-up;
- **size**: the pages the search tables and their indexes take against the rest of the store
  (SQLite's ``dbstat``: the store as written, no free pages);
- **indexing cost**: the time :func:`qa.search.index.index_call` takes per call (on the first
  2,000 calls, into an empty store), against the time the whole save takes and against a
  nightly call's processing time.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlite_utils

from calldata import (
    Call,
    Direction,
    ItemResult,
    Role,
    Scorecard,
    Transcript,
    Turn,
    Verdict,
    Word,
)
from calldata.transcript import Metrics, RoleMetrics
from qa.db import open_db
from qa.results.store import save_call, save_results
from qa.search.index import index_call
from qa.search.query import SearchQuery, search

__all__ = ["SearchBenchReport", "generate_store", "run_search_bench"]

_EN_AGENT = [
    "thank you for calling {company}, my name is {name}, how can I help you today",
    "can I have your account number please",
    "I have issued a refund of {amount} dollars to your card",
    "let me check the status of your order {order}",
    "I understand your frustration and I am sorry for the trouble",
    "your subscription to the {plan} plan has been cancelled",
    "is there anything else I can help you with",
    "I will transfer you to the billing department now",
    "the technician will arrive on {day} between nine and twelve",
    "please hold while I look into the {product} issue",
    "your new {product} will ship within three business days",
    "thank you for your patience, have a great day",
]
_EN_CUSTOMER = [
    "hi I am calling about my {product}",
    "I want a refund, the {product} stopped working after a week",
    "my order {order} never arrived",
    "I would like to cancel my subscription",
    "this is the third time I am calling about this",
    "I want to speak to a manager",
    "the bill for {month} is higher than usual",
    "yes my account number is {order}",
    "okay that sounds good, thank you",
    "can you send me an email confirmation",
    "the internet keeps dropping every evening",
    "I am not happy with the service at all",
]
_ZH_AGENT = [
    "您好，欢迎致电{company}，我是{name}，请问有什么可以帮您",
    "请提供一下您的订单号",
    "已经为您办理退款{amount}元，三个工作日内到账",
    "非常抱歉给您带来不便",
    "我帮您查询一下{product}的物流信息",
    "您的{plan}套餐已经取消",
    "请问还有其他可以帮您的吗",
    "感谢您的耐心等待，祝您生活愉快",
]
_ZH_CUSTOMER = [
    "你好，我的{product}出问题了",
    "我要投诉你们的服务",
    "我想退款，这个{product}用了一周就坏了",
    "我的订单{order}一直没有收到",
    "我要取消我的套餐",
    "这已经是我第三次打电话了",
    "让你们经理来跟我说",
    "这个月的账单比平时高很多",
    "好的，谢谢",
    "网络每天晚上都会断",
]
_SLOTS = {
    "company": ["Acme", "Globex", "Initech", "Umbrella"],
    "name": ["Anna", "Ben", "Chen", "Dana", "Li Wei", "Omar"],
    "amount": ["twenty", "forty five", "ninety nine", "120"],
    "order": ["A1234", "B7781", "C2210", "D9034"],
    "plan": ["basic", "premium", "family"],
    "day": ["Monday", "Tuesday", "Friday"],
    "product": ["router", "phone", "tablet", "modem", "headset"],
    "month": ["March", "June", "October"],
}
_ZH_SLOTS = {
    "company": ["安信", "华通", "联科"],
    "name": ["小王", "小李", "小张"],
    "amount": ["二十", "九十九", "一百二"],
    "order": ["A1234", "B7781", "C2210"],
    "plan": ["基础", "家庭", "高级"],
    "product": ["路由器", "手机", "平板", "耳机"],
}
#: phrases searched, each with two filters (see :func:`_queries`)
PHRASES = (
    "refund",
    "cancel my subscription",
    "speak to a manager",
    "order never arrived",
    "投诉",
    "退款",
    "取消我的套餐",
    "third time",
)
ITEMS = ("greeting", "verify_identity", "empathy", "resolution", "closing")


@dataclass(frozen=True)
class SearchBenchReport:
    calls: int
    turns: int
    generate_seconds: float
    store_bytes: int  # in use, with the index
    store_bytes_without_index: int
    index_ms_per_call: float  # index_call alone (index_cost)
    save_ms_per_call: float  # the whole save (save_call + save_results), index included
    queries: int
    median_ms: float
    p90_ms: float
    per_phrase_ms: dict[str, float]

    @property
    def index_share_of_store(self) -> float:
        return self.store_bytes / self.store_bytes_without_index - 1

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = asdict(self)
        data["index_share_of_store"] = round(self.index_share_of_store, 4)
        return data


def _fill(template: str, slots: dict[str, list[str]], rng: random.Random) -> str:
    return template.format(**{key: rng.choice(values) for key, values in slots.items()})


def _turns(rng: random.Random, language: str) -> list[Turn]:
    count = rng.randint(12, 28)  # about 20 turns a call
    agent, customer, slots = (
        (_ZH_AGENT, _ZH_CUSTOMER, _ZH_SLOTS) if language == "zh" else
        (_EN_AGENT, _EN_CUSTOMER, _SLOTS)
    )  # fmt: skip
    turns, at = [], 0.0
    for index in range(count):
        role = Role.AGENT if index % 2 == 0 else Role.CUSTOMER
        text = _fill(rng.choice(agent if role == Role.AGENT else customer), slots, rng)
        pieces = list(text) if language == "zh" else text.split()
        length = max(1.0, len(pieces) * (0.25 if language == "zh" else 0.35))
        step = length / len(pieces)
        words = tuple(
            Word(start=round(at + i * step, 2), end=round(at + (i + 1) * step, 2), text=piece,
                 probability=0.9)
            for i, piece in enumerate(pieces)
        )  # fmt: skip
        turns.append(
            Turn(index=index, speaker="ch0" if role == Role.AGENT else "ch1", role=role,
                 start=round(at, 2), end=round(at + length, 2), text=text, confidence=0.9,
                 words=words)
        )  # fmt: skip
        at += length + rng.uniform(0.2, 2.0)
    return turns


def _call(rng: random.Random, number: int, first_day: date) -> tuple[Call, Transcript, Scorecard]:
    language = "zh" if rng.random() < 0.3 else "en"
    call_id = f"bench-{number:07d}"
    start = datetime.combine(first_day + timedelta(days=rng.randrange(365)), datetime.min.time())
    start = start.replace(tzinfo=UTC) + timedelta(seconds=rng.randrange(8 * 3600, 20 * 3600))
    agent = f"{1000 + rng.randrange(50)}"
    call = Call(
        call_id=call_id,
        recordings=(f"{start:%Y/%m/%d}/{call_id}.wav",),
        start=start,
        direction=Direction.INBOUND if rng.random() < 0.8 else Direction.OUTBOUND,
        queue=f"q{rng.randrange(5)}",
        agent=agent,
        agent_name=f"Agent {agent}",
        caller=f"+1415555{rng.randrange(10000):04d}",
    )
    turns = _turns(rng, language)
    duration = turns[-1].end + 1.0
    talk = {role: sum(t.end - t.start for t in turns if t.role == role) for role in Role}
    total = sum(talk.values()) or 1.0
    metrics = Metrics(
        duration=duration,
        by_role={
            role: RoleMetrics(talk_time=talk[role], talk_ratio=talk[role] / total, turns=sum(
                1 for t in turns if t.role == role))
            for role in (Role.AGENT, Role.CUSTOMER)
        },
        longest_silence=rng.uniform(0.5, 12.0),
        non_talk_time=max(0.0, duration - total),
        overtalk_count=rng.randrange(4),
        overtalk_duration=rng.uniform(0, 5),
    )  # fmt: skip
    transcript = Transcript(
        language=language,
        turns=tuple(turns),
        metrics=metrics,
        duration=duration,
        channel_mode="stereo",
        model="bench",
    )
    items = tuple(
        ItemResult(id=item, title=item, weight=1.0,
                   result=rng.choices([Verdict.PASS, Verdict.FAIL, Verdict.NA], [8, 2, 1])[0])
        for item in ITEMS
    )  # fmt: skip
    passed = sum(1 for i in items if i.result == Verdict.PASS)
    applicable = sum(1 for i in items if i.result != Verdict.NA) or 1
    score = round(100 * passed / applicable, 2)
    card = Scorecard(
        call_id=call_id,
        rubric_id="inbound-service",
        rubric_version="1",
        score=score,
        max_score=100.0,
        passed=score >= 80,
        items=items,
    )
    return call, transcript, card


def _generated(calls: int, seed: int) -> Iterator[tuple[Call, Transcript, Scorecard]]:
    rng = random.Random(seed)
    for number in range(calls):
        yield _call(rng, number, date(2025, 12, 1))


def generate_store(path: Path, calls: int, *, seed: int = 7) -> tuple[int, float, float]:
    """Make a store of ``calls`` generated calls at ``path`` (replacing it), each saved as the
    nightly run saves it; returns (turns, seconds, milliseconds per save)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = open_db(path)
    turns, saving, began = 0, 0.0, time.perf_counter()
    for call, transcript, card in _generated(calls, seed):
        save_started = time.perf_counter()
        save_call(db, call, Path("/bench"), "pending")
        save_results(db, call.call_id, transcript, [card])
        saving += time.perf_counter() - save_started
        turns += len(transcript.turns)
    db.close()
    return turns, time.perf_counter() - began, 1000 * saving / calls


def index_cost(folder: Path, calls: int = 2000, *, seed: int = 7) -> float:
    """Milliseconds :func:`qa.search.index.index_call` takes per call, on the first ``calls``
    generated calls indexed into an empty store in ``folder`` (a transaction per call, as the
    save has)."""
    path = folder / "search-index-cost.db"
    db = open_db(path)
    spent = 0.0
    for call, transcript, _ in _generated(calls, seed):
        began = time.perf_counter()
        with db.conn:
            index_call(db, call.call_id, transcript)
        spent += time.perf_counter() - began
    db.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return 1000 * spent / calls


def _queries(agents: list[str]) -> Iterator[tuple[str, SearchQuery]]:
    since = date(2026, 9, 1)  # the generated year's last 90 days
    for number, phrase in enumerate(PHRASES):
        chinese = not phrase.isascii()
        yield phrase, SearchQuery(text=phrase, agent=agents[number % len(agents)], since=since)
        yield phrase, SearchQuery(text=phrase, role="customer", language="zh" if chinese else "en")
        yield phrase, SearchQuery(text=phrase, items=("empathy=fail",), queue="q1")


#: What the search index adds to a store: its tables, their indexes, the calls-by-day index.
_INDEX_PARTS = "name like 'search\\_%' escape '\\' or name = 'idx_calls_start'"


def _sizes(db: sqlite_utils.Database) -> tuple[int, int]:
    """(the store's bytes in use, the search index's), from SQLite's page statistics."""
    total = db.execute("select sum(pgsize) from dbstat").fetchone()[0]
    index = db.execute(f"select sum(pgsize) from dbstat where {_INDEX_PARTS}").fetchone()[0]
    return int(total), int(index or 0)


def run_search_bench(path: Path, calls: int, *, reuse: bool = False) -> SearchBenchReport:
    """Generate (unless ``reuse`` and it exists) the store at ``path``, then measure."""
    if reuse and path.exists():
        db = open_db(path)
        turns = db.execute("select count(*) from search_turns").fetchone()[0]
        calls = db.execute("select count(*) from calls").fetchone()[0]
        db.close()
        seconds = save_ms = float("nan")
    else:
        turns, seconds, save_ms = generate_store(path, calls)
    index_ms = index_cost(path.parent, min(calls, 2000))
    db = open_db(path)
    with_index, index_bytes = _sizes(db)
    agents = [row[0] for row in db.execute("select distinct agent from calls order by agent")]
    timings: dict[str, list[float]] = {}
    every: list[float] = []
    for phrase, query in _queries(agents):
        search(db, query, masked=True)  # warm-up: the pages the query reads
        began = time.perf_counter()
        search(db, query, masked=True)
        elapsed = 1000 * (time.perf_counter() - began)
        timings.setdefault(phrase, []).append(elapsed)
        every.append(elapsed)
    db.close()
    without_index = with_index - index_bytes
    every.sort()
    return SearchBenchReport(
        calls=calls,
        turns=turns,
        generate_seconds=round(seconds, 1),
        store_bytes=with_index,
        store_bytes_without_index=without_index,
        index_ms_per_call=round(index_ms, 3),
        save_ms_per_call=round(save_ms, 3),
        queries=len(every),
        median_ms=round(statistics.median(every), 1),
        p90_ms=round(every[int(0.9 * (len(every) - 1))], 1),
        per_phrase_ms={p: round(statistics.median(t), 1) for p, t in timings.items()},
    )
