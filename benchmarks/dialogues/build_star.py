"""Build star.{dev,heldout}.jsonl and complaints-en.{dev,heldout}.jsonl from STAR.

Usage: python build_star.py RAW_STAR_DIR [--review FILE]
RAW_STAR_DIR holds STAR's dialogues/*.json (github RasaHQ/STAR, MIT,
commit 3058975092cdd09798e4a3a9e4ae135755824545). identity_verification is derived
mechanically from the logged API calls (README, "identity_verification"); the other
labels come from labels/star.manual.json and labels/complaints-en.manual.json.
--review writes the selected dialogues in a readable form for the person labelling.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from common import HERE, load_manual, merge_labels, rank, split, write_jsonl

BANK = ("bank_balance", "bank_fraud_report")
CRED_ERROR = "You must provide either"
PERSONA = re.compile(
    r"angry|rude|annoy|frustrat|upset|complain|impatien|\bmad\b|irritat|aggress", re.I
)


def change_ok(api: str, item: dict) -> bool:
    if not item:
        return False
    msg = " ".join(
        str(item.get(k, ""))
        for k in ("Message", "Confirmation", "ReservationStatus", "ChangeStatus", "RequestStatus")
    )
    if api in ("hotel_book", "restaurant_book", "plane_book"):
        return "Reservation Confirmed" in msg
    if api == "ride_book":
        return "Ride booked." in msg  # an item with a driver is the answer to RequestType "Check"
    if api == "ride_change":
        return "successfully changed" in msg or "successfuly changed" in msg
    if api in ("party_plan", "apartment_schedule", "doctor_schedule", "meeting_schedule"):
        return "successfully scheduled" in msg or "successfuly scheduled" in msg
    if api == "party_rsvp":
        return "Thank you for your RSVP" in msg
    if api == "hotel_service_request":
        return "Request Confirmed" in msg
    if api == "bank_fraud_report":
        return "Fraud report submitted successfully." in msg
    return False


def verification_ok(api: str, item: dict) -> bool:
    return api in BANK and bool(item) and CRED_ERROR not in json.dumps(item)


def convert(d: dict) -> dict:
    turns, change, verify = [], None, None
    pending = None  # the last query, waiting for its return_item
    for e in d["Events"]:
        agent, action = e.get("Agent"), e.get("Action")
        if agent == "User" and action == "utter" and e.get("Text", "").strip():
            turns.append({"role": "customer", "text": e["Text"].strip()})
        elif (
            agent == "Wizard"
            and action in ("utter", "pick_suggestion")
            and e.get("Text", "").strip()
        ):
            turns.append({"role": "agent", "text": e["Text"].strip()})
        elif agent == "Wizard" and action == "query":
            pending = e.get("APIName")
        elif agent == "KnowledgeBase" and action == "return_item" and pending:
            api, item = e.get("APIName", pending), e.get("Item") or {}
            if verify is None and verification_ok(api, item):
                verify = {"api": api, "before_turn": len(turns)}
            if change is None and change_ok(api, item):
                change = {"api": api, "before_turn": len(turns)}
            pending = None
    if change is None:
        ident = "na"
    elif verify is not None and verify["before_turn"] <= change["before_turn"]:
        ident = "pass"
    else:
        ident = "fail"
    tasks = [c["Task"] for c in d["Scenario"]["WizardCapabilities"]]
    return {
        "id": f"star-{d['DialogueID']}",
        "source": "star",
        "language": "en",
        "direction": "inbound",
        "turns": turns,
        "labels": {"identity_verification": ident},
        "meta": {"tasks": tasks, "first_change": change, "first_verification": verify},
    }


def persona(d: dict) -> bool:
    return bool(
        PERSONA.search(
            " ".join(e.get("Text", "") for e in d["Events"] if e.get("Agent") == "UserGuide")
        )
    )


def select(raw: Path):
    rows = {}
    angry = set()
    for f in raw.glob("dialogues/*.json"):
        d = json.loads(f.read_text(encoding="utf-8"))
        if d.get("CompletionLevel") != "Complete":
            continue
        r = convert(d)
        if (
            sum(t["role"] == "agent" for t in r["turns"]) < 2
            or sum(t["role"] == "customer" for t in r["turns"]) < 2
        ):
            continue
        rows[r["id"]] = r
        if persona(d):
            angry.add(r["id"])
    order = sorted(rows, key=lambda i: rank(i, "star-select"))
    chosen: list[str] = []
    quota = {"angry": 70, "pass": 70, "fail": 70, "na": 50}
    for i in order:
        key = "angry" if i in angry else rows[i]["labels"]["identity_verification"]
        if quota[key] > 0:
            quota[key] -= 1
            chosen.append(i)
    rest_angry = [i for i in order if i in angry and i not in chosen][:60]
    rest_calm = [i for i in order if i not in angry and i not in chosen][:20]
    return rows, chosen, rest_angry + rest_calm


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("raw", type=Path)
    ap.add_argument("--review", type=Path)
    a = ap.parse_args()
    rows, chosen, compl = select(a.raw)
    labelled = [
        merge_labels(rows[i], load_manual("star"))
        for i in sorted(chosen, key=lambda s: int(s.split("-")[1]))
    ]
    cman = load_manual("complaints-en")
    complaints = []
    for i in sorted(compl, key=lambda s: int(s.split("-")[1])):
        r = rows[i]
        c = {
            "id": f"{i}-customer",
            "source": "star",
            "language": "en",
            "direction": "inbound",
            "turns": [t for t in r["turns"] if t["role"] == "customer"],
        }
        if f"{i}-customer" in cman:
            c["labels"] = {"complaint": cman[f"{i}-customer"]["complaint"]}
            if cman[f"{i}-customer"].get("notes"):
                c["notes"] = cman[f"{i}-customer"]["notes"]
        complaints.append(c)
    if a.review:
        with open(a.review, "w", encoding="utf-8") as f:
            for r in labelled + complaints:
                f.write(f"##### {r['id']} {r.get('labels', {}).get('identity_verification', '')}\n")
                for k, t in enumerate(r["turns"]):
                    f.write(f"{k:2d} {t['role'][0].upper()}: {t['text']}\n")
        return
    for name, data in (("star", labelled), ("complaints-en", complaints)):
        dev, held = split(data)
        write_jsonl(HERE / f"{name}.dev.jsonl", dev)
        write_jsonl(HERE / f"{name}.heldout.jsonl", held)
        print(name, "dev", len(dev), "heldout", len(held))


if __name__ == "__main__":
    main()
