"""Scoring benchmark: throughput on stored transcripts, and precision/recall on the fixtures.

Usage::

    .venv/bin/python benchmarks/scoring_bench.py                 # both parts, shipped rubrics
    .venv/bin/python benchmarks/scoring_bench.py --calls 400 --only throughput
    .venv/bin/python benchmarks/scoring_bench.py --only accuracy

Throughput: a deterministic set of call transcripts shaped like the store's (JSON of
``calldata.Transcript`` with word timings, ~75 turns a call, English and Mandarin, inbound and
outbound, with realistic ASR slips and every turn text different), scored in one process on one
core with every rubric that applies. Reported twice: scoring alone (transcripts already parsed)
and parse + score (what ``qa rescore`` does per call). A separate warm-up set (another seed) runs
first, so one-off costs (loading OpenCC, pypinyin's dictionary, compiling the rubric) are not
counted, and no turn text of the timed set has been seen before.

Accuracy: every annotated transcript in ``tests/rubric_cases/transcripts`` (tuned fixtures) and
``tests/rubric_cases/heldout`` (held out: not used to write the phrase lists) scored with the
rubric it names; per item, precision and recall of ``fail`` (what a reviewer acts on) and
agreement on N/A; per flag, precision and recall of raising it.
"""

from __future__ import annotations

import argparse
import gc
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from calldata import (
    Call,
    Direction,
    HangupBy,
    Metrics,
    Role,
    RoleMetrics,
    Transcript,
    Turn,
    Word,
)
from qa.results.rescore import transcript_for_scoring
from scoring import (
    NormalizedTexts,
    Rubric,
    load_case,
    load_rubrics,
    normalize_text,
    normalize_texts,
    score_call,
    select_rubrics,
)
from sentences import SentenceVectors, encode_turns, load_encoder

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "rubric_cases" / "transcripts"
HELD_OUT = REPO / "tests" / "rubric_cases" / "heldout"

# ---- the synthetic store ----------------------------------------------------------------------

