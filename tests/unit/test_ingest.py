"""Ingestion logic on MockEmbedding: incremental counts, stable ids, bad files, a failed commit
(a killed ingest process: tests/integration/test_ingest.py)."""

from __future__ import annotations

import pytest

import qa
from qa.stores.local import LocalStore


def _ingest(s, **kw):
    return qa.ingest(settings=s, progress=False, **kw)


def _records(s):
    return LocalStore(s.store.data_dir).load().records


def test_first_run_indexes_article_with_metadata(mock_settings):
    r = _ingest(mock_settings)
    assert (r.added, r.updated, r.deleted, r.unchanged) == (1, 0, 0, 0)
    assert r.embedded_chunks == r.total_chunks > 1
    meta = _records(mock_settings)[0]["metadata"]
    assert meta["date"] == "2021-09-20 18:13"
    assert meta["title"].startswith("Xi Delivered a Video Speech")
    assert meta["file_name"] == "xi_celac_sixth_summit_speech.txt"


def test_chunks_are_token_bounded_and_ids_stable(mock_settings, tmp_path):
    import tiktoken

    _ingest(mock_settings)
    enc = tiktoken.get_encoding("cl100k_base")
    recs = _records(mock_settings)
    assert all(len(enc.encode(r["text"])) <= mock_settings.retrieval.chunk_size for r in recs)
    ids = [r["id"] for r in recs]
    assert ids[0].startswith("xi_celac_sixth_summit_speech.txt#0:")
    # a fresh data dir over the same corpus gives the same ids
    other = mock_settings.model_copy(
        update={"store": mock_settings.store.model_copy(update={"data_dir": tmp_path / "d2"})}
    )
    _ingest(other)
    assert [r["id"] for r in _records(other)] == ids


def test_unchanged_corpus_embeds_nothing(mock_settings):
    _ingest(mock_settings)
    gen = LocalStore(mock_settings.store.data_dir).live_dir()
    r = _ingest(mock_settings)
    assert (r.added, r.updated, r.deleted, r.unchanged, r.embedded_chunks) == (0, 0, 0, 1, 0)
    assert LocalStore(mock_settings.store.data_dir).live_dir() == gen  # nothing rewritten


def test_changed_file_reembeds_only_its_chunks(mock_settings):
    corpus = mock_settings.corpus_dir
    (corpus / "b.md").write_text("# Notes\n\nThe lighthouse keeper counts 41 gulls.\n")
    _ingest(mock_settings)
    (corpus / "b.md").write_text("# Notes\n\nThe lighthouse keeper counts 42 gulls.\n")
    r = _ingest(mock_settings)
    assert (r.added, r.updated, r.unchanged, r.embedded_chunks) == (0, 1, 1, 1)
    texts = [x["text"] for x in _records(mock_settings)]
    assert any("42 gulls" in t for t in texts) and not any("41 gulls" in t for t in texts)


def test_deleted_file_leaves_the_index(mock_settings):
    corpus = mock_settings.corpus_dir
    (corpus / "b.txt").write_text("Short note about the harbour.")
    _ingest(mock_settings)
    (corpus / "b.txt").unlink()
    r = _ingest(mock_settings)
    assert r.deleted == 1
    assert {x["metadata"]["file_name"] for x in _records(mock_settings)} == {
        "xi_celac_sixth_summit_speech.txt"
    }


def test_bad_files_are_skipped_with_one_line_warnings(mock_settings):
    corpus = mock_settings.corpus_dir
    (corpus / "empty.txt").write_text("   \n")
    (corpus / "binary.txt").write_bytes(b"\x00\x01\x02binary\x00" * 50)
    (corpus / "latin1.md").write_bytes("caf\xe9 au lait".encode("latin-1"))
    warnings: list[str] = []
    r = qa.api._ingest(mock_settings, None, progress=False, warn=warnings.append)
    assert sorted(r.skipped) == ["binary.txt", "empty.txt", "latin1.md"]
    assert r.added == 1
    assert all("\n" not in w for w in warnings) and len(warnings) == 3
    assert any("binary.txt" in w for w in warnings)


def test_ingest_named_paths_only_touches_them(mock_settings):
    corpus = mock_settings.corpus_dir
    _ingest(mock_settings)
    (corpus / "new.txt").write_text("A brand new document about tides.")
    r = _ingest(mock_settings, paths=[corpus / "new.txt"])
    assert (r.added, r.deleted, r.unchanged) == (1, 0, 0)
    files = {x["metadata"]["file_name"] for x in _records(mock_settings)}
    assert files == {"xi_celac_sixth_summit_speech.txt", "new.txt"}


