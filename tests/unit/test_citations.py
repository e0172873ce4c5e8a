"""Citations say where: the page of a PDF passage, the heading path of a section, in every
door (sources as data, `qa ask` text and --json, HTTP sources, the browser's panel)."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest
from llama_index.core.schema import NodeWithScore, TextNode

import qa
from qa import cli
from qa import ui as app
from qa.answering.answer import citation, sources_of
from qa.server.openai_schema import public_sources


def _node(**meta) -> NodeWithScore:
    return NodeWithScore(node=TextNode(id_="x#0:ab", text="Some text.", metadata=meta), score=0.5)


@pytest.mark.parametrize(
    ("meta", "where"),
    [
        ({"file_name": "report.pdf", "page": 12}, "report.pdf, p. 12"),
        (
            {"file_name": "guide.docx", "section": "Installation > Linux"},
            "guide.docx, Installation > Linux",
        ),
        ({"file_name": "notes.md", "section": "Setup"}, "notes.md, Setup"),
        ({"file_name": "speech.txt"}, "speech.txt"),
    ],
)
def test_sources_carry_page_section_and_citation(meta: dict, where: str) -> None:
    (src,) = [s.as_dict() for s in sources_of([_node(title="T", **meta)])]
    assert src["citation"] == where
    assert (src["page"], src["section"]) == (meta.get("page"), meta.get("section"))
    assert public_sources([src])[0]["citation"] == where  # the HTTP sources
    assert f">{html.escape(where)}<" in app.render_sources([src])  # the browser sources panel


def test_citation_without_place_is_the_file() -> None:
    assert citation("a.txt") == "a.txt" and citation("a.pdf", 3, "ignored") == "a.pdf, p. 3"


def test_ask_prints_where(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    src = sources_of([_node(file_name="report.pdf", title="Report", page=12)])[0].as_dict()
    answer = qa.Answer(text="Forty [1].", sources=[src], refused=False, usage={}, seconds=0.1)
    monkeypatch.setattr(qa, "ensure_index", lambda: None)
    monkeypatch.setattr(qa, "ask", lambda _q: answer)
    assert cli.main(["ask", "How many?"]) == 0
    assert "[1] report.pdf, p. 12 (Report) score 0.50" in capsys.readouterr().out
    assert cli.main(["ask", "--json", "How many?"]) == 0
    out = json.loads(capsys.readouterr().out)["sources"][0]
    assert (out["page"], out["section"], out["citation"]) == (12, None, "report.pdf, p. 12")


def test_pdf_and_docx_passages_reach_the_sources(mock_settings: qa.Settings) -> None:
    """Ingested through the store, a passage's page and section come back on its node."""
    import shutil

    from qa.stores import open_store
    from qa.stores.base import to_node

    data = Path(__file__).parents[1] / "data"
    for name in ("shared-mime-info-spec.pdf", "heron-station-guide.docx"):
        shutil.copy(data / name, mock_settings.corpus_dir)
    qa.ingest(settings=mock_settings, progress=False)
    store = open_store(mock_settings)
    try:
        records = store.load().records
    finally:
        store.close()
    nodes = [NodeWithScore(node=to_node(r), score=1.0) for r in records]
    cites = {s.citation for s in sources_of(nodes)}
    assert "shared-mime-info-spec.pdf, p. 4" in cites
    assert "heron-station-guide.docx, Installation > Linux" in cites
    assert "xi_celac_sixth_summit_speech.txt" in cites


def test_open_source_shows_the_passage_in_its_page(tmp_path: Path) -> None:
    import shutil

    from qa.documents import chunking, corpus

    data = Path(__file__).parents[1] / "data"
    shutil.copy(data / "shared-mime-info-spec.pdf", tmp_path)
    doc = corpus.read(tmp_path / "shared-mime-info-spec.pdf", "shared-mime-info-spec.pdf")
    node = next(n for n in chunking.split(doc, 48, 0) if "default weight" in n.text)
    s = qa.load_settings(corpus_dir=tmp_path, store={"data_dir": tmp_path / "d"})
    src = sources_of([NodeWithScore(node=node, score=0.6)])[0].as_dict()
    opened = qa.open_source(src, settings=s)
    assert opened["passage"] == node.text and opened["page"] == 4
    assert opened["before"] and opened["after"]
    assert "Shared MIME-info Database\n2.2. The source XML files" in opened["before"]  # page 4
    panel = app.render_sources([src | {"context": opened}])
    assert "Open in the document (page 4)" in panel
    assert f'<mark class="qa-passage">{html.escape(node.text)}</mark>' in panel


def test_open_source_stays_in_the_corpus(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    (tmp_path / "secret.txt").write_text("The vault code is 1234.")
    s = qa.load_settings(corpus_dir=tmp_path / "corpus", store={"data_dir": tmp_path / "d"})
    src = {"file": "../secret.txt", "text": "The vault code is 1234."}
    assert qa.open_source(src, settings=s) is None
    assert qa.open_source({"file": "gone.txt", "text": "x"}, settings=s) is None
    assert "<details" not in app.render_sources([{"n": 1, "file": "a.txt", "context": None}])
