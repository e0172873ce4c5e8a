"""PgStore against a real PostgreSQL + pgvector server (started by scripts/postgres).

The server comes from QA_TEST_POSTGRES_URL, else the scripts/postgres default on
127.0.0.1:55433; the tests skip only when neither answers. Each test uses its own tables.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import uuid

import numpy as np
import pytest
import sqlalchemy as sa

import qa
import qa.answering.context
from qa.errors import BackendError
from qa.stores.local import CorpusRetriever, LocalStore
from qa.stores.postgres import PgStore
from tests.helpers import DEFAULT_PG_URL, PG_URL, needs_postgres

pytestmark = needs_postgres

SENTENCES = {
    "space.md": ["Rockets launch from Cape Canaveral in Florida.", "Astronauts train for years."],
    "food.md": ["Bread is baked in a hot oven.", "Cheese is made from milk."],
    "pets.md": ["The cat sat on the mat and purred."],
}


@pytest.fixture(scope="module")
def embed():
    from qa.models.factory import build_embedding

    return build_embedding(qa.load_settings(embedding={"mode": "local"}))


@pytest.fixture
def store(tmp_path):
    s = qa.load_settings(
        store={
            "mode": "postgres",
            "postgres_url": PG_URL,
            "table": f"t_{uuid.uuid4().hex[:10]}",
            "data_dir": tmp_path,
        }
    )
    st = PgStore(s)
    yield st
    st.clear()
    st.close()


def corpus_batch(embed, files: dict[str, list[str]], version: str = "1"):
    """(manifest_files, records, vectors) for files -> sentences, like ingest builds them."""
    manifest, records, texts = {}, [], []
    for rel, sentences in files.items():
        ids = []
        for i, text in enumerate(sentences):
            cid = f"{rel}:{version}:{i}"
            ids.append(cid)
            meta = {"file_name": rel, "title": rel.split(".")[0].title(), "position": i}
            if rel == "space.md":
                meta["date"] = "1969-07-20"
            records.append({"id": cid, "text": text, "metadata": meta, "start": 0, "end": 9})
            texts.append(text)
        manifest[rel] = {
            "sha256": f"{rel}-{version}",
            "title": rel.split(".")[0].title(),
            "date": None,
            "chunks": ids,
        }
    vectors = np.asarray(embed.get_text_embedding_batch(texts), dtype=np.float32)
    return manifest, records, vectors


SIG = {"embedding": "local:test", "chunk_size": 128, "chunk_overlap": 16}


def top(store: PgStore, embed, query: str, k: int = 3):
    return store.retriever(embed, k).retrieve(query)


def node_ids(store: PgStore) -> list[str]:
    with store.engine.connect() as conn:
        return [r[0] for r in conn.execute(sa.text(f"select node_id from {store.data_table}"))]


def _tables(store: PgStore) -> list[str]:
    with store.engine.connect() as conn:
        names = (store.data_table, store.files_table, store.meta_table)
        found = [conn.execute(sa.text("select to_regclass(:t)"), {"t": t}).scalar() for t in names]
    return [t for t in found if t]


def test_empty_store_reads_without_writing(store, embed):
    """Reads of a store never written return empty and create nothing; its retriever says
    there is no index instead of ingesting (the read path never writes)."""
    assert store.manifest() == {"signature": None, "files": {}, "chunks": 0}
    assert store.count() == 0
    assert not store.exists() and not store.ready()
    with pytest.raises(qa.CorpusError, match="no index"):
        store.retriever(embed, 3)
    assert store.neighbours("space.md", [0]) == {}
    assert _tables(store) == []


def test_apply_upsert_delete_count(store, embed):
    files, records, vectors = corpus_batch(embed, SENTENCES)
    assert store.apply(SIG, files, records, vectors) == 5
    assert store.count() == 5 and store.exists()

    # food.md changes (new chunk ids replace the old), pets.md is deleted.
    new_food, food_recs, food_vecs = corpus_batch(
        embed, {"food.md": ["Sourdough needs a starter."]}, version="2"
    )
    manifest = {"space.md": files["space.md"], **new_food}
    gone = files["food.md"]["chunks"] + files["pets.md"]["chunks"]
    assert store.apply(SIG, manifest, food_recs, food_vecs, delete_chunk_ids=gone) == 3
    assert store.count() == 3
    assert sorted(node_ids(store)) == sorted(
        files["space.md"]["chunks"] + new_food["food.md"]["chunks"]
    )
    m = store.manifest()
    assert set(m["files"]) == {"space.md", "food.md"}
    assert m["files"]["food.md"]["sha256"] == "food.md-2"
    assert m["chunks"] == 3
    hit = top(store, embed, "how is sourdough bread made?", 1)[0]
    assert hit.node.node_id == "food.md:2:0"

    # Deleting unknown ids is harmless; an empty apply keeps everything.
    assert store.apply(SIG, manifest, [], None, delete_chunk_ids=["nope"]) == 3


def test_manifest_round_trip(store, embed):
    files, records, vectors = corpus_batch(embed, SENTENCES)
    store.apply(SIG, files, records, vectors)
    again = PgStore(qa.load_settings(store=store_settings(store)))
    try:
        m = again.manifest()
    finally:
        again.close()
    assert m["signature"] == SIG
    assert m["files"] == files
    assert m["chunks"] == 5
    assert again.dim() == 384


def store_settings(store: PgStore) -> dict:
    return {"mode": "postgres", "postgres_url": PG_URL, "table": store.table}


def test_retrieval_returns_the_right_chunk(store, embed):
    files, records, vectors = corpus_batch(embed, SENTENCES)
    store.apply(SIG, files, records, vectors)
    hits = top(store, embed, "Where do rockets take off from?")
    assert len(hits) == 3
    best = hits[0]
    assert best.node.node_id == "space.md:1:0"
    assert best.node.text == "Rockets launch from Cape Canaveral in Florida."
    assert best.node.metadata == {
        "file_name": "space.md",
        "title": "Space",
        "position": 0,
        "date": "1969-07-20",
    }
    assert best.node.ref_doc_id == "space.md"
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    q = np.asarray(embed.get_query_embedding("Where do rockets take off from?"))
    expected = float(vectors[0] @ q / np.linalg.norm(q))
    assert best.score == pytest.approx(expected, abs=1e-4)
    assert top(store, embed, "a cat on a mat", 1)[0].node.metadata["file_name"] == "pets.md"


def test_reapply_is_idempotent(store, embed):
    files, records, vectors = corpus_batch(embed, SENTENCES)
    store.apply(SIG, files, records, vectors)
    before = store.manifest()
    store.apply(SIG, files, records, vectors)
    store.apply(SIG, files, records, vectors, delete_chunk_ids=[])
    ids = node_ids(store)
    assert len(ids) == len(set(ids)) == 5
    assert store.manifest() == before
    hits = top(store, embed, "Where do rockets take off from?", 5)
    assert len({h.node.node_id for h in hits}) == 5


def test_signature_change_replaces_everything(store, embed):
    files, records, vectors = corpus_batch(embed, SENTENCES)
    store.apply(SIG, files, records, vectors)
    pets, recs, vecs = corpus_batch(embed, {"pets.md": SENTENCES["pets.md"]}, version="9")
    other = {**SIG, "chunk_size": 64}
    assert store.apply(other, pets, recs, vecs) == 1
    assert node_ids(store) == ["pets.md:9:0"]
    assert store.manifest()["signature"] == other


def test_dimension_change_rebuilds_the_table(store, embed):
    files, records, vectors = corpus_batch(embed, SENTENCES)
    store.apply(SIG, files, records, vectors)
    rng = np.random.default_rng(0)
    small = rng.normal(size=(len(records), 8)).astype(np.float32)
    assert store.apply({**SIG, "embedding": "mock:8"}, files, records, small) == 5
    assert store.dim() == 8


@pytest.mark.parametrize("step", ["upsert", "delete", "manifest"])
def test_crash_during_apply_keeps_the_previous_state(store, embed, step):
    files, records, vectors = corpus_batch(embed, SENTENCES)
    store.apply(SIG, files, records, vectors)
    before = store.manifest()
    before_hits = [(h.node.node_id, round(h.score, 5)) for h in top(store, embed, "rockets")]

    new_food, food_recs, food_vecs = corpus_batch(
        embed, {"food.md": ["Sourdough needs a starter."]}, version="2"
    )
    manifest = {"space.md": files["space.md"], **new_food}
    gone = files["food.md"]["chunks"] + files["pets.md"]["chunks"]
    with pytest.raises(RuntimeError, match="simulated crash"):
        store.apply(SIG, manifest, food_recs, food_vecs, gone, _fail_after=step)

    assert store.manifest() == before
    assert store.count() == 5
    assert sorted(node_ids(store)) == sorted(c for f in files.values() for c in f["chunks"])
    after_hits = [(h.node.node_id, round(h.score, 5)) for h in top(store, embed, "rockets")]
    assert after_hits == before_hits
    # ...and the same apply then goes through.
    assert store.apply(SIG, manifest, food_recs, food_vecs, gone) == 3


def test_killed_writer_leaves_the_previous_state(store, embed, tmp_path):
    """A writer process SIGKILLed inside apply's transaction: nothing of it is visible."""
    files, records, vectors = corpus_batch(embed, SENTENCES)
    store.apply(SIG, files, records, vectors)
    before = store.manifest()
    script = tmp_path / "writer.py"
    script.write_text(
        "import os, signal, numpy as np, qa\n"
        "from qa.stores.postgres import PgStore, writer\n"
        "def die(point, step):\n"
        "    if step == 'delete':\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "writer._maybe_fail = die\n"
        f"s = qa.load_settings(store={store_settings(store)!r})\n"
        "st = PgStore(s)\n"
        "rec = {'id': 'x', 'text': 'x', 'metadata': {'file_name': 'x.md', 'title': 'X',"
        " 'position': 0}}\n"
        "st.apply({'embedding': 'local:test', 'chunk_size': 128, 'chunk_overlap': 16},"
        " {'x.md': {'sha256': 'x', 'title': 'X', 'date': None, 'chunks': ['x']}}, [rec],"
        " np.ones((1, 384), dtype=np.float32), delete_chunk_ids=['space.md:1:0'])\n"
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, timeout=120)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    assert store.manifest() == before
    assert store.count() == 5
    assert "x" not in node_ids(store)


