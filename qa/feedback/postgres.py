"""Feedback in PostgreSQL: a table beside the index, in the same database (imported only
with store.mode = "postgres")."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from qa.settings import Settings
from qa.stores import open_database


class PgFeedback:
    """The table `<store.table>_feedback` in the index's database: the record as jsonb, its id
    the primary key, so concurrent raters each insert their own row."""

    def __init__(self, settings: Settings) -> None:
        self.db = open_database(settings)
        self.feedback_table = f"{self.db.table}_feedback"
        self.where = f"PostgreSQL at {self.db.masked_url}, table {self.feedback_table}"
        self._made = False

    def _make(self, conn: sa.Connection) -> None:
        if self._made:
            return
        # concurrent `create table if not exists` can collide in the catalog: one at a time
        conn.execute(
            sa.text("select pg_advisory_xact_lock(hashtext(:t))"), {"t": self.feedback_table}
        )
        conn.execute(
            sa.text(
                f"create table if not exists {self.feedback_table} (id text primary key,"
                " created text not null, verdict text not null, record jsonb not null)"
            )
        )
        self._made = True

    def put(self, record: dict[str, Any]) -> None:
        with self.db.transaction("saving feedback") as conn:
            self._make(conn)
            conn.execute(
                sa.text(
                    f"insert into {self.feedback_table} (id, created, verdict, record)"
                    " values (:id, :created, :verdict, cast(:record as jsonb))"
                    " on conflict (id) do update set created = excluded.created,"
                    " verdict = excluded.verdict, record = excluded.record"
                ),
                {
                    "id": record["id"],
                    "created": record["created"],
                    "verdict": record["verdict"],
                    "record": json.dumps(record, ensure_ascii=False),
                },
            )

    def remove(self, rid: str) -> bool:
        with self.db.transaction("removing feedback") as conn:
            self._make(conn)
            done = conn.execute(
                sa.text(f"delete from {self.feedback_table} where id = :id"), {"id": rid}
            )
            return bool(done.rowcount)

    def records(self) -> list[dict[str, Any]]:
        def read(conn: sa.Connection) -> list[dict[str, Any]]:
            exists = conn.execute(
                sa.text("select to_regclass(:t)"), {"t": f"public.{self.feedback_table}"}
            ).scalar()
            if exists is None:
                return []
            rows = conn.execute(
                sa.text(f"select record from {self.feedback_table} order by created, id")
            )
            return [dict(r[0]) for r in rows]

        return self.db.read("reading feedback", read)
