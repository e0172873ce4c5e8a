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
