"""What gets evaluated: a pipeline that answers one question (with history) as a Turn.

`ours` is corpus-qa through its public API (qa.ingest, qa.ask, qa.pipeline); `baseline` and
`condense_plus_context` (in baseline.py) are plain llama-index pipelines on the same models.
Token counts come from llama-index's instrumentation events for all, so they are counted the
same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import tiktoken
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events.llm import (
    LLMChatEndEvent,
    LLMChatStartEvent,
    LLMCompletionEndEvent,
    LLMCompletionStartEvent,
)
from pydantic import PrivateAttr

import qa
from qa.text import is_refusal

ENCODING = "cl100k_base"


@dataclass
class Turn:
    """One answer as the harness sees it."""

    text: str
    refused: bool
    sources: list[dict[str, Any]]  # passages given to the LLM: n, id, file, score, text
    retrieved: list[dict[str, Any]]  # ranked retrieval before any relevance gate
    seconds: float
    usage: dict[str, int] = field(default_factory=dict)
    search_query: str = ""
    question_language: str = ""  # detected (ISO 639-1), when the pipeline reports it
    dropped: list[str] = field(default_factory=list)  # sentences the grounding check removed


class Target(Protocol):
    name: str
    settings: qa.Settings

    def prepare(self, progress: bool | None) -> dict[str, Any]: ...

    def answer(self, question: str, history: list[dict[str, str]]) -> Turn: ...


class TokenTally(BaseEventHandler):
    """Counts prompt and completion tokens (tiktoken) of every LLM call while attached.

    A `complete` that the LLM implements through `chat` fires both events; chat events win."""

    _enc: Any = PrivateAttr()
    _sums: dict[str, int] = PrivateAttr(default_factory=dict)

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self._enc = tiktoken.get_encoding(ENCODING)
        self.reset()

    @classmethod
    def class_name(cls) -> str:
        return "TokenTally"

    def reset(self) -> None:
        self._sums = {"chat_in": 0, "chat_out": 0, "comp_in": 0, "comp_out": 0, "chats": 0}

    def _n(self, text: Any) -> int:
        return len(self._enc.encode(str(text or ""), disallowed_special=()))

    def handle(self, event: Any, **kwargs: Any) -> None:
        s = self._sums
        if isinstance(event, LLMChatStartEvent):
            s["chats"] += 1
            s["chat_in"] += sum(self._n(m.content) for m in event.messages)
        elif isinstance(event, LLMChatEndEvent) and event.response is not None:
            s["chat_out"] += self._n(event.response.message.content)
        elif isinstance(event, LLMCompletionStartEvent):
            s["comp_in"] += self._n(event.prompt)
        elif isinstance(event, LLMCompletionEndEvent):
            s["comp_out"] += self._n(event.response.text)

    def usage(self) -> dict[str, int]:
        s = self._sums
        if s["chats"]:
            return {"prompt_tokens": s["chat_in"], "completion_tokens": s["chat_out"]}
        return {"prompt_tokens": s["comp_in"], "completion_tokens": s["comp_out"]}

    def __enter__(self) -> TokenTally:
        get_dispatcher().add_event_handler(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        handlers = get_dispatcher().event_handlers
        if self in handlers:
            handlers.remove(self)


def node_dict(n: int, node_with_score: Any) -> dict[str, Any]:
    node = node_with_score.node
    meta = node.metadata or {}
    return {
        "n": n,
        "id": node.node_id,
        "file": meta.get("file_name") or meta.get("file_path") or "",
        "score": round(float(node_with_score.score or 0.0), 4),
        "text": node.get_content(),
    }


def describe_retrieval(s: qa.Settings) -> str:
    """The retrieval choices a report header names: mode, chunking, window, gate cutoff."""
    r = s.retrieval
    mode = f"{r.mode} (PostgreSQL)" if s.store.mode == "postgres" else r.mode
    return (
        f"{mode}, {r.chunk_size}/{r.chunk_overlap}-token chunks, window {r.window}, "
        f"cutoff {r.similarity_cutoff}"
    )


class Ours:
    """corpus-qa's own pipeline, through the public API."""

    name = "ours"

    def __init__(self, settings: qa.Settings) -> None:
        self.settings = settings
        self.pipe = qa.pipeline(settings)

    def prepare(self, progress: bool | None) -> dict[str, Any]:
        start = time.perf_counter()
        report = qa.ingest(settings=self.settings, progress=progress)
        ingest_s = time.perf_counter() - start
        start = time.perf_counter()
        _ = self.pipe.llm  # load the model before any question is timed
        self.pipe.retrieve("warm up")
        return {
            "ingest": report.as_dict(),
            "ingest_seconds": round(ingest_s, 3),
            "load_seconds": round(time.perf_counter() - start, 3),
            "top_k": self.settings.retrieval.top_k,
            "retrieval": describe_retrieval(self.settings),
        }

    def answer(self, question: str, history: list[dict[str, str]]) -> Turn:
        start = time.perf_counter()
        ans = qa.ask(question, history=history or None, settings=self.settings)
        seconds = time.perf_counter() - start
        ranked = self.pipe.retrieve(ans.search_query or question)  # before the relevance gate
        return Turn(
            text=ans.text,
            refused=ans.refused or is_refusal(ans.text),
            sources=[
                {k: s.get(k) for k in ("n", "file", "score", "text")} | {"id": s.get("chunk_id")}
                for s in ans.sources
            ],
            retrieved=[node_dict(i, n) for i, n in enumerate(ranked, 1)],
            seconds=seconds,
            usage=dict(ans.usage),
            search_query=ans.search_query,
            question_language=ans.question_language,
            dropped=list(ans.extra.get("dropped", [])),
        )
