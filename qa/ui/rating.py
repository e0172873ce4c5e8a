"""Rating answers in the browser: thumbs up / down on every answer (the Chatbot's like event),
and after a thumbs down an optional "what should it have said?" correction.

Each rating is one record of qa.feedback, replaced when the same answer is rated again and
removed when the rating is withdrawn. The standalone question and sources come from the
answers this process remembers (qa.feedback.RecentAnswers, filled by the chat handler);
the user name is kept only when the chat has a login.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import gradio as gr

import qa
from qa.ui.chat import role_text
from qa.ui.render import ERROR_MARK, error_text

ASK_CORRECTION = (
    "👎 Saved. What should it have said? Type it below (optional); it becomes the reference"
    " answer of a test question."
)


def answer_key(question: str, answer: str) -> str:
    """The key an answer is remembered under: the question and the answer as shown."""
    text = " ".join(question.split()) + "\0" + " ".join(answer.split())
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()


def remembering(recent: qa.feedback.RecentAnswers) -> Callable[[str, Any, bool], None]:
    """The chat handler's `remember`: each finished answer, under its answer_key."""

    def remember(question: str, answer: Any, follow_up: bool) -> None:
        recent.put(
            answer_key(question, answer.text), qa.feedback.Answered.of(question, answer, follow_up)
        )

    return remember


def rater(
    s: qa.Settings, store: qa.feedback.FeedbackStore, recent: qa.feedback.RecentAnswers
) -> tuple[Callable[..., tuple], Callable[..., tuple]]:
    """(rate, correct): the like handler and the correction button's handler; each returns
    (pending record, correction box update, correction text, confirmation line)."""
    hidden = gr.update(visible=False)

    def rate(history: list[Any], data: gr.LikeData, request: gr.Request) -> tuple:
        try:
            msgs = [role_text(m) for m in history or []]
            i = data.index if isinstance(data.index, int) else data.index[0]
            answer = msgs[i][1]
            if answer.startswith(ERROR_MARK):
                return None, hidden, "", "An error message is not rated."
            asked = [t for r, t in msgs[:i] if r == "user"]
            question = asked[-1] if asked else ""
            session = getattr(request, "session_hash", None) or ""
            rid = "ui-" + answer_key(f"{session}\0{i}\0{question}", answer)[:24]
            if data.liked not in (True, False):  # the thumb clicked again: withdrawn
                store.remove(rid)
                return None, hidden, "", "Rating withdrawn."
            answered = recent.get(answer_key(question, answer)) or qa.feedback.Answered(
                question, question, answer, qa.text.is_refusal(answer), [], len(asked) > 1
            )
            verdict = "up" if data.liked else "down"
            user = getattr(request, "username", None)
            record = qa.feedback.make_record(rid, answered, verdict, s, user=user)
            store.put(record)
        except Exception as exc:  # one line under the chat, never a traceback
            return None, hidden, "", error_text(exc)
        if verdict == "up":
            return None, hidden, "", "👍 Thanks: rating saved."
        return record, gr.update(visible=True), "", ASK_CORRECTION

    def correct(pending: dict[str, Any] | None, text: str) -> tuple:
        if not pending:
            return None, hidden, "", "Rate an answer with 👎 first."
        if not (text or "").strip():
            return pending, gr.update(visible=True), "", "Type what it should have said first."
        try:
            store.put(qa.feedback.corrected(pending, text))
        except Exception as exc:
            return pending, gr.update(visible=True), text, error_text(exc)
        return (
            None,
            hidden,
            "",
            "✅ Correction saved: `qa feedback export` makes it a test question.",
        )

    return rate, correct
