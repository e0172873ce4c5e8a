"""The document text around a cited passage, for a door that opens a source: the passage's
page or section, read again from the corpus file, cut to a few hundred characters each side."""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from qa.documents.corpus import SourceFile, UnreadableFile, read

AROUND = 1200  # characters shown before and after the passage


@dataclass
class Excerpt:
    before: str
    passage: str
    after: str
    page: int | None = None
    section: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def excerpt(
    corpus_dir: Path,
    file: str,
    passage: str,
    page: int | None = None,
    section: str | None = None,
    around: int = AROUND,
) -> Excerpt | None:
    """The passage in its page (PDF) or section, with up to `around` characters each side;
    None when the file is gone, changed so the passage is not found, or outside the corpus."""
    root = Path(corpus_dir).resolve()
    path = (root / file).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None  # an index entry never leads a door outside the corpus folder
    try:
        stat = path.stat()
        doc = _parsed(str(path), file, stat.st_mtime_ns, stat.st_size)
    except (OSError, UnreadableFile):
        return None
    texts = [s.text for s in doc.segments if (s.page, s.section or None) == (page, section)]
    for text in [*texts, doc.text]:
        at = text.find(passage)
        if at < 0:
            at = text.find(passage[:50])
        if at >= 0:
            end = at + len(passage)
            before = text[max(0, at - around) : at]
            return Excerpt(before, text[at:end], text[end : end + around], page, section)
    return None


@functools.lru_cache(maxsize=8)
def _parsed(path: str, rel: str, mtime_ns: int, size: int) -> SourceFile:
    """A parsed file, kept while it is unchanged (mtime and size in the key): opening several
    sources of one PDF parses it once."""
    return read(Path(path), rel)
