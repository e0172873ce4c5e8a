"""PostgreSQL + pgvector store for large corpora, built on llama-index's PGVectorStore.

One class, PgStore, in parts by concern: connection.py (engine, transactions, retry),
schema.py (DDL and migrations), writer.py (the one-transaction writer, locks, the ingest
Writer), retriever.py (reads and the retriever).

Tables (in the database of `store.postgres_url`, schema public, `t` = `store.table`):
- `data_<t>`: PGVectorStore's own table (id, text, metadata_ jsonb, node_id, embedding
  vector(dim)) with an HNSW index (cosine, m=16) and a unique index on node_id, plus our
  generated `text_tsv` tsvector column with a GIN index for keyword search (hybrid mode:
  PostgreSQL full-text rank fused with the vector ranking, like BM25 in the local store).
- `<t>_files`: the manifest, one row per corpus file (sha256, title, date, chunk ids).
- `<t>_meta`: key/value (signature, embedding dimension).

`apply` writes chunks, deletions and the new manifest in ONE transaction (the rows go through
PGVectorStore's table model and llama-index's node serialisation, so PGVectorStore reads them
back as ordinary nodes): a crash or an error at any point leaves the previous state, whole.
Writers are serialised by a transaction-level advisory lock. Connections are checked before
use (pool_pre_ping), so a server restart between calls is invisible; one failing read is
retried once on a fresh connection. Errors reaching the caller are `DatabaseError` (a
BackendError) with the URL's password masked.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.embeddings.base import BaseEmbedding

from qa.settings import Settings
from qa.stores.base import Warn, no_index, require_nonempty
from qa.stores.postgres.connection import Connection, mask_url
from qa.stores.postgres.retriever import PgRetriever, Reads
from qa.stores.postgres.schema import Schema
from qa.stores.postgres.writer import PgWriter, Writes

__all__ = ["PgRetriever", "PgStore", "mask_url"]


class PgStore(Reads, Writes, Schema, Connection):
    """Chunk records, vectors and the file manifest in PostgreSQL (see the module docstring);
    the Store of qa.stores.base."""

    def __init__(self, settings: Settings, embed_dim: int | None = None) -> None:
        super().__init__(settings, embed_dim)
        self.data_dir = settings.store.data_dir  # a local index there can be moved in
        self.corpus_dir = settings.corpus_dir  # named in the no-index errors

    def ready(self) -> bool:
        return self.exists() and self.count() > 0

    def version(self) -> str | None:
        """Always the live rows: a retriever never needs rebuilding after an ingest."""
        return "live"

    def retriever(self, embed: BaseEmbedding, top_k: int, mode: str = "vector") -> BaseRetriever:
        """Top-k chunks: cosine similarity through PGVectorStore (HNSW), full-text rank
        ("bm25" mode here means PostgreSQL's keyword rank), or both fused (hybrid)."""
        if not self.exists():
            raise no_index(f"PostgreSQL at {self.masked_url} (table {self.table})", self.corpus_dir)
        require_nonempty(self.count(), self.corpus_dir)
        return PgRetriever(self, embed, top_k, mode)

    @contextmanager
    def writer(self, signature: dict[str, Any], warn: Warn) -> Iterator[PgWriter]:
        with self.lock():
            yield PgWriter(self, signature, warn)

    def upgrade(self) -> None:
        """Add the keyword column to a table made before keyword search existed."""
        self.ensure_keyword_search()