_EN_NAMES = ("Alice", "Bob", "Carol", "David", "Emma", "Frank", "Grace", "Henry")
_ZH_NAMES = ("王芳", "李娜", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "周敏")
_EN = {
    "open": (
        "Thank you for calling Acme Telecom, my name is {name}. How can I help you today?",
        "Good morning, Acne Telecom, this is {name} speaking. How may I help?",
        "Hello, welcome to Acme Telecom. You are speaking with {name}.",
        "Acme Telecom, {name} here. What can I do for you?",
    ),
    "agent": (
        "Let me pull up your account, it will take a moment.",
        "I can see a charge of {amount} dollars on the {day} of last month.",
        "Your current plan includes {n} gigabytes of data per month.",
        "I am checking the network status in your area right now.",
        "Could you restart the router and tell me what the lights show?",
        "The technician can come on {weekday} between {h} and {h2} o'clock.",
        "That fee is for the international calls you made to {country}.",
        "I will send you a text message with the details to the number ending in {n4}.",
        "Your contract ends on the {day} of {month}, after that it is month to month.",
        "The upgrade would cost {amount} dollars more per month.",
        "I understand, let me explain how the billing cycle works.",
        "Your balance right now is {amount} dollars and {n} cents.",
        "Please hold on while I check that with the billing team.",
        "Okay, I see the ticket number {n4}{n4} from {weekday}.",
    ),
    "customer": (
        "I was charged {amount} dollars and I do not know why.",
        "My internet keeps dropping every evening around {h} o'clock.",
        "Yes, the account is under my name, it is {name} {surname}.",
        "Can you tell me when my contract ends?",
        "The lights are green except the last one which is blinking.",
        "I travelled to {country} last month for work.",
        "Okay, that makes sense, thank you for explaining.",
        "How much would it cost to add another line?",
        "I am not sure, my wife usually handles the bills.",
        "Can the technician come on {weekday} instead?",
        "My phone number ends in {n4}.",
        "Alright, and will that change my monthly payment?",
        "Sorry, could you repeat that, the line is bad.",
        "I have been a customer for {n} years now.",
    ),
    "verify": (
        ("agent", "Before I change anything, can you tell me your service password?"),
        ("customer", "Yes, my service password is {word} {word2}."),
        ("agent", "Thank you, your identity is verified."),
    ),
    "change": (("agent", "I have updated your plan, it starts on the {day} of {month}."),),
    "complain": (
        ("customer", "This is the third time I am calling about this, I want to make a complaint."),
        ("agent", "I am very sorry about that, I will pass it to my supervisor."),
    ),
    "close": (
        "Is there anything else I can help you with? Please rate our service after the call. "
        "Thank you for calling, goodbye.",
        "Anything else today? You will get a short survey, thanks for calling Acme. Bye.",
    ),
    "bye": ("No, that's all, thank you. Goodbye.", "That's it, bye."),
    "sales_open": (
        (
            "agent",
            "Good afternoon, this is {name} from Acme Telecom. Am I speaking with Mr. {surname}?",
        ),
        ("customer", "Yes, speaking."),
        ("agent", "Do you have a few minutes? I'd like to tell you about an offer."),
        ("customer", "Sure, go ahead."),
    ),
    "sales_close": (
        (
            "agent",
            "We have a special offer, {n} gigabytes for {amount} dollars a month. The first "
            "month is free and the free trial ends on the {day} of {month}.",
        ),
        ("agent", "You can cancel any time by texting stop to {n4}."),
        ("agent", "Shall I activate it for you?"),
        ("customer", "Yes please, activate it."),
        ("agent", "I have activated it on your line. Thank you, have a nice day. Goodbye."),
    ),
    "sales_decline": (
        ("agent", "We have a special offer, {n} gigabytes for {amount} dollars a month."),
        ("customer", "No thanks, I'm not interested."),
        ("agent", "No problem. Thank you for your time, have a nice day. Goodbye."),
    ),
}
_ZH = {
    "open": (
        "您好，欢迎致电安科电信，我是{name}，请问有什么可以帮您？",
        "您好，安可电信，{n}号客服为您服务。",
        "你好，这里是安科电信，我是客服{name}。",
    ),
    "agent": (
        "好的，我帮您查询一下账户，请稍等。",
        "您上个月{day}号有一笔{amount}元的费用。",
        "您现在的套餐每月包含{n}G流量。",
        "我看一下您所在区域的网络情况。",
        "麻烦您重启一下路由器，看看指示灯是什么颜色。",
        "维修师傅可以{weekday}上午{h}点到{h2}点上门。",
        "这笔费用是您在{country}的国际漫游费。",
        "我会把详情用短信发到您尾号{n4}的手机上。",
        "您的合约到{month}月{day}号结束。",
        "升级的话每个月多{amount}元。",
        "您的余额现在是{amount}元。",
        "请您稍等，我跟账务部门确认一下。",
        "好的，工单号是{n4}{n4}。",
    ),
    "customer": (
        "我上个月被扣了{amount}块钱，不知道是什么费用。",
        "我家宽带每天晚上{h}点左右就断网。",
        "对，是我本人的号码，我叫{name}。",
        "我的合约什么时候到期？",
        "灯都是绿的，就最后一个在闪。",
        "我上个月去{country}出差了。",
        "哦，这样我明白了，谢谢。",
        "再办一张副卡要多少钱？",
        "我也不太清楚，平时都是我爱人交费。",
        "师傅能不能{weekday}来？",
        "我手机尾号是{n4}。",
        "那我每个月的月租会变吗？",
        "不好意思，刚才信号不好，您再说一遍。",
        "我用你们的号码{n}年了。",
    ),
    "verify": (
        ("agent", "为了您的账户安全，请先告诉我您的服务秘码。"),
        ("customer", "我的服务密码是{n4}。"),
        ("agent", "谢谢，身份验证通过。"),
    ),
    "change": (("agent", "已经成功为您办理了套餐变更，{month}月{day}号生效。"),),
    "complain": (
        ("customer", "我已经打了三次电话了，还是没有解决，我要投诉。"),
        ("agent", "非常抱歉给您带来不便，我会把您的问题转给经理。"),
    ),
    "close": (
        "请问还有其他可以帮您的吗？稍后请对我的服务进行评价，感谢您的来电，再见。",
        "还有别的问题吗？挂机后请给我一个满意度评价，谢谢，再见。",
    ),
    "bye": ("没有了，谢谢，再见。", "好的，拜拜。"),
    "sales_open": (
        ("agent", "您好，我是安科电信的客服{name}，请问您是机主本人吗？"),
        ("customer", "对，我是机主。"),
        ("agent", "耽误您三分钟时间给您介绍一个优惠活动，您现在方便吗？"),
        ("customer", "可以，你说吧。"),
    ),
    "sales_close": (
        ("agent", "这款流量包每月{amount}元，首月免费，免费体验期到{month}月{day}号结束。"),
        ("agent", "不想用的话可以随时发送退订到10086取消。"),
        ("agent", "请问需要为您开通吗？"),
        ("customer", "好的，我同意开通。"),
        ("agent", "已经为您开通成功，感谢您的接听，再见。"),
    ),
    "sales_decline": (
        ("agent", "这款流量包每月{amount}元，现在办理首月免费。"),
        ("customer", "不用了，我不需要。"),
        ("agent", "好的，打扰您了，祝您生活愉快，再见。"),
    ),
}
_SLOTS = {
    "en": {
        "surname": ("Smith", "Jones", "Brown", "Taylor", "Wilson"),
        "weekday": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"),
        "month": ("March", "April", "June", "September", "December"),
        "country": ("Canada", "Mexico", "France", "Japan", "Brazil"),
        "word": ("blue", "green", "silver", "happy", "old"),
        "word2": ("river", "tree", "house", "garden", "lake"),
    },
    "zh": {
        "weekday": ("周一", "周二", "周三", "周四", "周五"),
        "month": ("三", "四", "六", "九", "十二"),
        "country": ("日本", "泰国", "法国", "美国", "新加坡"),
    },
}


