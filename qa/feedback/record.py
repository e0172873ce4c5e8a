"""One rating as a record, and the question set made from the records.

A record is a line of the `qa eval` question format (qa/evaluation/questions.py), so the
feedback file is a question set as it stands: `question`, `reference_answer` (the correction),
`answerable`, `source` (the document the answer cited) and `kind: "feedback"`, plus what the
loader ignores: the standalone `search_query`, the `answer`, its `sources`, the `verdict`, the
`correction`, the `settings` that made the answer, `created` and, with UI login on, `user`.
"""

from __future__ import annotations

import datetime as _dt
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from qa.errors import InputError, require_text
from qa.settings import Settings
from qa.text import is_refusal

VERDICTS = ("up", "down")
MAX_CORRECTION_CHARS = 2000  # a short correction; a whole page is not a reference answer
SOURCE_KEYS = ("file", "page", "section", "chunk_id", "score")


@dataclass
class Answered:
    """What a rating refers to: one answer as it was given (kept without passage texts)."""

    question: str
    search_query: str
    answer: str
    refused: bool
    sources: list[dict[str, Any]] = field(default_factory=list)
    follow_up: bool = False  # asked after earlier turns: replayed with its standalone form

    @classmethod
    def of(cls, question: str, answer: Any, follow_up: bool = False) -> Answered:
        """From a qa.Answer (or anything with text, search_query, refused, sources)."""
        return cls(
            question=question,
            search_query=answer.search_query or question,
            answer=answer.text,
            refused=bool(answer.refused),
            sources=[{k: s.get(k) for k in SOURCE_KEYS} for s in answer.sources or []],
            follow_up=follow_up,
        )


class RecentAnswers:
    """The last `size` answers by id, so a rating can name an answer by its id alone; the
    oldest is forgotten first, so memory stays bounded however long the server runs."""

    def __init__(self, size: int = 1000) -> None:
        self.size = size
        self._items: OrderedDict[str, Answered] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, key: str, answered: Answered) -> None:
        with self._lock:
            self._items[key] = answered
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def get(self, key: str) -> Answered | None:
        with self._lock:
            return self._items.get(key)


def check_correction(verdict: str, correction: str | None) -> str:
    """The correction, stripped; InputError for a bad verdict, bad text or one too long."""
    if verdict not in VERDICTS:
        raise InputError(f"verdict must be 'up' or 'down', not {verdict!r}")
    text = require_text(correction or "", "correction").strip()
    if len(text) > MAX_CORRECTION_CHARS:
        raise InputError(
            f"the correction is {len(text)} characters; at most {MAX_CORRECTION_CHARS} are kept"
        )
    if text and verdict != "down":
        raise InputError("a correction goes with a thumbs down (verdict 'down')")
    return text


def make_record(
    rid: str,
    answered: Answered,
    verdict: str,
    settings: Settings,
    correction: str | None = None,
    user: str | None = None,
    now: _dt.datetime | None = None,
) -> dict[str, Any]:
    """The record of one rating: a correction becomes the reference answer, the first cited
    document the retrieval label."""
    from qa.models.factory import describe  # llama-index: not at `import qa` (qa.offline first)

    text = check_correction(verdict, correction)
    created = (now or _dt.datetime.now(_dt.UTC)).astimezone(_dt.UTC)
    rec: dict[str, Any] = {
        "id": rid,
        "kind": "feedback",
        "question": answered.question,
        "reference_answer": text,
        "answerable": _answerable(verdict, answered.refused, text),
        "source": answered.sources[0]["file"] if answered.sources else None,
        "search_query": answered.search_query,
        "follow_up": answered.follow_up,
        "answer": answered.answer,
        "refused": answered.refused,
        "sources": [{k: src.get(k) for k in SOURCE_KEYS} for src in answered.sources],
        "verdict": verdict,
        "correction": text,
        "settings": {
            "model": describe(settings)["llm"],
            "retrieval_mode": settings.retrieval.mode,
            "similarity_cutoff": settings.retrieval.similarity_cutoff,
        },
        "created": created.isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    if user:
        rec["user"] = user
    return rec


def corrected(record: dict[str, Any], correction: str) -> dict[str, Any]:
    """The thumbs-down record with the correction the user typed after it."""
    text = check_correction("down", correction)
    answerable = _answerable("down", bool(record.get("refused")), text)
    return {**record, "reference_answer": text, "correction": text, "answerable": answerable}


def _answerable(verdict: str, refused: bool, correction: str) -> bool:
    """A correction saying the documents do not tell, or an approved refusal: unanswerable."""
    if correction:
        return not is_refusal(correction)
    return not (verdict == "up" and refused)


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def export_items(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The question set of the thumbs-down records: one item per question (a corrected
    record beats an uncorrected one, then the newer wins); a follow-up is asked in its
    standalone form, since the set replays it without its conversation."""
    chosen: dict[str, dict[str, Any]] = {}
    for rec in sorted(records, key=lambda r: str(r.get("created", ""))):
        if rec.get("verdict") != "down":
            continue
        item = dict(rec)
        if rec.get("follow_up") and rec.get("search_query"):
            item["question"], item["asked"] = rec["search_query"], rec["question"]
        key = _key(item["question"])
        old = chosen.get(key)
        if old is None or item.get("correction") or not old.get("correction"):
            chosen[key] = item
    return list(chosen.values())


def select(
    records: list[dict[str, Any]],
    verdict: str | None = None,
    since: _dt.date | None = None,
    until: _dt.date | None = None,
) -> list[dict[str, Any]]:
    """Records with this verdict, created between the two dates (both days included)."""
    out = []
    for rec in records:
        try:
            day = _dt.date.fromisoformat(str(rec.get("created", ""))[:10])
        except ValueError:  # a record edited by hand: kept unless a date is asked for
            day = None
        if verdict and rec.get("verdict") != verdict:
            continue
        if (since or until) and (day is None or (since and day < since) or (until and day > until)):
            continue
        out.append(rec)
    return out
