"""The shipped phrase libraries on single sentences: the ways people say a thing match, and the
near-misses that look like it (a time of day, a family member answering, a homophone of an
insult, 开车 for 开) do not.

Each sentence is one turn scored with a rubric made of one flag per library, so the library's
own ``exclude`` lists apply exactly as they do in the shipped rubrics.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from calldata import Call, Direction, Role, Transcript, Turn
from scoring import Rubric, load_phrase_libraries, load_rubric, score_call

REPO = Path(__file__).resolve().parents[2]
PHRASES = REPO / "rubrics" / "phrases"

# (language, library, sentence, matches?)
CASES = [
    # greeting: a bare time-of-day greets; a time of day in a sentence does not
    ("en", "greeting", "Morning! Acme Telecom, how can I help?", True),
    ("en", "greeting", "Afternoon, you're through to billing.", True),
    ("en", "greeting", "You've reached the Acme help desk.", True),
    ("en", "greeting", "Thanks for holding, this is Jo.", True),
    ("en", "greeting", "The engineer can come tomorrow morning.", False),
    ("en", "greeting", "Is a Saturday afternoon appointment okay?", False),
    ("zh", "greeting", "感谢您的耐心等待，安科电信。", True),
    # satisfaction rating
    ("en", "satisfaction_rating", "Please rate today's call when the text comes.", True),
    ("en", "satisfaction_rating", "We'd love your feedback on the survey.", True),
    ("en", "satisfaction_rating", "Thanks for your feedback, I'll pass it on.", False),
    ("zh", "satisfaction_rating", "挂机后麻烦给我打个分。", True),
    ("zh", "satisfaction_rating", "满意请按1。", True),
    # empathy, and "I don't understand" is not understanding
    ("en", "empathy", "I completely understand, that sounds stressful.", True),
    ("en", "empathy", "I don't understand what you mean.", False),
    ("zh", "empathy", "我完全能理解，您先别着急。", True),
    # forbidden wording, and the offers of help that look like it
    ("en", "forbidden", "There's nothing I can do about that.", True),
    ("en", "forbidden", "That's your problem, not mine.", True),
    ("en", "forbidden", "That's not your fault at all.", False),
    ("en", "forbidden", "Is there nothing else I can do for you?", False),
    ("zh", "forbidden", "这个我也没办法。", True),
    ("zh", "forbidden", "您问我，我问谁？", True),
    ("zh", "forbidden", "不好意思，我这边没办法听清您的声音。", False),
    ("zh", "forbidden", "您说了好几次了，真的很抱歉。", False),
    # strong language, and its look-alikes
    ("en", "strong_negative", "This whole company is a complete joke.", True),
    ("en", "strong_negative", "That's daylight robbery.", True),
    ("en", "strong_negative", "Ha, I was only joking.", False),
    ("en", "strong_negative", "I got a scam text yesterday, is it you?", False),
    ("en", "strong_negative", "Have you got a couple of minutes?", False),
    ("zh", "strong_negative", "你们这就是抢钱！", True),
    ("zh", "strong_negative", "黑心运营商，什么玩意儿。", True),
    ("zh", "strong_negative", "我要去市场监督管理局问问。", False),
    ("zh", "strong_negative", "我的手机被抢了，要挂失。", False),
    ("zh", "strong_negative", "我家老人有病住院了。", False),
    # complaints, regulators, repeat contact, do-not-call
    ("en", "complaint", "Let me speak to someone more senior.", True),
    ("zh", "complaint", "我要去工信部投诉你们！", True),  # 部投诉 sounds like 不投诉
    ("zh", "complaint", "算了，我就不投诉了。", False),
    ("en", "regulator_or_media", "I'm reporting you to Trading Standards.", True),
    ("zh", "regulator_or_media", "我要打315。", True),
    ("zh", "regulator_or_media", "我这个月消费了315元。", False),
    ("en", "repeat_contact", "I've already called twice about this.", True),
    ("zh", "repeat_contact", "这个问题我反映了好几次了。", True),
    ("en", "do_not_call", "Please stop pestering me.", True),
    ("en", "do_not_call", "Don't call me at work, try my mobile.", False),
    ("zh", "do_not_call", "以后不要再联系我了。", True),
    # outbound: holder check, a family member answering, permission, consent
    ("en", "holder_check", "Am I speaking with the account owner?", True),
    ("zh", "holder_check", "请问您是这个号码的机主吗？", True),
    ("en", "holder_confirmed", "This is his wife speaking.", False),
    ("zh", "holder_confirmed", "这是我妈的手机。", False),
    ("en", "permission_ask", "Have you got a couple of minutes?", True),
    ("en", "permission_ask", "Is this a bad time?", True),
    ("zh", "permission_ask", "打扰您一下，现在方便吗？", True),
    ("en", "explicit_consent", "Yes, go for it.", True),
    ("en", "explicit_consent", "Sure, sounds good.", True),
    ("en", "explicit_consent", "I would never go for it.", False),
    ("en", "explicit_consent", "Absolutely not.", False),
    ("zh", "explicit_consent", "那就这么定了。", True),
    ("zh", "explicit_consent", "我在高速上开车呢。", False),
    ("zh", "explicit_consent", "我不想办理。", False),
    ("zh", "explicit_consent", "我要了解一下价格。", False),
    ("zh", "service_opened", "已经给您加上了。", True),
    ("zh", "service_opened", "您愿意开通吗？", False),
    ("zh", "service_opened", "现在可以开通吗？", False),
    ("en", "trial_end", "After the first three months it's twelve dollars a month.", True),
    ("zh", "hedge", "我跟家里人商量一下。", True),
    ("zh", "impaired", "我在高速上呢。", True),
]


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Rubric:
    """A rubric with one flag per library used above (any speaker)."""
    libraries = load_phrase_libraries(sorted(PHRASES.glob("*.yaml")))
    names = sorted({library for _, library, _, _ in CASES})
    rubric = {
        "id": "phrase-probe",
        "version": "1",
        "title": "One flag per phrase library",
        "pass_mark": 0,
        "items": [
            {"id": "always", "title": "Always", "weight": 1, "check": {"meta": {"queue": "x"}}}
        ],
        "flags": [
            {"id": name, "title": name, "when": {"phrase": {"role": "any", "library": name}}}
            for name in names
        ],
    }
    path = tmp_path_factory.mktemp("probe") / "probe.yaml"
    path.write_text(yaml.safe_dump(rubric), encoding="utf-8")
    return load_rubric(path, libraries)


def _raised(rubric: Rubric, language: str, sentence: str) -> set[str]:
    turn = Turn(
        index=0, speaker="ch0", role=Role.CUSTOMER, start=0.0, end=3.0, text=sentence,
        confidence=0.9,
    )  # fmt: skip
    transcript = Transcript(language=language, turns=(turn,), duration=3.0, channel_mode="mono")
    call = Call(
        call_id="probe",
        recordings=("probe.wav",),
        start=datetime(2026, 11, 20, tzinfo=UTC),
        direction=Direction.INBOUND,
    )
    return {flag.id for flag in score_call(rubric, transcript, call).flags}


@pytest.mark.parametrize(
    ("language", "library", "sentence", "matches"),
    CASES,
    ids=[f"{library}-{'yes' if m else 'no'}-{i}" for i, (_, library, _, m) in enumerate(CASES)],
)
def test_library_matches_what_people_say_and_not_its_near_misses(
    probe: Rubric, language: str, library: str, sentence: str, matches: bool
) -> None:
    assert (library in _raised(probe, language, sentence)) is matches, sentence
