"""The PostgreSQL schema: the manifest and meta tables, PGVectorStore's data table with its
HNSW, node_id and keyword (tsvector + GIN) indexes, and the migrations of older tables.
Everything here is DDL, so only writers (ingest, `qa.ensure_index`) run it."""

from __future__ import annotations

import sqlalchemy as sa

DEFAULT_DIM = 384
TEXT_SEARCH_CONFIG = "english"  # stemming and stop words of the keyword column
HNSW = {"hnsw_m": 16, "hnsw_ef_construction": 64, "hnsw_ef_search": 40}


class Schema:
    """DDL and schema lookups of one PgStore."""

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

    def _has_table(self, conn: sa.Connection, table: str) -> bool:
        """Whether `table` exists (reads of a store never written return empty, not create)."""
        return (
            conn.execute(sa.text("select to_regclass(:t)"), {"t": f"public.{table}"}).scalar()
            is not None
        )

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

    def clear(self) -> None:
        """Drop every table of this store (tests start from an empty database with it)."""
        with self._tx("dropping the index") as conn:
            for t in (self.data_table, self.files_table, self.meta_table):
                conn.execute(sa.text(f"drop table if exists {t}"))
        self._ready = False
        self._keyword_ready = False
        self._vs = None
