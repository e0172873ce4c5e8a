"""PDF through pypdfium2 (PDFium, the engine of Chrome's viewer), one segment per page.

Chosen over pypdf on the two Debian manuals in tests/data (17 and 36 pages, pdfTeX): the same
text, but 670-720 pages/s against 41-59 pages/s, and PDFium joins words hyphenated across
lines ("manip-/ulation" -> "manipulation") where pypdf keeps the hyphen and the break.
"""

from __future__ import annotations

import re

import pypdfium2 as pdfium

from qa.documents.readers.base import Limits, Parsed, Segment, UnreadableFile, tidy_lines

# PDFium marks a hyphen it removed at a line end with U+0002 and may keep NULs and U+FFFE
_JUNK = re.compile("[\x00\x02\ufffe\ufeff]")


def read_pdf(raw: bytes, rel: str, limits: Limits) -> Parsed:
    try:
        pdf = pdfium.PdfDocument(raw)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise UnreadableFile(f"{rel}: encrypted PDF (needs a password), skipped") from exc
        raise UnreadableFile(f"{rel}: damaged or truncated PDF, skipped") from exc
    try:
        n = len(pdf)
        if n > limits.max_pages:
            raise UnreadableFile(
                f"{rel}: {n} pages is over ingest.max_pages ({limits.max_pages}), skipped"
            )
        segments = [Segment(text=t, page=i + 1) for i, t in enumerate(_pages(pdf, rel)) if t]
        meta = {k.lower(): v.strip() for k, v in pdf.get_metadata_dict().items() if v.strip()}
    finally:
        pdf.close()
    if not segments:
        raise UnreadableFile(
            f"{rel}: no text layer ({n} page(s) of images: a scanned PDF? run OCR first), skipped"
        )
    title = meta.get("title") or _first_line(segments[0].text)
    return Parsed(segments=segments, metadata={"title": title} if title else {})


def _pages(pdf: pdfium.PdfDocument, rel: str) -> list[str]:
    out = []
    for i in range(len(pdf)):
        try:
            page = pdf[i]
            textpage = page.get_textpage()
            text = textpage.get_text_bounded()
            textpage.close()
            page.close()
        except pdfium.PdfiumError as exc:
            raise UnreadableFile(f"{rel}: damaged PDF (page {i + 1}: {exc}), skipped") from exc
        out.append(tidy_lines(_JUNK.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))))
    return out


def _first_line(text: str) -> str:
    """The first heading-like line of page 1: short, not a number alone."""
    for line in text.splitlines()[:5]:
        if 3 <= len(line) <= 120 and not line.replace(".", "").isdigit():
            return line
    return ""
