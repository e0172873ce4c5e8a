"""What every store offers: the `Store` interface ingestion and answering talk to, the
`Writer` one ingest commits through, the chunk record format, and the no-index errors.

A chunk record (local chunks.jsonl, PostgreSQL rows): {"id", "text", "metadata" (file_name,
title, date, position), "start", "end"}; `to_node` turns one into the TextNode every retriever
returns.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

from qa.errors import CorpusError

Warn = Callable[[str], None]


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


@dataclass
class Changes:
    """What one ingest changes, whatever the store: the new manifest, the chunks to embed and
    the old chunk ids that leave the index."""

    files: dict[str, dict] = field(default_factory=dict)
    kept: set[str] = field(default_factory=set)  # files whose old chunks stay as they are
    records: list[dict] = field(default_factory=list)
    deleted_ids: list[str] = field(default_factory=list)


class Writer(Protocol):
    """One ingest's view of the store, opened under the store's writer lock.

    `files` is the live manifest ({} when everything is re-embedded), `replace` says the old
    chunks all go (no usable index, or another chunking or embedding model), `exists` that an
    index has been committed, `moved` how many chunks were adopted from elsewhere."""

    files: dict[str, dict[str, Any]]
    replace: bool
    exists: bool
    moved: int

    def count(self) -> int: ...

    def commit(self, changes: Changes, vectors: np.ndarray | None) -> int:
        """Make the changes live as one unit (all or nothing); the chunk count afterwards."""
        ...


class Store(Protocol):
    """The one interface to an index; `qa.stores.open_store` picks the implementation."""

    def ready(self) -> bool:
        """A committed, readable index with at least one chunk (else `qa.ensure_index`
        ingests)."""
        ...

    def count(self) -> int: ...

    def version(self) -> str | None:
        """Changes whenever a new index goes live (a reader then rebuilds its retriever)."""
        ...

    def retriever(self, embed: BaseEmbedding, top_k: int, mode: str = "vector") -> BaseRetriever:
        """A retriever over the live index; CorpusError when there is none or it is empty.
        Reads only: it never ingests, migrates or repairs."""
        ...

    def writer(self, signature: dict[str, Any], warn: Warn) -> AbstractContextManager[Writer]:
        """The single writer of one ingest (serialised across processes)."""
        ...

    def upgrade(self) -> None:
        """Bring an existing index up to this version's schema (a write: ingest and
        `qa.ensure_index` call it, never the read path)."""
        ...

    def close(self) -> None: ...


def no_index(where: str, corpus_dir: Path | None) -> CorpusError:
    corpus = f" of the corpus at {corpus_dir}" if corpus_dir else ""
    return CorpusError(
        f"no index{corpus} yet in {where}: run `qa ingest` (qa.ensure_index() does it too)"
    )


def document_titles(files: dict[str, dict[str, Any]]) -> list[str]:
    """The titles of a manifest's documents (the file name where a document has none), for the
    retrievers' titles(): the local and the PostgreSQL manifest hold them alike."""
    return [f.get("title") or name for name, f in files.items()]


def require_nonempty(count: int, corpus_dir: Path | None) -> None:
    if not count:
        raise CorpusError(
            f"the corpus at {corpus_dir} has no readable documents: add .txt or .md files "
            "and run `qa ingest`"
        )
