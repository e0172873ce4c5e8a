"""Retrieval over the local store: one matrix product over normalised vectors, plus BM25.

A llama-index BaseRetriever, so it plugs into any llama-index postprocessor or engine.
"""

from __future__ import annotations

import numpy as np
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import (
    NodeRelationship,
    NodeWithScore,
    QueryBundle,
    RelatedNodeInfo,
    TextNode,
)

from qa.stores.bm25 import BM25Index, rrf
from qa.stores.local import IndexData


def to_node(rec: dict) -> TextNode:
    node = TextNode(
        id_=rec["id"],
        text=rec["text"],
        metadata=rec["metadata"],
        start_char_idx=rec.get("start"),
        end_char_idx=rec.get("end"),
    )
    node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(
        node_id=rec["metadata"]["file_name"]
    )
    return node


class CorpusRetriever(BaseRetriever):
    """Top-k chunks by vector similarity, BM25 keywords, or both fused by reciprocal rank.

    Every returned node is scored with its cosine similarity to the question, whatever ranked it,
    so one relevance cutoff means the same thing in every mode.
    """

    def __init__(
        self, data: IndexData, embed: BaseEmbedding, top_k: int, mode: str = "vector"
    ) -> None:
        super().__init__()
        self._data = data
        self._embed = embed
        self._top_k = top_k
        self._mode = mode
        vecs = data.vectors.astype(np.float32)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True) if len(vecs) else None
        self._vectors = vecs / np.clip(norms, 1e-12, None) if norms is not None else vecs
        self._where: dict[tuple[str, int], int] | None = None  # built on first neighbours()
        self._bm25: BM25Index | None = None
        if mode != "vector" and data.records:
            has_saved = data.path is not None and (data.path / "bm25").exists()
            self._bm25 = (
                BM25Index.load(data.path)
                if has_saved
                else BM25Index.build([r["text"] for r in data.records])
            )

    def neighbours(self, file: str, positions: list[int]) -> dict[int, TextNode]:
        """Chunks of `file` at these positions (for window expansion, qa.answering.context)."""
        if self._where is None:
            self._where = {
                (r["metadata"].get("file_name"), r["metadata"].get("position")): i
                for i, r in enumerate(self._data.records)
            }
        rows = ((p, self._where.get((file, p))) for p in positions)
        return {p: to_node(self._data.records[i]) for p, i in rows if i is not None}

    def _vector_rank(self, scores: np.ndarray, k: int) -> list[int]:
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        return [int(i) for i in top[np.argsort(-scores[top], kind="stable")]]

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        n = len(self._vectors)
        if not n:
            return []
        q = query_bundle.embedding or self._embed.get_query_embedding(query_bundle.query_str)
        qv = np.asarray(q, dtype=np.float32)
        qv /= max(float(np.linalg.norm(qv)), 1e-12)
        scores = self._vectors @ qv
        if self._mode == "vector" or self._bm25 is None:
            rows = self._vector_rank(scores, self._top_k)
        else:
            keyword = [r for r, _ in self._bm25.search(query_bundle.query_str, 2 * self._top_k, n)]
            if self._mode == "bm25":
                rows = keyword[: self._top_k]
            else:
                rows = rrf([self._vector_rank(scores, 2 * self._top_k), keyword])[: self._top_k]
        return [
            NodeWithScore(node=to_node(self._data.records[i]), score=float(scores[i])) for i in rows
        ]
