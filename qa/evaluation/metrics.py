"""Per-question metrics. Retrieval uses llama-index's HitRate and MRR; the rest is what
llama-index lacks: SQuAD-style token F1, a judge-free support check, injection checks and prices.
Stopwords, refusal detection and percentiles are qa.text's, shared with the answering path and
the bench scripts.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence
from difflib import SequenceMatcher
from typing import Any

from llama_index.core.evaluation.retrieval.metrics import MRR, HitRate

from qa.text import STOPWORDS

CITATION = re.compile(r"\[\s*\d+(?:\s*[,;-]\s*\d+)*\s*\]")
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans({c: " " for c in string.punctuation})
NO_MATCH = "<no relevant passage retrieved>"


# ---- text ------------------------------------------------------------------------------------
def strip_citations(text: str) -> str:
    return CITATION.sub("", text or "")


def normalize(text: str) -> str:
    """Lower case, no citations, punctuation or articles, single spaces (SQuAD style)."""
    t = strip_citations(text).lower().translate(_PUNCT)
    return " ".join(_ARTICLES.sub(" ", t).split())


def tokens(text: str) -> list[str]:
    return normalize(text).split()


def token_f1(prediction: str, reference: str) -> float:
    """Token-level F1 between an answer and the reference answer (0..1)."""
    pred, ref = tokens(prediction), tokens(reference)
    if not pred or not ref:
        return float(pred == ref)
    common = Counter(pred) & Counter(ref)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


ALTERNATIVES = " | "  # separates the accepted wordings of one fact


def facts_found(answer: str, facts: Sequence[str]) -> list[bool]:
    """Per expected fact: does the answer contain it (any of its " | " alternatives), both
    normalized as SQuAD's scorer does (case, punctuation, articles, citations, spaces): "Denmark,
    Iceland, and Norway" holds "Denmark, Iceland and Norway", which a plain substring missed."""
    a = normalize(answer)

    def holds(alt: str) -> bool:
        n = normalize(alt) or " ".join(alt.lower().split())  # "A" or "?" normalize to nothing
        return bool(n) and n in a

    return [any(holds(alt) for alt in f.split(ALTERNATIVES)) for f in facts]


def fact_recall(answer: str, facts: Sequence[str], any_of: bool = False) -> float | None:
    """Share of the expected facts found in the answer; with any_of the facts are alternative
    gold answers and finding one scores 1."""
    if not facts:
        return None
    found = facts_found(answer, facts)
    return float(any(found)) if any_of else sum(found) / len(facts)


def facts_needed(n_facts: int, any_of: bool = False, min_facts: int | None = None) -> int:
    """How many facts a right answer holds: min_facts when set, else 1 with any_of, else all."""
    if min_facts is not None:
        return min_facts
    return min(1, n_facts) if any_of else n_facts


def facts_satisfied(
    answer: str, facts: Sequence[str], any_of: bool = False, min_facts: int | None = None
) -> bool:
    """True when the answer holds enough of the facts (no facts: nothing to miss)."""
    return sum(facts_found(answer, facts)) >= facts_needed(len(facts), any_of, min_facts)


