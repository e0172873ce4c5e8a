"""What every reader returns: a document's text in segments that know their page or section,
and the one-line refusal (`UnreadableFile`) for a file with no usable text."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


class UnreadableFile(Exception):
    """The file is binary, empty, damaged or has no text; ingestion skips it with a warning."""


@dataclass
class Segment:
    """A run of a document's text that one place names: a PDF page, or a heading path
    ("Installation > Linux"). Chunks never cross segments, so each passage cites one place."""

    text: str
    page: int | None = None
    section: str = ""


@dataclass
class Parsed:
    """A reader's result: the segments in reading order and metadata (title, date)."""

    segments: list[Segment]
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class Limits:
    """Settings a reader checks (ingest.max_pages)."""

    max_pages: int = 2000


def decode(raw: bytes, name: str) -> str:
    """UTF-8 text of a text file; binary or other encodings are refused in one line."""
    if b"\x00" in raw[:8192]:
        raise UnreadableFile(f"{name}: binary file, skipped")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"{name}: not UTF-8 text, skipped") from exc


_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)


def front_matter(text: str) -> tuple[dict[str, str], str]:
    """({key: value}, rest) of a text starting with a `---` / `key: value` / `---` block."""
    m = _FRONT.match(text)
    if not m:
        return {}, text
    meta = {}
    for line in m.group(1).splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            meta[k.strip().lower()] = v.strip().strip('"')
    return meta, text[m.end() :]


def tidy_lines(text: str) -> str:
    """Spaces collapsed inside lines, at most one blank line between paragraphs."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