def test_a_whole_corpus_sync_keeps_a_file_ingested_from_outside(mock_settings, tmp_path):
    """`qa ingest ~/notes/tides.md` indexes a file outside corpus/; the next `qa ingest` (or
    a restart's sync) covers corpus/ only and keeps it; naming it again once gone removes it."""
    outside = tmp_path / "elsewhere" / "tides.txt"
    outside.parent.mkdir()
    outside.write_text("A note about the tides of the harbour.")
    _ingest(mock_settings, paths=[outside])
    r = _ingest(mock_settings)
    assert (r.added, r.deleted) == (1, 0)  # the corpus's article; the note stays
    assert outside.as_posix() in {x["metadata"]["file_name"] for x in _records(mock_settings)}
    outside.unlink()
    assert _ingest(mock_settings, paths=[outside]).deleted == 1


def test_failure_during_commit_keeps_previous_index(mock_settings, monkeypatch):
    _ingest(mock_settings)
    before = _records(mock_settings)
    (mock_settings.corpus_dir / "c.txt").write_text("Another document.")

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr("qa.stores.local.np.save", boom)
    with pytest.raises(RuntimeError):
        _ingest(mock_settings)
    monkeypatch.undo()
    assert _records(mock_settings) == before


def test_corrupt_index_is_rebuilt_and_said_so(mock_settings):
    _ingest(mock_settings)
    live = LocalStore(mock_settings.store.data_dir).live_dir()
    (live / "chunks.jsonl").write_text("{not json")
    warnings: list[str] = []
    r = qa.api._ingest(mock_settings, None, progress=False, warn=warnings.append)
    assert r.added == 1 and r.embedded_chunks > 0
    assert any("rebuilding" in w for w in warnings)


def test_empty_corpus_gives_clear_error(mock_settings):
    for f in mock_settings.corpus_dir.iterdir():
        f.unlink()
    with pytest.raises(qa.CorpusError, match="no readable documents"):
        qa.ask("Where was the summit?", settings=mock_settings)


def test_bad_documents_each_get_one_line_and_the_rest_is_indexed(mock_settings):
    """A scanned, an encrypted and a truncated PDF, a .docx that is another zip, an HTML page
    of scripts: one warning each; the article, a good PDF and a good .docx are indexed."""
    import shutil
    import zipfile
    from pathlib import Path

    data = Path(__file__).parents[1] / "data"
    corpus = mock_settings.corpus_dir
    for name in ("bad/scanned.pdf", "bad/encrypted.pdf", "heron-station-guide.docx"):
        shutil.copy(data / name, corpus)
    spec = (data / "shared-mime-info-spec.pdf").read_bytes()
    (corpus / "spec.pdf").write_bytes(spec)
    (corpus / "truncated.pdf").write_bytes(spec[: len(spec) // 2])
    with zipfile.ZipFile(corpus / "photos.docx", "w") as z:
        z.writestr("img/readme.txt", "holiday photos")
    (corpus / "app.html").write_text("<html><body><script>boot()</script></body></html>")
    warnings: list[str] = []
    r = qa.api._ingest(mock_settings, None, progress=False, warn=warnings.append)
    bad = ["app.html", "encrypted.pdf", "photos.docx", "scanned.pdf", "truncated.pdf"]
    assert sorted(r.skipped) == bad and r.added == 3
    assert len(warnings) == 5 and all("\n" not in w for w in warnings)
    assert all(any(w.startswith(f"{b}: ") for w in warnings) for b in bad)
    metas = [rec["metadata"] for rec in _records(mock_settings)]
    assert {m["page"] for m in metas if m["file_name"] == "spec.pdf"} == set(range(1, 18))
    guide = {m.get("section") for m in metas if m["file_name"] == "heron-station-guide.docx"}
    assert "Installation > Linux" in guide
    again = qa.api._ingest(mock_settings, None, progress=False, warn=lambda _m: None)
    assert (again.unchanged, again.embedded_chunks) == (3, 0)  # incremental for every type


def test_page_limit_skips_only_that_pdf(mock_settings):
    import shutil
    from pathlib import Path

    from tests.helpers import with_section

    shutil.copy(
        Path(__file__).parents[1] / "data" / "shared-mime-info-spec.pdf", mock_settings.corpus_dir
    )
    s = with_section(mock_settings, "ingest", max_pages=10)
    warnings: list[str] = []
    r = qa.api._ingest(s, None, progress=False, warn=warnings.append)
    assert r.skipped == ["shared-mime-info-spec.pdf"] and r.added == 1
    assert warnings == [
        "shared-mime-info-spec.pdf: 17 pages is over ingest.max_pages (10), skipped"
    ]
