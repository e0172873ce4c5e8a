"""The engine on PostgreSQL + pgvector: ingest, query, re-ingest, delete, and moving a local
index there (`qa ingest --store postgres`), against the real server scripts/postgres starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

import qa
from qa.stores.postgres import PgStore
from tests.helpers import PG_URL, needs_postgres

pytestmark = needs_postgres


@pytest.fixture
def pg_settings(settings_factory):
    table = f"e_{uuid.uuid4().hex[:10]}"
    s = settings_factory(
        llm="local",
        store={"mode": "postgres", "postgres_url": PG_URL, "table": table},
    )
    yield s
    store = PgStore(s)
    store.clear()
    store.close()


def _ingest(s):
    return qa.ingest(settings=s, progress=False)


def test_ingest_query_reingest_delete(pg_settings):
    r = _ingest(pg_settings)
    assert (r.added, r.embedded_chunks) == (1, r.total_chunks) and r.total_chunks > 1
    ans = qa.ask("Where was the sixth CELAC summit held?", settings=pg_settings)
    assert "Mexico City" in ans.text
    assert ans.sources[0]["file"] == "xi_celac_sixth_summit_speech.txt"

    again = _ingest(pg_settings)
    assert (again.unchanged, again.embedded_chunks, again.total_chunks) == (1, 0, r.total_chunks)

    extra = pg_settings.corpus_dir / "harbour.md"
    extra.write_text("The harbour of Valparaiso has 17 red cranes.")
    assert _ingest(pg_settings).added == 1
    hits = qa.pipeline(pg_settings).retrieve("How many red cranes does the harbour have?")
    assert hits[0].node.metadata["file_name"] == "harbour.md"

    extra.write_text("The harbour of Valparaiso has 18 red cranes.")
    upd = _ingest(pg_settings)
    assert (upd.updated, upd.embedded_chunks) == (1, 1)

    extra.unlink()
    gone = _ingest(pg_settings)
    assert gone.deleted == 1 and gone.total_chunks == r.total_chunks
    files = {
        h.node.metadata["file_name"]
        for h in qa.pipeline(pg_settings).retrieve("red cranes in the harbour")
    }
    assert "harbour.md" not in files


def test_cli_moves_local_index_to_postgres(pg_settings):
    local = pg_settings.model_copy(
        update={"store": pg_settings.store.model_copy(update={"mode": "local"})}
    )
    _ingest(local)
    env = {
        **os.environ,
        "QA_CORPUS_DIR": str(pg_settings.corpus_dir),
        "QA_STORE__DATA_DIR": str(pg_settings.store.data_dir),
        "QA_STORE__POSTGRES_URL": PG_URL,
        "QA_STORE__TABLE": pg_settings.store.table,
    }
    out = subprocess.run(
        [sys.executable, "-m", "qa.cli", "ingest", "--store", "postgres", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["moved_from_local"] == report["total_chunks"] > 0
    assert report["embedded_chunks"] == 0 and report["unchanged"] == 1
    assert PgStore(pg_settings).count() == report["total_chunks"]


def test_pdf_pages_and_docx_sections_survive_postgres(pg_settings):
    """page and section travel in the chunk metadata (jsonb) and come back on retrieval."""
    import shutil
    from pathlib import Path

    from qa.documents import corpus

    data = Path(__file__).parents[1] / "data"
    for name in ("shared-mime-info-spec.pdf", "heron-station-guide.docx"):
        shutil.copy(data / name, pg_settings.corpus_dir)
    assert _ingest(pg_settings).added == 3
    pipe = qa.pipeline(pg_settings)
    top = pipe.retrieve("What is the default weight value of a glob element?")[0].node
    assert top.metadata["file_name"] == "shared-mime-info-spec.pdf"
    pages = corpus.read(data / "shared-mime-info-spec.pdf", "spec.pdf").segments
    assert top.get_content()[:40] in pages[top.metadata["page"] - 1].text  # its own page
    top = pipe.retrieve("Which TCP port does the Heron receiver daemon listen on?")[0].node
    assert top.metadata["section"] == "Installation > Linux"
