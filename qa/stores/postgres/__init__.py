"""PostgreSQL + pgvector store for large corpora, built on llama-index's PGVectorStore.

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
retried once on a fresh connection. Errors reaching the caller are `BackendError` with the
URL's password masked.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import sqlalchemy as sa
from llama_index.core import VectorStoreIndex
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from llama_index.core.vector_stores.utils import metadata_dict_to_node, node_to_metadata_dict
from sqlalchemy.engine import URL, Engine, make_url

from qa.errors import BackendError, ConfigError
from qa.settings import Settings
from qa.stores.bm25 import rrf
from qa.stores.retrieval import to_node

DEFAULT_DIM = 384
TEXT_SEARCH_CONFIG = "english"  # stemming and stop words of the keyword column
HNSW = {"hnsw_m": 16, "hnsw_ef_construction": 64, "hnsw_ef_search": 40}
CONNECT_TIMEOUT_S = 5
RECOVER_S = 10.0  # how long a read waits for a restarting server before giving up
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")
_LOCK_SALT = 0x51A0  # advisory-lock key = hash of the table name, offset by this


def mask_url(url: str | URL) -> str:
    """The URL with any password replaced by '***' (safe for messages and logs)."""
    try:
        return make_url(str(url)).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - unparsable: show nothing of it
        return "<unparsable postgres url>"


class PgStore:
    """Chunk records, vectors and the file manifest in PostgreSQL (see the module docstring)."""

    def __init__(self, settings: Settings, embed_dim: int | None = None) -> None:
        raw = settings.store.postgres_url
        if raw is None or not raw.get_secret_value().strip():
            raise ConfigError(
                "store.mode is postgres but store.postgres_url is not set "
                "(e.g. QA_STORE__POSTGRES_URL=postgresql://user@127.0.0.1:55433/corpus_qa)"
            )
        table = settings.store.table.lower()
        if not _NAME.match(table):
            raise ConfigError(f"store.table {settings.store.table!r} is not a plain SQL name")
        try:
            url = make_url(raw.get_secret_value().strip())
        except Exception as exc:
            raise ConfigError("store.postgres_url is not a valid URL") from exc
        if url.get_backend_name() not in ("postgresql", "postgres"):
            raise ConfigError(f"store.postgres_url must be postgresql://..., not {mask_url(url)}")
        self.url = url.set(drivername="postgresql+psycopg2")
        self._async_url = url.set(drivername="postgresql+asyncpg")
        self.masked_url = mask_url(url)
        self.table = table
        self.data_table = f"data_{table}"
        self.files_table = f"{table}_files"
        self.meta_table = f"{table}_meta"
        self._requested_dim = embed_dim
        self._engine: Engine | None = None
        self._async_engine = None
        self._vs = None  # PGVectorStore for the current dimension
        self._vs_dim: int | None = None
        self._ready = False
        self._keyword_ready = False  # text_tsv seen on the data table
        self._seen_server = False

    # ---- connections ----------------------------------------------------------------------
    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = sa.create_engine(
                self.url,
                pool_pre_ping=True,
                pool_size=5,
                max_overflow=10,
                connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
            )
        return self._engine

    def _async(self):
        if self._async_engine is None:
            from sqlalchemy.ext.asyncio import create_async_engine

            self._async_engine = create_async_engine(self._async_url, pool_pre_ping=True)
        return self._async_engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        self._async_engine = None  # never connected by us; PGVectorStore's async path only
        self._vs = None
        self._ready = False

    def _error(self, exc: BaseException, doing: str) -> BackendError:
        reason = exc.__class__.__name__
        orig = getattr(exc, "orig", None)
        if orig is not None:
            first = (str(orig).strip().splitlines() or [""])[0]
            reason = f"{orig.__class__.__name__}: {first}" if first else reason
        if self.url.password:
            reason = reason.replace(str(self.url.password), "***")
        return BackendError(f"PostgreSQL at {self.masked_url}: {doing} failed ({reason})")

    @contextmanager
    def _tx(self, doing: str) -> Iterator[sa.Connection]:
        """One transaction; database errors become BackendError (and roll the work back)."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa.exc.DBAPIError as exc:
            raise self._error(exc, doing) from exc

    def _read(self, doing: str, fn):
        """Run fn(conn) in a read transaction; see _retrying for what happens on a drop."""

        def run():
            with self.engine.begin() as conn:
                self._ensure_schema(conn)
                return fn(conn)

        return self._retrying(doing, run)

    def _retrying(self, doing: str, run):
        """run(), riding out a server restart: once this store has talked to the server, a
        dropped or refused connection is retried on a fresh pool for up to RECOVER_S. A server
        that never answered fails at once.
        """
        deadline = None
        while True:
            try:
                result = run()
                self._seen_server = True
                return result
            except sa.exc.DBAPIError as exc:
                transient = exc.connection_invalidated or (
                    self._seen_server
                    and isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError)
                )
                now = time.monotonic()
                deadline = deadline or now + RECOVER_S
                if not transient or now >= deadline:
                    raise self._error(exc, doing) from exc
                self.engine.dispose()
                time.sleep(0.25)

    # ---- schema ---------------------------------------------------------------------------
    def _ensure_schema(self, conn: sa.Connection) -> None:
        if self._ready:
            return
        conn.execute(sa.text("create extension if not exists vector"))
        conn.execute(
            sa.text(
                f"create table if not exists {self.files_table} ("
                " file_name text primary key, sha256 text not null, title text, date text,"
                " chunks jsonb not null)"
            )
        )
        conn.execute(
            sa.text(
                f"create table if not exists {self.meta_table} (key text primary key,"
                " value jsonb not null)"
            )
        )
        self._ready = True

    def _stored_dim(self, conn: sa.Connection) -> int | None:
        row = conn.execute(
            sa.text(
                "select a.atttypmod from pg_attribute a join pg_class c on a.attrelid = c.oid"
                " join pg_namespace n on c.relnamespace = n.oid"
                " where n.nspname = 'public' and c.relname = :t and a.attname = 'embedding'"
                " and not a.attisdropped"
            ),
            {"t": self.data_table},
        ).first()
        return int(row[0]) if row and row[0] and row[0] > 0 else None

    def _vector_store(self, dim: int):
        """PGVectorStore over data_<table> with this dimension (setup is done by us)."""
        if self._vs is None or self._vs_dim != dim:
            from llama_index.vector_stores.postgres import PGVectorStore

            self._vs = PGVectorStore(
                table_name=self.table,
                schema_name="public",
                embed_dim=dim,
                use_jsonb=True,
                hnsw_kwargs=dict(HNSW),
                perform_setup=False,
                engine=self.engine,
                async_engine=self._async(),
            )
            self._vs_dim = dim
        return self._vs

    def _create_data_table(self, conn: sa.Connection, dim: int) -> None:
        vs = self._vector_store(dim)
        vs._table_class.__table__.create(conn, checkfirst=True)
        conn.execute(
            sa.text(
                f"create index if not exists {self.data_table}_embedding_idx"
                f" on {self.data_table} using hnsw (embedding vector_cosine_ops)"
                f" with (m = {HNSW['hnsw_m']}, ef_construction = {HNSW['hnsw_ef_construction']})"
            )
        )
        conn.execute(
            sa.text(
                f"create unique index if not exists {self.data_table}_node_id_key"
                f" on {self.data_table} (node_id)"
            )
        )
        self._add_keyword_column(conn)

    def _add_keyword_column(self, conn: sa.Connection) -> None:
        """The generated tsvector column and its GIN index (added to tables made before it)."""
        conn.execute(
            sa.text(
                f"alter table {self.data_table} add column if not exists text_tsv tsvector"
                f" generated always as (to_tsvector('{TEXT_SEARCH_CONFIG}', text)) stored"
            )
        )
        conn.execute(
            sa.text(
                f"create index if not exists {self.data_table}_text_tsv_idx"
                f" on {self.data_table} using gin (text_tsv)"
            )
        )

    # ---- reads ----------------------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        """{"signature": ..., "files": {rel: {sha256, title, date, chunks}}, "chunks": n}."""

        def read(conn: sa.Connection) -> dict[str, Any]:
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

    def _has_keyword_column(self, conn: sa.Connection) -> bool:
        return bool(
            conn.execute(
                sa.text(
                    "select 1 from information_schema.columns where table_schema = 'public'"
                    " and table_name = :t and column_name = 'text_tsv'"
                ),
                {"t": self.data_table},
            ).first()
        )

    def ensure_keyword_search(self) -> None:
        """Add the keyword column to a table created before it existed (one table rewrite)."""
        with self._tx("adding keyword search to the index") as conn:
            if self._stored_dim(conn) is not None and not self._has_keyword_column(conn):
                conn.execute(sa.text("select pg_advisory_xact_lock(:k)"), {"k": self._lock_key()})
                self._add_keyword_column(conn)

    def dim(self) -> int | None:
        """The embedding dimension of the stored vectors (None before the first apply)."""
        return self._read("reading the schema", self._stored_dim)

    def ping(self) -> None:
        """Raise BackendError unless the server answers."""
        self._read("connecting", lambda conn: conn.execute(sa.text("select 1")).scalar())

    # ---- writes ---------------------------------------------------------------------------
    def apply(
        self,
        signature: dict[str, Any],
        manifest_files: dict[str, dict[str, Any]],
        upsert_records: Sequence[dict[str, Any]],
        upsert_vectors: np.ndarray | Sequence[Sequence[float]] | None,
        delete_chunk_ids: Sequence[str] = (),
        replace: bool = False,
        _fail_after: str | None = None,
    ) -> int:
        """Commit one ingest in a single transaction; returns the chunk count afterwards.

        manifest_files is the WHOLE new manifest (like IndexData.manifest["files"]); files not
        in it leave the side table. upsert_records/upsert_vectors are row-aligned (records as in
        LocalStore: id, text, metadata, start, end); an id already present is replaced.
        delete_chunk_ids are removed (unknown ids are ignored). With replace=True, or when the
        stored signature differs from `signature`, every existing chunk is dropped first (and the
        table is rebuilt if the embedding dimension changed).
        `_fail_after` is for tests: raise after that step ("upsert", "delete", "manifest").
        """
        vecs = np.asarray(upsert_vectors if upsert_vectors is not None else [], dtype=np.float32)
        if len(upsert_records) and len(upsert_records) != len(vecs):
            raise ValueError(f"{len(upsert_records)} records but {len(vecs)} vectors")
        new_dim = int(vecs.shape[1]) if vecs.ndim == 2 and len(vecs) else None
        ids = [r["id"] for r in upsert_records]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate chunk ids in upsert_records")

        with self._tx("writing the index") as conn:
            self._ensure_schema(conn)
            conn.execute(sa.text("select pg_advisory_xact_lock(:k)"), {"k": self._lock_key()})
            meta = dict(conn.execute(sa.text(f"select key, value from {self.meta_table}")).all())
            old_sig = meta.get("signature")
            replace = replace or (old_sig is not None and old_sig != signature)
            dim = self._stored_dim(conn)
            if dim is not None and new_dim is not None and new_dim != dim:
                if not replace:
                    raise ConfigError(
                        f"vectors have dimension {new_dim}, the store holds {dim}: "
                        "re-ingest everything (replace=True)"
                    )
                conn.execute(sa.text(f"drop table {self.data_table}"))
                dim = None
            if dim is None:
                dim = new_dim or self._requested_dim or DEFAULT_DIM
                self._create_data_table(conn, dim)
            elif replace:
                conn.execute(sa.text(f"truncate {self.data_table}"))
            vs = self._vector_store(dim)
            table = vs._table_class.__table__

            if ids:
                conn.execute(table.delete().where(table.c.node_id.in_(ids)))
                rows = []
                for rec, vec in zip(upsert_records, vecs, strict=True):
                    node = to_node(rec)
                    rows.append(
                        {
                            "node_id": node.node_id,
                            "text": node.text,
                            "metadata_": node_to_metadata_dict(
                                node, remove_text=True, flat_metadata=False
                            ),
                            "embedding": vec,
                        }
                    )
                for i in range(0, len(rows), 1000):
                    conn.execute(table.insert(), rows[i : i + 1000])
            _maybe_fail(_fail_after, "upsert")

            upserted = set(ids)
            gone = [c for c in delete_chunk_ids if c not in upserted]
            for i in range(0, len(gone), 5000):
                conn.execute(table.delete().where(table.c.node_id.in_(gone[i : i + 5000])))
            _maybe_fail(_fail_after, "delete")

            self._write_manifest(conn, manifest_files)
            total = int(conn.execute(sa.text(f"select count(*) from {self.data_table}")).scalar())
            for key, value in (("signature", signature), ("dim", dim), ("chunks", total)):
                conn.execute(
                    sa.text(
                        f"insert into {self.meta_table} (key, value) values (:k, cast(:v as jsonb))"
                        " on conflict (key) do update set value = excluded.value"
                    ),
                    {"k": key, "v": json.dumps(value)},
                )
            _maybe_fail(_fail_after, "manifest")
        return total

    def _write_manifest(self, conn: sa.Connection, files: dict[str, dict[str, Any]]) -> None:
        current = {
            r.file_name: (r.sha256, r.title, r.date, list(r.chunks))
            for r in conn.execute(
                sa.text(f"select file_name, sha256, title, date, chunks from {self.files_table}")
            )
        }
        gone = [f for f in current if f not in files]
        if gone:
            conn.execute(
                sa.text(f"delete from {self.files_table} where file_name = any(:names)"),
                {"names": gone},
            )
        rows = []
        for rel, info in files.items():
            entry = (info["sha256"], info.get("title"), info.get("date"), list(info["chunks"]))
            if current.get(rel) != entry:
                rows.append(
                    {
                        "f": rel,
                        "s": entry[0],
                        "t": entry[1],
                        "d": entry[2],
                        "c": json.dumps(entry[3]),
                    }
                )
        if rows:
            conn.execute(
                sa.text(
                    f"insert into {self.files_table} (file_name, sha256, title, date, chunks)"
                    " values (:f, :s, :t, :d, cast(:c as jsonb)) on conflict (file_name) do"
                    " update set sha256 = excluded.sha256, title = excluded.title,"
                    " date = excluded.date, chunks = excluded.chunks"
                ),
                rows,
            )

    def clear(self) -> None:
        """Drop every table of this store (tests start from an empty database with it)."""
        with self._tx("dropping the index") as conn:
            for t in (self.data_table, self.files_table, self.meta_table):
                conn.execute(sa.text(f"drop table if exists {t}"))
        self._ready = False
        self._keyword_ready = False
        self._vs = None

    @contextmanager
    def lock(self) -> Iterator[None]:
        """One writer at a time across processes (session advisory lock, like LocalStore.lock).

        Its key differs from apply()'s transaction lock, which this same process takes inside.

        apply() also locks for its own transaction; hold this around read-manifest -> embed ->
        apply so two ingests do not both compute a diff from the same old manifest.
        """
        try:
            conn = self.engine.connect()
            conn.execute(sa.text("select pg_advisory_lock(:k)"), {"k": self._lock_key() + 1})
            conn.commit()
        except sa.exc.DBAPIError as exc:
            raise self._error(exc, "taking the ingest lock") from exc
        try:
            yield
        finally:
            try:
                conn.execute(sa.text("select pg_advisory_unlock(:k)"), {"k": self._lock_key() + 1})
                conn.commit()
            except sa.exc.DBAPIError:
                pass  # the session is gone, and its lock with it
            finally:
                conn.close()

    def _lock_key(self) -> int:
        h = 0
        for ch in self.table:
            h = (h * 131 + ord(ch)) % (1 << 31)
        return h + _LOCK_SALT

    # ---- retrieval ------------------------------------------------------------------------
    def retriever(self, embed: BaseEmbedding, top_k: int, mode: str = "vector") -> BaseRetriever:
        """Top-k chunks: cosine similarity through PGVectorStore (HNSW), full-text rank
        ("bm25" mode here means PostgreSQL's keyword rank), or both fused (hybrid)."""
        if mode != "vector":
            self.ensure_keyword_search()
        return PgRetriever(self, embed, top_k, mode)


class PgRetriever(BaseRetriever):
    """VectorStoreIndex.from_vector_store(PGVectorStore).as_retriever, with our error handling.

    Nodes come back as `qa.stores.retrieval.to_node` built them (metadata file_name/title/date/
    position, and the SOURCE relation); scores are cosine similarities.
    """

    def __init__(
        self, store: PgStore, embed: BaseEmbedding, top_k: int, mode: str = "vector"
    ) -> None:
        super().__init__()
        self._store = store
        self._embed = embed
        self._top_k = top_k
        self._mode = mode
        self._inner: BaseRetriever | None = None
        self._inner_dim: int | None = None

    def neighbours(self, file: str, positions: list[int]) -> dict[int, TextNode]:
        return self._store.neighbours(file, positions)

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
        found = {n.node.node_id: n for n in keyword} | {n.node.node_id: n for n in vector}
        ranked = rrf([[n.node.node_id for n in vector], [n.node.node_id for n in keyword]])
        return [found[i] for i in ranked[:k]]


def _maybe_fail(point: str | None, step: str) -> None:
    if point == step:
        raise RuntimeError(f"simulated crash after {step}")
