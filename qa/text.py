"""Plain-text helpers every layer shares: stopwords and the content-word stems compared across
questions, passages and answers (grounding, the relevance gate, highlighting)."""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    """a an the and or but if of in on at to for from by with as is are was were be been being
    it its this that these those there their they them he she his her we our you your i me my
    not no do does did done has have had having will would can could should may might must
    which who whom whose what when where why how than then so such also very just about into
    over under after before between during while all any each both few more most other some
    same only own too up down out off again further once here passage passages document
    documents answer question according states stated say says said""".split()
)


def content_words(text: str) -> list[str]:
    """Lower-cased words that carry meaning (no stopwords)."""
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


def stems(text: str) -> list[str]:
    """Content words cut to 5 letters, so 'pledged' matches 'pledge' and 'summits' 'summit'."""
    return [w[:5] for w in content_words(text)]