# What makes real ASR turns all different: fillers, restarts, dropped punctuation, misheard words.
_EN_FILLERS = ("um", "uh", "so", "okay so", "well", "yeah", "right", "you know")
_ZH_FILLERS = ("嗯", "那个", "就是", "呃", "对", "然后")
_EN_SLIPS = {"Acme": "Acne", "password": "pass word", "account": "a count", "bill": "build"}
_ZH_SLIPS = {"密码": "秘码", "安科": "安可", "投诉": "头诉", "评价": "平价", "账户": "帐户"}


_SALE_RATE = 0.4  # outbound calls that end in a sale (telemarketing converts far fewer)


def _asr(text: str, language: str, rng: random.Random) -> str:
    """The line as Whisper might write it: a filler, a slip, punctuation lost now and then."""
    fillers = _EN_FILLERS if language == "en" else _ZH_FILLERS
    if rng.random() < 0.5:
        filler = rng.choice(fillers)
        text = f"{filler.capitalize()}, {text}" if language == "en" else f"{filler}，{text}"
    for right, wrong in (_EN_SLIPS if language == "en" else _ZH_SLIPS).items():
        if right in text and rng.random() < 0.3:
            text = text.replace(right, wrong, 1)
    if rng.random() < 0.3:
        text = text.replace(",", "").replace("，", " ")
    if rng.random() < 0.5:
        words = text.split(" ")
        at = rng.randrange(len(words))
        words.insert(at, rng.choice(fillers))
        text = " ".join(words)
    return text


def _fill(template: str, language: str, rng: random.Random) -> str:
    slots = _SLOTS[language]
    values: dict[str, Any] = {
        "name": rng.choice(_EN_NAMES if language == "en" else _ZH_NAMES),
        "amount": rng.randint(5, 300),
        "n": rng.randint(2, 40),
        "n4": rng.randint(1000, 9999),
        "day": rng.randint(1, 28),
        "h": rng.randint(7, 11),
        "h2": rng.randint(12, 18),
        **{key: rng.choice(options) for key, options in slots.items()},
    }
    return _asr(template.format(**values), language, rng)


