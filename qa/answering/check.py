"""Sentence-by-sentence grounding of an answer as it arrives, streamed or whole: the one
check every door's answer passes (qa.answering.grounding decides each sentence)."""

from __future__ import annotations

from collections.abc import Callable

from qa.answering.answer import Prepared, tidy
from qa.answering.grounding import SENTENCE_END, split_sentences
from qa.text import is_refusal


class AnswerCheck:
    """Sentence-by-sentence grounding of an answer as it arrives (streamed or whole).

    A sentence is sent once it ends and passes (grounding.Evidence.passes, and it carries no
    payload of a removed instruction); a refusal sentence from the model ends the answer as the
    refusal unless something was already said; an answer with nothing left is the refusal.
    An unfinished last sentence of an answer that ran into the token limit (`at_limit`) is
    dropped: a long summary used to end mid-word ("... have entered a new [1]")."""

    def __init__(
        self, p: Prepared, min_support: float, at_limit: Callable[[str], bool] | None = None
    ) -> None:
        self.p = p
        self.min_support = min_support
        self.at_limit = at_limit or (lambda _text: False)
        self.raw = ""  # everything the model wrote, for at_limit
        self.buffer = ""
        self.sent = 0
        self.done = False

    def feed(self, delta: str) -> list[str]:
        self.raw += delta
        self.buffer += delta
        parts = split_sentences_keep_tail(self.buffer)
        self.buffer = parts.pop()
        return [piece for s in parts for piece in self._one(s)]

    def close(self) -> list[str]:
        tail = self.buffer.strip()
        if tail and self.sent and self.at_limit(self.raw):
            self.p.dropped.append(tail)  # cut off by the token limit, not finished
            tail = ""
        out = self._one(tail) if tail else []
        self.buffer = ""
        if not self.sent and not self.done:
            self.p.unsupported = bool(self.p.dropped)
            self.done = True
            return out + [self.p.refusal]
        return out

    def _one(self, sentence: str) -> list[str]:
        s = tidy(sentence)
        if self.done or not s:
            return []
        if is_refusal(s, self.p.refusal):
            if not self.sent:
                self.done = True
                return [self.p.refusal]
            return []
        ev = self.p.evidence
        if (
            ev is None
            or self.p.payloads.carried_by(s, ev.text)
            or not ev.passes(s, self.min_support)
        ):
            self.p.dropped.append(s)
            return []
        self.sent += 1
        return [(" " if self.sent > 1 else "") + ev.cite(s)]


def split_sentences_keep_tail(text: str) -> list[str]:
    """Complete sentences of `text` followed by the unfinished rest, kept as it is (possibly
    empty), so the next delta continues it."""
    ends = list(SENTENCE_END.finditer(text))
    if not ends:
        return [text]
    cut = ends[-1].end()
    return split_sentences(text[:cut]) + [text[cut:]]
