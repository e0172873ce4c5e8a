"""The answering pipeline shared by the query engine, the chat engine and every door.

question (+ conversation) -> standalone search query -> retrieve -> relevance gate -> route:
a fact or list question reads the top passages, a summary reads whole documents -> LLM with
prompts/ -> each sentence checked against the evidence (grounding.py) as it streams -> answer
with [n] citations and the sources it was given. When no evidence passes the gate the LLM is
not asked at all: the refusal comes from prompts/refusal.txt.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import tiktoken
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from qa import prompts
from qa.answering.context import expand
from qa.answering.grounding import SENTENCE_END, Evidence, split_sentences, strip_markers
from qa.answering.injection import Payloads, collect, sanitize
from qa.answering.router import GENERIC_WORDS, Route, route
from qa.backend_errors import guard, guard_stream
from qa.bm25 import rrf
from qa.chunking import ENCODING
from qa.components import build_embedding, build_llm
from qa.errors import InputError, require_text
from qa.ingest import ingest, load_index, require_nonempty
from qa.retrieval import CorpusRetriever
from qa.settings import Settings
from qa.store import LocalStore
from qa.text import is_refusal, stems

# Chunks read for one whole document (a summary): 4096 x 48 tokens is far past any context
# window, so a document this long is summarised map-reduce, never cut short.
MAX_DOCUMENT_CHUNKS = 4096


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
    route: Route = "fact"
    evidence: Evidence | None = None
    payloads: Payloads = field(default_factory=Payloads)
    unsupported: bool = False  # the LLM answered, but no sentence of it was supported
    dropped: list[str] = field(default_factory=list)  # answer sentences the check removed


class Pipeline:
    """Retrieval + prompting over the live index; reloads itself when ingestion commits."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = LocalStore(settings.store.data_dir) if settings.store.mode == "local" else None
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
            if self.store is None:
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

    def retrieve(self, query: str | list[str]) -> list[NodeWithScore]:
        """Top chunks for one query, or for several fused by reciprocal rank (each chunk keeps
        its best cosine score, so the gate reads the same scale either way)."""
        queries = [query] if isinstance(query, str) else list(dict.fromkeys(query))
        ranked = [self.retriever().retrieve(QueryBundle(q)) for q in queries]
        if len(ranked) == 1:
            return ranked[0]
        best: dict[str, NodeWithScore] = {}
        for hits in ranked:
            for n in hits:
                if n.node.node_id not in best or (n.score or 0) > (best[n.node.node_id].score or 0):
                    best[n.node.node_id] = n
        order = rrf([[n.node.node_id for n in hits] for hits in ranked])
        return [best[i] for i in order][: self.settings.retrieval.top_k]

    def gate(self, nodes: list[NodeWithScore], *queries: str) -> list[NodeWithScore]:
        """Keep the evidence that is about the question: a chunk close in meaning (cosine at or
        above `similarity_cutoff`) or one holding most of the question's key terms (share at or
        above `keyword_cutoff`: the keyword half of hybrid retrieval, so "What is CELAC?" finds
        the chunk that spells CELAC out although a two-word question embeds far from it).
        Nothing left means 'not in the documents'. The LLM still refuses what passages that
        pass do not say."""
        r = self.settings.retrieval
        # a follow-up's own words ("Over how many years?") or its standalone form's
        term_sets = [t for t in (key_terms(q) for q in dict.fromkeys(queries)) if t]
        kept = []
        for n in nodes:
            if (n.score or 0.0) >= r.similarity_cutoff:
                kept.append(n)
            elif any(coverage(t, n) >= r.keyword_cutoff for t in term_sets):
                kept.append(n)
        return kept

    def assemble(
        self, nodes: list[NodeWithScore], window: int | None = None
    ) -> list[NodeWithScore]:
        """The passages the LLM reads: hits widened by retrieval.window, merged and deduped."""
        window = self.settings.retrieval.window if window is None else window
        fetch = getattr(self.retriever(), "neighbours", None) if window > 0 else None
        return expand(nodes, fetch, window)

    def documents(self, nodes: list[NodeWithScore]) -> list[NodeWithScore]:
        """Whole documents for a summary: the document of the best hit (and the next ones while
        they fit the context budget), each as one passage in reading order. A document over
        the budget is given as its map-reduced summary (qa.answering.summary)."""
        fetch = getattr(self.retriever(), "neighbours", None)
        if fetch is None or not nodes:
            return self.assemble(nodes)
        budget = self.settings.retrieval.max_context_tokens
        out: list[NodeWithScore] = []
        used = 0
        for file in dict.fromkeys(n.node.metadata.get("file_name", "") for n in nodes):
            chunks = fetch(file, list(range(MAX_DOCUMENT_CHUNKS)))
            if not chunks:
                continue
            ordered = [chunks[p] for p in sorted(chunks)]
            text = "\n".join(c.get_content() for c in ordered)
            cost = self.count(text)
            if cost > budget:
                if out:
                    break
                from qa.answering.summary import summarize

                text = summarize(self, ordered)
                cost = self.count(text)
            elif out and used + cost > budget:
                break
            first = ordered[0]
            best = max(
                float(n.score or 0) for n in nodes if n.node.metadata.get("file_name") == file
            )
            node = TextNode(
                id_=f"{file}#document",
                text=text,
                metadata={k: v for k, v in first.metadata.items() if k != "position"},
            )
            out.append(NodeWithScore(node=node, score=best))
            used += cost
        return out or self.assemble(nodes)

    # ---- prompting ------------------------------------------------------------------------
    def context(self, nodes: list[NodeWithScore], payloads: Payloads) -> str:
        """Numbered passages grouped under their document's title and date (written once per
        document), with sentences that address the assistant removed (qa.answering.injection),
        cut at the token budget."""
        budget = self.settings.retrieval.max_context_tokens
        parts, used, last_doc = [], 0, None
        fetch = getattr(self.retriever(), "neighbours", None)
        for file in dict.fromkeys(s.file for s in sources_of(nodes)):
            if fetch is not None and file:
                chunks = fetch(file, list(range(MAX_DOCUMENT_CHUNKS)))
                collect(" ".join(chunks[p].get_content() for p in sorted(chunks)), payloads)
        for s in sources_of(nodes):
            block = self.prompt("passage", n=str(s.n), text=sanitize(s.text, payloads))
            if s.file != last_doc:
                date = f" ({s.date[:10]})" if s.date else ""
                block = self.prompt("document", title=s.title or s.file, date=date) + "\n" + block
            cost = self.count(block)
            if parts and used + cost > budget:
                break
            parts.append(block)
            used += cost
            last_doc = s.file
        return "\n\n".join(parts)

    def conversation(self, history: list[ChatMessage]) -> str:
        """The newest turns, for the answer prompt: the LLM resolves "he" or "And on what
        date?" from them. Citation markers are stripped from earlier answers."""
        turns = [m for m in history if m.role in (MessageRole.USER, MessageRole.ASSISTANT)]
        keep = (
            turns[-self.settings.llm.history_messages :]
            if self.settings.llm.history_messages
            else []
        )
        if not keep:
            return ""
        lines = [
            f"{'User' if m.role == MessageRole.USER else 'Assistant'}: "
            f"{strip_markers(m.content or '')}"
            for m in keep
        ]
        return self.prompt("conversation", turns="\n".join(lines)) + "\n\n"

    def condense(self, question: str, history: list[ChatMessage]) -> list[str]:
        """Search queries for a follow-up: standalone forms built from the conversation.

        `template` appends the newest user questions through prompts/followup.txt (no LLM
        call); `llm` asks the LLM with prompts/condense.txt and the newest turns; `fusion`
        retrieves with both and fuses the rankings. Chosen by measurement on the dev parts of
        the conversation sets (bench/results.md, "Conversations")."""
        turns = [m for m in history if m.role in (MessageRole.USER, MessageRole.ASSISTANT)]
        if not turns:
            return [question]
        mode = self.settings.llm.condense
        out = []
        if mode in ("template", "fusion"):
            asked = [m.content or "" for m in turns if m.role == MessageRole.USER]
            previous = "; ".join(q.strip() for q in asked[-2:] if q.strip())
            out.append(self.prompt("followup", question=question, previous=previous))
        if mode in ("llm", "fusion"):
            text = "\n".join(
                f"{m.role.value}: {strip_markers(m.content or '')}"
                for m in turns[-self.settings.llm.history_messages or -1 :]
            )
            prompt = self.prompt("condense", history=text, question=question)
            got = guard(lambda: self.llm.complete(prompt).text, self.settings)
            standalone = got.strip().splitlines()[0].strip() if got.strip() else ""
            out.append(standalone or question)
        return out

    def prepare(self, question: str, history: list[ChatMessage] | None = None) -> Prepared:
        q = self.check_question(question)
        history = history or []
        queries = self.condense(q, history)
        search = queries[-1]
        kind = route(q)
        r = self.settings.retrieval
        refusal = self.prompt("refusal")
        hits = self.retrieve(queries)
        if kind != "summary" or key_terms(" ".join(queries)):
            # a summary of "the speech" or "this document" names nothing to look for: it is
            # about the documents themselves, so the best-matching one is summarised
            hits = self.gate(hits, q, " ".join(queries))
        if not hits:
            return Prepared(q, search, [], None, refusal, kind)
        if kind == "summary":
            nodes = self.documents(hits)
        else:
            nodes = self.assemble(hits, max(1, r.window) if kind == "definition" else None)
        payloads = Payloads()
        context = self.context(nodes, payloads)
        system = self.prompt("system", refusal=refusal)
        user = self.prompt(
            "qa",
            context=context,
            conversation=self.conversation(history),
            question=q,
            instruction=self.prompt(f"instruction_{kind}", refusal=refusal),
            refusal=refusal,
        )
        messages = [
            ChatMessage(role=MessageRole.SYSTEM, content=system),
            ChatMessage(role=MessageRole.USER, content=user),
        ]
        asked = [q] + [m.content or "" for m in history if m.role == MessageRole.USER]
        evidence = Evidence(
            [sanitize(s.text, Payloads()) for s in sources_of(nodes)],
            asked + _metadata_text(nodes),
        )
        return Prepared(q, search, nodes, messages, refusal, kind, evidence, payloads)

    def count(self, text: str) -> int:
        return len(self._enc.encode(text))

    def outcome(self, p: Prepared, text: str, timer: Timer) -> dict[str, Any]:
        """What every door reports about a finished answer (engine metadata, qa.Answer)."""
        return {
            "question": p.question,
            "search_query": p.search_query,
            "route": p.route,
            "refused": was_refused(p, text),
            "usage": self.usage(p, text),
            "seconds": timer.seconds,
            "sources": [s.as_dict() for s in sources_of(p.nodes)],
        }

    def usage(self, p: Prepared, answer: str) -> dict[str, int]:
        prompt_tokens = sum(self.count(m.content or "") for m in p.messages or [])
        return {"prompt_tokens": prompt_tokens, "completion_tokens": self.count(answer)}

    # ---- generation -----------------------------------------------------------------------
    def generate(self, p: Prepared) -> str:
        if p.messages is None:
            return p.refusal
        out = guard(lambda: self.llm.chat(p.messages).message.content or "", self.settings)
        check = AnswerCheck(p, self.settings.retrieval.min_support)
        return "".join(check.feed(out) + check.close())

    def stream(self, p: Prepared) -> Iterator[str]:
        """The checked answer as the model writes it: each sentence is held until it ends and
        passes the grounding check, then sent with its citation markers; a sentence that fails
        is never shown. The same check as `generate`, so every door shows the same answer."""
        if p.messages is None:
            yield p.refusal
            return
        check = AnswerCheck(p, self.settings.retrieval.min_support)
        for r in guard_stream(lambda: self.llm.stream_chat(p.messages), self.settings):
            if r.delta:
                yield from check.feed(r.delta)
        yield from check.close()


