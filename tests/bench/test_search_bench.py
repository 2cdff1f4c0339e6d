"""``qa bench search`` on a small generated store: the store is real (saved as the nightly run
saves), the index is found in it, and every search of the benchmark runs."""

from __future__ import annotations

import json

from click.testing import CliRunner

from qa.cli import main
from qa.db import open_db


def test_bench_search_generates_a_store_and_measures_it(tmp_path) -> None:
    path = tmp_path / "bench.db"
    result = CliRunner().invoke(
        main, ["bench", "search", "--calls", "40", "--db", str(path), "--json"],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["calls"] == 40 and 400 < report["turns"] < 1200
    assert report["queries"] == 24 and report["median_ms"] > 0
    assert 0 < report["index_share_of_store"] < 0.5
    db = open_db(path)
    indexed = db.execute("select count(*) from search_calls").fetchone()[0]
    languages = {row[0] for row in db.execute("select distinct language from search_calls")}
    db.close()
    assert indexed == 40 and languages == {"en", "zh"}
