"""Text normalisation, phrase alternatives and the phrase matchers."""

from __future__ import annotations

import pytest

from scoring import MatchMode, PhraseIndex, expand_alternatives, match_phrase, normalize_text
from scoring.phrases import PhraseSyntaxError


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("Hello, WORLD!", "hello world"),
        ("  lots \t of\n space ", "lots of space"),
        ("ＡＢＣ１２３，全角！", "abc123 全角"),  # full-width → half-width, CJK punctuation gone
        ("我要投訴，找你們領導。", "我要投诉找你们领导"),  # Traditional → Simplified
        ("打一二三一五", "打12315"),  # Chinese digit strings
        ("幺三八零零", "13800"),  # 幺 is "one" in numbers
        ("稍等一下", "稍等一下"),  # a lone 一 is a word, not a digit
        ("one two three one five", "12315"),  # English digit words
        ("Twelve Oak Street", "12 oak street"),
        ("nineteen eighty", "1980"),
        ("twenty one", "21"),
        ("1-2-3 4", "1234"),  # digits split only by spaces/punctuation are one number
        ("I've updated it, you're set, it's done", "i have updated it you are set it is done"),
        ("Don't, can't, won't", "do not can not will not"),
        ("the customer’s bill", "the customers bill"),
        ("您好 歡迎 致電", "您好欢迎致电"),  # spaces between Chinese characters dropped
        ("Thank you, um, for calling. Uh, hmm, erm...", "thank you for calling"),  # fillers
        ("Umbrella, uhura, hummus, ermine", "umbrella uhura hummus ermine"),  # not fillers
        ("嗯，我同意，呃，开通吧", "我同意开通吧"),
    ],
)
def test_normalize_text(raw: str, normalised: str) -> None:
    assert normalize_text(raw) == normalised


def test_expand_alternatives() -> None:
    assert expand_alternatives("good {morning|afternoon}") == ("good morning", "good afternoon")
    assert expand_alternatives("i {have |}updated") == ("i have updated", "i updated")
    assert expand_alternatives("已{经|}为您{开通|取消}") == (
        "已经为您开通",
        "已经为您取消",
        "已为您开通",
        "已为您取消",
    )
    assert expand_alternatives("plain") == ("plain",)


@pytest.mark.parametrize("bad", ["good {morning", "good morning}", "a|b", "{a|{b}}", "{|}"])
def test_expand_alternatives_rejects_bad_syntax(bad: str) -> None:
    with pytest.raises(PhraseSyntaxError):
        expand_alternatives(bad)


def test_exact_matches_whole_words_only() -> None:
    assert match_phrase("hi", "hi there", MatchMode.EXACT) is not None
    assert match_phrase("hi", "this is it", MatchMode.EXACT) is None
    assert match_phrase("Service Password", "my service-password is", MatchMode.EXACT)


def test_exact_digits_are_whole_numbers_even_next_to_chinese() -> None:
    assert match_phrase("12315", "我就打12315", MatchMode.EXACT) is not None
    assert match_phrase("一二三一五", "我就打12315", MatchMode.EXACT) is not None
    assert match_phrase("12315", "我的号码是13812315000", MatchMode.EXACT) is None


def test_fuzzy_tolerates_asr_slips_in_english() -> None:
    hit = match_phrase("Acme Telecom", "Thank you for calling Acne Telecom.", MatchMode.FUZZY)
    assert hit is not None and 0.85 <= hit.similarity < 1.0
    assert hit.heard == "acne telecom"
    assert match_phrase("i have cancelled", "I've canceled the roaming", MatchMode.FUZZY)
    assert match_phrase("service password", "my service pass word is", MatchMode.FUZZY)


def test_fuzzy_does_not_match_short_phrases_inside_words_or_loose_lookalikes() -> None:
    assert match_phrase("hi", "this is it", MatchMode.FUZZY) is None
    assert match_phrase("bye", "maybe later", MatchMode.FUZZY) is None
    assert match_phrase("what do you want", "what do you need", MatchMode.FUZZY) is None
    assert match_phrase("acme telecom", "thank you for calling", MatchMode.FUZZY) is None


