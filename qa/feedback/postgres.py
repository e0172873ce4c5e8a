"""Feedback in PostgreSQL: tables beside the index, in the same database (imported only
with store.mode = "postgres"): the ratings, and the recent answers they name by id, so any
replica can take a rating of an answer another replica gave."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import sqlalchemy as sa

from qa.feedback.record import Answered
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


class PgRecentAnswers:
    """The recent answers a rating names by id, in the table `<store.table>_answers`, so every
    replica over this database can rate an answer another gave (qa.feedback.RecentAnswers is
    the one-process version). The newest `size` are kept; older rows go as new ones come."""

    def __init__(self, settings: Settings, size: int = 1000) -> None:
        self.db = open_database(settings)
        self.size = size
        self.answers_table = f"{self.db.table}_answers"
        self._made = False

    def _make(self, conn: sa.Connection) -> None:
        if self._made:
            return
        conn.execute(
            sa.text("select pg_advisory_xact_lock(hashtext(:t))"), {"t": self.answers_table}
        )
        conn.execute(
            sa.text(
                f"create table if not exists {self.answers_table} (id text primary key,"
                " created timestamptz not null default clock_timestamp(),"
                " answered jsonb not null)"
            )
        )
        conn.execute(
            sa.text(
                f"create index if not exists {self.answers_table}_created"
                f" on {self.answers_table} (created)"
            )
        )
        self._made = True

    def put(self, key: str, answered: Answered) -> None:
        with self.db.transaction("remembering an answer") as conn:
            self._make(conn)
            conn.execute(
                sa.text(
                    f"insert into {self.answers_table} (id, answered)"
                    " values (:id, cast(:a as jsonb)) on conflict (id) do update"
                    " set answered = excluded.answered, created = clock_timestamp()"
                ),
                {"id": key, "a": json.dumps(asdict(answered), ensure_ascii=False)},
            )
            conn.execute(
                sa.text(
                    f"delete from {self.answers_table} where created < (select created from"
                    f" {self.answers_table} order by created desc offset :n limit 1)"
                ),
                {"n": self.size - 1},
            )

    def get(self, key: str) -> Answered | None:
        def read(conn: sa.Connection) -> Answered | None:
            if (
                conn.execute(
                    sa.text("select to_regclass(:t)"), {"t": f"public.{self.answers_table}"}
                ).scalar()
                is None
            ):
                return None
            row = conn.execute(
                sa.text(f"select answered from {self.answers_table} where id = :id"),
                {"id": key},
            ).first()
            return Answered(**row[0]) if row else None

        return self.db.read("reading an answer", read)
