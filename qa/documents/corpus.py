"""Read the documents of a corpus: plain text, Markdown, HTML (and PDF where pypdf is present).

Each file becomes one Document with its title and date as metadata, taken from a front-matter
block (`---` / `key: value` / `---`) when the file has one. A file that cannot be read as text is
reported, never fatal.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from importlib.util import find_spec
from pathlib import Path

TEXT_TYPES = {".txt", ".md", ".markdown", ".rst"}
HTML_TYPES = {".html", ".htm"}
PDF_TYPES = {".pdf"} if find_spec("pypdf") else set()
SUPPORTED = TEXT_TYPES | HTML_TYPES | PDF_TYPES


class UnreadableFile(Exception):
    """The file is binary, empty or not decodable; ingestion skips it with a warning."""


@dataclass
class SourceFile:
    """One file of the corpus, its content hash and its parsed text."""

    path: Path
    rel: str
    sha256: str
    text: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


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
            if entry.name.startswith("."):
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


_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    m = _FRONT.match(text)
    if not m:
        return {}, text
    meta = {}
    for line in m.group(1).splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            meta[k.strip().lower()] = v.strip().strip('"')
    return meta, text[m.end() :]


class _HTMLText(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in {"script", "style"}:
            self._skip += 1
        self._in_title = tag == "title"
        if tag in {"p", "br", "div", "li", "h1", "h2", "h3", "tr"}:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"} and self._skip:
            self._skip -= 1
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data.strip()
        elif not self._skip:
            self.parts.append(data)


def _decode(raw: bytes, name: str) -> str:
    if b"\x00" in raw[:8192]:
        raise UnreadableFile(f"{name}: binary file, skipped")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"{name}: not UTF-8 text, skipped") from exc


def read(path: Path, rel: str) -> SourceFile:
    """Parse one file; raise UnreadableFile with a one-line reason when it has no usable text."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(f"{rel}: cannot be read ({exc.strerror}), skipped") from exc
    sha = hashlib.sha256(raw).hexdigest()
    suffix = path.suffix.lower()
    meta: dict[str, str] = {}
    if suffix in PDF_TYPES:
        text = _pdf_text(path, rel)
    elif suffix in HTML_TYPES:
        parser = _HTMLText()
        parser.feed(_decode(raw, rel))
        text = re.sub(r"\n\s*\n+", "\n\n", "".join(parser.parts))
        if parser.title:
            meta["title"] = parser.title
    else:
        meta, text = _front_matter(_decode(raw, rel))
    text = text.strip()
    if not text:
        raise UnreadableFile(f"{rel}: empty file, skipped")
    meta.setdefault("title", path.stem.replace("_", " ").replace("-", " "))
    meta["file_name"] = rel
    return SourceFile(path=path, rel=rel, sha256=sha, text=text, metadata=meta)


def _pdf_text(path: Path, rel: str) -> str:
    try:
        from pypdf import PdfReader

        return "\n\n".join(page.extract_text() or "" for page in PdfReader(path).pages)
    except Exception as exc:  # pypdf raises many kinds on damaged files
        raise UnreadableFile(f"{rel}: unreadable PDF, skipped") from exc
