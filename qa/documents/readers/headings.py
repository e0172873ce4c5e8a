"""Heading paths: cut a document at its headings into segments named by the path of headings
above them ("Installation > Linux"). Shared by Markdown, reST, HTML and Word, so a section is
named the same way whatever the file type."""

from __future__ import annotations

from dataclasses import dataclass

from qa.documents.readers.base import Segment

SEP = " > "


@dataclass
class Heading:
    level: int  # 1 is the top level
    title: str


Block = Heading | str  # a heading, or a paragraph/line of body text


def sections(blocks: list[Block]) -> tuple[str | None, list[Segment]]:
    """(document title, segments) of a document given as headings and body text in order.

    The first heading is the document's title, left out of every path, when no other heading
    is at its level or above ("# Notes" over "## Setup" gives the section "Setup"). Each
    segment keeps its heading line as its first line, so a passage still reads its name."""
    heads = [b for b in blocks if isinstance(b, Heading)]
    title = None
    if heads and heads[0] is next((b for b in blocks if str(b).strip()), None):
        top = heads[0].level
        if not any(h.level <= top for h in heads[1:]):
            title = heads[0].title
    path: list[Heading] = []
    out: list[Segment] = []
    lines: list[str] = []
    body = False  # whether `lines` holds more than headings

    def flush(last: bool = False) -> None:
        """End the current segment; headings with no text of their own (a chapter heading
        right above its first section) open the next segment instead of being one alone."""
        nonlocal body
        text = "\n".join(lines).strip()
        if text and (body or last):
            out.append(Segment(text=text, section=SEP.join(h.title for h in path)))
        if body or last:
            lines.clear()
            body = False

    for b in blocks:
        if isinstance(b, Heading):
            flush()
            lines.append(b.title)
            if title is not None and b is heads[0]:
                continue
            while path and path[-1].level >= b.level:
                path.pop()
            path.append(b)
        else:
            lines.append(b)
            body = body or bool(b.strip())
    flush(last=True)
    return title, out