def _script(language: str, inbound: bool, rng: random.Random, turns: int) -> list[tuple[str, str]]:
    pools = _EN if language == "en" else _ZH
    if not inbound:  # a sales call: the opening and the offer around a long conversation
        opening = [(r, _fill(t, language, rng)) for r, t in pools["sales_open"]]
        ending = "sales_close" if rng.random() < _SALE_RATE else "sales_decline"
        closing = [(r, _fill(t, language, rng)) for r, t in pools[ending]]
        middle = _script(language, True, rng, turns - len(opening) - len(closing))[1:-2]
        return opening + middle + closing
    lines: list[tuple[str, str]] = [("agent", _fill(rng.choice(pools["open"]), language, rng))]
    middle: list[tuple[str, str]] = []
    while len(middle) < turns - 3:
        role = "customer" if len(middle) % 2 == 0 else "agent"
        middle.append((role, _fill(rng.choice(pools[role]), language, rng)))
    # Episodes that the rubrics look for, at random places in the middle.
    for episode in ("verify", "change", "complain"):
        if rng.random() < 0.5:
            at = rng.randint(1, max(1, len(middle) - 4))
            middle[at:at] = [(r, _fill(t, language, rng)) for r, t in pools[episode]]
    lines += middle
    lines.append(("agent", _fill(rng.choice(pools["close"]), language, rng)))
    lines.append(("customer", _fill(rng.choice(pools["bye"]), language, rng)))
    return lines


def _words(text: str, start: float, end: float, language: str) -> tuple[Word, ...]:
    tokens = text.split() if language == "en" else [c for c in text if not c.isspace()]
    step = (end - start) / max(1, len(tokens))
    return tuple(
        Word(start=start + i * step, end=start + (i + 1) * step, text=token, probability=0.9)
        for i, token in enumerate(tokens)
    )


def make_call(index: int, rng: random.Random) -> tuple[Call, Transcript]:
    """One synthetic call: metadata and a transcript with words, as the speech layer stores it."""
    language = rng.choice(("en", "zh"))
    inbound = rng.random() < 0.7
    lines = _script(language, inbound, rng, turns=rng.randint(55, 95))
    turns, clock = [], 0.0
    per_char = 0.065 if language == "en" else 0.22
    for position, (role, text) in enumerate(lines):
        length = max(0.6, len(text) * per_char)
        turns.append(
            Turn(
                index=position,
                speaker="ch1" if role == "agent" else "ch0",
                role=Role(role),
                start=round(clock, 2),
                end=round(clock + length, 2),
                text=" " + text if language == "en" else text,
                confidence=round(rng.uniform(0.6, 0.98), 3),
                words=_words(text, clock, clock + length, language),
            )
        )
        clock += length + rng.uniform(0.2, 2.5)
    agent_time = sum(t.end - t.start for t in turns if t.role is Role.AGENT)
    talk = sum(t.end - t.start for t in turns)
    metrics = Metrics(
        duration=clock,
        by_role={
            Role.AGENT: RoleMetrics(talk_time=agent_time, talk_ratio=agent_time / talk),
            Role.CUSTOMER: RoleMetrics(
                talk_time=talk - agent_time, talk_ratio=1 - agent_time / talk
            ),
        },
        longest_silence=round(rng.uniform(1, 40), 1),
    )
    transcript = Transcript(
        language=language,
        turns=tuple(turns),
        metrics=metrics,
        duration=clock,
        channel_mode="stereo",
        model="whisper-base",
    )
    call = Call(
        call_id=f"bench-{index}",
        recordings=(f"bench-{index}.wav",),
        start=datetime(2026, 11, 20, tzinfo=UTC) + timedelta(minutes=index),
        direction=Direction.INBOUND if inbound else Direction.OUTBOUND,
        queue="600" if language == "en" else "601",
        hangup_by=rng.choice((HangupBy.CUSTOMER, HangupBy.CUSTOMER, HangupBy.AGENT)),
    )
    return call, transcript


