"""Sentiment on the sample store after `qa run`: each call's customer figures and what sentiment
costs against the pipeline time of the call.

    qa run --config samples/demo.toml --db /tmp/sentiment-demo.db
    PYTHONPATH=. python benchmarks/sentiment/sample_store.py /tmp/sentiment-demo.db

Cost per call, best of three: (a) what the run adds, sentiment from the stored vectors
(``update_sentiment`` without audio) plus the raised-voice check on the recording (decoding it
and measuring each turn; librosa already loaded); (b) once, the call's turns encoded afresh (a
new encoder, nothing cached) and scored: what it would cost a rubric set without intents.
Pipeline time is the run's own record of the call (``run_calls.seconds``: decode, transcribe,
diarize, score).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from qa.db import open_db
from qa.results.sentiment import raised_voice, update_sentiment
from qa.results.store import load_transcript
from sentences import SentenceEncoder, encode_turns
from sentences.sentiment import load_sentiment_model

REPO = Path(__file__).resolve().parents[2]


def _best(work, times: int = 3) -> float:
    best = float("inf")
    for _ in range(times):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def main(db_path: str) -> None:
    expected = json.loads((REPO / "samples" / "expected.json").read_text())
    keys = {call["call_id"]: call["key"] for call in expected["calls"]}
    db = open_db(db_path)
    model = load_sentiment_model()
    print(f"{'call':<16}{'cust mean':>10}{'start':>8}{'end':>8}{'shift':>8}{'agent':>8}"
          f"{'pipe s':>8}{'text ms':>9}{'voice ms':>9}{'+enc ms':>9}"
          "  raised  most negative")  # fmt: skip
    shares, fresh_shares = [], []
    for call_id, seconds in db.execute(
        "select call_id, min(seconds) from run_calls where status = 'done' and seconds > 0 "
        "group by call_id order by call_id"
    ).fetchall():
        found = update_sentiment(db, call_id, model=model)
        assert found is not None
        cost = _best(lambda c=call_id: update_sentiment(db, c, model=model, audio=False))
        transcript = load_transcript(db, call_id, words=False)
        assert transcript is not None
        voice = _best(lambda c=call_id, t=transcript: raised_voice(db, c, t))
        turns = [(turn.index, turn.text) for turn in transcript.turns]

        fresh = SentenceEncoder()  # a new one: nothing cached, so the encoding itself is timed
        started = time.perf_counter()
        model.turn_polarity(encode_turns(fresh, turns))
        encoded = time.perf_counter() - started
        shares.append((cost + voice) / seconds)
        fresh_shares.append(encoded / seconds)
        worst = found.most_negative
        print(
            f"{keys.get(call_id, call_id):<16}{found.customer_mean:>+10.2f}"
            f"{found.customer_start:>+8.2f}{found.customer_end:>+8.2f}"
            f"{found.customer_shift:>+8.2f}{found.agent_mean:>+8.2f}{seconds:>8.1f}"
            f"{cost * 1000:>9.1f}{voice * 1000:>9.1f}{encoded * 1000:>9.1f}  "
            f"{len(found.raised('customer'))}/{len(found.raised('agent'))}  "
            + (f"{worst.start:.1f}-{worst.end:.1f} s {worst.polarity:+.2f} {worst.text}"
               if worst else "")
        )  # fmt: skip
    print(
        f"sentiment cost, share of the pipeline time per call (text from the stored vectors and "
        f"the raised-voice check): max "
        f"{max(shares):.2%} (mean {sum(shares) / len(shares):.2%}); text encoded afresh max "
        f"{max(fresh_shares):.2%} (mean {sum(fresh_shares) / len(fresh_shares):.2%})"
    )
    db.conn.close()


if __name__ == "__main__":
    main(sys.argv[1])