# ---- retrieval -------------------------------------------------------------------------------
def passage_holds(passage: str, reference: str) -> bool:
    """True when a retrieved passage holds the reference context: it contains it, or (when a
    chunk boundary cuts it) shares a common run of at least half of it."""
    p, r = " ".join(passage.lower().split()), " ".join(reference.lower().split())
    if not r:
        return False
    if r in p:
        return True
    m = SequenceMatcher(None, p, r, autojunk=False).find_longest_match(0, len(p), 0, len(r))
    return m.size >= max(20, len(r) // 2)


def _same_file(retrieved: str, expected: str) -> bool:
    a, b = retrieved.replace("\\", "/"), expected.replace("\\", "/")
    return a == b or a.rsplit("/", 1)[-1] == b.rsplit("/", 1)[-1]


def relevant(
    passage: dict[str, Any], reference_contexts: Sequence[str], source: str | None
) -> bool:
    """Relevance of one retrieved passage ({'text', 'file'}): it holds a reference context, or
    (without reference contexts) it comes from the expected source file."""
    if reference_contexts:
        return any(passage_holds(passage.get("text", ""), c) for c in reference_contexts)
    if source:
        return _same_file(passage.get("file", ""), source)
    return False


def retrieval_scores(
    retrieved: Sequence[dict[str, Any]],
    reference_contexts: Sequence[str] = (),
    source: str | None = None,
) -> tuple[float, float]:
    """(hit, reciprocal rank) of one ranked list, through llama-index's HitRate and MRR.

    Relevance comes from the labels, so the expected ids are the retrieved ids judged relevant
    (or a placeholder that matches nothing when none is)."""
    ids = [str(p.get("id") or f"#{i}") for i, p in enumerate(retrieved)]
    if not ids:
        return 0.0, 0.0
    expected = [
        i for i, p in zip(ids, retrieved, strict=True) if relevant(p, reference_contexts, source)
    ]
    expected = expected or [NO_MATCH]
    hit = HitRate().compute(expected_ids=expected, retrieved_ids=ids).score
    rr = MRR().compute(expected_ids=expected, retrieved_ids=ids).score
    return float(hit), float(rr)


# ---- support without a judge ----------------------------------------------------------------
_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])|\n+")
_NUM = re.compile(r"\d+(?:[.,]\d+)*")


def sentences(text: str) -> list[str]:
    out = []
    for s in _SENT.split(strip_citations(text or "")):
        s = s.strip(" -*\t")
        if len(tokens(s)) >= 2:
            out.append(s)
    return out


def _content(text: str) -> list[str]:
    """Words that carry a claim: a sentence is judged on these (qa.text's stopwords left out)."""
    return [t for t in tokens(text) if t not in STOPWORDS]


def unsupported_sentences(
    answer: str, passages: Iterable[str], min_overlap: float = 0.6
) -> list[str]:
    """Answer sentences no retrieved passage supports: fewer than `min_overlap` of their
    content words occur in the passages, or a number in them occurs in none."""
    texts = list(passages)
    vocab = set()
    for p in texts:
        vocab.update(tokens(p))
    numbers = set(_NUM.findall(" ".join(texts)))
    flagged = []
    for s in sentences(answer):
        words = _content(s)
        overlap = sum(w in vocab for w in words) / len(words) if words else 1.0
        bad_number = any(n not in numbers for n in _NUM.findall(s))
        if overlap < min_overlap or bad_number:
            flagged.append(s)
    return flagged


# ---- injections ------------------------------------------------------------------------------
def injection_resisted(answer: str, forbidden: Sequence[str]) -> bool | None:
    if not forbidden:
        return None
    a = (answer or "").lower()
    return not any(f.lower() in a for f in forbidden)


# ---- aggregation -----------------------------------------------------------------------------
def mean(values: Iterable[float | None]) -> float | None:
    v = [float(x) for x in values if x is not None]
    return sum(v) / len(v) if v else None


# USD per million tokens (input, output), list prices; anything else reports no cost.
PRICES = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-3.5-turbo": (0.50, 1.50),
}


def price_per_million(llm_mode: str, model: str | None) -> tuple[float, float] | None:
    """Known price of the backend: local and mock cost nothing, unknown servers are None."""
    if llm_mode in ("local", "mock"):
        return (0.0, 0.0)
    if llm_mode == "openai":
        return PRICES.get(model or "gpt-4o-mini")
    return None


def cost_usd(
    prompt_tokens: int, completion_tokens: int, price: tuple[float, float] | None
) -> float | None:
    if price is None:
        return None
    return (prompt_tokens * price[0] + completion_tokens * price[1]) / 1_000_000
