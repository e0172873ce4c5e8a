"""Plain text, Markdown and reStructuredText. A front-matter block gives title and date; in
Markdown and reST the heading path names each segment, so chunks never cross a heading."""

from __future__ import annotations

import re

from qa.documents.readers.base import Parsed, Segment, decode, front_matter
from qa.documents.readers.headings import Block, Heading, sections

_ATX = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)\s*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_RST_ADORN = re.compile(r"^([!-/:-@\[-`{-~])\1{2,}\s*$")  # a line of one punctuation mark


def read_text(raw: bytes, rel: str, suffix: str) -> Parsed:
    meta, text = front_matter(decode(raw, rel))
    text = text.strip()
    if suffix in {".md", ".markdown"}:
        title, segments = sections(markdown_blocks(text))
    elif suffix == ".rst":
        title, segments = sections(rst_blocks(text))
    else:
        title, segments = None, [Segment(text=text)] if text else []
    if title and not meta.get("title"):
        meta["title"] = title
    return Parsed(segments=segments, metadata=meta)


def markdown_blocks(text: str) -> list[Block]:
    """Lines of Markdown with ATX (`## Setup`) and setext (underlined) headings recognised,
    none inside fenced code."""
    lines = text.splitlines()
    out: list[Block] = []
    fence = ""
    for line in lines:
        m = _FENCE.match(line)
        if fence:
            fence = "" if m and m.group(1) == fence else fence
            out.append(line)
            continue
        if m:
            fence = m.group(1)
            out.append(line)
            continue
        atx = _ATX.match(line)
        setext = _SETEXT.match(line)
        prev = out[-1] if out else None
        if atx and atx.group(2):
            out.append(Heading(len(atx.group(1)), atx.group(2).strip()))
        elif setext and isinstance(prev, str) and prev.strip() and not _SETEXT.match(prev):
            out[-1] = Heading(1 if setext.group(1)[0] == "=" else 2, prev.strip())
        else:
            out.append(line)
    return out


def rst_blocks(text: str) -> list[Block]:
    """Lines of reST with section titles recognised: a line underlined (and maybe overlined)
    by one punctuation mark; levels follow the order in which the styles first appear."""
    lines = text.splitlines()
    styles: list[tuple[str, bool]] = []
    out: list[Block] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        over = bool(_RST_ADORN.match(line)) and i + 2 < len(lines)
        if over and lines[i + 1].strip() and _RST_ADORN.match(lines[i + 2]):
            style, title, step = (line.strip()[0], True), lines[i + 1].strip(), 3
        elif (
            line.strip()
            and not _RST_ADORN.match(line)
            and i + 1 < len(lines)
            and _RST_ADORN.match(lines[i + 1])
            and len(lines[i + 1].strip()) >= len(line.strip())
        ):
            style, title, step = (lines[i + 1].strip()[0], False), line.strip(), 2
        else:
            out.append(line)
            i += 1
            continue
        if style not in styles:
            styles.append(style)
        out.append(Heading(styles.index(style) + 1, title))
        i += step
    return out
