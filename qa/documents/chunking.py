"""Token-aware chunking (tiktoken) with stable chunk ids: file + position + content hash.

Stable ids make re-ingestion idempotent and retrieval metrics (hit rate, MRR) repeatable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import tiktoken
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

from qa.documents.corpus import Segment, SourceFile

ENCODING = "cl100k_base"
# Most text handed to the sentence splitter in one call. Its regular expressions run under a
# time limit that a 50 MB file exceeded, failing the whole ingest; blocks of whole paragraphs
# keep every call small. Far above any article in corpus/ (KBs), so their chunks are unchanged.
BLOCK_CHARS = 100_000


def tokenizer():
    """tiktoken's encode function (cl100k, read from the cache shipped in llama-index-core)."""
    return tiktoken.get_encoding(ENCODING).encode


def chunk_id(rel: str, position: int, text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return f"{rel}#{position}:{digest}"


def blocks(text: str, limit: int = BLOCK_CHARS) -> Iterator[str]:
    """`text` in pieces of at most `limit` characters, cut after a paragraph break where there
    is one, else after a line break, else after a space, else anywhere."""
    pos = 0
    while len(text) - pos > limit:
        window = text[pos : pos + limit]
        for sep in ("\n\n", "\n", " "):
            cut = window.rfind(sep)
            if cut > 0:
                cut += len(sep)
                break
        else:
            cut = limit
        yield text[pos : pos + cut]
        pos += cut
    yield text[pos:]


def split(doc: SourceFile, chunk_size: int, chunk_overlap: int) -> list[TextNode]:
    """Chunks of at most chunk_size tokens, each with file, title, date and position metadata,
    and the page (PDF) or section (heading path) it comes from. A chunk never crosses a
    segment, so it cites one page or one section; a plain text file is one segment."""
    splitter = SentenceSplitter(
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        tokenizer=tokenizer(),
        include_metadata=False,
    )
    nodes: list[TextNode] = []
    for seg, offset in zip(doc.segments, doc.starts, strict=True):
        cursor = 0
        for text in (t for block in blocks(seg.text) for t in splitter.split_text(block)):
            start = seg.text.find(text[:50], max(0, cursor - 2000))
            start = start if start >= 0 else cursor
            cursor = start + len(text)
            nodes.append(_node(doc, seg, len(nodes), text, offset + start, offset + cursor))
    return nodes


def _node(doc: SourceFile, seg: Segment, i: int, text: str, start: int, end: int) -> TextNode:
    meta: dict[str, str | int] = {
        "file_name": doc.rel,
        "title": doc.metadata.get("title", doc.rel),
        "position": i,
    }
    if doc.metadata.get("date"):
        meta["date"] = doc.metadata["date"]
    if seg.page is not None:
        meta["page"] = seg.page
    if seg.section:
        meta["section"] = seg.section
    node = TextNode(
        id_=chunk_id(doc.rel, i, text),
        text=text,
        metadata=meta,
        start_char_idx=start,
        end_char_idx=end,
    )
    node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=doc.rel)
    return node
