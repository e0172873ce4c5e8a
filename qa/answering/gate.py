"""The relevance gate: which retrieved chunks count as evidence for a question.

A chunk counts when it is close in meaning (cosine at or above `similarity_cutoff`) or holds
most of the question's key terms (share at or above `keyword_cutoff`): the keyword half of
hybrid retrieval, so "What is CELAC?" finds the chunk that names CELAC although a two-word
question embeds far from it. Nothing left means 'not in the documents', with no LLM call.
`RelevanceGate` is the gate as a llama-index node postprocessor, so it fits any llama-index
query engine too.
"""

from __future__ import annotations

from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import NodeWithScore, QueryBundle

from qa.answering.router import key_terms
from qa.settings import RetrievalSettings
from qa.text import stems


def gate(
    nodes: list[NodeWithScore], queries: tuple[str, ...], r: RetrievalSettings
) -> list[NodeWithScore]:
    """The chunks that pass the gate (see the module docstring), in their ranked order."""
    # a follow-up's own words ("Over how many years?") or its standalone form's
    term_sets = [t for t in (key_terms(q) for q in dict.fromkeys(queries)) if t]
    kept = []
    for n in nodes:
        if (n.score or 0.0) >= r.similarity_cutoff:
            kept.append(n)
        elif any(coverage(t, n) >= r.keyword_cutoff for t in term_sets):
            kept.append(n)
    return kept


def coverage(terms: set[str], node: NodeWithScore) -> float:
    meta = node.node.metadata
    words = set(stems(f"{node.node.get_content()} {meta.get('title', '')}"))
    return len(terms & words) / len(terms)


class RelevanceGate(BaseNodePostprocessor):
    """`gate` as a node postprocessor: the query's key terms, and those of `queries` (a
    follow-up's standalone form), decide with the cutoffs of `retrieval`."""

    retrieval: RetrievalSettings
    queries: tuple[str, ...] = ()

    @classmethod
    def class_name(cls) -> str:
        return "RelevanceGate"

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        asked = (query_bundle.query_str,) if query_bundle else ()
        return gate(nodes, asked + self.queries, self.retrieval)