def _local_cluster() -> bool:
    return PG_URL == DEFAULT_PG_URL and shutil.which("pg_ctlcluster") is not None


@pytest.mark.skipif(not _local_cluster(), reason="needs the local 15/ci cluster (scripts/postgres)")
def test_server_restart_between_queries_recovers(store, embed):
    files, records, vectors = corpus_batch(embed, SENTENCES)
    store.apply(SIG, files, records, vectors)
    retriever = store.retriever(embed, 2)
    first = [h.node.node_id for h in retriever.retrieve("rockets")]
    subprocess.run(["pg_ctlcluster", "15", "ci", "restart"], check=True, timeout=60)
    assert [h.node.node_id for h in retriever.retrieve("rockets")] == first
    assert store.count() == 5
    assert store.manifest()["files"] == files


@pytest.mark.skipif(not _local_cluster(), reason="needs the local 15/ci cluster (scripts/postgres)")
def test_queries_during_a_restart_all_answer(store, embed):
    files, records, vectors = corpus_batch(embed, SENTENCES)
    store.apply(SIG, files, records, vectors)
    retriever = store.retriever(embed, 2)
    query = embed.get_query_embedding("rockets")
    from llama_index.core.schema import QueryBundle

    def ask() -> list[str]:
        return [h.node.node_id for h in retriever.retrieve(QueryBundle("rockets", embedding=query))]

    first = ask()
    restart = subprocess.Popen(["pg_ctlcluster", "15", "ci", "restart"])
    answers = []
    while restart.poll() is None:
        answers.append(ask())
    answers.append(ask())
    assert restart.wait(timeout=60) == 0
    assert answers and all(a == first for a in answers)


