"""Turns, roles, metrics and the hallucination guard on hand-built segments (no models)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from asr.metrics import compute_metrics, overtalk, speech_units
from asr.role_evidence import phrase_in
from asr.roles import (
    apply_roles,
    assign_roles,
    channel_turns,
    diarized_turns,
    speaker_at,
)
from asr.transcribe import SpeechSegment, TranscribeOptions, hallucination_reason
from calldata import Role, Turn, Word


@dataclass(frozen=True)
class Span:
    """A diarization segment, as asr.diarize.SpeakerSegment has it."""

    start: float
    end: float
    speaker: str


def words(text: str, start: float, step: float = 0.4, gap: float = 0.05) -> tuple[Word, ...]:
    """Whisper-style English words (leading spaces), one every ``step`` seconds."""
    return tuple(
        Word(
            start=start + i * step, end=start + (i + 1) * step - gap, text=f" {w}", probability=0.8
        )
        for i, w in enumerate(text.split())
    )


def segment(text: str, start: float, step: float = 0.4) -> SpeechSegment:
    ws = words(text, start, step)
    return SpeechSegment(start=ws[0].start, end=ws[-1].end, text=text, words=ws, avg_logprob=-0.3)


def turn(index: int, speaker: str, role: Role, start: float, end: float, text: str) -> Turn:
    return Turn(
        index=index, speaker=speaker, role=role, start=start, end=end, text=text, confidence=0.9
    )


# --- two channels ---------------------------------------------------------------------------


def test_channel_turns_take_roles_from_the_channel_map_and_interleave_by_time():
    customer = [segment("hi I want to change my address", 5.0)]
    agent = [segment("thank you for calling how can I help", 0.0), segment("sure", 7.0)]
    turns = channel_turns([customer, agent], (Role.CUSTOMER, Role.AGENT))
    assert [(t.speaker, t.role) for t in turns] == [
        ("ch1", Role.AGENT),
        ("ch0", Role.CUSTOMER),
        ("ch1", Role.AGENT),  # "sure" starts while the customer still talks: kept, not merged
    ]
    assert [t.index for t in turns] == [0, 1, 2]
    assert turns[1].text == "hi I want to change my address"
    assert turns[1].words[0].text == "hi"  # Whisper's leading space is gone
    assert turns[2].start < turns[1].end  # overlapping speech is kept on both sides


def test_one_speakers_segments_merge_into_one_turn_unless_someone_spoke_between():
    agent = [segment("let me check", 0.0), segment("your account now", 1.6), segment("done", 9.0)]
    customer = [segment("okay", 6.0)]
    turns = channel_turns([customer, agent], (Role.CUSTOMER, Role.AGENT))
    assert [t.text for t in turns] == ["let me check your account now", "okay", "done"]
    flipped = channel_turns([customer, agent], (Role.AGENT, Role.CUSTOMER))
    assert flipped[0].role == Role.CUSTOMER and flipped[1].role == Role.AGENT


def test_a_channel_segment_spanning_the_other_partys_turn_is_split_at_the_pause():
    # With VAD, Whisper hears the agent channel without the customer's turn in between and
    # writes both agent lines as one segment; its words show the 5 s pause.
    greeting, question = words("how can I help", 0.0), words("first your password please", 7.0)
    agent = [
        SpeechSegment(
            start=0.0,
            end=question[-1].end,
            text="how can I help first your password please",
            words=greeting + question,
            avg_logprob=-0.3,
        )
    ]
    customer = [segment("I want to change my address", 2.0)]
    turns = channel_turns([customer, agent], (Role.CUSTOMER, Role.AGENT))
    assert [(t.role, t.text) for t in turns] == [
        (Role.AGENT, "how can I help"),
        (Role.CUSTOMER, "I want to change my address"),
        (Role.AGENT, "first your password please"),
    ]
    assert turns[0].end < turns[1].start < turns[1].end < turns[2].start


# --- mono: words to diarization speakers ----------------------------------------------------


def test_a_segment_is_split_where_the_diarized_speaker_changes():
    # Whisper ran two speakers together into one segment; diarization changes at 2.0 s.
    seg = segment("how can I help yes I lost my card", 0.0)  # words every 0.4 s
    speakers = [Span(0.0, 2.0, "SPEAKER_00"), Span(2.0, 4.0, "SPEAKER_01")]
    turns = diarized_turns([seg], speakers)
    assert [(t.speaker, t.text) for t in turns] == [
        ("SPEAKER_00", "how can I help yes"),
        ("SPEAKER_01", "I lost my card"),
    ]
    assert turns[0].end <= turns[1].start
    assert all(t.role == Role.UNKNOWN for t in turns)


def test_words_go_to_the_speaker_with_the_greatest_overlap_or_the_nearest():
    speakers = [Span(0.0, 1.0, "SPEAKER_00"), Span(0.9, 3.0, "SPEAKER_01")]
    assert speaker_at(0.8, 1.5, speakers) == "SPEAKER_01"  # 0.5 s vs 0.2 s
    assert speaker_at(0.1, 0.6, speakers) == "SPEAKER_00"
    assert speaker_at(5.0, 5.5, speakers) == "SPEAKER_01"  # no overlap: nearest
    assert speaker_at(1.0, 1.1, []) == "SPEAKER_00"  # diarization found nobody


def test_one_word_of_boundary_jitter_does_not_make_a_turn():
    seg = segment("please hold on one moment", 0.0)  # words at 0, .4, .8, 1.2, 1.6
    speakers = [
        Span(0.0, 0.79, "SPEAKER_00"),
        Span(0.79, 1.05, "SPEAKER_01"),
        Span(1.05, 3, "SPEAKER_00"),
    ]
    turns = diarized_turns([seg], speakers)
    assert [(t.speaker, t.text) for t in turns] == [("SPEAKER_00", "please hold on one moment")]


def test_mandarin_words_join_without_spaces():
    ws = tuple(
        Word(start=i * 0.3, end=i * 0.3 + 0.25, text=ch, probability=0.7)
        for i, ch in enumerate("您好请问")
    )
    seg = SpeechSegment(start=0.0, end=1.15, text="您好请问", words=ws)
    (only,) = diarized_turns([seg], [Span(0, 2, "SPEAKER_00")])
    assert only.text == "您好请问"
    assert only.confidence == pytest.approx(0.7)


# --- roles by evidence ------------------------------------------------------------------------


def mono_turns(first: str, second: str, first_text: str, second_text: str) -> list[Turn]:
    return [
        turn(0, first, Role.UNKNOWN, 0.0, 4.0, first_text),
        turn(1, second, Role.UNKNOWN, 4.5, 8.0, second_text),
    ]


def test_the_greeting_speaker_is_the_agent_with_high_confidence():
    turns = mono_turns(
        "SPEAKER_00",
        "SPEAKER_01",
        "Thank you for calling Acme, my name is Alice, how can I help you today?",
        "Hi Alice, I would like to change my billing address.",
    )
    result = assign_roles(turns, agent_name="Alice Smith")
    assert result.mapping == {"SPEAKER_00": Role.AGENT, "SPEAKER_01": Role.CUSTOMER}
    assert result.confidence > 0.9
    assert any("introduces" in reason for reason in result.reasons)
    assert [t.role for t in apply_roles(turns, result.mapping)] == [Role.AGENT, Role.CUSTOMER]


def test_the_agent_is_found_even_when_the_customer_speaks_first():
    turns = mono_turns(
        "SPEAKER_00",
        "SPEAKER_01",
        "Hello? Hi Alice, I want to make a complaint about my bill.",
        "Thank you for calling, this is Alice speaking, how may I help you?",
    )
    result = assign_roles(turns, agent_name="Alice Smith", inbound=True)
    assert result.mapping["SPEAKER_01"] == Role.AGENT  # naming Alice is not introducing oneself
    assert result.mapping["SPEAKER_00"] == Role.CUSTOMER


def test_thin_or_contradictory_evidence_gives_low_confidence():
    clear = assign_roles(
        mono_turns("A", "B", "Thank you for calling, how can I help?", "I want to pay my bill.")
    )
    thin = assign_roles(mono_turns("A", "B", "Hello.", "Hello."))  # only who spoke first
    both = assign_roles(
        mono_turns("A", "B", "Thank you for calling, how can I help?", "Thank you for calling!")
    )
    assert thin.mapping["A"] == Role.AGENT  # inbound: the agent answers
    assert thin.confidence < 0.8 < clear.confidence
    assert both.confidence < clear.confidence
    outbound = assign_roles(mono_turns("A", "B", "Hello.", "Hello."), inbound=False)
    assert outbound.mapping["B"] == Role.AGENT


def test_mandarin_greeting_is_recognised_through_homophone_asr_errors():
    # Whisper wrote 欢迎指点 (zhǐdiǎn) for 欢迎致电 (zhìdiàn): same toneless pinyin.
    turns = mono_turns("A", "B", "你好，我想开通国际漫游。", "您好，欢迎指点安科电信，我是王芳。")
    result = assign_roles(turns, agent_name="王芳")
    assert result.mapping == {"A": Role.CUSTOMER, "B": Role.AGENT}
    assert result.confidence > 0.8
    assert phrase_in("欢迎致电", "欢迎指点安科电信")
    assert not phrase_in("欢迎致电", "我想开通国际漫游")


def test_a_single_speaker_is_the_agent_only_with_clear_evidence():
    alone = [turn(0, "SPEAKER_00", Role.UNKNOWN, 0, 3, "Thank you for calling, how can I help?")]
    assert assign_roles(alone).mapping == {"SPEAKER_00": Role.AGENT}
    assert assign_roles(alone).confidence <= 0.6
    unclear = [turn(0, "SPEAKER_00", Role.UNKNOWN, 0, 3, "Hello?")]
    assert assign_roles(unclear).mapping == {"SPEAKER_00": Role.UNKNOWN}
    assert assign_roles([]).mapping == {}


# --- metrics ----------------------------------------------------------------------------------


def test_talk_time_ratio_turns_and_first_last_speaker():
    turns = [
        turn(0, "ch1", Role.AGENT, 0.0, 6.0, "thank you for calling how can I help"),
        turn(1, "ch0", Role.CUSTOMER, 7.0, 9.0, "I lost my card"),
        turn(2, "ch1", Role.AGENT, 10.0, 12.0, "I will block it"),
    ]
    m = compute_metrics(turns, duration=15.0)
    agent, customer = m.by_role[Role.AGENT], m.by_role[Role.CUSTOMER]
    assert agent.talk_time == pytest.approx(8.0) and customer.talk_time == pytest.approx(2.0)
    assert agent.talk_ratio == pytest.approx(0.8) and customer.talk_ratio == pytest.approx(0.2)
    assert (agent.turns, customer.turns) == (2, 1)
    assert customer.speech_rate == pytest.approx(4 / (2.0 / 60))  # 4 words in 2 s: 120 wpm
    assert (m.first_speaker, m.last_speaker) == (Role.AGENT, Role.AGENT)
    assert m.non_talk_time == pytest.approx(5.0)  # 1 + 1 between turns, 3 after the last
    assert m.longest_silence == pytest.approx(1.0)
    assert m.silences == ()  # nothing over 3 s between speech; the tail does not count


def test_silences_over_the_threshold_include_pauses_inside_a_turn():
    held = Turn(
        index=1,
        speaker="ch1",
        role=Role.AGENT,
        start=3.0,
        end=12.0,
        text="let me check okay found it",
        confidence=0.9,
        words=words("let me check", 3.0) + words("okay found it", 9.0),  # 4.85 s pause
    )
    turns = [turn(0, "ch0", Role.CUSTOMER, 0.0, 2.0, "where is my order"), held]
    m = compute_metrics(turns, duration=12.0, silence_threshold=3.0)
    assert len(m.silences) == 1
    assert m.silences[0].start == pytest.approx(4.15) and m.silences[0].end == pytest.approx(9.0)
    assert m.longest_silence == pytest.approx(4.85)
    assert m.by_role[Role.AGENT].talk_time == pytest.approx(2.3)  # two 1.15 s stretches
    assert compute_metrics(turns, duration=12.0, silence_threshold=5.0).silences == ()


def test_overtalk_and_interruptions_are_credited_to_who_started_over_whom():
    turns = [
        turn(0, "ch1", Role.AGENT, 0.0, 5.0, "let me explain the new plan to you"),
        turn(1, "ch0", Role.CUSTOMER, 3.0, 7.0, "no I do not want it"),  # 2 s over the agent
        turn(2, "ch1", Role.AGENT, 6.5, 8.0, "okay"),  # 0.5 s over the customer
        turn(3, "ch0", Role.CUSTOMER, 7.95, 9.0, "right"),  # 0.05 s: a handover, not overtalk
    ]
    m = compute_metrics(turns, duration=10.0, min_overlap=0.2)
    assert m.overtalk_count == 2
    assert m.overtalk_duration == pytest.approx(2.5)
    assert m.by_role[Role.CUSTOMER].interruptions == 1
    assert m.by_role[Role.AGENT].interruptions == 1


def test_speech_rate_counts_words_in_english_and_characters_in_mandarin():
    assert speech_units("Thank you, I'm calling about 2 bills.") == 7
    assert speech_units("您好，请问有什么可以帮您？") == 11
    assert speech_units("我的 iPhone 坏了") == 5
    zh = [turn(0, "ch1", Role.AGENT, 0.0, 3.0, "您好，请问有什么可以帮您？")]
    assert compute_metrics(zh, 3.0).by_role[Role.AGENT].speech_rate == pytest.approx(220.0)


def test_no_speech_gives_empty_metrics():
    m = compute_metrics([], duration=30.0)
    assert m.duration == 30.0 and m.non_talk_time == 30.0
    assert m.first_speaker is None and m.overtalk_count == 0
    assert m.by_role[Role.AGENT].talk_time == 0.0


def test_overtalk_needs_two_different_speakers():
    assert overtalk([[(0.0, 2.0), (1.0, 3.0)]]) == []
    assert overtalk([[(0.0, 2.0)], [(1.0, 3.0)], [(1.5, 4.0)]]) == [(1.0, 3.0)]


# --- hallucination guard ----------------------------------------------------------------------


SPEECH = (np.sin(np.arange(16000 * 4) / 5.0) * 0.3).astype(np.float32)
OPTIONS = TranscribeOptions()


def whisper_segment(text: str, **scores: float) -> SpeechSegment:
    return SpeechSegment(start=0.5, end=3.0, text=text, **scores)


@pytest.mark.parametrize(
    ("text", "scores", "reason"),
    [
        ("Thank you for watching!", {}, "phantom subtitle phrase"),
        ("字幕由Amara.org社区提供", {}, "phantom subtitle phrase"),
        ("请不吝点赞 订阅 转发 打赏支持明镜与点点栏目", {}, "phantom subtitle phrase"),
        ("yes yes yes yes yes yes yes yes", {"compression_ratio": 3.1}, "runaway repetition"),
        ("Okay.", {"no_speech_prob": 0.9, "avg_logprob": -1.4}, "no speech"),
        ("...", {}, "no text"),
    ],
)
def test_whisper_inventions_are_dropped(text, scores, reason):
    assert hallucination_reason(whisper_segment(text, **scores), SPEECH, OPTIONS) == reason


def test_echoes_of_the_prompt_and_text_over_silence_are_dropped():
    prompt = "以下是普通话的句子。"
    echo = whisper_segment("以下是普通话的句子")
    assert hallucination_reason(echo, SPEECH, OPTIONS, prompt=prompt).startswith("echo")
    hot = whisper_segment("Acme Telecom, Springfield.")
    assert hallucination_reason(hot, SPEECH, OPTIONS, hotwords="Acme Telecom, Springfield")
    one_hotword = whisper_segment("Springfield.")  # said on its own, it is real speech
    assert hallucination_reason(one_hotword, SPEECH, OPTIONS, hotwords="Acme, Springfield") == ""
    quiet = np.zeros_like(SPEECH)
    assert (
        hallucination_reason(whisper_segment("Thank you."), quiet, OPTIONS) == "text over silence"
    )


def test_real_speech_is_kept():
    kept = whisper_segment("Thank you, goodbye.", no_speech_prob=0.3, avg_logprob=-0.4)
    assert hallucination_reason(kept, SPEECH, OPTIONS) == ""
