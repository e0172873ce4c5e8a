"""HTML through BeautifulSoup (Python's own html.parser, no lxml needed) with a boilerplate
rule: scripts, styles, navigation, footers, asides and forms are dropped, and so is any
element whose id, class or role names such furniture (menu, sidebar, cookie banner...) and
any short block that is mostly links (jusText's link-density rule: "Next: Types, Up: Index").
The page's <main> or <article> is read when it has one. Headings give the sections."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Tag

from qa.documents.readers.base import Parsed, UnreadableFile, decode, tidy_lines
from qa.documents.readers.headings import Block, Heading, sections

DROP_TAGS = ["script", "style", "noscript", "template", "nav", "footer", "aside", "form"]
DROP_TAGS += ["iframe", "svg", "button", "select", "head"]
_FURNITURE = re.compile(
    r"(^|[\s_-])(nav|navbar|navigation|menu|sidebar|header|footer|breadcrumbs?|cookies?|banner|"
    r"share|social|advert|ads|skip-link|toc)($|[\s_-])",
    re.I,
)
_BLOCK = ["p", "div", "li", "tr", "section", "article", "main", "pre", "blockquote", "table"]
_BLOCK += ["ul", "ol", "dl", "dt", "dd", "figure", "figcaption", "br", "hr", "header"]
_HEADING = re.compile(r"^h[1-6]$")
_MARK = "\ue000"  # starts a heading line in the flattened text (a private-use character)


def read_html(raw: bytes, rel: str) -> Parsed:
    soup = BeautifulSoup(decode(raw, rel), "html.parser")
    title = _text(soup.title) if soup.title else ""
    h1 = soup.find("h1")
    title = title or (_text(h1) if h1 else "")
    for tag in soup(DROP_TAGS):
        tag.decompose()
    for rule in (_furniture, _link_heavy):
        for tag in soup.find_all(rule):
            if not tag.decomposed:
                tag.decompose()
    root = soup.find("main") or soup.find("article") or soup.body or soup
    heading_title, segments = sections(_blocks(root))
    if not segments:
        raise UnreadableFile(f"{rel}: no text outside scripts and page furniture, skipped")
    title = title or heading_title or ""
    return Parsed(segments=segments, metadata={"title": title} if title else {})


def _text(tag: Tag) -> str:
    return " ".join(tag.get_text(" ").split())


def _furniture(tag: Tag) -> bool:
    """The boilerplate rule: a page header outside the content, or an element named as
    navigation, menu, footer, sidebar, banner... by its id, class or role."""
    if tag.name in {"html", "body", "main", "article"} or tag.find(["main", "article"]):
        return False  # a wrapper around the content ("page nav-open") is not furniture
    if tag.name == "header" and not tag.find_parent(["article", "main"]):
        return True
    names = " ".join([tag.get("id") or "", tag.get("role") or "", *(tag.get("class") or [])])
    return bool(names.strip()) and bool(_FURNITURE.search(names))


def _link_heavy(tag: Tag) -> bool:
    """A short block (under 400 characters, no heading) with two or more links making up
    over half its text."""
    if tag.name not in {"p", "div", "ul", "ol", "li", "td", "table"} or tag.decomposed:
        return False
    text = len(_text(tag))
    links = tag.find_all("a")
    if not text or text > 400 or len(links) < 2 or tag.find(_HEADING):
        return False
    return sum(len(_text(a)) for a in links) / text > 0.5


def _blocks(root: Tag) -> list[Block]:
    """The content as lines, headings marked, table cells joined by " | "."""
    for h in root.find_all(_HEADING):
        h.replace_with(f"\n{_MARK}{h.name[1]}{_text(h)}\n")
    for cell in root.find_all(["td", "th"]):
        cell.append(" | ")
    for tag in root.find_all(_BLOCK):
        tag.insert_before("\n")
        tag.append("\n")
    out: list[Block] = []
    for line in tidy_lines(root.get_text()).splitlines():
        line = line.removesuffix(" |")
        if line.startswith(_MARK):
            out.append(Heading(int(line[1]), line[2:].strip()))
        else:
            out.append(line)
    return out
