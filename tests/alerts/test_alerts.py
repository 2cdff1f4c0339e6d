"""Alerts on the records store (tests/records_store.py: scored calls, two complaints, two
do-not-disturb requests, two failed identity checks) with a real SMTP server (STARTTLS, login)
and a real webhook receiver on 127.0.0.1 (tests/alert_receivers.py)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from alert_receivers import SMTP_USER, SmtpServer, WebhookReceiver
from alert_site import REVIEW_URL, alert_toml, write_site
from click.testing import CliRunner
from records_store import STORED, build_records_store

from calldata import RaisedVoice
from qa.alerts import DeliveryStatus, check_calls, deliveries, send_digests, tick
from qa.cli import main
from qa.config import ConfigError, load_config
from qa.db import open_db
from qa.records.complaints import list_cases, sync_complaint_cases
from qa.results.sentiment import load_sentiment, save_sentiment, update_sentiment

CALLS = list(STORED)
COMPLAINTS = {"c3-complaint-en", "c5-complaint-zh"}


@pytest.fixture(scope="module")
def receivers(tmp_path_factory):
    smtp = SmtpServer(tmp_path_factory.mktemp("smtp"))
    hooks = WebhookReceiver(script={"/flaky": [500, 500, 200], "/dead": [503]})
    smtp.start()
    hooks.start()
    yield smtp, hooks
    smtp.stop()
    hooks.stop()


@pytest.fixture
def site(tmp_path, receivers):
    """A copy of the records store, the receivers emptied, the site config pointing at them."""
    smtp, hooks = receivers
    smtp.mails.clear()
    hooks.hooks.clear()
    db_path = build_records_store(tmp_path)
    config_path = write_site(tmp_path / "site.toml", db_path, alert_toml(smtp, hooks))
    db = open_db(db_path)
    yield {"db": db, "config": load_config(config_path), "path": config_path, "smtp": smtp,
           "hooks": hooks, "db_path": db_path}  # fmt: skip
    db.conn.close()


def _invoke(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_complaint_calls_send_exactly_the_configured_emails_and_signed_webhooks(site):
    check_calls(site["db"], site["config"].alerts, CALLS)
    smtp, hooks = site["smtp"], site["hooks"]
    complaint_mails = [m for m in smtp.mails if "Flag" in m.message["Subject"]]
    assert sorted(m.message["Subject"].split("call ")[1].split(",")[0]
                  for m in complaint_mails) == sorted(COMPLAINTS)  # fmt: skip
    for mail in complaint_mails:
        assert mail.recipients == ["leads@example.test"]
        assert mail.tls and mail.login == SMTP_USER  # STARTTLS, then the login
        assert f"{REVIEW_URL}/?call=" in mail.text and "Agent: " in mail.text
    crm = [hook.json for hook in hooks.received("/crm") if hook.json["rule"] == "complaints"]
    assert sorted(body["call_id"] for body in crm) == sorted(COMPLAINTS)
    assert all(hook.signed() for hook in hooks.hooks)
    assert all(hook.headers["idempotency-key"] == hook.json["id"] for hook in hooks.hooks)
    body = next(b for b in crm if b["call_id"] == "c5-complaint-zh")
    assert body["agent"] == "1003" and body["agent_name"] == "Wang Fang"
    assert body["flag"] == "complaint" and body["severity"] == "high"
    assert body["at"] == "2026-11-24T21:40:00+00:00"
    assert body["link"] == f"{REVIEW_URL}/?call=c5-complaint-zh"
    # the Mandarin complaint names 12315 (幺二三幺五): a regulator threat, by email
    threats = [m for m in smtp.mails if "regulator" in m.message["Subject"]]
    assert [m.message["Subject"].split("call ")[1].split(",")[0] for m in threats] == [
        "c5-complaint-zh"
    ]
    dnd = sorted(h.json["call_id"] for h in hooks.received("/crm") if h.json["rule"] == "dnd")
    assert dnd == ["c8-dnd-survey-zh", "c9-dnd-pitch-en"]
    assert len(smtp.mails) == 3  # two complaints and one regulator threat, nothing else


def test_messages_carry_no_transcript_text_or_numbers_unless_the_site_says(site, tmp_path):
    check_calls(site["db"], site["config"].alerts, ["c3-complaint-en", "c9-dnd-pitch-en"])
    everything = "".join(m.text for m in site["smtp"].mails)
    everything += "".join(h.body.decode() for h in site["hooks"].hooks)
    assert "manager" not in everything and "complaint." not in everything
    assert "4155550103" not in everything and "4155550109" not in everything
    smtp, hooks = site["smtp"], site["hooks"]
    smtp.mails.clear()
    text_on = write_site(tmp_path / "text.toml", site["db_path"],
                         alert_toml(smtp, hooks, extra="include_text = true"))  # fmt: skip
    fresh = open_db(build_records_store(tmp_path / "again"))
    check_calls(fresh, load_config(text_on).alerts, ["c3-complaint-en"])
    assert "speak to your manager" in smtp.mails[0].text  # the quote, now the site wants it
    assert "4155550103" not in smtp.mails[0].text


def test_a_rerun_sends_nothing_again(site):
    settings = site["config"].alerts
    first = check_calls(site["db"], settings, CALLS)
    mails, hooks = len(site["smtp"].mails), len(site["hooks"].hooks)
    assert first and mails and hooks
    assert check_calls(site["db"], settings, CALLS) == []
    assert (len(site["smtp"].mails), len(site["hooks"].hooks)) == (mails, hooks)
    keys = [d.key for d in deliveries(site["db"])]
    assert len(keys) == len(set(keys)) == len(first)


def test_a_receiver_failing_twice_gets_the_third_try(site):
    check_calls(site["db"], site["config"].alerts, ["c2-no-id-en"])
    tries = site["hooks"].received("/flaky")
    assert len(tries) == 3  # 500, 500, then 200
    assert len({hook.headers["idempotency-key"] for hook in tries}) == 1  # one alert, retried
    assert len({hook.body for hook in tries}) == 1
    (delivery,) = deliveries(site["db"], rule="critical-flaky")
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 3
    assert delivery.payload["item"] == "identity_verification"


def test_a_dead_receiver_ends_in_the_dead_letter_and_is_not_retried_by_a_rerun(site):
    settings = site["config"].alerts
    check_calls(site["db"], settings, ["c9-dnd-pitch-en"])
    assert len(site["hooks"].received("/dead")) == 3
    lines = _invoke("alerts", "log", "--db", str(site["db_path"]), "--status", "dead", "--json")
    (dead,) = [json.loads(line) for line in lines.splitlines()]
    assert dead["rule"] == "dnd-dead" and dead["attempts"] == 3
    assert "503" in dead["last_error"] and dead["payload"]["call_id"] == "c9-dnd-pitch-en"
    check_calls(site["db"], settings, ["c9-dnd-pitch-en"])
    assert len(site["hooks"].received("/dead")) == 3


def test_a_backdated_case_alerts_once_at_each_escalation_step(site):
    db, settings = site["db"], site["config"].alerts
    sync_complaint_cases(db)
    case = next(c for c in list_cases(db) if c.call_id == "c3-complaint-en")
    for other in list_cases(db):  # the other case is resolved: its clock has stopped
        if other.case_id != case.case_id:
            db.execute("update complaint_cases set status = 'resolved', resolved_at = opened_at "
                       "where case_id = ?", [other.case_id])  # fmt: skip
    db.conn.commit()
    opened = case.opened_at
    assert tick(db, settings, now=opened + timedelta(days=1)) == []
    first = tick(db, settings, now=opened + timedelta(days=3, hours=1))
    assert [s.key for s in first] == [f"escalations/crm/case:{case.case_id}:overdue:3d"]
    assert tick(db, settings, now=opened + timedelta(days=3, hours=2)) == []
    later = tick(db, settings, now=opened + timedelta(days=7, hours=1))
    assert [s.key for s in later] == [f"escalations/crm/case:{case.case_id}:overdue:7d"]
    (hook,) = [h.json for h in site["hooks"].received("/crm") if h.json["event"] ==
               "case_overdue" and h.json["event_key"].endswith(":3d")]  # fmt: skip
    assert hook["case_id"] == case.case_id and hook["details"]["escalate_to"] == "direct manager"
    assert hook["call_id"] == "c3-complaint-en" and hook["agent"] == "1001"


def test_qa_alerts_tick_alerts_an_overdue_case_once(site):
    sync_complaint_cases(site["db"])  # the cases are weeks old by now: overdue
    args = ("alerts", "tick", "--config", str(site["path"]))
    out = _invoke(*args)
    overdue = [h for h in site["hooks"].received("/crm") if h.json["event"] == "case_overdue"]
    assert overdue and "sent" in out
    assert "nothing new to send" in _invoke(*args)
    again = [h for h in site["hooks"].received("/crm") if h.json["event"] == "case_overdue"]
    assert len(again) == len(overdue)


def test_qa_alerts_test_sends_a_marked_sample_through_the_rule(site):
    out = _invoke("alerts", "test", "complaints", "--config", str(site["path"]))
    assert "sent  leads" in out and "sent  crm" in out
    (mail,) = site["smtp"].mails
    assert "TEST alert" in mail.message["Subject"]
    (hook,) = site["hooks"].hooks
    assert hook.signed() and hook.json["details"] == {"test": "true"}
    result = CliRunner().invoke(main, ["alerts", "test", "nope", "--config", str(site["path"])])
    assert result.exit_code == 1 and "no alert rule 'nope'" in result.output


def test_the_daily_digest_goes_once_to_each_supervisor_with_their_teams_alerts(site):
    db, settings = site["db"], site["config"].alerts
    check_calls(db, settings, CALLS)
    site["smtp"].mails.clear()
    today = datetime.now(UTC).date()
    sent = send_digests(db, settings, today)
    assert [s.status for s in sent] == [DeliveryStatus.SENT]
    (mail,) = site["smtp"].mails
    assert mail.recipients == ["sam@example.test"]
    assert "c5-complaint-zh" in mail.text and "c3-complaint-en" in mail.text
    assert "c2-no-id-en" not in mail.text  # Bob is not in the care team
    assert send_digests(db, settings, today) == []


def test_a_rule_naming_an_unknown_channel_is_a_config_error(tmp_path, receivers):
    smtp, hooks = receivers
    body = alert_toml(smtp, hooks).replace('channels = ["leads", "crm"]', 'channels = ["lead"]')
    path = write_site(tmp_path / "bad.toml", tmp_path / "qa.db", body)
    with pytest.raises(ConfigError, match=r"channel 'lead'.*\[alerts.channels.lead\]"):
        load_config(path)


def test_the_readme_alert_configuration_loads(tmp_path, monkeypatch, repo_root):
    readme = (repo_root / "README.md").read_text()
    section = readme.split("## Alerts", 1)[1].split("\n## ", 1)[0]
    toml = section.split("```toml\n", 1)[1].split("```", 1)[0]
    monkeypatch.setenv("CALLQA_SMTP_PASSWORD", "mail password")
    monkeypatch.setenv("CALLQA_WEBHOOK_SECRET", "hook secret")
    alerts = load_config(write_site(tmp_path / "site.toml", tmp_path / "qa.db", toml)).alerts
    assert {rule.id for rule in alerts.rules} == {"complaints", "escalations", "care-critical",
                                                  "nightly"}  # fmt: skip
    assert alerts.channels["crm"].secret.get_secret_value() == "hook secret"
    assert alerts.smtp.password.get_secret_value() == "mail password"


def test_a_customer_whose_sentiment_falls_raises_sentiment_drop_once(site):
    db, settings = site["db"], site["config"].alerts
    assert check_calls(db, settings, ["c8-dnd-survey-zh"])  # no sentiment stored: no drop
    assert not [h for h in site["hooks"].hooks if h.json["rule"] == "mood"]
    for call_id in CALLS:
        update_sentiment(db, call_id)
    check_calls(db, settings, CALLS)
    moods = [h.json for h in site["hooks"].received("/crm") if h.json["event"] == "sentiment_drop"]
    dropped = sorted(
        call_id for call_id in CALLS
        if (shift := load_sentiment(db, call_id).customer_shift) is not None
        and shift <= -settings.sentiment_drop
    )  # fmt: skip
    assert dropped and sorted(body["call_id"] for body in moods) == dropped
    assert all(float(body["details"]["shift"]) <= -0.5 for body in moods)
    assert all("quotes" not in body for body in moods)  # the worst moment's words stay home
    assert check_calls(db, settings, CALLS) == []


def test_a_raised_voice_alerts_once_per_side(site):
    db, settings = site["db"], site["config"].alerts
    found = update_sentiment(db, "c3-complaint-en", audio=False)
    customer = [t for t in found.turns if t.role == "customer"][:2]
    loud = [RaisedVoice(index=t.index, role=t.role, start=t.start, end=t.end, louder_db=9.5,
                        pitch_ratio=1.3) for t in customer]  # fmt: skip
    save_sentiment(db, "c3-complaint-en", dataclasses.replace(found, raised_voice=tuple(loud)))
    check_calls(db, settings, ["c3-complaint-en"])
    (hook,) = [h.json for h in site["hooks"].received("/crm") if h.json["event"] == "raised_voice"]
    assert hook["call_id"] == "c3-complaint-en" and hook["details"]["role"] == "customer"
    assert hook["details"]["moments"] == "2" and hook["details"]["louder_db"] == "+9.5"
    assert check_calls(db, settings, ["c3-complaint-en"]) == []


def test_a_run_that_cannot_start_alerts_once_a_day(site, tmp_path):
    body = (
        alert_toml(site["smtp"], site["hooks"])
        + """
[[alerts.rules]]
id = "nightly"
events = ["run_failed", "run_with_failures"]
channels = ["crm"]
"""
    )
    config = write_site(tmp_path / "night.toml", site["db_path"], body,
                        store=f'"{tmp_path / "no-such-spool"}"')  # fmt: skip
    for _ in range(2):
        result = CliRunner().invoke(main, ["run", "--config", str(config)])
        assert result.exit_code == 1 and "no-such-spool" in result.output
    (hook,) = [h.json for h in site["hooks"].received("/crm") if h.json["rule"] == "nightly"]
    assert hook["event"] == "run_failed" and "no-such-spool" in hook["details"]["reason"]


def test_qa_alerts_digest_sends_the_days_digest_once(site):
    check_calls(site["db"], site["config"].alerts, CALLS)
    site["smtp"].mails.clear()
    day = datetime.now(ZoneInfo("America/New_York")).date().isoformat()  # the site's day
    args = ("alerts", "digest", "--config", str(site["path"]), "--day", day)
    assert "sent  digest:sam" in _invoke(*args)
    assert "nothing new to send" in _invoke(*args)
    (mail,) = site["smtp"].mails
    assert mail.message["Subject"].startswith(f"[callqa] Daily digest {day}")