class AnswerCheck:
    """Sentence-by-sentence grounding of an answer as it arrives (streamed or whole).

    A sentence is sent once it ends and passes (grounding.Evidence.passes, and it carries no
    payload of a removed instruction); a refusal sentence from the model ends the answer as the
    refusal unless something was already said; an answer with nothing left is the refusal."""

    def __init__(self, p: Prepared, min_support: float) -> None:
        self.p = p
        self.min_support = min_support
        self.buffer = ""
        self.sent = 0
        self.done = False

    def feed(self, delta: str) -> list[str]:
        self.buffer += delta
        parts = split_sentences_keep_tail(self.buffer)
        self.buffer = parts.pop()
        return [piece for s in parts for piece in self._one(s)]

    def close(self) -> list[str]:
        out = self._one(self.buffer) if self.buffer.strip() else []
        self.buffer = ""
        if not self.sent and not self.done:
            self.p.unsupported = bool(self.p.dropped)
            self.done = True
            return out + [self.p.refusal]
        return out

    def _one(self, sentence: str) -> list[str]:
        s = tidy(sentence)
        if self.done or not s:
            return []
        if is_refusal(s, self.p.refusal):
            if not self.sent:
                self.done = True
                return [self.p.refusal]
            return []
        ev = self.p.evidence
        if (
            ev is None
            or self.p.payloads.carried_by(s, ev.text)
            or not ev.passes(s, self.min_support)
        ):
            self.p.dropped.append(s)
            return []
        self.sent += 1
        return [(" " if self.sent > 1 else "") + ev.cite(s)]