def test_fuzzy_threshold_is_respected() -> None:
    text = "thank you for calling acne telecom"
    assert match_phrase("acme telecom", text, MatchMode.FUZZY, 0.99) is None
    assert match_phrase("acme telecom", text, MatchMode.FUZZY, 0.8) is not None


@pytest.mark.parametrize(
    ("phrase", "heard"),
    [
        ("安科电信", "欢迎致电安可电信"),  # 科/可 ke
        ("服务密码", "我的服务秘码是8866"),  # 密/秘 mi
        ("投诉", "我要头书"),  # s/sh merged
        ("您好", "您號"),  # Traditional homophone
        ("工信部", "我去公信部反映"),  # gong/gong
    ],
)
def test_pinyin_matches_mandarin_homophones(phrase: str, heard: str) -> None:
    hit = match_phrase(phrase, heard, MatchMode.PINYIN)
    assert hit is not None
    assert hit.similarity == pytest.approx(0.95)


def test_pinyin_exact_characters_score_one() -> None:
    hit = match_phrase("服务密码", "请告诉我您的服务密码", MatchMode.PINYIN)
    assert hit is not None and hit.similarity == 1.0


def test_pinyin_rejects_different_sounds_and_single_syllables() -> None:
    assert match_phrase("投诉", "我要查询余额", MatchMode.PINYIN) is None
    assert match_phrase("您好", "你好", MatchMode.PINYIN) is None  # nin ≠ ni
    assert match_phrase("好", "号码", MatchMode.PINYIN) is None  # one syllable: exact only
    assert match_phrase("12315", "我的号码是13812315000", MatchMode.PINYIN) is None


def test_pinyin_matches_digit_words_and_digits_alike() -> None:
    assert match_phrase("打一二三一五", "再不解决我就打12315", MatchMode.PINYIN)
    assert match_phrase("12315", "我就打幺二三幺五", MatchMode.PINYIN)


def test_regex_runs_on_normalised_text() -> None:
    hit = match_phrase(r"\bpin (is )?\d{4}\b", "My PIN is four four seven one.", MatchMode.REGEX)
    assert hit is not None and hit.heard == "pin is 4471"
    assert match_phrase(r"^goodbye$", "Goodbye!", MatchMode.REGEX) is not None


def test_offsets_order_matches_within_a_turn() -> None:
    text = "your identity is verified and I have updated your address"
    early = match_phrase("identity is verified", text, MatchMode.FUZZY)
    late = match_phrase("i have updated", text, MatchMode.FUZZY)
    assert early is not None and late is not None
    assert early.offset < late.offset


def test_pinyin_polyphones_match_in_context_and_as_heard() -> None:
    # 银行 is yin hang; a turn's 行 is keyed as the more common xing, the homophone 航 as hang
    assert match_phrase("银行卡", "我的银行卡丢了", MatchMode.PINYIN).similarity == 1.0
    hit = match_phrase("银行卡", "我的银航卡丢了", MatchMode.PINYIN)
    assert hit is not None and hit.similarity == pytest.approx(0.95) and hit.heard == "银航卡"


def test_pinyin_allows_syllable_edits_as_far_as_the_threshold_does() -> None:
    # six syllables, one dropped: 5/6 x 0.95 = 0.79, under the default 0.85
    assert match_phrase("服务进行评价", "服务进评价", MatchMode.PINYIN) is None
    hit = match_phrase("服务进行评价", "服务进评价", MatchMode.PINYIN, 0.75)
    assert hit is not None and hit.similarity == pytest.approx(0.792, abs=0.001)
    # a long phrase keeps 0.85 with one syllable dropped (11/12 x 0.95 = 0.87)
    long = match_phrase("稍后请对我的服务进行评价", "稍后请对我服务进行评价", MatchMode.PINYIN)
    assert long is not None and long.similarity == pytest.approx(0.871, abs=0.001)