def make_store(count: int, seed: int) -> list[tuple[Call, str, bytes, str]]:
    """``count`` calls as the store holds them: the Call, the transcript's JSON, its sentence
    vectors and its normalised turn texts (made here, as the pipeline does when it processes a
    call)."""
    rng = random.Random(seed)
    encoder = load_encoder()
    return [
        (
            call,
            transcript.model_dump_json(),
            encode_turns(encoder, [(t.index, t.text) for t in transcript.turns]).to_bytes(),
            normalize_texts(t.text for t in transcript.turns).to_json(),
        )
        for call, transcript in (make_call(i, rng) for i in range(count))
    ]


# ---- throughput -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Throughput:
    calls: int
    turns: int
    scorecards: int
    score_seconds: float
    parse_seconds: float
    by_kind: dict[str, tuple[int, float]]  # "en inbound" → (calls, scoring seconds)

    @property
    def calls_per_second(self) -> float:
        return self.calls / self.score_seconds

    @property
    def calls_per_second_with_parse(self) -> float:
        return self.calls / (self.score_seconds + self.parse_seconds)


Parsed = tuple[Call, Transcript, SentenceVectors, NormalizedTexts]


def load_stored(stored: tuple[Call, str, bytes, str]) -> Parsed:
    """A stored call read back as ``qa rescore`` reads it (see :func:`make_store`)."""
    call, text, blob, normalized = stored
    return (
        call,
        transcript_for_scoring(text),
        SentenceVectors.from_bytes(blob),
        NormalizedTexts.from_json(normalized),
    )


def _score_all(rubrics: list[Rubric], parsed: list[Parsed]) -> int:
    cards = 0
    for call, transcript, vectors, normalized in parsed:
        for rubric in select_rubrics(rubrics, call, transcript.language):
            score_call(rubric, transcript, call, vectors=vectors, normalized=normalized)
            cards += 1
    return cards


def measure_throughput(rubrics: list[Rubric], count: int, seed: int = 7) -> Throughput:
    """Load and score ``count`` synthetic stored calls one by one, as ``qa rescore`` does, after
    a warm-up on 40 others; CPU time of this process, loading and scoring apart."""
    _score_all(rubrics, [load_stored(stored) for stored in make_store(40, seed + 1000)])
    store = make_store(count, seed)
    normalize_text.cache_clear()  # no turn text of the timed set counts as seen before
    gc.collect()
    parse_seconds = score_seconds = 0.0
    cards = turns = 0
    by_kind: dict[str, tuple[int, float]] = {}
    for stored in store:
        started = time.process_time()
        parsed = load_stored(stored)
        loaded = time.process_time()
        cards += _score_all(rubrics, [parsed])
        scored = time.process_time()
        parse_seconds += loaded - started
        score_seconds += scored - loaded
        call, transcript, *_ = parsed
        turns += len(transcript.turns)
        kind = f"{transcript.language} {call.direction.value}"
        calls, seconds = by_kind.get(kind, (0, 0.0))
        by_kind[kind] = (calls + 1, seconds + scored - loaded)
    return Throughput(
        calls=count,
        turns=turns,
        scorecards=cards,
        score_seconds=score_seconds,
        parse_seconds=parse_seconds,
        by_kind=dict(sorted(by_kind.items())),
    )


# ---- accuracy on the annotated fixtures ---------------------------------------------------------


@dataclass
class Tally:
    """Agreement of one item or flag with the annotations; positive = fail / raised."""

    rubric: str
    name: str
    cases: int = 0
    agree: int = 0
    true_pos: int = 0
    false_pos: int = 0
    false_neg: int = 0
    positives: int = 0

    @property
    def precision(self) -> float | None:
        found = self.true_pos + self.false_pos
        return self.true_pos / found if found else None

    @property
    def recall(self) -> float | None:
        return self.true_pos / self.positives if self.positives else None


@dataclass
class Accuracy:
    transcripts: int
    tallies: dict[tuple[str, str], Tally]
    misses: list[str]  # "file: item expected → got"


