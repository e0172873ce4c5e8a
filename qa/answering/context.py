"""Context assembly: widen each hit to its neighbouring chunks, merge what overlaps, drop repeats;
then the passages as the answer prompt quotes them (`prompt_context`).

Small chunks rank well (bench/results.md, "Chunking") but a 48-token chunk can cut a fact off
from the sentence that names its subject. With `retrieval.window = w` every hit is given the w
chunks before and after it in its file (small-to-big), hits whose windows touch become one
passage, and a passage whose text another higher-ranked passage already holds is dropped. The
retrieval ranking (hit rate, MRR) is unchanged: only what the LLM reads grows. `WindowExpansion`
is the same as a llama-index node postprocessor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from qa.answering.answer import sources_of
from qa.answering.injection import Payloads, collect, sanitize
from qa.answering.summary import MAX_DOCUMENT_CHUNKS

if TYPE_CHECKING:
    from qa.answering.pipeline import Pipeline

# (file name, positions) -> {position: chunk}; missing positions are simply absent.
Fetch = Callable[[str, list[int]], dict[int, TextNode]]


@dataclass
class _Span:
    file: str
    lo: int
    hi: int
    hit: NodeWithScore  # the best-ranked hit inside the span: its id, metadata and score lead
    score: float


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def dedupe(nodes: list[NodeWithScore]) -> list[NodeWithScore]:
    """Drop passages whose text is already inside a higher-ranked passage (copied files,
    repeated boilerplate): the same words twice only spend the context budget."""
    kept: list[NodeWithScore] = []
    seen: list[str] = []
    for n in nodes:
        text = _norm(n.node.get_content())
        if text and any(text in s for s in seen):
            continue
        kept.append(n)
        seen.append(text)
    return kept


def _spans(nodes: list[NodeWithScore], window: int) -> list[_Span | NodeWithScore]:
    """Hits grouped into windows; hits without a file position pass through unchanged."""
    out: list[_Span | NodeWithScore] = []
    for n in nodes:
        meta = n.node.metadata
        pos, file = meta.get("position"), meta.get("file_name")
        if not isinstance(pos, int) or not file:
            out.append(n)
            continue
        lo, hi = max(0, pos - window), pos + window
        for s in out:
            if isinstance(s, _Span) and s.file == file and lo <= s.hi + 1 and hi >= s.lo - 1:
                s.lo, s.hi = min(s.lo, lo), max(s.hi, hi)
                s.score = max(s.score, float(n.score or 0.0))
                break
        else:
            out.append(_Span(file, lo, hi, n, float(n.score or 0.0)))
    return out


def _join(chunks: list[TextNode]) -> str:
    """Neighbouring chunks as one text; an overlap (chunk_overlap > 0) is written once, when the
    character offsets say so and the texts agree."""
    text = ""
    end = None
    for c in chunks:
        piece = c.get_content()
        start = c.start_char_idx
        overlap = end - start if end is not None and start is not None else 0
        if 0 < overlap <= len(piece) and text.endswith(piece[:overlap]):
            piece = piece[overlap:].strip()
        text = f"{text} {piece}".strip()
        end = c.end_char_idx if c.end_char_idx is not None else end
    return text


def expand(nodes: list[NodeWithScore], fetch: Fetch | None, window: int) -> list[NodeWithScore]:
    """The passages the LLM reads: each hit with `window` neighbours a side, merged, deduped."""
    if window <= 0 or fetch is None or not nodes:
        return dedupe(nodes)
    passages: list[NodeWithScore] = []
    for s in _spans(nodes, window):
        if isinstance(s, NodeWithScore):
            passages.append(s)
            continue
        found = fetch(s.file, list(range(s.lo, s.hi + 1)))
        chunks = [found[p] for p in sorted(found)]
        if not chunks:
            passages.append(s.hit)
            continue
        hit = s.hit.node
        meta = dict(hit.metadata) | {"window": [min(found), max(found)]}
        node = TextNode(
            id_=hit.node_id,
            text=_join(chunks),
            metadata=meta,
            start_char_idx=chunks[0].start_char_idx,
            end_char_idx=chunks[-1].end_char_idx,
            relationships=dict(hit.relationships),
        )
        passages.append(NodeWithScore(node=node, score=s.score))
    return dedupe(passages)


class WindowExpansion(BaseNodePostprocessor):
    """`expand` as a node postprocessor: `window` neighbours a side from `fetch` (the store
    retriever's `neighbours`), merged and deduped; window 0 or no fetch only dedupes."""

    window: int = 0
    fetch: Fetch | None = None

    @classmethod
    def class_name(cls) -> str:
        return "WindowExpansion"

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        return expand(nodes, self.fetch, self.window)


def prompt_context(pipe: Pipeline, nodes: list[NodeWithScore], payloads: Payloads) -> str:
    """Numbered passages grouped under their document's title and date (written once per
    document), with sentences that address the assistant removed (qa.answering.injection),
    cut at the token budget."""
    budget = pipe.settings.retrieval.max_context_tokens
    parts, used, last_doc = [], 0, None
    fetch = getattr(pipe.retriever(), "neighbours", None)
    for file in dict.fromkeys(s.file for s in sources_of(nodes)):
        if fetch is not None and file:
            chunks = fetch(file, list(range(MAX_DOCUMENT_CHUNKS)))
            collect(" ".join(chunks[p].get_content() for p in sorted(chunks)), payloads)
    for s in sources_of(nodes):
        block = pipe.prompt("passage", n=str(s.n), text=sanitize(s.text, payloads))
        if s.file != last_doc:
            date = f" ({s.date[:10]})" if s.date else ""
            block = pipe.prompt("document", title=s.title or s.file, date=date) + "\n" + block
        cost = pipe.count(block)
        if parts and used + cost > budget:
            break
        parts.append(block)
        used += cost
        last_doc = s.file
    return "\n\n".join(parts)
