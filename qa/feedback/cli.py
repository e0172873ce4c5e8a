"""`qa feedback list | export`: read the ratings, turn the thumbs-down ones into questions.

qa feedback list [--verdict down] [--since 2026-11-01] [--until 2026-11-30] [--json]
qa feedback export FILE        a question set for `qa eval FILE` (or run `qa eval --feedback`)
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
from pathlib import Path

import qa
from qa.errors import InputError
from qa.feedback.record import VERDICTS, export_items, select
from qa.feedback.store import open_feedback


def _date(text: str) -> _dt.date:
    try:
        return _dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def register(sub: argparse._SubParsersAction) -> None:
    """`qa feedback` (called by qa.cli)."""
    p = sub.add_parser("feedback", help="list the ratings of answers, export them as questions")
    cmds = p.add_subparsers(dest="feedback_command", required=True)
    ls = cmds.add_parser("list", help="the ratings, oldest first")
    ls.add_argument("--verdict", choices=VERDICTS, help="only thumbs up or only thumbs down")
    ls.add_argument("--since", type=_date, metavar="DATE", help="rated on or after (YYYY-MM-DD)")
    ls.add_argument("--until", type=_date, metavar="DATE", help="rated on or before")
    ls.add_argument("--json", action="store_true", help="the records as JSON Lines")
    ls.set_defaults(run=cmd_list)
    ex = cmds.add_parser("export", help="write the thumbs-down ratings as a question set")
    ex.add_argument("file", help="the question set to write (.jsonl)")
    ex.set_defaults(run=cmd_export)


def cmd_list(a: argparse.Namespace) -> int:
    store = open_feedback(qa.load_settings())
    records = select(store.records(), a.verdict, a.since, a.until)
    for rec in records:
        if a.json:
            print(json.dumps(rec, ensure_ascii=False))
            continue
        fix = f"  -> {rec['correction']}" if rec.get("correction") else ""
        who = f"  [{rec['user']}]" if rec.get("user") else ""
        print(f"{rec.get('created')}  {rec.get('verdict'):<4}  {rec.get('question')}{fix}{who}")
    if not a.json:
        print(f"{len(records)} rating(s) in {store.where}")
    return 0


def cmd_export(a: argparse.Namespace) -> int:
    store = open_feedback(qa.load_settings())
    records = store.records()
    items = export_items(records)
    if not items:
        raise InputError(f"no thumbs-down ratings to export in {store.where}")
    out = Path(a.file)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), "utf-8")
    down = sum(1 for r in records if r.get("verdict") == "down")
    corrected = sum(1 for i in items if i.get("correction"))
    print(
        f"wrote {len(items)} question(s) to {out} ({corrected} with a correction) from {down}"
        f" thumbs-down rating(s); run `qa eval {out}`"
    )
    return 0