def test_fuzzy_finds_words_asr_split_or_misspelt() -> None:
    assert match_phrase("passcode", "my pass code is 1234", MatchMode.FUZZY) is not None
    hit = match_phrase("complaint", "I want to make a complant", MatchMode.FUZZY)
    assert hit is not None and hit.heard == "complant"
    verified = "your identity is verified"
    assert match_phrase(verified, "your identity is now verified", MatchMode.FUZZY)
    assert match_phrase(verified, "your identity verified", MatchMode.FUZZY)
    # phrases of very common words only (okay, thank you ...) match as written
    assert match_phrase("thank you for calling", "thank you calling", MatchMode.FUZZY) is None


def test_a_turn_is_matched_once_against_every_phrase_list() -> None:
    from scoring.phrases import ListedPhrase
    from scoring.tokens import tokenize_turn

    index = PhraseIndex("en")
    greeting = index.add_group([ListedPhrase("hello", ("hello",))], MatchMode.AUTO, None)
    company = index.add_group(
        [ListedPhrase(p, expand_alternatives(p)) for p in ("Acme {Telecom|Mobile}", "Acme")],
        MatchMode.AUTO,
        None,
    )
    assert index.add_group([ListedPhrase("hello", ("hello",))], MatchMode.AUTO, None) == greeting
    found = index.match(tokenize_turn(normalize_text("Hello, Acne Telecom here, Acme speaking")))
    assert found.groups() == {greeting, company}
    hits = found.group(company)
    assert hits is not None
    telecom = max(hits[0], key=lambda h: h.similarity)
    assert telecom.phrase == "Acme Telecom" and telecom.heard == "acne telecom"
    assert [h.heard for h in hits[1]] == ["acme"]  # the bare name, verbatim


def test_match_mode_given_as_text_matches_like_the_enum_and_does_not_poison_the_cache() -> None:
    text = "you can change it with your pass word"
    as_text = match_phrase("password", text, "fuzzy")
    as_enum = match_phrase("password", text, MatchMode.FUZZY)
    assert as_text is not None and as_enum is not None
    assert as_text.similarity == as_enum.similarity >= 0.85
    with pytest.raises(ValueError):
        match_phrase("password", text, "fuzzzy")


def test_fuzzy_never_turns_an_ordinary_word_into_another_for_flags() -> None:
    # The words are close (fuzzy finds them) but each is a guess: only "approximate" hits,
    # which flags and `not` do not count (scoring.evaluate).
    for phrase, text in [
        ("shit", "I bought a new shirt yesterday"),
        ("i am furious", "I am curious about the new plan"),
        ("the press", "can you explain the process again"),
    ]:
        hit = match_phrase(phrase, text, "fuzzy", 0.75)
        assert hit is None or hit.approximate, (phrase, hit)
    plural = match_phrase("complaint", "I have two complaints", "fuzzy")
    assert plural is not None and not plural.approximate  # an ending is the word itself


def test_pinyin_chance_sound_alikes_across_words_are_guesses() -> None:
    # Ordinary Mandarin text (the real dialogues' dev halves) holds three-syllable sound-alikes
    # of flag phrases made of the ends of other words; the tone or a merged sound differs, so
    # each is a guess, which flags and `not` do not count.
    for phrase, text in [
        ("受够了", "1963年被华纳收购了"),  # shou1 gou4, not shou4 gou4
        ("烦不烦", "这个酒店交通方不方便"),  # fang, not fan
        ("急什么", "笑出腹肌什么感觉"),  # ji1, not ji2
        ("你去死", "我推荐你去世界花卉大观园"),  # shi4, not si3
        ("转上级", "估计撞衫几率贼大"),
    ]:
        hit = match_phrase(phrase, text, MatchMode.PINYIN)
        assert hit is not None and hit.approximate, (phrase, hit)
    # A homophone read alike, tone included, is what ASR writes for the word it heard: confident.
    for phrase, text in [("服务密码", "我的服务秘码是8866"), ("工信部", "我去公信部反映")]:
        hit = match_phrase(phrase, text, MatchMode.PINYIN)
        assert hit is not None and not hit.approximate and hit.similarity == pytest.approx(0.95)
