"""The answering pipeline shared by the query engine and the chat engine.

question -> (condense with history) -> retrieve -> relevance gate -> numbered passages ->
LLM with prompts/ -> answer text + the sources it was given. When the best evidence is below the
similarity cutoff the LLM is not asked at all: the refusal comes from prompts/refusal.txt.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import tiktoken
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.schema import NodeWithScore, QueryBundle

from qa import prompts
from qa.backend_errors import guard, guard_stream
from qa.chunking import ENCODING
from qa.components import build_embedding, build_llm
from qa.context import expand
from qa.errors import InputError, require_text
from qa.grounding import cite, support
from qa.ingest import ingest, load_index, require_nonempty
from qa.retrieval import CorpusRetriever
from qa.settings import Settings
from qa.store import LocalStore

HISTORY_TURNS = 6  # newest messages given to the condense prompt


@dataclass
class Source:
    """One passage an answer was given, numbered like its citation marker."""

    n: int
    file: str
    title: str
    date: str | None
    score: float
    text: str
    chunk_id: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "file": self.file,
            "title": self.title,
            "date": self.date,
            "score": round(self.score, 4),
            "text": self.text,
            "chunk_id": self.chunk_id,
        }


def sources_of(nodes: list[NodeWithScore]) -> list[Source]:
    return [
        Source(
            n=i,
            file=n.node.metadata.get("file_name", ""),
            title=n.node.metadata.get("title", ""),
            date=n.node.metadata.get("date"),
            score=float(n.score or 0.0),
            text=n.node.get_content(),
            chunk_id=n.node.node_id,
        )
        for i, n in enumerate(nodes, 1)
    ]


@dataclass
class Prepared:
    """Everything decided before generation: the question asked, evidence, and messages."""

    question: str
    search_query: str
    nodes: list[NodeWithScore]
    messages: list[ChatMessage] | None  # None: refused without asking the LLM
    refusal: str
    unsupported: bool = False  # the LLM answered, but the passages do not back its words


class Pipeline:
    """Retrieval + prompting over the live index; reloads itself when ingestion commits."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = LocalStore(settings.store.data_dir)
        self.embed = build_embedding(settings)
        self._llm = None
        self._gen: str | None = None
        self._retriever: BaseRetriever | None = None
        self._lock = threading.Lock()
        self._enc = tiktoken.get_encoding(ENCODING)

    @property
    def llm(self):
        if self._llm is None:
            self._llm = build_llm(self.settings)
        return self._llm

    def prompt(self, name: str, **values: str) -> str:
        return prompts.render(self.settings.prompts_dir, name, **values)

    # ---- input ----------------------------------------------------------------------------
    def check_question(self, question: str | None) -> str:
        q = require_text("" if question is None else question).strip()
        if not q:
            raise InputError("empty question: type a question about the documents")
        limit = self.settings.retrieval.max_question_chars
        if len(q) > limit:
            raise InputError(f"question too long: {len(q)} characters, the limit is {limit}")
        return q

    # ---- retrieval ------------------------------------------------------------------------
    def retriever(self) -> BaseRetriever:
        with self._lock:
            if self.settings.store.mode == "postgres":
                return self._pg_retriever()
            live = self.store.live_dir()
            if self._retriever is None or live is None or live.name != self._gen:
                data = load_index(self.store)
                if data is None:  # first question on a fresh checkout: index corpus/ now
                    ingest(self.settings)
                    data = load_index(self.store)
                data = require_nonempty(data, self.settings.corpus_dir)
                r = self.settings.retrieval
                self._retriever = CorpusRetriever(data, self.embed, r.top_k, r.mode)
                live = self.store.live_dir()
                self._gen = live.name if live else None
            return self._retriever

    def _pg_retriever(self) -> BaseRetriever:
        """Retrieval in PostgreSQL (HNSW + full-text); always live, so nothing to reload."""
        if self._retriever is None:
            from qa.pg_store import PgStore

            pg = PgStore(self.settings)
            if not pg.exists() or pg.count() == 0:
                ingest(self.settings)
            if pg.count() == 0:
                require_nonempty(None, self.settings.corpus_dir)
            r = self.settings.retrieval
            self._retriever = pg.retriever(self.embed, r.top_k, r.mode)
        return self._retriever

    def retrieve(self, query: str) -> list[NodeWithScore]:
        return self.retriever().retrieve(QueryBundle(query))

    def gate(self, nodes: list[NodeWithScore]) -> list[NodeWithScore]:
        """Keep evidence above the similarity cutoff; none left means 'not in the documents'."""
        cutoff = self.settings.retrieval.similarity_cutoff
        return [n for n in nodes if (n.score or 0.0) >= cutoff]

    def assemble(self, nodes: list[NodeWithScore]) -> list[NodeWithScore]:
        """The passages the LLM reads: hits widened by retrieval.window, merged and deduped."""
        window = self.settings.retrieval.window
        fetch = getattr(self.retriever(), "neighbours", None) if window > 0 else None
        return expand(nodes, fetch, window)

    # ---- prompting ------------------------------------------------------------------------
    def context(self, nodes: list[NodeWithScore]) -> str:
        budget = self.settings.retrieval.max_context_tokens
        parts, used = [], 0
        for s in sources_of(nodes):
            title = f", {s.title}" if s.title else ""
            title += f", {s.date}" if s.date else ""
            block = self.prompt("passage", n=str(s.n), file=s.file, title_part=title, text=s.text)
            cost = len(self._enc.encode(block))
            if parts and used + cost > budget:
                break
            parts.append(block)
            used += cost
        return "\n\n".join(parts)

    def condense(self, question: str, history: list[ChatMessage]) -> str:
        """A standalone question from a follow-up and the newest turns of the conversation.

        `template` (default) appends the newest user questions through prompts/followup.txt: the
        0.5B local model rewrote "And where was it held?" into "How was the summit held?", while
        it answers the templated form correctly. `llm` asks the LLM with prompts/condense.txt,
        for larger models."""
        turns = [m for m in history if m.role in (MessageRole.USER, MessageRole.ASSISTANT)]
        if not turns:
            return question
        if self.settings.llm.condense == "template":
            asked = [m.content or "" for m in turns if m.role == MessageRole.USER]
            previous = "; ".join(q.strip() for q in asked[-2:] if q.strip())
            return self.prompt("followup", question=question, previous=previous)
        text = "\n".join(f"{m.role.value}: {m.content}" for m in turns[-HISTORY_TURNS:])
        prompt = self.prompt("condense", history=text, question=question)
        out = guard(lambda: self.llm.complete(prompt).text, self.settings)
        standalone = out.strip().splitlines()[0].strip() if out.strip() else ""
        return standalone or question

    def prepare(self, question: str, history: list[ChatMessage] | None = None) -> Prepared:
        q = self.check_question(question)
        search = self.condense(q, history or [])
        nodes = self.assemble(self.gate(self.retrieve(search)))
        refusal = self.prompt("refusal")
        if not nodes:
            return Prepared(q, search, [], None, refusal)
        system = self.prompt("system", refusal=refusal)
        user = self.prompt("qa", context=self.context(nodes), question=search, refusal=refusal)
        messages = [
            ChatMessage(role=MessageRole.SYSTEM, content=system),
            ChatMessage(role=MessageRole.USER, content=user),
        ]
        return Prepared(q, search, nodes, messages, refusal)

    def count(self, text: str) -> int:
        return len(self._enc.encode(text))

    def outcome(self, p: Prepared, text: str, timer: Timer) -> dict[str, Any]:
        """What every door reports about a finished answer (engine metadata, qa.Answer)."""
        return {
            "question": p.question,
            "search_query": p.search_query,
            "refused": was_refused(p, text),
            "usage": self.usage(p, text),
            "seconds": timer.seconds,
            "sources": [s.as_dict() for s in sources_of(p.nodes)],
        }

    def usage(self, p: Prepared, answer: str) -> dict[str, int]:
        prompt_tokens = sum(self.count(m.content or "") for m in p.messages or [])
        return {"prompt_tokens": prompt_tokens, "completion_tokens": self.count(answer)}

    # ---- generation -----------------------------------------------------------------------
    def finish(self, p: Prepared, raw: str) -> str:
        """The final answer: refusal if the model refused or strayed from the passages, else the
        answer with [n] markers of its supporting passages."""
        text = tidy(raw)
        if not text or is_refusal(text, p.refusal):
            return p.refusal
        passages = [n.node.get_content() for n in p.nodes]
        if support(text, passages, p.search_query) < self.settings.retrieval.min_support:
            p.unsupported = True
            return p.refusal
        return cite(text, passages)

    def generate(self, p: Prepared) -> str:
        if p.messages is None:
            return p.refusal
        out = guard(lambda: self.llm.chat(p.messages).message.content or "", self.settings)
        return self.finish(p, out)

    def stream(self, p: Prepared) -> Iterator[str]:
        """Deltas of the answer as the model writes them, then its citation markers. A refusal
        arrives as one piece; an answer the passages do not support ends with a warning."""
        if p.messages is None:
            yield p.refusal
            return
        raw = ""
        for r in guard_stream(lambda: self.llm.stream_chat(p.messages), self.settings):
            if r.delta:
                raw += r.delta
                yield r.delta
        final = self.finish(p, raw)
        if p.unsupported:
            yield "\n\n" + self.prompt("unsupported")
        elif not raw.strip():
            yield p.refusal
        else:
            streamed = tidy(raw)
            if final.startswith(streamed) and len(final) > len(streamed):
                yield final[len(streamed) :]


def tidy(text: str) -> str:
    """Strip chat-template leftovers a small model sometimes emits."""
    return re.sub(r"<\|im_(start|end)\|>(assistant)?", "", text).strip()


def is_refusal(text: str, refusal: str) -> bool:
    """True when the answer says the documents lack the answer (exact prompt text or close)."""
    t = " ".join(text.lower().split())
    core = " ".join(refusal.lower().split()).rstrip(".")
    return core in t or "do not contain the answer" in t or "does not contain the answer" in t


def was_refused(p: Prepared, text: str) -> bool:
    """Did this answer end up saying the documents lack the answer (gate, model or grounding)?"""
    return p.messages is None or p.unsupported or is_refusal(text, p.refusal)


class Timer:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return round(time.perf_counter() - self.start, 3)