def split_sentences_keep_tail(text: str) -> list[str]:
    """Complete sentences of `text` followed by the unfinished rest, kept as it is (possibly
    empty), so the next delta continues it."""
    ends = list(SENTENCE_END.finditer(text))
    if not ends:
        return [text]
    cut = ends[-1].end()
    return split_sentences(text[:cut]) + [text[cut:]]


def key_terms(question: str) -> set[str]:
    """The question's content-word stems that say what it is about (not 'summarize' or
    'document'), compared with a chunk's words by the keyword half of the gate."""
    return {t for t in stems(question) if t not in GENERIC_WORDS}


def coverage(terms: set[str], node: NodeWithScore) -> float:
    meta = node.node.metadata
    words = set(stems(f"{node.node.get_content()} {meta.get('title', '')}"))
    return len(terms & words) / len(terms)


def _metadata_text(nodes: list[NodeWithScore]) -> list[str]:
    """Titles and dates of the passages' documents, a date also in words ("September 20,
    2021"), so an answer may say the year a passage leaves out."""
    out = []
    for n in nodes:
        meta = n.node.metadata
        out.append(str(meta.get("title", "")))
        date = str(meta.get("date") or "")
        if date:
            out.append(date)
            try:
                d = datetime.fromisoformat(date[:10])
                out.append(f"{d:%B} {d.day}, {d.year}")
            except ValueError:
                pass
    return out


def tidy(text: str) -> str:
    """Strip chat-template leftovers a small model sometimes emits."""
    return re.sub(r"<\|im_(start|end)\|>(assistant)?", "", text).strip()


def was_refused(p: Prepared, text: str) -> bool:
    """Did this answer end up saying the documents lack the answer (gate, model or grounding)?"""
    return p.messages is None or p.unsupported or is_refusal(text, p.refusal)


class Timer:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return round(time.perf_counter() - self.start, 3)
