"""Feedback in PostgreSQL (qa.feedback with store.mode = "postgres"): a table beside the index
in the same database, rated into by many threads at once (scripts/postgres's server, or
QA_TEST_POSTGRES_URL). Each test uses its own table."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
import sqlalchemy as sa

import qa
from qa.feedback import Answered, make_record, open_feedback
from qa.feedback.postgres import PgFeedback
from tests.helpers import PG_URL, needs_postgres

pytestmark = needs_postgres


@pytest.fixture
def settings(tmp_path) -> qa.Settings:
    table = f"t_{uuid.uuid4().hex[:10]}"
    return qa.load_settings(
        llm={"mode": "mock"},
        store={"mode": "postgres", "postgres_url": PG_URL, "table": table, "data_dir": tmp_path},
    )


@pytest.fixture
def store(settings):
    st = open_feedback(settings)
    assert isinstance(st, PgFeedback)
    yield st
    with st.db.transaction("dropping the test table") as conn:
        conn.execute(sa.text(f"drop table if exists {st.feedback_table}"))
    st.db.close()


def rating(rid: str, settings: qa.Settings, correction: str = "", minute: int = 0) -> dict:
    src = {"file": "speech.txt", "chunk_id": "speech.txt#0:ab", "score": 0.6}
    answered = Answered("Where was it held?", "Where was it held?", "In Lima.", False, [src])
    now = dt.datetime(2026, 11, 30, 12, minute, tzinfo=dt.UTC)
    return make_record(rid, answered, "down", settings, correction, now=now)


def test_records_live_in_a_table_beside_the_index(store, settings, tmp_path):
    assert store.records() == []  # reading never creates the table
    store.put(rating("a", settings, minute=1))
    store.put(rating("b", settings, minute=2))
    store.put(rating("a", settings, "Mexico City.", minute=1))  # rated again: replaced
    assert [(r["id"], r["correction"]) for r in store.records()] == [
        ("a", "Mexico City."), ("b", "")]  # fmt: skip
    assert store.remove("b") and not store.remove("b")
    assert store.feedback_table in store.where and "feedback" in store.where
    assert not (tmp_path / "feedback.jsonl").exists()  # nothing on the local disk


def test_sixteen_threads_rating_at_once_lose_no_record(settings):
    stores = [open_feedback(settings) for _ in range(2)]  # two processes' worth of pools
    start = threading.Barrier(16)
    failed: list[BaseException] = []

    def rate(t: int) -> None:
        start.wait()
        try:
            for i in range(10):
                stores[t % 2].put(rating(f"t{t}-{i}", settings, f"fix {t} {i}", minute=i))
        except BaseException as exc:  # noqa: BLE001 - reported below
            failed.append(exc)

    threads = [threading.Thread(target=rate, args=(t,)) for t in range(16)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    try:
        assert not failed, failed
        ids = sorted(r["id"] for r in stores[0].records())
        assert ids == sorted(f"t{t}-{i}" for t in range(16) for i in range(10))
    finally:
        with stores[0].db.transaction("dropping the test table") as conn:
            conn.execute(sa.text(f"drop table if exists {stores[0].feedback_table}"))
        for st in stores:
            st.db.close()


def test_a_database_that_does_not_answer_is_one_line(tmp_path):
    s = qa.load_settings(
        llm={"mode": "mock"},
        store={"mode": "postgres", "postgres_url": "postgresql://u:secret@127.0.0.1:9/x",
               "data_dir": tmp_path},
    )  # fmt: skip
    with pytest.raises(qa.BackendError) as err:
        open_feedback(s).put(rating("a", s))
    assert "secret" not in str(err.value) and "saving feedback" in str(err.value)
