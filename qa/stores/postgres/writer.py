"""Writes to the PostgreSQL store: one ingest in ONE transaction (chunks, deletions, manifest),
the advisory locks that serialise writers, and the ingest-side Writer (qa.stores.base), which
also moves a local index with the same signature into an empty PostgreSQL store."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import sqlalchemy as sa
from llama_index.core.vector_stores.utils import node_to_metadata_dict

from qa.errors import ConfigError
from qa.stores.base import Changes, Warn, to_node
from qa.stores.postgres.schema import DEFAULT_DIM

_LOCK_SALT = 0x51A0  # advisory-lock key = hash of the table name, offset by this


class Writes:
    """The transactional writer and the locks of one PgStore."""

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


class PgWriter:
    """One ingest into PostgreSQL (qa.stores.base.Writer), opened under the ingest lock.

    When the PostgreSQL index is empty or was built with another signature, and the local
    index was built with this one, its vectors are moved over instead of embedding everything
    again (`qa ingest --store postgres`)."""

    def __init__(self, pg: Any, signature: dict[str, Any], warn: Warn) -> None:
        self._pg, self._signature = pg, signature
        pg.upgrade()
        manifest = pg.manifest()
        self.replace = manifest.get("signature") != signature
        self.moved = 0
        if self.replace or not pg.exists():
            from qa.stores.local import LocalStore, load_index

            local = load_index(LocalStore(pg.data_dir), warn)
            if local is not None and local.records and local.manifest.get("signature") == signature:
                pg.apply(signature, local.files, local.records, local.vectors, replace=True)
                self.moved = len(local.records)
                manifest, self.replace = pg.manifest(), False
        self.files = {} if self.replace else manifest.get("files", {})
        self.exists = pg.exists()

    def count(self) -> int:
        return self._pg.count()

    def commit(self, changes: Changes, vectors: np.ndarray | None) -> int:
        return self._pg.apply(
            self._signature,
            changes.files,
            changes.records,
            vectors,
            delete_chunk_ids=changes.deleted_ids,
            replace=self.replace,
        )


def _maybe_fail(point: str | None, step: str) -> None:
    if point == step:
        raise RuntimeError(f"simulated crash after {step}")
