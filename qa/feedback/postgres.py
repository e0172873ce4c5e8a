"""Feedback in PostgreSQL: tables beside the index, in the same database (imported only
with store.mode = "postgres"): the ratings, and the recent answers they name by id, so any
replica can take a rating of an answer another replica gave."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import sqlalchemy as sa

from qa.feedback.record import Answered
from qa.settings import Settings
from qa.stores import open_database


class _OwnTable:
    """A table made by the first write that needs it. Every process may race to make it, so
    `create table if not exists` runs under an advisory lock (concurrent ones collide in the
    catalog), and it counts as made only once that transaction commits: a thread that skipped
    the lock earlier inserted into a table not yet visible to it (UndefinedTable under CI)."""

    def __init__(self, db: Any, name: str, ddl: list[str]) -> None:
        self.db, self.name, self.ddl = db, name, ddl
        self._made = False

    @contextlib.contextmanager
    def write(self, doing: str) -> Iterator[sa.Connection]:
        with self.db.transaction(doing) as conn:
            if not self._made:
                conn.execute(
                    sa.text("select pg_advisory_xact_lock(hashtext(:t))"), {"t": self.name}
                )
                for statement in self.ddl:
                    conn.execute(sa.text(statement))
            yield conn
        self._made = True

    def exists(self, conn: sa.Connection) -> bool:
        """Reading never makes the table: a missing one reads as empty."""
        found = conn.execute(sa.text("select to_regclass(:t)"), {"t": f"public.{self.name}"})
        return found.scalar() is not None


class PgFeedback:
    """The table `<store.table>_feedback` in the index's database: the record as jsonb, its id
    the primary key, so concurrent raters each insert their own row."""

    def __init__(self, settings: Settings) -> None:
        self.db = open_database(settings)
        self.feedback_table = f"{self.db.table}_feedback"
        self.where = f"PostgreSQL at {self.db.masked_url}, table {self.feedback_table}"
        self._table = _OwnTable(
            self.db,
            self.feedback_table,
            [
                f"create table if not exists {self.feedback_table} (id text primary key,"
                " created text not null, verdict text not null, record jsonb not null)"
            ],
        )

    def put(self, record: dict[str, Any]) -> None:
        with self._table.write("saving feedback") as conn:
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
        with self._table.write("removing feedback") as conn:
            done = conn.execute(
                sa.text(f"delete from {self.feedback_table} where id = :id"), {"id": rid}
            )
            return bool(done.rowcount)

    def records(self) -> list[dict[str, Any]]:
        def read(conn: sa.Connection) -> list[dict[str, Any]]:
            if not self._table.exists(conn):
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
        self._table = _OwnTable(
            self.db,
            self.answers_table,
            [
                f"create table if not exists {self.answers_table} (id text primary key,"
                " created timestamptz not null default clock_timestamp(),"
                " answered jsonb not null)",
                f"create index if not exists {self.answers_table}_created"
                f" on {self.answers_table} (created)",
            ],
        )

    def put(self, key: str, answered: Answered) -> None:
        with self._table.write("remembering an answer") as conn:
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
            if not self._table.exists(conn):
                return None
            row = conn.execute(
                sa.text(f"select answered from {self.answers_table} where id = :id"),
                {"id": key},
            ).first()
            return Answered(**row[0]) if row else None

        return self.db.read("reading an answer", read)
