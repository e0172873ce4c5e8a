"""Summaries of documents too long to read whole: map-reduce with llama-index's TreeSummarize,
cached by content so each version of a document is summarised once.

A summary question reads its document whole when it fits `retrieval.max_context_tokens`
(whole_documents). A longer one is cut into pieces that fit, each piece summarised, and the
summaries summarised again until one is left (TreeSummarize). The result is stored under
`store.data_dir/summaries/<sha256 of the chunk ids>.txt`: chunk ids hold each chunk's content
hash, so an edited document gets a new summary and an unchanged one is never redone.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llama_index.core import PromptTemplate
from llama_index.core.bridge.pydantic import Field
from llama_index.core.llms import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    CustomLLM,
    LLMMetadata,
)
from llama_index.core.response_synthesizers import TreeSummarize
from llama_index.core.schema import NodeWithScore, TextNode

from qa.backend_errors import guard

if TYPE_CHECKING:
    from qa.answering.pipeline import Pipeline

# Chunks read for one whole document (a summary): 4096 x 48 tokens is far past any context
# window, so a document this long is summarised map-reduce, never cut short.
MAX_DOCUMENT_CHUNKS = 4096


def whole_documents(pipe: Pipeline, nodes: list[NodeWithScore]) -> list[NodeWithScore]:
    """Whole documents for a summary: the document of the best hit (and the next ones while
    they fit the context budget), each as one passage in reading order. A document over
    the budget is given as its map-reduced summary (`summarize`)."""
    fetch = getattr(pipe.retriever(), "neighbours", None)
    if fetch is None or not nodes:
        return pipe.assemble(nodes)
    budget = pipe.settings.retrieval.max_context_tokens
    out: list[NodeWithScore] = []
    used = 0
    for file in dict.fromkeys(n.node.metadata.get("file_name", "") for n in nodes):
        ordered = document_chunks(fetch, file)
        if not ordered:
            continue
        text = "\n".join(c.get_content() for c in ordered)
        cost = pipe.count(text)
        if cost > budget:
            if out:
                break
            text = summarize(pipe, ordered)
            cost = pipe.count(text)
        elif out and used + cost > budget:
            break
        first = ordered[0]
        best = max(float(n.score or 0) for n in nodes if n.node.metadata.get("file_name") == file)
        node = TextNode(
            id_=f"{file}#document",
            text=text,
            metadata={k: v for k, v in first.metadata.items() if k != "position"},
        )
        out.append(NodeWithScore(node=node, score=best))
        used += cost
    return out or pipe.assemble(nodes)


def document_chunks(
    fetch: Callable[[str, list[int]], dict[int, TextNode]], file: str
) -> list[TextNode]:
    """Every chunk of one document, in reading order."""
    chunks = fetch(file, list(range(MAX_DOCUMENT_CHUNKS)))
    return [chunks[p] for p in sorted(chunks)]


def cache_path(pipe: Pipeline, chunks: list[TextNode]) -> Path:
    digest = hashlib.sha256("\n".join(c.node_id for c in chunks).encode()).hexdigest()
    return Path(pipe.settings.store.data_dir) / "summaries" / f"{digest}.txt"


class CountedLLM(CustomLLM):
    """The pipeline's LLM as TreeSummarize calls it: the same model, with each call's tokens
    counted in the usage of the question that needed the summary (Pipeline.spend). Our own
    wrapper, not llama-index's TokenCountingHandler: that one hangs on the LLM's callback
    manager, which every request shares, so it would count other questions' calls too."""

    pipe: Any = Field(exclude=True)

    @property
    def metadata(self) -> LLMMetadata:
        return self.pipe.llm.metadata

    def chat(self, messages: Sequence[ChatMessage], **kw: Any) -> ChatResponse:
        r = self.pipe.llm.chat(messages, **kw)
        self.pipe.spend("\n".join(m.content or "" for m in messages), r.message.content or "")
        return r

    def complete(self, prompt: str, formatted: bool = False, **kw: Any) -> CompletionResponse:
        r = self.pipe.llm.complete(prompt, formatted=formatted, **kw)
        self.pipe.spend(prompt, r.text or "")
        return r

    def stream_complete(self, prompt: str, formatted: bool = False, **kw: Any) -> Any:
        raise NotImplementedError("TreeSummarize is run without streaming")


def summarize(pipe: Pipeline, chunks: list[TextNode]) -> str:
    """The document's map-reduced summary, from the cache when this version has one."""
    path = cache_path(pipe, chunks)
    if path.is_file():
        return path.read_text(encoding="utf-8")
    tree = TreeSummarize(
        llm=CountedLLM(pipe=pipe),
        summary_template=PromptTemplate(
            pipe.prompt("summary_map", context_str="{context_str}", query_str="{query_str}")
        ),
    )
    request = pipe.prompt("summary_request")
    texts = [c.get_content() for c in chunks]
    text = guard(lambda: str(tree.get_response(request, texts)), pipe.settings).strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".summary-")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)  # atomic: a concurrent reader sees the old state or the whole file
    return text


def summarize_corpus(pipe: Pipeline, files: list[str], say: Callable[[str], None]) -> int:
    """Summaries computed ahead (`qa ingest --summaries`), so the first summary question about
    a long document does not wait minutes for its map-reduce. Only documents over the context
    budget need one, and one already cached for this version is skipped: incremental, like the
    embeddings. Returns how many were computed."""
    fetch = getattr(pipe.retriever(), "neighbours", None)
    if fetch is None:
        return 0
    budget = pipe.settings.retrieval.max_context_tokens
    made = 0
    for i, file in enumerate(files, 1):
        ordered = document_chunks(fetch, file)
        if not ordered or cache_path(pipe, ordered).is_file():
            continue
        if pipe.count("\n".join(c.get_content() for c in ordered)) <= budget:
            continue  # read whole when asked: nothing to compute
        say(f"summarising {file} ({i} of {len(files)})")
        summarize(pipe, ordered)
        made += 1
    return made
