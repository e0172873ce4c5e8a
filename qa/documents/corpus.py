"""Find the documents of a corpus (`scan`) and read one (`read`) through the reader of its type
(qa.documents.readers): its text in segments that know their page or section, and its title
and date. A file that cannot be read is reported in one line, never fatal.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from qa.documents.readers import SUPPORTED, Limits, Segment, UnreadableFile, parse

__all__ = ["SUPPORTED", "Limits", "Segment", "SourceFile", "UnreadableFile", "read", "scan"]


@dataclass
class SourceFile:
    """One file of the corpus, its content hash and its parsed text: `text` is the segments
    joined by blank lines, each segment starting at its `starts` offset in it."""

    path: Path
    rel: str
    sha256: str
    text: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    segments: list[Segment] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.text and not self.segments:  # text alone: one segment, no page or section
            self.segments, self.starts = [Segment(text=self.text)], [0]


def scan(
    corpus_dir: Path,
    warn: Callable[[str], None] | None = None,
    follow_external: bool = False,
    root: Path | None = None,
) -> list[tuple[Path, str]]:
    """Supported files under corpus_dir as (path, relative name), sorted, hidden files skipped.

    A symbolic link is followed only to a file whose real path is inside `root` (default:
    corpus_dir) unless `follow_external` (ingest.follow_external_links): otherwise a link to
    /etc/passwd would be indexed and quoted in answers. Links to folders are never followed (no
    loops, no second copy). Every skipped link and unreadable folder is one line to `warn`."""
    if not corpus_dir.is_dir():
        return []
    say = warn or (lambda _msg: None)
    boundary = (root or corpus_dir).resolve()
    found: list[tuple[Path, str]] = []

    def visit(folder: Path, prefix: str) -> None:
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            say(f"{prefix or './'}: folder cannot be read ({exc.strerror or exc}), skipped")
            return
        for entry in entries:
            rel = prefix + entry.name
            path = Path(entry.path)
            if entry.name.startswith((".", "~$")):  # hidden, or an Office lock file
                continue
            if entry.is_symlink():
                if _link_ok(path, rel, boundary, follow_external, say):
                    found.append((path, rel))
            elif entry.is_dir(follow_symlinks=False):
                visit(path, rel + "/")
            elif entry.is_file(follow_symlinks=False) and path.suffix.lower() in SUPPORTED:
                found.append((path, rel))

    visit(corpus_dir, "")
    return sorted(found, key=lambda f: f[1].split("/"))


def _link_ok(
    path: Path, rel: str, boundary: Path, follow_external: bool, say: Callable[[str], None]
) -> bool:
    """Whether the symbolic link `path` leads to a corpus file that may be indexed."""
    target = Path(os.path.realpath(path))
    if not target.exists():
        say(f"{rel}: dangling symbolic link, skipped")
        return False
    inside = target.is_relative_to(boundary)
    if target.is_dir():
        if not inside:
            say(f"{rel}: link to a folder outside the corpus, not followed")
        return False
    if path.suffix.lower() not in SUPPORTED or not target.is_file():
        return False
    if not inside and not follow_external:
        say(
            f"{rel}: links to a file outside the corpus, skipped "
            "(ingest.follow_external_links = true allows it)"
        )
        return False
    return True


def _hidden(rel: str) -> bool:
    return any(part.startswith(".") for part in rel.split("/"))


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read(path: Path, rel: str, limits: Limits | None = None) -> SourceFile:
    """Parse one file; raise UnreadableFile with a one-line reason when it has no usable text."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(f"{rel}: cannot be read ({exc.strerror}), skipped") from exc
    sha = hashlib.sha256(raw).hexdigest()
    parsed = parse(raw, rel, path.suffix.lower(), limits or Limits())
    segments = [s for s in parsed.segments if s.text.strip()]
    if not segments:
        raise UnreadableFile(f"{rel}: empty file, skipped")
    starts, pos = [], 0
    for seg in segments:
        starts.append(pos)
        pos += len(seg.text) + 2
    meta = dict(parsed.metadata)
    if not meta.get("title"):
        meta["title"] = path.stem.replace("_", " ").replace("-", " ")
    meta["file_name"] = rel
    text = "\n\n".join(seg.text for seg in segments)
    return SourceFile(path, rel, sha, text, meta, segments, starts)