def measure_accuracy(rubrics: list[Rubric], folder: Path = FIXTURES) -> Accuracy:
    """Score every annotated transcript in ``folder``; tally each item (fail) and flag (raised,
    and severity), and list every disagreement."""
    by_id = {rubric.id: rubric for rubric in rubrics}
    tallies: dict[tuple[str, str], Tally] = {}
    misses: list[str] = []
    paths = sorted(folder.glob("*.yaml"))
    for path in paths:
        case = load_case(path)
        rubric = by_id[case.rubric]
        card = score_call(rubric, case.transcript, case.call)
        expected = case.expected
        for item in card.items:
            tally = tallies.setdefault((rubric.id, item.id), Tally(rubric.id, item.id))
            want, got = expected["items"][item.id], item.result.value
            _count(tally, want == "fail", got == "fail", want == got)
            if want != got:
                misses.append(f"{path.stem}: {item.id} {want} → {got} ({item.reason[:90]})")
        raised = {flag.id: flag.severity for flag in card.flags}
        for flag in rubric.flags:
            tally = tallies.setdefault((rubric.id, f"flag {flag.id}"), Tally(rubric.id, flag.id))
            want, got = expected["flags"].get(flag.id), raised.get(flag.id)
            _count(tally, want is not None, got is not None, want == got)
            if want != got:
                misses.append(f"{path.stem}: flag {flag.id} {want or '-'} → {got or '-'}")
    return Accuracy(len(paths), tallies, misses)


def _count(tally: Tally, want: bool, got: bool, same: bool) -> None:
    tally.cases += 1
    tally.agree += same
    tally.positives += want
    tally.true_pos += want and got
    tally.false_pos += got and not want
    tally.false_neg += want and not got


# ---- report ---------------------------------------------------------------------------------


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=400, help="synthetic calls to time")
    parser.add_argument("--rubrics", type=Path, default=REPO / "rubrics")
    parser.add_argument("--only", choices=("throughput", "accuracy"))
    args = parser.parse_args()
    rubrics = load_rubrics(args.rubrics)
    if args.only != "accuracy":
        result = measure_throughput(rubrics, args.calls)
        print(f"throughput: {result.calls} calls, {result.turns / result.calls:.0f} turns a call, "
              f"{result.scorecards} scorecards, one process, CPU time")  # fmt: skip
        print(f"  scoring:         {result.calls_per_second:7.0f} calls/s "
              f"({1000 * result.score_seconds / result.calls:.2f} ms a call)")  # fmt: skip
        print(f"  load + scoring:  {result.calls_per_second_with_parse:7.0f} calls/s "
              f"(loading {1000 * result.parse_seconds / result.calls:.2f} ms a call)")  # fmt: skip
        for kind, (calls, seconds) in result.by_kind.items():
            print(f"  {kind:<12} {calls:>4} calls  {calls / seconds:7.0f} calls/s "
                  f"({1000 * seconds / calls:.2f} ms a call)")  # fmt: skip
    if args.only != "throughput":
        for title, folder in (("annotated fixtures (tuned)", FIXTURES), ("held-out", HELD_OUT)):
            _print_accuracy(title, measure_accuracy(rubrics, folder))


def _print_accuracy(title: str, accuracy: Accuracy) -> None:
    verdicts = sum(tally.cases for tally in accuracy.tallies.values())
    agree = sum(tally.agree for tally in accuracy.tallies.values())
    print(f"{title}: {accuracy.transcripts} transcripts, {agree} of {verdicts} verdicts agree "
          "(positive: item fails / flag raised)")  # fmt: skip
    print(f"  {'rubric':<16} {'item or flag':<24} {'cases':>5} {'agree':>6} "
          f"{'pos':>4} {'prec':>5} {'recall':>6}")  # fmt: skip
    for (rubric, name), tally in accuracy.tallies.items():
        print(f"  {rubric:<16} {name:<24} {tally.cases:>5} {tally.agree:>6} "
              f"{tally.positives:>4} {_ratio(tally.precision):>5} "
              f"{_ratio(tally.recall):>6}")  # fmt: skip
    for miss in accuracy.misses:
        print(f"  miss: {miss}")


if __name__ == "__main__":
    main()
