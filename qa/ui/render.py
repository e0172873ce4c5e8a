"""What the browser chat shows: the sources panel, the status line, errors as one line."""

from __future__ import annotations

import html
import re
import sys
import traceback
from typing import Any

import qa

ERROR_MARK = "⚠️"

CSS = """
#qa-sources { max-height: 70vh; overflow-y: auto; }
.qa-source { border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: 8px 10px; margin-bottom: 8px; }
.qa-source-head { font-weight: 600; }
.qa-source-n { display: inline-block; min-width: 2em; color: var(--color-accent); }
.qa-source-meta { color: var(--body-text-color-subdued); font-size: 0.9em; margin: 2px 0 6px; }
.qa-source-text { white-space: pre-wrap; font-size: 0.92em; line-height: 1.4; }
.qa-source-text mark { background: #fde68a; color: inherit; padding: 0 1px; }
.qa-source-open summary { cursor: pointer; color: var(--color-accent); font-size: 0.9em; }
.qa-source-context { white-space: pre-wrap; font-size: 0.9em; line-height: 1.4; max-height: 40vh;
  overflow-y: auto; border-left: 3px solid var(--border-color-primary); padding-left: 8px; }
.qa-source-context mark { background: #fde68a; color: inherit; }
#qa-status { font-size: 0.9em; color: var(--body-text-color-subdued); }
#qa-eval-reports { max-height: 45vh; overflow-y: auto; }
"""

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def _words(text: str) -> set[str]:
    """Content words of three letters or more (qa's stopword list, shared with grounding)."""
    return {w for w in qa.text.content_words(text or "") if len(w) > 2}


def _highlight(passage: str, focus: str) -> str:
    """HTML of the passage with the sentence(s) sharing most words with `focus` marked."""
    parts = [p for p in _SENTENCE.split(passage) if p.strip()]
    want = _words(focus)
    scores = [len(_words(p) & want) for p in parts]
    best = max(scores, default=0)
    out = []
    for part, score in zip(parts, scores, strict=True):
        esc = html.escape(part.strip())
        out.append(f"<mark>{esc}</mark>" if best >= 2 and score == best else esc)
    return " ".join(out)


def render_sources(sources: list[dict[str, Any]], focus: str = "", note: str = "") -> str:
    """The sources panel: one card per passage, numbered like the answer's [n] markers."""
    if not sources:
        msg = note or "The passages an answer uses appear here, numbered like its [n] markers."
        return f'<div class="qa-sources-empty">{html.escape(msg)}</div>'
    cards = []
    for s in sources:
        meta = " · ".join(html.escape(str(x)) for x in (s.get("title"), s.get("date")) if x)
        where = html.escape(str(s.get("citation") or s.get("file", "")))  # file, p. 12 / section
        cards.append(
            f'<div class="qa-source" id="qa-source-{int(s.get("n", 0))}">'
            f'<div class="qa-source-head"><span class="qa-source-n">[{int(s.get("n", 0))}]</span>'
            f'<span class="qa-source-file">{where}</span>'
            f' <span class="qa-source-score">score {float(s.get("score") or 0):.2f}</span></div>'
            f'<div class="qa-source-meta">{meta}</div>'
            f'<div class="qa-source-text">{_highlight(str(s.get("text", "")), focus)}</div>'
            f"{_opened(s.get('context'))}"
            "</div>"
        )
    return "".join(cards)


def _opened(context: dict[str, Any] | None) -> str:
    """A source opened in its document (qa.open_source): a click on "Open in the document"
    shows the text around the passage, the passage marked, with the page for a PDF."""
    if not context:
        return ""
    page = f" (page {int(context['page'])})" if context.get("page") else ""
    before, after = (html.escape(str(context.get(k) or "")) for k in ("before", "after"))
    passage = html.escape(str(context.get("passage") or ""))
    return (
        f'<details class="qa-source-open"><summary>Open in the document{page}</summary>'
        f'<div class="qa-source-context">…{before}<mark class="qa-passage">{passage}</mark>'
        f"{after}…</div></details>"
    )


def _models(settings: qa.Settings) -> str:
    d = qa.describe(settings)
    return f"LLM: {d['llm']} · embedding: {d['embedding']}"


def status(settings: qa.Settings, answer: Any = None, note: str = "") -> str:
    """The line under the title: which models answer, and the last answer's time and tokens."""
    line = _models(settings)
    if answer is not None:
        usage = answer.usage or {}
        tokens = int(usage.get("prompt_tokens", 0)) + int(usage.get("completion_tokens", 0))
        spent = (
            f"{tokens} tokens ({usage.get('prompt_tokens', 0)} prompt + "
            f"{usage.get('completion_tokens', 0)} completion)"
        )
        line += f" · answered in {answer.seconds:.1f} s · "
        if answer.refused and not answer.sources:  # the gate: the model wrote no answer
            line += "no passage passed the relevance gate, so no answer was generated"
            # a follow-up's rewrite or a translation ran before the gate
            line += f" · preparing the search took {spent}" if tokens else ""
        else:
            line += spent
    if note:
        line += f" · {note}"
    return line


def error_text(exc: BaseException) -> str:
    """Any failure as one chat line; an unexpected one also logs its traceback."""
    if isinstance(exc, qa.QAError):
        return f"{ERROR_MARK} {qa.one_line(exc)}"
    # unexpected: the log gets the traceback, the chat one line
    traceback.print_exc(file=sys.stderr)
    unexpected = RuntimeError(f"something went wrong ({exc.__class__.__name__}: {exc})")
    return f"{ERROR_MARK} {qa.one_line(unexpected)}"
