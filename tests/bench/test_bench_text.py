"""The benchmark scoring: normalisation, edit distance, and who-said-which-line against a script."""

from __future__ import annotations

from calldata import Metrics, Role, Transcript, Turn
from qa.bench.dialogue import ScriptLine, count_names, score_dialogue
from qa.bench.text import align, chinese_chars, edit_distance, english_words


def test_english_words_read_numbers_as_ivr_prompts_do() -> None:
    assert english_words("Press 1, then #. Room 42-B [beep]") == [
        "press", "one", "then", "pound", "room", "forty", "two", "b",
    ]  # fmt: skip
    assert english_words("Call 555") == ["call", "five", "five", "five"]


def test_chinese_chars_are_simplified_without_punctuation() -> None:
    assert chinese_chars("對，這就是我。") == list("对这就是我")


def test_edit_distance_counts_substitutions_deletions_insertions() -> None:
    assert edit_distance(list("abcd"), list("abxd")) == 1
    assert edit_distance(list("abcd"), list("abd")) == 1
    assert edit_distance(list("abcd"), list("abcde")) == 1
    assert edit_distance([], list("ab")) == 2


def test_align_pairs_tokens_with_gaps_for_edits() -> None:
    assert align(list("abc"), list("axc")) == [(0, 0), (1, 1), (2, 2)]
    assert align(list("abc"), list("ac")) == [(0, 0), (1, None), (2, 1)]
    assert align(list("ac"), list("abc")) == [(0, 0), (None, 1), (1, 2)]


def _transcript(*turns: tuple[Role, str]) -> Transcript:
    return Transcript(
        language="en",
        turns=tuple(
            Turn(
                index=i,
                speaker=role.value,
                role=role,
                start=i,
                end=i + 0.9,
                text=text,
                confidence=1,
            )
            for i, (role, text) in enumerate(turns)
        ),
        metrics=Metrics(),
        duration=len(turns),
        channel_mode="mono",
    )


SCRIPT = [
    ScriptLine("agent", "Thank you for calling Acme Telecom."),
    ScriptLine("customer", "I want to cancel my plan."),
    ScriptLine("agent", "Okay, it is done."),
]


def test_each_script_line_is_judged_by_the_role_of_the_words_heard_for_it() -> None:
    right = _transcript(
        (Role.AGENT, "Thank you for calling at me telecom."),
        (Role.CUSTOMER, "I want to cancel my plan."),
        (Role.AGENT, "Okay, it is done."),
    )
    score = score_dialogue(SCRIPT, right, "en")
    assert (score.lines, score.lines_heard, score.lines_right) == (3, 3, 3)
    assert (score.errors, score.tokens) == (2, 16)  # "acme" → "at me": 1 substitution + 1 insertion
    # the customer's line attributed to the agent: one line wrong, and it is named
    merged = _transcript(
        (Role.AGENT, "Thank you for calling Acme Telecom. I want to cancel my plan."),
        (Role.AGENT, "Okay, it is done."),
    )
    score = score_dialogue(SCRIPT, merged, "en")
    assert (score.lines_heard, score.lines_right, score.errors) == (3, 2, 0)
    assert score.wrong_lines == ("customer: I want to cancel my plan. (heard as agent)",)


def test_a_line_nobody_heard_is_not_judged() -> None:
    score = score_dialogue(SCRIPT, _transcript((Role.AGENT, "Okay, it is done.")), "en")
    assert (score.lines_heard, score.lines_right) == (1, 1)


def test_company_names_are_counted_ignoring_case_and_spacing() -> None:
    assert count_names(["Acme Telecom"], "Thanks for calling ACME telecom, acme-telecom!") == 2
    assert count_names(["安科电信"], "欢迎致电安科 电信") == 1


def test_speaker_labels_are_mapped_to_the_script_speakers_before_judging() -> None:
    script = [
        ScriptLine("Diane", "Hello, this is Diane in New Jersey."),
        ScriptLine("Sheila", "And I'm Sheila in Texas."),
        ScriptLine("Diane", "Oh, nice."),
    ]
    transcript = _transcript(
        (Role.AGENT, "Hello, this is Diane in New Jersey."),
        (Role.CUSTOMER, "And I'm Sheila in Texas. Oh, nice."),  # the last line given to Sheila
    )
    score = score_dialogue(script, transcript, "en", by_speaker=True)
    assert (score.lines_heard, score.lines_right) == (3, 2)
    assert score.wrong_lines == ("Diane: Oh, nice. (heard as Sheila)",)