def test_unreachable_server_is_a_one_line_backend_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free once closed: nothing listens there
    url = f"postgresql://alice:s3cr3tpw@127.0.0.1:{port}/corpus_qa"
    st = PgStore(qa.load_settings(store={"mode": "postgres", "postgres_url": url}))
    for call in (st.manifest, st.count, st.ping):
        with pytest.raises(BackendError) as err:
            call()
        msg = str(err.value)
        assert "\n" not in msg and "s3cr3tpw" not in msg
        assert f"alice:***@127.0.0.1:{port}" in msg
    with pytest.raises(BackendError):
        st.apply(SIG, {}, [], None)


def test_article_retrieval_matches_the_local_store(store, embed, local_settings):
    """The ingested article, moved into PostgreSQL, retrieves what the numpy store retrieves."""
    data = LocalStore(local_settings.store.data_dir).load()
    store.apply(data.manifest["signature"], data.files, data.records, data.vectors)
    assert store.count() == len(data.records)
    assert store.manifest()["files"] == data.files
    local = CorpusRetriever(data, embed, 3, "vector")
    pg = store.retriever(embed, 3)
    for question in ("What is the article about?", "When did it happen?", "Who was involved?"):
        want = [(n.node.node_id, round(n.score, 4)) for n in local.retrieve(question)]
        got = [(n.node.node_id, round(n.score, 4)) for n in pg.retrieve(question)]
        assert got == want
    # the documents a question's translation is told about (qa.answering.translation)
    assert pg.titles() == local.titles() and local.titles()


