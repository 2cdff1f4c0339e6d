"""What a speaker says that shows they are the agent or the customer (English and Mandarin).

Agents and customers do different things in a service call, whoever opens it: the agent greets
for the company, offers help, asks for the caller's details, says a booking or change is done,
thanks them for holding, answers thanks ("you're welcome", 不客气) and wishes them well at the
end; the customer says what they need ("I'd like to", 我想), asks for something for themselves
("can you help me", 帮我), talks about their own account and gives their details when asked.
Each of those acts is a phrase list here; :func:`collect_evidence` counts, per speaker, the turns
that show each act (at most :data:`_TURNS_PER_ACT` per act, so one repeated habit cannot outweigh
everything else) and the reasons, which ``asr.roles.assign_roles`` weighs.

Phrases are matched on normalised text, fuzzily for longer English phrases (ASR misspellings),
and Mandarin by toneless pinyin syllables (ASR errors there are mostly homophones). The lists
were written from how service calls go and checked on the development halves of
``benchmarks/dialogues`` only (``benchmarks/roles_bench.py``); never from a held-out dialogue.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from pypinyin import lazy_pinyin
from rapidfuzz import fuzz

from calldata import Role, Turn

# A greeting for the company, said in a speaker's first turns (weight 2 there, 1 elsewhere).
GREETING_PHRASES: tuple[str, ...] = (
    "thank you for calling",
    "thanks for calling",
    "welcome to",
    "you've reached",
    "you have reached",
    "欢迎致电",
    "欢迎来电",
    "很高兴为您服务",
)

#: agent acts, each a name and its phrases (weight 1 per turn that shows it)
AGENT_ACTS: dict[str, tuple[str, ...]] = {
    "offers help": (
        "how can i help",
        "how may i help",
        "how can i assist",
        "how may i assist",
        "what can i do for you",
        "anything else i can",
        "is there anything else",
        "happy to help",
        "glad to help",
        "i can help you",
        "有什么可以帮您",
        "有什么可以帮到您",
        "有什么能帮您",
        "还有其他可以帮您",
        "为您服务",
    ),
    "asks for the caller's details": (
        "can i have your",
        "may i have your",
        "could i have your",
        "can i get your",
        "could i get your",
        "could you provide your",
        "can you provide your",
        "please provide",
        "could you confirm your",
        "can you confirm your",
        "verify your",
        "for security",
        "what is your name",
        "what's your name",
        "tell me your",
        "your account number",
        "your date of birth",
        "为了您的账户安全",
        "请提供",
        "请您提供",
        "请告诉我您的",
        "核实一下",
        "验证一下",
    ),
    "says it is done": (
        "has been successfully",
        "have been successfully",
        "has been booked",
        "has been confirmed",
        "has been submitted",
        "has been scheduled",
        "has been cancelled",
        "has been updated",
        "has been changed",
        "has been processed",
        "has been issued",
        "is confirmed",
        "is all done",
        "you are all set",
        "you're all set",
        "i have booked",
        "i've booked",
        "i have updated",
        "i've updated",
        "i have cancelled",
        "i've cancelled",
        "i have issued",
        "i've issued",
        "i have submitted",
        "i've submitted",
        "已为您",
        "已经为您",
        "已经帮您",
        "已帮您",
        "办理成功",
        "预订成功",
    ),
    "works on it for the caller": (
        "thank you for holding",
        "thanks for holding",
        "thank you for waiting",
        "thank you for your patience",
        "sorry for the wait",
        "bear with me",
        "let me check",
        "let me look",
        "i can see that",
        "for you",
        "would you like",
        "do you want me to",
        "shall i",
        "请您稍等",
        "请稍等",
        "感谢您的耐心等待",
        "让您久等了",
        "为您",
        "帮您",
        "给您",
        "推荐您",
        "符合您",
        "您可以",
    ),
    "apologises for the service": (
        "i am sorry but",
        "i'm sorry but",
        "i apologize",
        "i apologise",
        "sorry for the inconvenience",
        "unfortunately",
        "很抱歉",
        "非常抱歉",
        "抱歉",
    ),
    "answers thanks, wishes well": (
        "you're welcome",
        "you are welcome",
        "my pleasure",
        "have a nice day",
        "have a great day",
        "have a good day",
        "have a wonderful",
        "enjoy your",
        "thank you and goodbye",
        "rate our service",
        "survey",
        "不客气",
        "不用客气",
        "不用谢",
        "祝您",
        "感谢您的来电",
        "欢迎再次",
        "欢迎下次",
        "评价",
    ),
}

#: customer acts (weight 1 per turn that shows it)
CUSTOMER_ACTS: dict[str, tuple[str, ...]] = {
    "states a need": (
        "i need",
        "i want",
        "i'd like",
        "i would like",
        "i'm looking for",
        "i am looking for",
        "i'm calling about",
        "i am calling about",
        "i'm calling to",
        "i am calling to",
        "i was wondering",
        "i require",
        "i'm trying to",
        "i am trying to",
        "i wanted to",
        "i have a question",
        "我想",
        "我要",
        "我需要",
        "想找",
        "我找",
    ),
    "asks for something for themself": (
        "can you help me",
        "could you help me",
        "help me",
        "for me",
        "book me",
        "get me",
        "can i get a",
        "can i book",
        "can you check",
        "could you check",
        "帮我",
        "给我",
        "告诉我",
        "请帮",
        "麻烦你",
        "麻烦您",
    ),
    "talks about their own account": (
        "my account",
        "my bill",
        "my billing",
        "my card",
        "my credit card",
        "my plan",
        "my subscription",
        "my payment",
        "my refund",
        "my details",
        "my delivery",
        "my flight",
        "my pin",
        "my password",
        "my address",
        "my date of birth",
        "my phone",
        "my balance",
        "my order",
        "my reservation",
        "my booking",
        "my appointment",
        "我的账户",
        "我的手机",
        "我的话费",
        "我的密码",
        "我的订单",
        "我的套餐",
        "我的流量",
        "我的宽带",
    ),
    "thanks for the help": (
        "thank you for your help",
        "thanks for your help",
        "thanks for the help",
        "thank you so much",
        "that's all i need",
        "that is all i need",
        "that's all",
        "that will be all",
        "谢谢你",
        "谢谢您",
    ),
    "complains about the service": (
        "make a complaint",
        "speak to your manager",
        "your manager",
        "your service",
        "我要投诉",
        "你们的服务",
        "叫你们",
    ),
}

#: an act counts in at most this many of a speaker's turns
_TURNS_PER_ACT = 2
#: a greeting counts double in a speaker's first turns, where agents say it
_GREETING_TURNS = 2
#: an answer this short (words, or Han characters / 3) right after a request for details gives them
_SHORT_ANSWER = 12


@dataclass
class SpeakerEvidence:
    """Weighted evidence that one speaker is the agent, and that they are the customer."""

    agent: float = 0.0
    customer: float = 0.0
    reasons: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        """Agent evidence less customer evidence."""
        return self.agent - self.customer


#: one piece of evidence: which side it points to, the act, its weight, what was said
Act = tuple[Role, str, float, str]
_ASKS = "asks for the caller's details"
#: a name said in a greeting introduces the agent; said elsewhere, it is the caller's
_INTRODUCTION = re.compile(r"\b(my name is|this is|i am|i'm)\b|我是|我叫|工号")
_NAME_GIVEN = re.compile(r"\b(my name is|my name's|my full name is)\b|我叫|我的名字")


def collect_evidence(
    turns: Sequence[Turn], *, agent_name: str | None = None, agent_phrases: Sequence[str] = ()
) -> dict[str, SpeakerEvidence]:
    """Each speaker's evidence, from what they say and how they answer the other speaker:
    ``collect_evidence(turns, agent_name="Alice Smith")["SPEAKER_00"].score`` is that speaker's
    agent evidence less their customer evidence."""
    evidence: dict[str, SpeakerEvidence] = {}
    counted: dict[tuple[str, str], int] = {}  # turns that showed (speaker, act)
    spoken: dict[str, int] = {}  # turns each speaker has had
    asker: str | None = None  # who asked for details in the turn before
    for turn in turns:
        found = evidence.setdefault(turn.speaker, SpeakerEvidence())
        position = spoken.get(turn.speaker, 0)
        spoken[turn.speaker] = position + 1
        acts = _acts(turn.text, position < _GREETING_TURNS, agent_name, tuple(agent_phrases))
        answers = asker not in (None, turn.speaker) and _length(turn.text) <= _SHORT_ANSWER
        if answers and all(side is Role.CUSTOMER for side, *_ in acts):
            acts.append((Role.CUSTOMER, "gives their details when asked", 1.0, turn.text))
        for side, act, weight, said in acts:
            if counted.get((turn.speaker, act), 0) >= _TURNS_PER_ACT:
                continue
            counted[turn.speaker, act] = counted.get((turn.speaker, act), 0) + 1
            if side is Role.AGENT:
                found.agent += weight
            else:
                found.customer += weight
            sign = "+" if side is Role.AGENT else "-"
            found.reasons.append(f"{act}: {said!r} ({sign}{weight:g})")
        asker = turn.speaker if any(act == _ASKS for _, act, _, _ in acts) else None
    return evidence


def _acts(
    text: str, opening: bool, agent_name: str | None, agent_phrases: tuple[str, ...]
) -> list[Act]:
    """The acts one turn shows; ``opening``: it is among the speaker's first turns."""
    acts: list[Act] = [
        (Role.AGENT, f"greets ({phrase})", 2.0 if opening else 1.0, phrase)
        for phrase in GREETING_PHRASES
        if phrase_in(phrase, text)
    ]
    for side, table in ((Role.AGENT, AGENT_ACTS), (Role.CUSTOMER, CUSTOMER_ACTS)):
        for act, phrases in table.items():
            hit = _first_hit(phrases, text)
            if hit:
                acts.append((side, act, 1.0, hit))
    hit = _first_hit(agent_phrases, text)
    if hit:
        acts.append((Role.AGENT, "says a site phrase", 1.0, hit))
    if agent_name and introduces(agent_name, text):
        acts.append((Role.AGENT, "introduces themself by name", 3.0, agent_name))
    norm = _normalised(text)
    if opening and _INTRODUCTION.search(norm) and _greets_or_offers(text):
        acts.append((Role.AGENT, "introduces themself", 1.0, text))
    elif _NAME_GIVEN.search(norm):
        acts.append((Role.CUSTOMER, "gives their name", 1.0, text))
    return acts


