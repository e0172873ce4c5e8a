"""Ingestion across processes on MockEmbedding: a SIGKILLed ingest, and `qa ingest --json`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import qa
from qa.stores.local import LocalStore


def _ingest(s, **kw):
    return qa.ingest(settings=s, progress=False, **kw)


def _records(s):
    return LocalStore(s.store.data_dir).load().records


KILL_SCRIPT = """
import sys, time, qa
from qa.models.factory import build_embedding
s = qa.load_settings()
emb = build_embedding(s)
orig = emb.__class__._get_text_embeddings
def slow(self, texts):
    print("EMBEDDING", flush=True)
    time.sleep(0.2)
    return orig(self, texts)
emb.__class__._get_text_embeddings = slow
qa.ingest(settings=s, progress=False)
print("DONE", flush=True)
"""


def test_sigkill_halfway_then_rerun_completes(mock_settings):
    """A killed ingest leaves the old index; the next run completes without duplicates."""
    _ingest(mock_settings)
    before = _records(mock_settings)
    for i in range(40):
        (mock_settings.corpus_dir / f"doc{i}.txt").write_text(f"Document {i} about item {i}.")
    env = {
        **os.environ,
        "QA_CORPUS_DIR": str(mock_settings.corpus_dir),
        "QA_STORE__DATA_DIR": str(mock_settings.store.data_dir),
        "QA_LLM__MODE": "mock",
        "QA_EMBEDDING__MODE": "mock",
        "QA_EMBEDDING__BATCH_SIZE": "4",
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT], env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "EMBEDDING"
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _records(mock_settings) == before  # old index intact
    r = _ingest(mock_settings)
    assert r.added == 40 and r.unchanged == 1
    ids = [x["id"] for x in _records(mock_settings)]
    assert len(ids) == len(set(ids)) == len(before) + 40


def test_json_counts_from_cli(mock_settings):
    env = {
        **os.environ,
        "QA_CORPUS_DIR": str(mock_settings.corpus_dir),
        "QA_STORE__DATA_DIR": str(mock_settings.store.data_dir),
        "QA_EMBEDDING__MODE": "mock",
    }
    out = subprocess.run(
        [sys.executable, "-m", "qa.cli", "ingest", "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert {k: data[k] for k in ("added", "updated", "deleted", "unchanged")} == {
        "added": 1,
        "updated": 0,
        "deleted": 0,
        "unchanged": 0,
    }
    assert data["embedded_chunks"] > 0
