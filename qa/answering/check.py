"""Sentence-by-sentence grounding of an answer as it arrives, streamed or whole: the one
check every door's answer passes (qa.answering.grounding decides each sentence)."""

from __future__ import annotations

import re
from collections.abc import Callable

from qa.answering.answer import Prepared, comparable, tidy
from qa.answering.grounding import SENTENCE_END, split_sentences
from qa.answering.quantity import states
from qa.text import is_refusal

# A sentence that is only a verdict, in the languages of the refusal prompts.
VERDICT = re.compile(
    r"^\W*(yes|no|s[ií]|oui|non|ja|nein|sim|n[ãa]o|是的?|不是|对|不)\W*$", re.IGNORECASE
)
# A list item's marker ("- ", "* ", "• ", "1. ", "2) "). Asked for bullet points, the 1.5B model
# writes a list; its items were joined into one paragraph run through with " - ", and a "1."
# was split off its item as a sentence of its own and dropped (stop-34 browser session). The
# marker is kept out of the checks (a "1." is no claim) and its item starts a new line.
_ITEM = re.compile(r"^(?:[-*•]|\d{1,2}[.)])(?:\s+|$)")
# The model speaking of its own answer ("Yes, I can provide a four-sentence summary of the
# speech.", "Sure, here are the main points:"): no claim, so neither checked nor sent (what
# follows a colon is). It passed the check on the question's words, cited [1], and took one of
# the four sentences asked for (article dev "Can you give me a four-point summary of the
# speech?", stop 37).
_ABOUT_THE_ANSWER = re.compile(
    r"^(?:(?:yes|sure|certainly|of course|okay|ok)\b[,!.]?\s*)?"
    r"(?:(?:I can|I will|I'll|I'd be happy to|let me)\s+(?:\w+\s+)?"
    r"(?:provide|give|summari[sz]e|list|outline|help|answer|share)\b|"
    r"here(?: is|'s| are)\b|below (?:is|are)\b)",
    re.IGNORECASE,
)


class AnswerCheck:
    """Sentence-by-sentence grounding of an answer as it arrives (streamed or whole).

    A sentence is sent once it ends and passes (grounding.Evidence.passes, and it carries no
    payload of a removed instruction), or as its leading clauses when only they pass
    (Evidence.supported_part; the whole sentence is listed as dropped). A refusal sentence from
    the model ends the answer as the refusal unless something was already said; an answer with
    nothing left is the refusal. An unfinished last sentence of an answer that ran into the
    token limit (`at_limit`) is dropped: a long summary used to end mid-word ("... have entered
    a new [1]"). The sentences of an answer to "How many ...?" ("When ...?") are held until one
    states a number (a time: qa.answering.quantity). A sentence the answer already said is not
    said again: the 1.5B model looped on a long document ("Summarize Martin Luther's life",
    squad dev said "He later compared his education there to purgatory and hell." twice). A bare
    "No." is held until a sentence that passes says why: asked to begin with yes or no (an
    instruction tried and dropped at stop 28), the 1.5B model wrote "No. The documents do not
    contain the answer to this question." to "Did Xi announce a new loan?", and "No." alone was
    sent; a bare "Yes." already fails (grounding.Evidence.bare_yes). A list item keeps its
    marker (`_ITEM`) and its line. A summary asked for in so many sentences
    (`Prepared.sentences`) ends there; one asked for as bullet points sends each sentence as one
    (`Prepared.bullets`).
    `render` gives a sentence that passed its final form (llm.translate_answers:
    its translation)."""

    def __init__(
        self,
        p: Prepared,
        min_support: float,
        at_limit: Callable[[str], bool] | None = None,
        render: Callable[[str], str] | None = None,
    ) -> None:
        self.p = p
        self.render = render or (lambda sentence: sentence)  # a checked sentence as it is sent
        self.min_support = min_support
        self.at_limit = at_limit or (lambda _text: False)
        self.raw = ""  # everything the model wrote, for at_limit
        self.buffer = ""
        self.sent = 0
        self.done = False
        # a count (time) question's passing sentences, held until one states it (quantity.py),
        # and a bare yes or no, held until a sentence backs it; each with its list marker
        self.held: list[tuple[str, str]] = []
        self.mark = ""  # a list marker split off as a sentence of its own ("1."), for the next
        self.counted = p.asks is None
        self.said: set[str] = set()  # the sentences sent, as `comparable` gives them

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
        self.p.dropped.extend(s for _, s in self.held)  # no count given, or no "No." backed
        self.held = []
        if not self.sent and not self.done:
            self.p.unsupported = bool(self.p.dropped)
            self.done = True
            return out + [self.p.refusal]
        return out

    def _one(self, sentence: str) -> list[str]:
        s = tidy(sentence)
        item = _ITEM.match(s)
        if item:
            self.mark, s = item[0].strip(), s[item.end() :]
            if not s:
                return []  # "1." alone: it marks the sentence that follows
        mark, self.mark = self.mark, ""
        if _ABOUT_THE_ANSWER.match(s):
            s = s.partition(":")[2].strip()  # "Here is the summary: It was held ..."
        if self.done or not s or comparable(s) in self.said:
            return []
        if is_refusal(s, self.p.model_refusal):
            if not self.sent:
                self.done = True
                return [self.p.refusal]
            return []
        ev = self.p.evidence
        if ev is None or self.p.payloads.carried_by(s, ev.text):
            self.p.dropped.append(s)
            return []
        if not ev.passes(s, self.min_support):
            self.p.dropped.append(s)
            part = ev.supported_part(s, self.min_support)
            if part is None:
                return []
            s = part  # its first clauses pass: the rest is what was dropped
        if VERDICT.match(s):
            self.held.append((mark, s))
            return []
        if not self.counted:
            if not states(s, self.p.asks):
                self.held.append((mark, s))
                return []
            self.counted = True
        ready, self.held = [*self.held, (mark, s)], []
        out = []
        for marker, one in ready:
            marker = marker or ("-" if self.p.bullets else "")
            self.said.add(comparable(one))
            self.sent += 1
            gap = ("\n" if marker else " ") if self.sent > 1 else ""
            out.append(gap + (f"{marker} " if marker else "") + self.render(ev.cite(one)))
        if self.p.sentences and self.sent >= self.p.sentences:
            self.done = True  # as many sentences as the summary was asked for
        return out


def split_sentences_keep_tail(text: str) -> list[str]:
    """Complete sentences of `text` followed by the unfinished rest, kept as it is (possibly
    empty), so the next delta continues it."""
    ends = list(SENTENCE_END.finditer(text))
    if not ends:
        return [text]
    cut = ends[-1].end()
    return split_sentences(text[:cut]) + [text[cut:]]
