"""The store is chosen once (qa.stores.open_store), and the read path never writes: a retriever
with no index raises the clear error, and qa.ensure_index is what indexes a fresh checkout."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
from llama_index.core.schema import NodeWithScore, TextNode
from pydantic import SecretStr

import qa
from qa.settings import REPO_ROOT
from qa.stores import open_store
from qa.stores.fusion import fuse, rrf
from qa.stores.local import LocalStore
from qa.stores.postgres import PgStore

ingest_module = importlib.import_module("qa.ingest")  # `qa.ingest` is the function


def _pg(settings: qa.Settings) -> qa.Settings:
    store = settings.store.model_copy(
        update={"mode": "postgres", "postgres_url": SecretStr("postgresql://u@127.0.0.1:9/x")}
    )
    return settings.model_copy(update={"store": store})


def test_open_store_picks_the_store_the_settings_name(mock_settings):
    local = open_store(mock_settings)
    assert isinstance(local, LocalStore) and local.data_dir == mock_settings.store.data_dir
    pg = open_store(_pg(mock_settings))  # builds the engine lazily: nothing connects here
    assert isinstance(pg, PgStore) and pg.data_dir == mock_settings.store.data_dir


def test_ingest_and_answering_get_their_store_from_the_factory(mock_settings, monkeypatch):
    opened: list[str] = []
    real = ingest_module.open_store

    def spy(settings):
        opened.append(settings.store.mode)
        return real(settings)

    monkeypatch.setattr(ingest_module, "open_store", spy)
    ingest_module.ingest(mock_settings, progress=False)
    assert opened == ["local"]
    assert isinstance(qa.api.Pipeline(_pg(mock_settings)).store, PgStore)  # not a LocalStore


def test_only_the_stores_package_names_a_store_class():
    """Everything outside qa/stores/ reaches a store through open_store and the Store
    interface: nobody else imports qa.stores.local or qa.stores.postgres."""
    root = REPO_ROOT / "qa"
    offenders = []
    for path in root.rglob("*.py"):
        if path.is_relative_to(root / "stores"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                ("qa.stores.local", "qa.stores.postgres")
            ):
                offenders.append(f"{path.relative_to(REPO_ROOT)}: {node.module}")
    assert offenders == []


def _files(d: Path) -> list[Path]:
    return sorted(d.rglob("*")) if d.exists() else []


def test_retriever_on_an_empty_data_dir_raises_and_writes_nothing(mock_settings):
    data = mock_settings.store.data_dir
    pipe = qa.pipeline(mock_settings)
    with pytest.raises(qa.CorpusError, match="no index") as err:
        pipe.retriever()
    assert "qa ingest" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(qa.CorpusError, match="no index"):
        pipe.retrieve("Where was the summit?")
    with pytest.raises(qa.CorpusError, match="no index"):
        open_store(mock_settings).retriever(pipe.embed, 3)
    assert _files(data) == []


def test_ensure_index_indexes_a_fresh_checkout_and_rewrites_nothing_unchanged(mock_settings):
    store = LocalStore(mock_settings.store.data_dir)
    first = qa.ensure_index(mock_settings, progress=False)
    assert first is not None and first.added == 1 and first.total_chunks > 0
    live = store.live_dir()
    assert qa.ensure_index(mock_settings, progress=False) is None
    assert store.live_dir() == live  # nothing rewritten
    assert qa.pipeline(mock_settings).retrieve("Where was the summit?")


def test_a_restart_answers_from_files_put_into_the_corpus_since(mock_settings):
    """A user copies a file into corpus/ and starts the chat again, with no `qa ingest`: the
    start-up sync indexes it (and drops a file removed since)."""
    qa.ensure_index(mock_settings, progress=False)
    (mock_settings.corpus_dir / "tides.txt").write_text("The harbour tides rise twice a day.")
    report = qa.ensure_index(mock_settings, progress=False)
    assert report is not None and (report.added, report.unchanged) == (1, 1)
    files = {n.node.metadata["file_name"] for n in qa.pipeline(mock_settings).retrieve("tides")}
    assert "tides.txt" in files
    (mock_settings.corpus_dir / "tides.txt").unlink()
    assert qa.ensure_index(mock_settings, progress=False).deleted == 1


def test_ensure_index_rebuilds_a_corrupt_index_and_says_so(mock_settings, capsys):
    qa.ensure_index(mock_settings, progress=False)
    live = LocalStore(mock_settings.store.data_dir).live_dir()
    (live / "chunks.jsonl").write_text("{not json")
    with pytest.raises(qa.CorpusError, match="unreadable.*qa ingest"):
        open_store(mock_settings).retriever(qa.pipeline(mock_settings).embed, 3)
    assert (live / "chunks.jsonl").read_text() == "{not json"  # the read left it as it was
    report = qa.ensure_index(mock_settings, progress=False)
    assert report is not None and report.added == 1
    assert "rebuilding" in capsys.readouterr().err


def test_the_python_door_indexes_a_fresh_checkout_once(mock_settings, monkeypatch):
    calls: list[int] = []
    real = qa.api._ingest
    monkeypatch.setattr(qa.api, "_ingest", lambda *a, **k: calls.append(1) or real(*a, **k))
    qa.ask("Where was the summit?", settings=mock_settings)
    qa.ask("Who spoke?", settings=mock_settings)
    assert calls == [1]


def _hit(node_id: str, score: float) -> NodeWithScore:
    return NodeWithScore(node=TextNode(id_=node_id, text=node_id), score=score)


def test_fusion_orders_by_reciprocal_rank_and_keeps_the_best_cosine():
    assert rrf([[1, 2, 3], [3, 1]]) == [1, 3, 2]
    vector = [_hit("a", 0.9), _hit("b", 0.5)]
    keyword = [_hit("b", 0.6), _hit("c", 0.2)]
    fused = fuse([vector, keyword], 3)
    assert [n.node.node_id for n in fused] == ["b", "a", "c"]
    assert [n.score for n in fused] == [0.6, 0.9, 0.2]  # cosine, never an RRF score
    assert len(fuse([vector, keyword], 1)) == 1
