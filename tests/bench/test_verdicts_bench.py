"""``qa bench verdicts`` on the development split and the committed clean samples: the false-flag
check runs in the suite (the held-out split and the full clean corpora are for the benchmark)."""

from __future__ import annotations

import gzip
import json

import pytest
from click.testing import CliRunner

from qa.bench.verdicts import VerdictBenchOptions, VerdictReport, run_verdict_bench
from qa.cli import main


@pytest.fixture(scope="module")
def report() -> VerdictReport:
    return run_verdict_bench(VerdictBenchOptions(parts=("dev",), clean_sample=True))


def test_no_flag_on_clean_real_dialogues(report: VerdictReport) -> None:
    # ≤ 1 false complaint/strong-language/taboo flag per 1,000 clean dialogues: on the dev part
    # of the two committed samples (about 200 dialogues) that is none at all.
    names = [c.name for c in report.clean]
    assert names == ["clean-en.sample.jsonl dev", "clean-zh.sample.jsonl dev"]
    for clean in report.clean:
        assert 80 <= clean.dialogues <= 120
        assert clean.false_flags == 0, clean.examples


def test_every_labelled_dev_set_is_scored_item_by_item(report: VerdictReport) -> None:
    names = {s.name for s in report.sets}
    assert {"star.dev", "crosswoz.dev", "complaints-en.dev"} <= names
    star = next(s for s in report.sets if s.name == "star.dev")
    assert star.dialogues == 121
    for item in ("identity_verification", "greeting", "closing", "satisfaction_invite"):
        tally = star.items[item]
        assert tally.cases == 121 and tally.accuracy is not None
    assert star.flags["complaint"].cases == 121
    assert report.sentences > 1000 and report.encode_seconds > 0


def test_the_cli_prints_the_report_as_json(tmp_path) -> None:
    result = CliRunner().invoke(
        main, ["bench", "verdicts", "--part", "dev", "--no-clean", "--json"],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert {s["name"] for s in report["sets"]} >= {"star.dev", "crosswoz.dev"}
    assert report["clean"] == [] and report["audio"] is None
    identity = next(s for s in report["sets"] if s["name"] == "star.dev")["items"]
    assert set(identity["identity_verification"]) >= {"accuracy", "precision", "recall", "misses"}


def test_a_clean_set_built_only_locally_is_named_when_absent(tmp_path) -> None:
    # the STC-3 sets (real helpdesk dialogues) may not be committed: a checkout without them still
    # runs the benchmark and says which set it could not score, instead of failing.
    line = {"id": "x-1", "turns": [{"role": "agent", "text": "您好，请问有什么可以帮您？"}]}
    for stem in ("clean-en", "clean-zh", "clean-zh-lccc"):
        with gzip.open(tmp_path / f"{stem}.jsonl.gz", "wt", encoding="utf-8") as f:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    found = run_verdict_bench(VerdictBenchOptions(dialogues=tmp_path, parts=("dev", "heldout")))
    built_elsewhere = [
        "complaints-zh-stc3.dev.jsonl",
        "complaints-zh-stc3.heldout.jsonl",
        "clean-zh-stc3.jsonl.gz",
    ]
    assert found.not_built == built_elsewhere
    assert len(found.clean) == 6 and sum(c.dialogues for c in found.clean) == 3
    assert found.to_json()["not_built"] == built_elsewhere


def test_a_flag_read_and_found_true_is_counted_apart_only_while_raised(tmp_path) -> None:
    # labels/clean.adjudicated.json records flags read after a run; a dialogue read once and
    # no longer flagged (after tuning) is clean, not "true on reading".
    rows = [
        {"id": "zh-1", "turns": [{"role": "customer", "text": "我要投诉你们，叫你们经理来。"}]},
        {"id": "zh-2", "turns": [{"role": "customer", "text": "请问故宫几点开门？"}]},
    ]
    for stem in ("clean-en", "clean-zh", "clean-zh-lccc"):
        with gzip.open(tmp_path / f"{stem}.jsonl.gz", "wt", encoding="utf-8") as f:
            f.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    (tmp_path / "labels").mkdir()
    read = {ident: {"complaint": True, "reason": "read"} for ident in ("zh-1", "zh-2")}
    (tmp_path / "labels" / "clean.adjudicated.json").write_text(json.dumps(read), "utf-8")
    found = run_verdict_bench(VerdictBenchOptions(dialogues=tmp_path, parts=("dev", "heldout")))
    zh = [c for c in found.clean if c.name.startswith("clean-zh.jsonl.gz")]
    assert sum(c.dialogues for c in zh) == 2
    assert sum(c.false_flags for c in zh) == 0
    assert sum(c.true_on_reading for c in zh) == 1  # zh-1 is flagged and read true; zh-2 is clean
