"""The held-out store of real dialogue text (``benchmarks/heard_store.py``): the committed ids are
the ones its selection rule picks, and a dialogue it renders is a call ``qa run`` ingests, in a
GSM WAV and an mp3 layout, with the dialogue's own labels as its expected verdicts. No Whisper
here: ``qa bench verdicts --audio-only --store ...`` scores the whole store (docs/benchmarks.md)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from asr.audio import load_call_audio
from benchmarks.heard_store import generate, load_ids, selected_ids
from qa.cli import main
from qa.config import load_config
from qa.ingest import ingest

REPO = Path(__file__).resolve().parents[2]


def test_the_committed_ids_are_what_the_selection_rule_picks() -> None:
    for part in ("heldout", "dev"):
        ids = load_ids(part)
        assert ids == selected_ids(part)
        assert [len(ids["star"]), len(ids["crosswoz"])] == [12, 8]
    assert not set(load_ids("heldout")["star"]) & set(load_ids("dev")["star"])


def _dialogue(ident: str, turns: list[tuple[str, str]], labels: dict[str, object]) -> str:
    body = {"id": ident, "turns": [{"role": r, "text": t} for r, t in turns], "labels": labels}
    return json.dumps(body, ensure_ascii=False) + "\n"


@pytest.fixture(scope="module")
def heard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is missing: run `make system` (scripts/install-system.sh)")
    folder = tmp_path_factory.mktemp("dialogues")
    labels = {"greeting": "fail", "closing": "pass", "identity_verification": "na"}
    (folder / "star.heldout.jsonl").write_text(
        _dialogue("star-a", [("customer", "Hi, is it raining?"), ("agent", "No. Bye!")], labels)
        + _dialogue(
            "star-b",
            [("customer", "I hate waiting."), ("agent", "  "), ("agent", "Sorry, goodbye.")],
            {**labels, "complaint": True},
        )
        + _dialogue("star-c", [("customer", "Thanks."), ("agent", "Welcome.")], labels),
        encoding="utf-8",
    )
    (folder / "crosswoz.heldout.jsonl").write_text("", encoding="utf-8")
    out = tmp_path_factory.mktemp("heard")
    generate(out, {"star": ["star-a", "star-b", "star-c"], "crosswoz": []}, folder)
    return out


def test_a_rendered_dialogue_is_a_call_the_pipeline_ingests(heard: Path) -> None:
    expected = json.loads((heard / "expected.json").read_text(encoding="utf-8"))
    config = load_config(REPO / "samples" / "demo.toml").with_overrides(
        {
            "store": heard / "store" / "monitor",
            "cdr_csv": heard / "store" / "Master.csv",
            "queue_log": heard / "store" / "queue_log",
            "min_age_minutes": 0,
        }
    )
    found = {call.call_id: call for call in ingest(config, dry_run=True).calls}
    assert sorted(found) == sorted(c["call_id"] for c in expected["calls"])
    first, second, third = sorted(expected["calls"], key=lambda c: c["key"])
    # the plan's first layouts: stereo PCM WAV, legs in GSM WAV, mono mp3
    assert [(c["layout"], c["format"]) for c in (first, second, third)] == [
        ("stereo", "wav"), ("legs", "wav49"), ("mono", "mp3"),
    ]  # fmt: skip
    assert [Path(r).suffix for r in second["recordings"]] == [".WAV", ".WAV"]
    assert [Path(r).suffix for r in third["recordings"]] == [".mp3"]
    for want in (first, second, third):
        call = found[want["call_id"]]
        assert (call.queue, call.agent, call.language) == ("600", want["agent"], "en")
        assert len(call.recordings) == len(want["recordings"])
        audio = load_call_audio(
            [config.require("store") / name for name in call.recordings]
        )  # caller and agent on two channels, or one mixed (mono, diarized)
        assert len(audio.channels) == (1 if want is third else 2) and audio.duration > 2.0
    # the dialogue's own labels, nothing added
    assert first["items"] == {"closing": "pass", "greeting": "fail", "identity_verification": "na"}
    assert first["flags"] == [] and second["flags"] == ["complaint"]


def test_a_store_without_its_expected_verdicts_is_refused_with_what_to_do(heard: Path) -> None:
    result = CliRunner().invoke(
        main, ["bench", "verdicts", "--audio-only", "--store", str(heard / "store")]
    )
    assert result.exit_code == 2
    assert "--store and --expected go together" in result.output
