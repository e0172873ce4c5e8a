"""The chat handler: history from the browser in, the answer and its sources streamed out."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from gradio import skip

import qa
from qa.ui.render import ERROR_MARK, error_text, render_sources, status


def text_of(content: Any) -> str:
    """Plain text of a Gradio message content (str, list of parts, or a file/component)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list | tuple):
        return " ".join(text_of(c) for c in content).strip()
    if isinstance(content, dict):
        if content.get("type") == "text" or "text" in content:
            return str(content.get("text") or "")
        return ""
    return ""


def role_text(m: Any) -> tuple[Any, str]:
    """(role, plain text) of one browser message, a dict or a Gradio message object."""
    if isinstance(m, dict):
        return m.get("role"), text_of(m.get("content"))
    return getattr(m, "role", None), text_of(getattr(m, "content", ""))


def clean_history(history: list[Any] | None) -> list[dict[str, str]]:
    """OpenAI-style messages for qa, without turns that ended in an error message."""
    msgs: list[dict[str, str]] = []
    for m in history or []:
        role, content = role_text(m)
        if role not in ("user", "assistant") or not content.strip():
            continue
        if role == "assistant" and content.startswith(ERROR_MARK):
            if msgs and msgs[-1]["role"] == "user":
                msgs.pop()
            continue
        msgs.append({"role": role, "content": content})
    return msgs


def responder(
    s: qa.Settings, remember: Callable[[str, Any, bool], None] | None = None
) -> Callable[[str, list[Any]], Iterator[tuple[str, str, str]]]:
    """gr.ChatInterface's function: yields (answer so far, sources panel, status line).
    `remember(question, answer, follow_up)` gets every finished answer (for its rating)."""

    def respond(message: str, history: list[Any]) -> Iterator[tuple[str, str, str]]:
        srcs: list[dict[str, Any]] = []
        text = ""
        try:
            question = message if isinstance(message, str) else text_of(message)
            past = clean_history(history)
            srcs, deltas, answer = qa.stream_ask(question, history=past, settings=s)
            for src in srcs:  # each card can open its passage in the document
                src["context"] = qa.open_source(src, settings=s)
            panel = render_sources(
                srcs, focus=question, note="No passage in the documents matches this question."
            )
            yield "", panel, status(s, note="answering…")
            for d in deltas:
                text += d
                yield text, panel, status(s, note="answering…")
            note = "not in the documents" if answer.refused else ""
            answer.text = answer.text or text
            if remember is not None:
                remember(question, answer, bool(past))
            final = render_sources(
                srcs, focus=answer.text or text, note="No passage matches this question."
            )
            yield answer.text, final, status(s, answer, note)
        except Exception as exc:  # every error becomes one line in the chat
            err = error_text(exc)
            shown = f"{text}\n\n{err}" if text else err
            # an error before retrieval (an empty question) leaves the panel as it was: it
            # still shows the sources of the answer above, which stays on screen
            yield shown, render_sources(srcs) if srcs else skip(), status(s, note="error")

    return respond
