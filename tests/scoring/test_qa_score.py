"""``qa score``: transcripts from a file scored with the rubrics, no store and no audio."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from qa.cli import main

TURNS = [
    {"role": "agent", "text": "Hello, thanks for calling Acme Telecom, my name is Sam."},
    {"role": "customer", "text": "Hi, I want to cancel my roaming add-on."},
    {"role": "agent", "text": "Sure, I've cancelled the roaming add-on for you."},
    {"role": "customer", "text": "Great, thanks."},
    {"role": "agent", "text": "Anything else I can help with? Thanks for calling, goodbye."},
]


def _score(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["score", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _write(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n")
    return path


def test_turns_without_timings_score_like_a_stored_call_but_metrics_are_na(tmp_path: Path) -> None:
    code, out, _ = _score(str(_write(tmp_path / "call.jsonl", TURNS)), "--language", "en")
    assert code == 0
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert row["rubric"] == "inbound-service" and row["language"] == "en"
    items = {item["id"]: item for item in row["items"]}
    assert items["identity_verification"]["result"] == "fail"  # cancelled, nobody verified
    assert items["greeting"]["result"] == "pass" and items["closing"]["result"] == "pass"
    assert items["no_long_silence"]["result"] == "na"  # never a pass without timings
    assert "no timings" in items["no_long_silence"]["reason"]
    assert items["identity_verification"]["evidence"][0]["text"].startswith("Sure, I've")


def test_qa_transcribe_json_output_is_read_with_its_timings(tmp_path: Path) -> None:
    timed = [
        {**turn, "index": i, "speaker": f"ch{i % 2}", "start": 4.0 * i, "end": 4.0 * i + 3.5}
        for i, turn in enumerate(TURNS)
    ]
    summary = {"metrics": {}, "language": "en", "channel_mode": "stereo", "duration": 20.0}
    path = _write(tmp_path / "transcribed.jsonl", [*timed, summary])
    code, out, _ = _score(str(path), "--rubric", "inbound-service")
    assert code == 0
    items = {item["id"]: item for item in json.loads(out)["items"]}
    assert items["no_long_silence"]["result"] == "pass"
    assert items["no_long_silence"]["reason"].startswith("longest_silence 0.5")


def test_one_file_of_dialogues_gives_one_line_each(tmp_path: Path) -> None:
    dialogues = [
        {"id": "a", "language": "en", "turns": TURNS},
        {"id": "b", "language": "zh", "direction": "inbound", "turns": [
            {"role": "agent", "text": "您好，很高兴为您服务，我是客服小李。"},
            {"role": "customer", "text": "你们这服务太差了，我要投诉！"},
        ]},
    ]  # fmt: skip
    code, out, _ = _score(str(_write(tmp_path / "many.jsonl", dialogues)))
    assert code == 0
    rows = {row["call_id"]: row for row in map(json.loads, out.splitlines())}
    assert set(rows) == {"a", "b"}
    assert [flag["id"] for flag in rows["b"]["flags"]] == ["complaint"]


def test_bad_input_names_the_file_the_line_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text('{"role": "agent", "text": "hi"}\nnot json\n')
    result = CliRunner().invoke(main, ["score", str(path), "--language", "en"])
    assert result.exit_code == 1
    assert f"{path}:2: not JSON" in result.output
    _write(path, [{"role": "agent", "text": "hi"}])
    result = CliRunner().invoke(main, ["score", str(path)])
    assert result.exit_code == 1 and "--language" in result.output
    _write(path, [{"speaker": "agent", "words": "hi"}])
    result = CliRunner().invoke(main, ["score", str(path), "--language", "en"])
    assert result.exit_code == 1 and "needs 'role'" in result.output
    result = CliRunner().invoke(main, ["score", str(path), "--rubric", "no-such-rubric"])
    assert result.exit_code == 1 and "no rubric 'no-such-rubric'" in result.output
