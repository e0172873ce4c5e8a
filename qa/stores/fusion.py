"""Reciprocal rank fusion, written once: hybrid retrieval (vector + keyword ranking) in both
stores, and several search queries for one question (qa.answering.pipeline).

Not llama-index's QueryFusionRetriever(mode="reciprocal_rerank"), for two reasons its code
shows (llama-index-core 0.14.25, `_reciprocal_rerank_fusion`): it replaces every node's score
with its RRF score, where our relevance gate reads each chunk's cosine similarity to the
question; and it re-sorts each input list by score before ranking, which would turn our keyword
ranking (ordered by BM25 or full-text rank, but scored by cosine) back into a cosine ranking.
Here the order comes from RRF and each chunk keeps its best cosine score.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

from llama_index.core.schema import NodeWithScore

K = TypeVar("K", bound=Hashable)


def rrf(rankings: Sequence[Sequence[K]], k: int = 60) -> list[K]:
    """Reciprocal rank fusion of several ranked key lists (best first); ties by key."""
    scores: dict[K, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking):
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank + 1)
    return [key for key, _ in sorted(scores.items(), key=lambda x: (-x[1], x[0]))]


def fuse(rankings: Sequence[Sequence[NodeWithScore]], top_k: int) -> list[NodeWithScore]:
    """The top_k nodes of several rankings fused by reciprocal rank; each node keeps its best
    score (cosine in every ranking here, so the gate reads the same scale either way)."""
    best: dict[str, NodeWithScore] = {}
    for hits in rankings:
        for n in hits:
            if n.node.node_id not in best or (n.score or 0) > (best[n.node.node_id].score or 0):
                best[n.node.node_id] = n
    order = rrf([[n.node.node_id for n in hits] for hits in rankings])
    return [best[i] for i in order][:top_k]
