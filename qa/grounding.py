"""Judge-free grounding: how much of an answer the retrieved passages support, and which.

A small local model sometimes answers from memory ("10 million yuan") even when told not to.
Every content word of the answer is looked up in the passages and the question (by a 5-letter
prefix, so 'pledged' matches 'pledge'); an answer whose share of supported words is below the
threshold is replaced by the refusal. The same overlap picks the passages to cite.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    """a an the and or but if of in on at to for from by with as is are was were be been being
    it its this that these those there their they them he she his her we our you your i me my
    not no do does did done has have had having will would can could should may might must
    which who whom whose what when where why how than then so such also very just about into
    over under after before between during while all any each both few more most other some
    same only own too up down out off again further once here both passage passages document
    documents answer question according states stated say says said""".split()
)


def _stems(text: str) -> list[str]:
    return [w[:5] for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


def support(answer: str, passages: list[str], question: str = "") -> float:
    """Share (0..1) of the answer's content words found in the passages or the question."""
    words = _stems(answer)
    if not words:
        return 1.0
    known = set(_stems(" ".join(passages) + " " + question))
    return sum(w in known for w in words) / len(words)


def best_passages(answer: str, passages: list[str], min_overlap: int = 2) -> list[int]:
    """1-based numbers of the passages that share the most content words with the answer."""
    words = set(_stems(answer))
    scores = [len(words & set(_stems(p))) for p in passages]
    if not scores or max(scores) < min_overlap:
        return []
    top = max(scores)
    return [i for i, s in enumerate(scores, 1) if s >= max(min_overlap, top - 1)]


_MARKER = re.compile(r"\[(\d+)\]")


def cite(answer: str, passages: list[str]) -> str:
    """The answer with [n] markers of its supporting passages, unless it already has valid ones."""
    existing = {int(m) for m in _MARKER.findall(answer)}
    if existing and existing <= set(range(1, len(passages) + 1)):
        return answer
    clean = _MARKER.sub("", answer).rstrip()
    markers = "".join(f"[{n}]" for n in best_passages(clean, passages))
    return f"{clean} {markers}" if markers else clean
