"""Vector retrieval over the local store: one matrix product over normalised vectors.

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

from qa.store import IndexData


def to_node(rec: dict) -> TextNode:
    node = TextNode(
        id_=rec["id"],
        text=rec["text"],
        metadata=rec["metadata"],
        start_char_idx=rec.get("start"),
        end_char_idx=rec.get("end"),
        excluded_llm_metadata_keys=["position"],
        excluded_embed_metadata_keys=["file_name", "position", "date"],
    )
    node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(
        node_id=rec["metadata"]["file_name"]
    )
    return node


class VectorRetriever(BaseRetriever):
    """Top-k chunks by cosine similarity (vectors are L2-normalised at embedding time)."""

    def __init__(self, data: IndexData, embed: BaseEmbedding, top_k: int) -> None:
        super().__init__()
        self._data = data
        self._embed = embed
        self._top_k = top_k
        vecs = data.vectors.astype(np.float32)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True) if len(vecs) else None
        self._vectors = vecs / np.clip(norms, 1e-12, None) if norms is not None else vecs

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        if not len(self._vectors):
            return []
        q = query_bundle.embedding or self._embed.get_query_embedding(query_bundle.query_str)
        qv = np.asarray(q, dtype=np.float32)
        qv /= max(float(np.linalg.norm(qv)), 1e-12)
        scores = self._vectors @ qv
        k = min(self._top_k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [
            NodeWithScore(node=to_node(self._data.records[i]), score=float(scores[i])) for i in top
        ]
