"""One reader per file type, and the one list of types the corpus may hold (`SUPPORTED`):
ingest, the browser upload, `POST /v1/ingest` and the README all read it from here."""

from __future__ import annotations

from qa.documents.readers.base import Limits, Parsed, Segment, UnreadableFile

__all__ = ["KINDS", "SUPPORTED", "Limits", "Parsed", "Segment", "UnreadableFile", "parse"]

# suffix -> what the README and refusals call it
KINDS: dict[str, str] = {
    ".txt": "plain text",
    ".md": "Markdown",
    ".markdown": "Markdown",
    ".rst": "reStructuredText",
    ".html": "HTML",
    ".htm": "HTML",
    ".pdf": "PDF",
    ".docx": "Word",
}
SUPPORTED: frozenset[str] = frozenset(KINDS)
# Bump when a reader's output changes: the next ingest then re-reads every file (the ingest
# signature includes it), so old chunks never mix with new ones.
VERSION = 2


def parse(raw: bytes, rel: str, suffix: str, limits: Limits) -> Parsed:
    """The segments and metadata of one file's bytes; UnreadableFile when it has no text.
    The PDF, Word and HTML libraries load on first use: a text corpus never pays for them."""
    if suffix == ".pdf":
        from qa.documents.readers.pdf import read_pdf

        return read_pdf(raw, rel, limits)
    if suffix == ".docx":
        from qa.documents.readers.word import read_docx

        return read_docx(raw, rel)
    if suffix in {".html", ".htm"}:
        from qa.documents.readers.web import read_html

        return read_html(raw, rel)
    from qa.documents.readers.text import read_text

    return read_text(raw, rel, suffix)