def test_neighbours_come_back_in_file_order(store, embed):
    """Window expansion reads a file's chunks by position through its manifest row."""
    manifest, records, vectors = corpus_batch(embed, SENTENCES)
    store.apply(SIG, manifest, records, vectors)
    got = store.neighbours("space.md", [-1, 0, 1, 2])
    assert {p: n.get_content() for p, n in got.items()} == dict(enumerate(SENTENCES["space.md"]))
    assert got[1].metadata["file_name"] == "space.md" and got[1].node_id == "space.md:1:1"
    assert store.neighbours("missing.md", [0]) == {}
    widened = qa.answering.context.expand(
        top(store, embed, "Where do rockets launch from?", 1),
        store.retriever(embed, 1).neighbours,
        1,
    )
    assert widened[0].node.get_content() == " ".join(SENTENCES["space.md"])


def test_keyword_search_ranks_by_words_and_scores_by_cosine(store, embed):
    """Hybrid's keyword half: PostgreSQL full-text (stemmed, any word), cosine-scored."""
    manifest, records, vectors = corpus_batch(embed, SENTENCES)
    store.apply(SIG, manifest, records, vectors)
    q = "Which milk product is made there?"
    qv = embed.get_query_embedding(q)
    hits = store.keyword_search(q, qv, 3)
    assert [h.node.get_content() for h in hits] == ["Cheese is made from milk."]
    by_vector = {n.node.node_id: n.score for n in top(store, embed, q, 5)}
    assert hits[0].score == pytest.approx(by_vector[hits[0].node.node_id], abs=1e-4)
    assert store.keyword_search("the of and", qv, 3) == []  # stop words only: nothing to match
    assert store.keyword_search("?!", qv, 3) == []


def test_hybrid_fuses_keyword_and_vector_rankings(store, embed):
    manifest, records, vectors = corpus_batch(embed, SENTENCES)
    store.apply(SIG, manifest, records, vectors)
    q = "Where is Canaveral?"
    hybrid = store.retriever(embed, 2, "hybrid").retrieve(q)
    keyword = store.retriever(embed, 2, "bm25").retrieve(q)
    assert keyword[0].node.get_content() == "Rockets launch from Cape Canaveral in Florida."
    assert hybrid[0].node.node_id == keyword[0].node.node_id and len(hybrid) == 2
    assert len({n.node.node_id for n in hybrid}) == 2


def test_tables_made_before_keyword_search_get_the_column(store, embed):
    manifest, records, vectors = corpus_batch(embed, SENTENCES)
    store.apply(SIG, manifest, records, vectors)
    with store.engine.begin() as conn:
        conn.execute(sa.text(f"alter table {store.data_table} drop column text_tsv"))
    assert store.retriever(embed, 1, "vector").retrieve("rockets")  # vector needs no column
    assert store.keyword_search("rockets", embed.get_query_embedding("rockets"), 1) == []
    hits = store.retriever(embed, 1, "hybrid").retrieve("Where do rockets launch?")
    assert hits[0].node.get_content().startswith("Rockets launch")  # the vector half answers
    assert store.keyword_search("rockets", embed.get_query_embedding("rockets"), 1) == []
    store.upgrade()  # what ingest and qa.ensure_index do; the read path never alters a table
    assert store.keyword_search("rockets", embed.get_query_embedding("rockets"), 1)
