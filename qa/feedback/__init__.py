"""Ratings of answers (thumbs up / down, an optional correction) kept as evaluation questions.

    record.py    one rating as a line of the `qa eval` question format; the export of the
                 thumbs-down records as a question set; the bounded memory of recent answers
                 a rating names by id
    store.py     the store interface: feedback.jsonl in the data dir (local), or
    postgres.py  a table beside the index (PostgreSQL), with the recent answers shared by
                 every replica
    cli.py       `qa feedback list | export`

The browser (qa.ui.rating) and `POST /v1/feedback` (qa.server.routers.feedback) write
records; `qa feedback export` and `qa eval --feedback` turn the thumbs-down ones into
questions every later change is measured on.
"""

from __future__ import annotations

from qa.feedback.record import (
    MAX_CORRECTION_CHARS,
    VERDICTS,
    Answered,
    RecentAnswers,
    corrected,
    export_items,
    make_record,
    select,
)
from qa.feedback.store import FeedbackStore, LocalFeedback, Recent, open_feedback, open_recent

__all__ = [
    "MAX_CORRECTION_CHARS",
    "VERDICTS",
    "Answered",
    "FeedbackStore",
    "LocalFeedback",
    "Recent",
    "RecentAnswers",
    "corrected",
    "export_items",
    "make_record",
    "open_feedback",
    "open_recent",
    "select",
]