def _greets_or_offers(text: str) -> bool:
    return bool(_first_hit(GREETING_PHRASES + AGENT_ACTS["offers help"], text))


def _first_hit(phrases: Sequence[str], text: str) -> str | None:
    return next((phrase for phrase in phrases if phrase_in(phrase, text)), None)


def _length(text: str) -> float:
    """Words, counting three Han characters as one."""
    norm = _normalised(text)
    return len(re.findall(r"[^\W\u3400-\u9fff]+", norm)) + sum(map(is_cjk, norm)) / 3


def introduces(agent_name: str, text: str) -> bool:
    """The speaker says the agent's (first or full) name as a self-introduction."""
    names = {agent_name.strip(), agent_name.split()[0]} if agent_name.strip() else set()
    norm = normalise(text)
    for name in filter(None, names):
        n = re.escape(normalise(name))
        patterns = (
            rf"(my name is|this is|i am|i'm|im) {n}\b",
            rf"\b{n} (speaking|here)\b",
            rf"我(是|叫){n}",
            rf"{n}为您服务",
        )
        if any(re.search(pattern, norm) for pattern in patterns):
            return True
        if _has_cjk(name) and f" {_pinyin(f'我是{name}')} " in f" {_pinyin(text)} ":
            return True
    return False


def phrase_in(phrase: str, text: str, *, threshold: float = 90.0) -> bool:
    """Whether ``phrase`` occurs in ``text``: exactly (English on word boundaries), or fuzzily
    for longer phrases (ASR misspellings), comparing Mandarin by toneless pinyin syllables (ASR
    errors there are homophones)."""
    p, t = normalise(phrase), _normalised(text)
    if not p or not t:
        return False
    if _has_cjk(p):
        if p in t:
            return True
        py_p = _pinyin(phrase)
        return bool(py_p) and f" {py_p} " in f" {_pinyin(text)} "
    if f" {p} " in f" {t} ":
        return True
    if len(p) < 8:
        return False
    return fuzz.partial_ratio(p, t) >= threshold


_PUNCT = re.compile(r"[^\w\s']+", re.UNICODE)


def normalise(text: str) -> str:
    """Lower case, punctuation gone, single spaces, no spaces next to CJK characters."""
    text = _PUNCT.sub(" ", unicodedata.normalize("NFKC", text).lower().replace("’", "'"))
    text = " ".join(text.split())
    return re.sub(r"(?<=[\u3400-\u9fff]) | (?=[\u3400-\u9fff])", "", text)


@lru_cache(maxsize=4096)
def _normalised(text: str) -> str:
    return normalise(text)


@lru_cache(maxsize=4096)
def _pinyin(text: str) -> str:
    """Toneless pinyin of the Han characters, one space between syllables."""
    return " ".join(lazy_pinyin("".join(ch for ch in text if is_cjk(ch))))


def is_cjk(ch: str) -> bool:
    """Whether ``ch`` is a Han character."""
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def _has_cjk(text: str) -> bool:
    return any(is_cjk(ch) for ch in text)
