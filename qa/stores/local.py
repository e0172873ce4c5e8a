"""The embedded local store: chunk records and vectors, persisted as immutable generations,
and retrieval over them.

Layout under data_dir: `gen-<n>/` holds `manifest.json`, `chunks.jsonl` and `vectors.npy`;
`CURRENT` names the live generation. A commit writes a whole new generation, fsyncs it, then
atomically replaces CURRENT, so a crash at any point leaves the previous index usable.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from qa.errors import CorpusError
from qa.stores.base import Changes, Warn, document_titles, no_index, require_nonempty, to_node
from qa.stores.bm25 import BM25Index
from qa.stores.fusion import rrf

FORMAT = 1


class CorruptIndex(Exception):
    """The live generation cannot be read; the caller rebuilds from the corpus."""


@dataclass
class IndexData:
    """One generation in memory: manifest, chunk records and their vectors (row-aligned)."""

    manifest: dict[str, Any] = field(default_factory=lambda: {"format": FORMAT, "files": {}})
    records: list[dict[str, Any]] = field(default_factory=list)
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    path: Path | None = None  # the generation directory it was loaded from

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        return self.manifest["files"]


class LocalStore:
    """The Store (qa.stores.base) in files under data_dir."""

    def __init__(self, data_dir: Path, corpus_dir: Path | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.corpus_dir = corpus_dir  # named in the no-index errors

    @property
    def _current(self) -> Path:
        return self.data_dir / "CURRENT"

    def live_dir(self) -> Path | None:
        try:
            name = self._current.read_text().strip()
        except FileNotFoundError:
            return None
        return self.data_dir / name

    def exists(self) -> bool:
        return self._current.exists()

    def version(self) -> str | None:
        live = self.live_dir()
        return live.name if live else None

    def ready(self) -> bool:
        try:
            data = self.load()
        except CorruptIndex:
            return False  # ingest says so and rebuilds it
        return data is not None and bool(data.records)

    def count(self) -> int:
        data = self.load()
        return len(data.records) if data else 0

    def retriever(self, embed: BaseEmbedding, top_k: int, mode: str = "vector") -> BaseRetriever:
        try:
            data = self.load()
        except CorruptIndex as exc:
            raise CorpusError(f"{exc}: run `qa ingest` to rebuild it from the corpus") from exc
        if data is None:
            raise no_index(str(self.data_dir), self.corpus_dir)
        require_nonempty(len(data.records), self.corpus_dir)
        return CorpusRetriever(data, embed, top_k, mode)

    @contextmanager
    def writer(self, signature: dict[str, Any], warn: Warn) -> Iterator[LocalWriter]:
        with self.lock():
            yield LocalWriter(self, signature, warn)

    def upgrade(self) -> None:
        """Nothing to migrate: a generation's format is checked when it is loaded."""

    def close(self) -> None:
        pass

    def load(self) -> IndexData | None:
        """The live generation, None when there is none; CorruptIndex when it is unreadable."""
        gen = self.live_dir()
        if gen is None:
            return None
        try:
            manifest = json.loads((gen / "manifest.json").read_text())
            with open(gen / "chunks.jsonl", encoding="utf-8") as f:
                records = [json.loads(line) for line in f if line.strip()]
            vectors = np.load(gen / "vectors.npy", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise CorruptIndex(f"index at {gen} is unreadable ({exc.__class__.__name__})") from exc
        if manifest.get("format") != FORMAT or len(records) != manifest.get("chunks", -1):
            raise CorruptIndex(f"index at {gen} is incomplete")
        if len(records) and vectors.shape[0] != len(records):
            raise CorruptIndex(
                f"index at {gen} has {vectors.shape[0]} vectors, {len(records)} chunks"
            )
        return IndexData(manifest=manifest, records=records, vectors=vectors, path=gen)

    def commit(self, data: IndexData, extras: Callable[[Path], None] | None = None) -> Path:
        """Write data (and whatever `extras` writes into the new directory) as a new generation,
        make it live atomically, drop older generations."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        gen = self.data_dir / f"gen-{time.time_ns()}"
        tmp = gen.with_name(gen.name + ".tmp")
        tmp.mkdir()
        data.manifest["format"] = FORMAT
        data.manifest["chunks"] = len(data.records)
        with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as f:
            for rec in data.records:
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        np.save(tmp / "vectors.npy", data.vectors.astype(np.float32), allow_pickle=False)
        (tmp / "manifest.json").write_text(json.dumps(data.manifest, indent=1))
        if extras is not None:
            extras(tmp)
        for name in ("chunks.jsonl", "vectors.npy", "manifest.json"):
            _fsync(tmp / name)
        os.replace(tmp, gen)
        pointer = self.data_dir / "CURRENT.tmp"
        pointer.write_text(gen.name)
        _fsync(pointer)
        os.replace(pointer, self._current)
        _fsync(self.data_dir)
        self._collect(keep=gen.name)
        data.path = gen
        return gen

    def _collect(self, keep: str) -> None:
        for old in self.data_dir.glob("gen-*"):
            if old.name != keep:
                shutil.rmtree(old, ignore_errors=True)

    def discard(self) -> None:
        """Forget the live generation (used after corruption, before a rebuild)."""
        self._current.unlink(missing_ok=True)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """One writer at a time across processes (CLI, browser upload, HTTP ingest)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / ".lock", "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)


class CorpusRetriever(BaseRetriever):
    """Top-k chunks by vector similarity, BM25 keywords, or both fused by reciprocal rank: one
    matrix product over normalised vectors, plus BM25. A llama-index BaseRetriever, so it plugs
    into any llama-index postprocessor or engine.

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

    def titles(self) -> list[str]:
        """The indexed documents' titles (the file name where a document has none)."""
        return document_titles(self._data.files)

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


def load_index(store: LocalStore, warn: Warn) -> IndexData | None:
    """The live index, or None (after saying so) when it is corrupt and must be rebuilt."""
    try:
        return store.load()
    except CorruptIndex as exc:
        warn(f"{exc}; rebuilding it from the corpus")
        store.discard()
        return None


class LocalWriter:
    """One ingest into the local store: the old generation (kept files' chunks and vectors are
    carried over) and a commit that writes the new one, its BM25 index included."""

    def __init__(self, store: LocalStore, signature: dict[str, Any], warn: Warn) -> None:
        old = load_index(store, warn)
        # another chunking or embedding model: every file is re-embedded
        self.replace = old is None or old.manifest.get("signature") != signature
        self._old = IndexData() if self.replace or old is None else old
        self._store = store
        self._signature = signature
        self.files = self._old.files
        self.exists = store.exists()
        self.moved = 0

    def count(self) -> int:
        return len(self._old.records)

    def commit(self, changes: Changes, vectors: np.ndarray | None) -> int:
        old = self._old
        keep_rows = [
            i for i, r in enumerate(old.records) if r["metadata"]["file_name"] in changes.kept
        ]
        parts = [
            v
            for v in (old.vectors[keep_rows] if keep_rows else None, vectors)
            if v is not None and len(v)
        ]
        data = IndexData(
            manifest={"signature": self._signature, "files": changes.files},
            records=[old.records[i] for i in keep_rows] + changes.records,
            vectors=np.vstack(parts) if parts else np.zeros((0, 0), dtype=np.float32),
        )
        texts = [r["text"] for r in data.records]
        self._store.commit(data, extras=lambda d: BM25Index.build(texts).save(d) if texts else None)
        return len(data.records)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
