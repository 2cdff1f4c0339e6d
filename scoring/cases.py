"""Annotated rubric cases: one call's transcript as the speech layer would hand it over, with the
verdict a rubric must give for every item and flag (semgrep-style rule tests).

The file format is described in ``tests/rubric_cases/transcripts/README.md``::

    case = load_case(Path("tests/rubric_cases/transcripts/good-en.yaml"))
    card = score_call(rubric, case.transcript, case.call)
    assert {i.id: i.result.value for i in card.items} == case.expected["items"]
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from calldata import Call, Metrics, Role, Transcript, Turn

DEFAULT_RUBRIC = "inbound-service"
# Annotated cases carry no date; scoring never looks at it.
CASE_START = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)


@dataclass(frozen=True)
class RubricCase:
    """An annotated case: the call, its transcript, and what the rubric must decide."""

    name: str
    rubric: str
    call: Call
    transcript: Transcript
    expected: dict[str, Any]
    data: dict[str, Any]  # the file as written, for fields only some callers read


def load_case(path: Path) -> RubricCase:
    """Read one annotated case file. The call's id is the file's stem."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    turns = tuple(
        Turn(
            index=index,
            speaker="ch1" if role == "agent" else "ch0",
            role=Role(role),
            start=start,
            end=end,
            text=text,
            confidence=0.8,
        )
        for index, (role, start, end, text) in enumerate(data["turns"])
    )
    transcript = Transcript(
        language=data["language"],
        turns=turns,
        metrics=Metrics(**data.get("metrics", {})),
        duration=max(turn.end for turn in turns),
        channel_mode="stereo",
        model="whisper-base",
    )
    call = Call(
        call_id=path.stem,
        recordings=(f"{path.stem}.wav",),
        start=CASE_START,
        **data["call"],
    )
    return RubricCase(
        name=path.stem,
        rubric=data.get("rubric", DEFAULT_RUBRIC),
        call=call,
        transcript=transcript,
        expected=data.get("expected", {}),
        data=data,
    )
