"""The readers (qa/documents/readers) on real files in tests/data and on small written ones:
pages, heading paths, tables, boilerplate, and one line for every bad file."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from qa.documents import chunking, corpus
from qa.documents.readers import KINDS, SUPPORTED
from qa.settings import REPO_ROOT

DATA = Path(__file__).parents[1] / "data"
PDF = DATA / "shared-mime-info-spec.pdf"
DOCX = DATA / "heron-station-guide.docx"
HTML = DATA / "libffi-arrays-unions-enums.html"


def _read(path: Path, **limits) -> corpus.SourceFile:
    return corpus.read(path, path.name, corpus.Limits(**limits))


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(content if isinstance(content, bytes) else content.encode())
    return p


def test_pdf_passages_know_their_page_and_title():
    doc = _read(PDF)
    assert doc.metadata["title"] == "Shared MIME-info Database"  # first line: metadata is empty
    assert [s.page for s in doc.segments] == list(range(1, 18))
    nodes = chunking.split(doc, 48, 8)
    hit = next(n for n in nodes if "default weight value is" in n.text.replace("\n", " "))
    assert hit.metadata["page"] == 4
    assert all("page" in n.metadata and "section" not in n.metadata for n in nodes)
    assert doc.text[hit.start_char_idx : hit.end_char_idx] == hit.text


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("bad/scanned.pdf", "no text layer"),
        ("bad/encrypted.pdf", "encrypted PDF (needs a password)"),
    ],
)
def test_bad_pdfs_are_one_line(name: str, says: str):
    with pytest.raises(corpus.UnreadableFile) as err:
        _read(DATA / name)
    assert says in str(err.value) and "\n" not in str(err.value)


def test_truncated_pdf_and_page_limit(tmp_path: Path):
    raw = PDF.read_bytes()
    with pytest.raises(corpus.UnreadableFile, match="damaged or truncated PDF"):
        _read(_write(tmp_path, "cut.pdf", raw[: len(raw) // 2]))
    with pytest.raises(corpus.UnreadableFile, match=r"17 pages is over ingest.max_pages \(5\)"):
        _read(PDF, max_pages=5)


def test_docx_heading_path_and_table_rows():
    doc = _read(DOCX)
    assert doc.metadata["title"] == "Heron Weather Station Guide"
    by_section = {s.section: s.text for s in doc.segments}
    assert "TCP port 7431" in by_section["Installation > Linux"]
    assert "HeronSetup.exe" in by_section["Installation > Windows"]
    assert "Hygrometer | 0 to 100 % | ±2 %" in by_section["Calibration"]
    assert "error E42" in by_section["Troubleshooting > No readings"]


def test_docx_that_is_another_zip_is_one_line(tmp_path: Path):
    p = tmp_path / "fake.docx"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("notes/readme.txt", "not a Word document")
    with pytest.raises(corpus.UnreadableFile, match="fake.docx: not a Word .docx document"):
        _read(p)


def test_html_drops_navigation_and_names_sections():
    doc = _read(HTML)
    assert doc.metadata["title"].startswith("Arrays Unions Enums (libffi")
    assert "Next:" not in doc.text and "Previous:" not in doc.text  # the texinfo nav panels
    sections = [s.section for s in doc.segments]
    assert sections == ["2.3.4.1 Arrays", "2.3.4.2 Unions", "2.3.4.3 Enumerations"]
    assert "FFI_TYPE_STRUCT" in doc.segments[1].text


def test_html_boilerplate_rule(tmp_path: Path):
    page = """<html><head><title>Tide tables</title><script>track()</script></head><body>
    <header><a href="/">Home</a> <a href="/about">About</a></header>
    <div id="sidebar">Popular posts</div>
    <main><h1>Tide tables</h1><h2>Harbour</h2><p>High water at the harbour is at 06:12.</p>
    <table><tr><th>Day</th><th>High</th></tr><tr><td>Monday</td><td>06:12</td></tr></table>
    </main><footer>Copyright the tide office</footer>
    <div class="cookie-banner">We use cookies</div></body></html>"""
    doc = _read(_write(tmp_path, "tides.html", page))
    assert doc.metadata["title"] == "Tide tables"
    assert [s.section for s in doc.segments] == ["Harbour"]
    text = doc.text
    assert "High water at the harbour is at 06:12." in text and "Monday | 06:12" in text
    for furniture in ("Home", "Popular posts", "Copyright", "cookies", "track()"):
        assert furniture not in text


def test_html_with_only_scripts_is_one_line(tmp_path: Path):
    p = _write(tmp_path, "app.html", "<html><body><script>render()</script></body></html>")
    with pytest.raises(corpus.UnreadableFile, match="app.html: no text outside scripts"):
        _read(p)


def test_markdown_heading_path_and_title(tmp_path: Path):
    md = """# Project notes

Written for the team.

## Setup

Install with make install.

### Linux

Use the distribution package.

```
# not a heading: inside code
```

Usage
-----

Run qa ask.
"""
    doc = _read(_write(tmp_path, "notes.md", md))
    assert doc.metadata["title"] == "Project notes"
    assert [s.section for s in doc.segments] == ["", "Setup", "Setup > Linux", "Usage"]
    assert "# not a heading" in doc.segments[2].text
    nodes = chunking.split(doc, 48, 8)
    assert {n.metadata.get("section") for n in nodes} == {None, "Setup", "Setup > Linux", "Usage"}


def test_front_matter_title_wins_over_the_first_heading(tmp_path: Path):
    doc = _read(_write(tmp_path, "a.md", "---\ntitle: Field notes\n---\n# Notes\n\nText.\n"))
    assert doc.metadata["title"] == "Field notes"


def test_rst_heading_path(tmp_path: Path):
    rst = """=====
Guide
=====

Intro text.

Install
=======

Steps.

On Linux
--------

apt install it.

Use
===

Ask.
"""
    doc = _read(_write(tmp_path, "guide.rst", rst))
    assert doc.metadata["title"] == "Guide"
    assert [s.section for s in doc.segments] == ["", "Install", "Install > On Linux", "Use"]


def test_plain_text_has_no_section(tmp_path: Path):
    doc = _read(_write(tmp_path, "a.txt", "# not a heading in plain text\n\nBody."))
    assert [s.section for s in doc.segments] == [""]
    assert all("section" not in n.metadata for n in chunking.split(doc, 48, 8))


def test_the_readme_lists_every_supported_type():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert SUPPORTED == frozenset(KINDS)
    for suffix in SUPPORTED:
        assert f"`{suffix}`" in readme, suffix


def test_html_wrapper_named_like_furniture_keeps_its_content(tmp_path: Path):
    page = '<body><div class="page nav-open"><main><p>The ferry leaves at 9.</p></main></div>'
    doc = _read(_write(tmp_path, "ferry.html", page))
    assert doc.text == "The ferry leaves at 9."


def test_scan_skips_office_lock_files(tmp_path: Path):
    _write(tmp_path, "~$guide.docx", b"\x0bJohn Smith")  # Word's owner file while editing
    _write(tmp_path, "guide.md", "# Guide\n\nText.")
    assert [rel for _, rel in corpus.scan(tmp_path)] == ["guide.md"]
