"""Reads of the PostgreSQL store: the manifest, counts, neighbouring chunks, full-text keyword
search, and the retriever (PGVectorStore's HNSW search, keyword rank, or both fused)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from llama_index.core import VectorStoreIndex
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from llama_index.core.vector_stores.utils import metadata_dict_to_node

from qa.stores.base import document_titles
from qa.stores.fusion import fuse
from qa.stores.postgres.schema import TEXT_SEARCH_CONFIG


class Reads:
    """What one PgStore reads (never creates or alters a table)."""

    def manifest(self) -> dict[str, Any]:
        """{"signature": ..., "files": {rel: {sha256, title, date, chunks}}, "chunks": n}."""

        def read(conn: sa.Connection) -> dict[str, Any]:
            if not self._ready and not self._has_table(conn, self.meta_table):
                return {"signature": None, "files": {}, "chunks": 0}
            meta = dict(conn.execute(sa.text(f"select key, value from {self.meta_table}")).all())
            files = {
                r.file_name: {
                    "sha256": r.sha256,
                    "title": r.title,
                    "date": r.date,
                    "chunks": list(r.chunks),
                }
                for r in conn.execute(
                    sa.text(
                        f"select file_name, sha256, title, date, chunks from {self.files_table}"
                        " order by file_name"
                    )
                )
            }
            return {
                "signature": meta.get("signature"),
                "files": files,
                "chunks": meta.get("chunks", 0),
            }

        return self._read("reading the manifest", read)

    def exists(self) -> bool:
        """True once an apply has committed (the store has a signature)."""
        return self.manifest()["signature"] is not None

    def count(self) -> int:
        """Chunk rows in the data table."""

        def read(conn: sa.Connection) -> int:
            if self._stored_dim(conn) is None:
                return 0
            return int(conn.execute(sa.text(f"select count(*) from {self.data_table}")).scalar())

        return self._read("counting chunks", read)

    def neighbours(self, file: str, positions: list[int]) -> dict[int, TextNode]:
        """Chunks of `file` at these positions (window expansion, qa.answering.context): the file's
        manifest row lists its chunk ids in order, and node_id is uniquely indexed."""

        def read(conn: sa.Connection) -> dict[int, TextNode]:
            if not self._ready and not self._has_table(conn, self.files_table):
                return {}
            row = conn.execute(
                sa.text(f"select chunks from {self.files_table} where file_name = :f"),
                {"f": file},
            ).first()
            order = list(row.chunks) if row else []
            wanted = {order[p]: p for p in positions if 0 <= p < len(order)}
            if not wanted:
                return {}
            rows = conn.execute(
                sa.text(
                    f"select node_id, text, metadata_ from {self.data_table}"
                    " where node_id = any(:ids)"
                ),
                {"ids": list(wanted)},
            )
            return {wanted[r.node_id]: metadata_dict_to_node(r.metadata_, r.text) for r in rows}

        return self._read("reading neighbouring chunks", read)

    def keyword_search(self, query: str, embedding: Sequence[float], k: int) -> list[NodeWithScore]:
        """Top-k chunks holding any of the question's words, best PostgreSQL full-text rank
        (ts_rank_cd over stemmed words) first; each scored with its cosine similarity to the
        question, like the vector hits, so one relevance cutoff covers both."""
        words = list(dict.fromkeys(re.findall(r"[^\W_]+", query.lower())))
        if not words:
            return []

        def read(conn: sa.Connection) -> list[NodeWithScore]:
            if not self._keyword_ready:  # the schema lookup is paid until the column is seen
                self._keyword_ready = self._has_keyword_column(conn)
                if not self._keyword_ready:
                    return []
            rows = conn.execute(
                sa.text(
                    f"select node_id, text, metadata_,"
                    f" 1 - (embedding <=> cast(:q as vector)) as similarity"
                    f" from {self.data_table}, to_tsquery('{TEXT_SEARCH_CONFIG}', :words) query"
                    " where text_tsv @@ query"
                    " order by ts_rank_cd(text_tsv, query) desc, node_id limit :k"
                ),
                {"q": str([float(x) for x in embedding]), "words": " | ".join(words), "k": k},
            )
            return [
                NodeWithScore(
                    node=metadata_dict_to_node(r.metadata_, r.text), score=float(r.similarity)
                )
                for r in rows
            ]

        return self._read("searching the index by keyword", read)

    def dim(self) -> int | None:
        """The embedding dimension of the stored vectors (None before the first apply)."""
        return self._read("reading the schema", self._stored_dim)

    def ping(self) -> None:
        """Raise DatabaseError unless the server answers."""
        self._read("connecting", lambda conn: conn.execute(sa.text("select 1")).scalar())


class PgRetriever(BaseRetriever):
    """VectorStoreIndex.from_vector_store(PGVectorStore).as_retriever, with our error handling.

    Nodes come back as `qa.stores.base.to_node` built them (metadata file_name/title/date/
    position, and the SOURCE relation); scores are cosine similarities.
    """

    def __init__(
        self, store: Reads, embed: BaseEmbedding, top_k: int, mode: str = "vector"
    ) -> None:
        super().__init__()
        self._store = store
        self._embed = embed
        self._top_k = top_k
        self._mode = mode
        self._inner: BaseRetriever | None = None
        self._inner_dim: int | None = None
        self._titles: list[str] | None = None

    def neighbours(self, file: str, positions: list[int]) -> dict[int, TextNode]:
        return self._store.neighbours(file, positions)

    def titles(self) -> list[str]:
        """The indexed documents' titles, read once: a new index gets a new retriever."""
        if self._titles is None:
            self._titles = document_titles(self._store.manifest()["files"])
        return self._titles

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        dim = self._store.dim()
        if dim is None:
            return []
        if query_bundle.embedding is None:
            query_bundle.embedding = self._embed.get_query_embedding(query_bundle.query_str)
        if self._inner is None or self._inner_dim != dim:
            index = VectorStoreIndex.from_vector_store(
                self._store._vector_store(dim), embed_model=self._embed
            )
            depth = self._top_k if self._mode == "vector" else 2 * self._top_k
            self._inner = index.as_retriever(similarity_top_k=depth)
            self._inner_dim = dim
        k = self._top_k
        if self._mode == "bm25":
            return self._store.keyword_search(query_bundle.query_str, query_bundle.embedding, k)
        inner = self._inner
        vector = self._store._retrying("querying the index", lambda: inner.retrieve(query_bundle))
        if self._mode == "vector":
            return vector[:k]
        keyword = self._store.keyword_search(query_bundle.query_str, query_bundle.embedding, 2 * k)
        return fuse([vector, keyword], k)
