"""A call's sentence vectors: computed once when the call is processed, stored, read back.

Stored compactly: each unit vector quantised to int8 with its own scale (512 bytes and a float a
sentence; cosine similarity changes by less than 0.01), beside the turn index and the character
span of each piece, so a match can quote the exact sentence.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from sentences.split import split_sentences

_MAGIC = b"callqa-sentence-vectors/1\n"


class Encoder(Protocol):
    """What :func:`encode_turns` needs: ``SentenceEncoder`` or anything that encodes alike."""

    id: str

    def encode(self, texts: list[str]) -> np.ndarray: ...


@dataclass(frozen=True, eq=False)
class SentenceVectors:
    """Row ``r`` is the piece ``spans[r]`` of turn ``turns[r]``; rows are in turn order."""

    encoder: str
    turns: np.ndarray  # int32 (n,)
    spans: np.ndarray  # int32 (n, 2): character offsets into the turn text
    vectors: np.ndarray  # float32 (n, dim), unit length
    _rows: dict[int, tuple[int, int]] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.turns)

    def rows(self, turn_index: int) -> tuple[int, int]:
        """The rows (``start``, ``stop``) of one turn's pieces; (0, 0) when it has none."""
        if not self._rows and len(self.turns):
            bounds = np.flatnonzero(np.diff(self.turns)) + 1
            starts = np.concatenate(([0], bounds))
            stops = np.concatenate((bounds, [len(self.turns)]))
            for begin, end in zip(starts.tolist(), stops.tolist(), strict=True):
                self._rows[int(self.turns[begin])] = (begin, end)
        return self._rows.get(turn_index, (0, 0))

    def to_bytes(self) -> bytes:
        """The stored form (see :meth:`from_bytes`)."""
        scales = np.abs(self.vectors).max(axis=1) / 127.0 if len(self) else np.zeros(0)
        scales = np.where(scales > 0, scales, 1.0).astype(np.float32)
        quantised = np.rint(self.vectors / scales[:, None]).astype(np.int8)
        header = {"encoder": self.encoder, "rows": len(self), "dim": int(self.vectors.shape[1])}
        return b"".join(
            (
                _MAGIC,
                json.dumps(header).encode() + b"\n",
                self.turns.astype("<i4").tobytes(),
                self.spans.astype("<i4").tobytes(),
                scales.astype("<f4").tobytes(),
                quantised.tobytes(),
            )
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> SentenceVectors:
        """Read what :meth:`to_bytes` wrote; ValueError when it is something else."""
        if not data.startswith(_MAGIC):
            raise ValueError("not stored sentence vectors (wrong header)")
        end = data.index(b"\n", len(_MAGIC))
        header = json.loads(data[len(_MAGIC) : end])
        rows, dim = int(header["rows"]), int(header["dim"])
        at = end + 1
        turns = np.frombuffer(data, "<i4", rows, at)
        at += 4 * rows
        spans = np.frombuffer(data, "<i4", 2 * rows, at).reshape(rows, 2)
        at += 8 * rows
        scales = np.frombuffer(data, "<f4", rows, at)
        at += 4 * rows
        quantised = np.frombuffer(data, np.int8, rows * dim, at).reshape(rows, dim)
        vectors = quantised.astype(np.float32) * scales[:, None]
        return cls(str(header["encoder"]), turns.astype(np.int32), spans.astype(np.int32), vectors)


def encode_turns(encoder: Encoder, turns: Iterable[tuple[int, str]]) -> SentenceVectors:
    """Split each ``(turn index, text)`` into pieces and encode them all in one batch."""
    indexes: list[int] = []
    spans: list[tuple[int, int]] = []
    texts: list[str] = []
    for index, text in turns:
        for start, end in split_sentences(text):
            indexes.append(index)
            spans.append((start, end))
            texts.append(text[start:end])
    order = np.argsort(np.asarray(indexes, dtype=np.int64), kind="stable")
    vectors = encoder.encode(texts) if texts else np.zeros((0, 512), dtype=np.float32)
    return SentenceVectors(
        encoder.id,
        np.asarray(indexes, dtype=np.int32).reshape(-1)[order],
        np.asarray(spans, dtype=np.int32).reshape(-1, 2)[order],
        np.asarray(vectors, dtype=np.float32)[order],
    )
