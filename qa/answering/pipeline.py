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
from contextvars import ContextVar
from typing import Any

import tiktoken
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.schema import NodeWithScore, QueryBundle

from qa import prompts
from qa.answering.answer import Prepared, sources_of, was_refused
from qa.answering.check import AnswerCheck
from qa.answering.context import WindowExpansion, prompt_context
from qa.answering.conversation import follow_up
from qa.answering.conversation import shown as conversation_shown
from qa.answering.gate import RelevanceGate, coverage
from qa.answering.grounding import SENTENCE_END, Evidence, metadata_evidence
from qa.answering.injection import Payloads, sanitize
from qa.answering.quantity import asked_for
from qa.answering.router import (
    about_document,
    as_asked,
    asked_bullets,
    asked_length,
    asked_sentences,
    key_terms,
    route,
)
from qa.answering.summary import whole_documents
from qa.answering.translation import Translator, language_line, languages, refusal_in, written_in
from qa.backend_errors import guard, guard_stream
from qa.documents.chunking import ENCODING
from qa.errors import InputError, require_text
from qa.models.factory import build_embedding, build_llm
from qa.settings import Settings
from qa.stores import open_store
from qa.stores.fusion import fuse
from qa.text import is_refusal

# what the engines, the API and the bench scripts import from here
__all__ = [
    "AnswerCheck",
    "Pipeline",
    "Prepared",
    "coverage",
    "is_refusal",
    "key_terms",
    "sources_of",
    "was_refused",
]

# prompt and completion tokens of the side calls made while one question is prepared
_SIDE_TOKENS: ContextVar[list[int] | None] = ContextVar("side_tokens", default=None)


class Pipeline:
    """Retrieval + prompting over the live index; reloads itself when ingestion commits."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = open_store(settings)
        self.embed = build_embedding(settings)
        self._llm = None
        self._version: str | None = None
        self._retriever: BaseRetriever | None = None
        self._lock = threading.Lock()
        self._enc = tiktoken.get_encoding(ENCODING)
        self.translator = Translator(self)

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
        """The live index's retriever, rebuilt when a new index goes live. Reads only: with
        no index it raises CorpusError (the doors call qa.ensure_index() at start-up)."""
        with self._lock:
            version = self.store.version()
            if self._retriever is None or version is None or version != self._version:
                r = self.settings.retrieval
                self._retriever = self.store.retriever(self.embed, r.top_k, r.mode)
                self._version = version
            return self._retriever

    def retrieve(self, query: str | list[str]) -> list[NodeWithScore]:
        """Top chunks for one query, or for several fused by reciprocal rank (each chunk keeps
        its best cosine score, so the gate reads the same scale either way)."""
        queries = [query] if isinstance(query, str) else list(dict.fromkeys(query))
        ranked = [self.retriever().retrieve(QueryBundle(q)) for q in queries]
        if len(ranked) == 1:
            return ranked[0]
        return fuse(ranked, self.settings.retrieval.top_k)

    def gate(self, nodes: list[NodeWithScore], *queries: str) -> list[NodeWithScore]:
        return RelevanceGate(retrieval=self.settings.retrieval, queries=queries).postprocess_nodes(
            nodes
        )

    def assemble(
        self, nodes: list[NodeWithScore], window: int | None = None
    ) -> list[NodeWithScore]:
        """The passages the LLM reads: hits widened by retrieval.window, merged and deduped."""
        window = self.settings.retrieval.window if window is None else window
        fetch = getattr(self.retriever(), "neighbours", None) if window > 0 else None
        return WindowExpansion(window=window, fetch=fetch).postprocess_nodes(nodes)

    def side_call(self, prompt: str, spent: list[int] | None = None) -> str:
        """An LLM call besides the answer (a follow-up's rewrite, a translation): `spend`."""
        text = guard(lambda: self.llm.complete(prompt).text, self.settings) or ""
        self.spend(prompt, text, spent)
        return text

    def spend(self, prompt: str, text: str, spent: list[int] | None = None) -> None:
        """Count a side call into `spent`, else the usage of the question being prepared."""
        spent = _SIDE_TOKENS.get() if spent is None else spent
        if spent is not None:
            spent[0] += self.count(prompt)
            spent[1] += self.count(text)

    def prepare(self, question: str, history: list[ChatMessage] | None = None) -> Prepared:
        spent = [0, 0]
        token = _SIDE_TOKENS.set(spent)
        try:
            p = self._prepare(question, history)
        finally:
            _SIDE_TOKENS.reset(token)
        p.side_tokens = spent
        return p

    def _prepare(self, question: str, history: list[ChatMessage] | None) -> Prepared:
        started = time.perf_counter()
        q = self.check_question(question)
        history = history or []
        lang, answer_lang = languages(self.settings, q, history)
        # retrieval, the gate and the router read the question in the corpus's language (`sq`);
        # the LLM reads it as asked
        sq, search_history = self.translator.in_corpus_language(q, history, lang)
        follow = follow_up(self, sq, search_history)
        queries, search = follow.queries, follow.queries[-1]
        kind = "summary" if route(q) == "summary" else route(sq)  # a summary in any language
        r = self.settings.retrieval
        refusal = refusal_in(self, answer_lang)
        # A follow-up that names its own subject ("What did he say about the pandemic?") is
        # also searched as asked: the standalone form leans on the earlier questions' words.
        own = [sq] if history and self.settings.llm.follow_up_own_query and key_terms(sq) else []
        hits = self.retrieve(queries + own)
        title = hits[0].node.metadata.get("title", "") if hits else ""
        if kind == "fact" and hits and about_document(sq, title):
            kind = "summary"
        if kind != "summary" or key_terms(" ".join(queries)):
            # a summary of "the speech" or "this document" names nothing to look for: it is
            # about the documents themselves, so the best-matching one is summarised
            hits = self.gate(hits, sq, " ".join(queries))
        langs = {"language": answer_lang, "question_language": lang}
        if not hits:
            return Prepared(q, search, [], None, refusal, kind, started=started, **langs)
        if kind == "summary":
            nodes = whole_documents(self, hits)
        else:
            nodes = self.assemble(hits, max(1, r.window) if kind == "definition" else None)
        payloads = Payloads()
        context = prompt_context(self, nodes, payloads)
        texts = [sanitize(s.text, Payloads()) for s in sources_of(nodes)]
        passages_lang = written_in(self, texts)  # may differ from the corpus setting
        # llm.translate_answers, for a question translated for retrieval: the LLM is asked,
        # writes and is checked in the passages' language; AnswerCheck translates what it keeps
        on = self.settings.llm.translate_answers
        translated = on and sq != q and answer_lang != passages_lang
        written = passages_lang if translated else answer_lang
        told = refusal_in(self, written) if translated else refusal
        system = self.prompt("system", refusal=told)
        # No conversation is shown for a summary (about the document) or a question standing
        # alone ("What is CELAC?" after a summary drew a looser definition that failed the check)
        alone = kind == "summary" or follow.alone
        shown = conversation_shown(self, history) if not alone else ""
        instruction = self.prompt(f"instruction_{kind}", refusal=told, length=asked_length(sq))
        instruction += language_line(self, written if translated else lang, written, passages_lang)

        def ask(conversation: str, question: str) -> str:
            values = {"context": context, "instruction": instruction, "refusal": told}
            shown_as = as_asked(question, kind)
            return self.prompt("qa", conversation=conversation, question=shown_as, **values)

        # A follow-up (not one standing alone, shown as a first question) is asked as its
        # standalone form when no conversation is shown, or when the LLM wrote it in the
        # question's language ("¿Y en qué fecha?" shown in English drew the document's date).
        llm_form = self.settings.llm.condense != "template" and self.settings.llm.ask_standalone
        follows = history and not follow.alone
        standalone = follows and (not shown or (llm_form and (sq == q or translated)))
        user = ask(shown, follow.standalone if standalone else (sq if translated else q))
        messages = [
            ChatMessage(role=MessageRole.SYSTEM, content=system),
            ChatMessage(role=MessageRole.USER, content=user),
        ]
        previous = next(
            (m.content or "" for m in reversed(history) if m.role == MessageRole.ASSISTANT), ""
        )
        fallback = None
        if shown and previous:
            alone = ask("", search)
            fallback = [messages[0], ChatMessage(role=MessageRole.USER, content=alone)]
        asked = list(dict.fromkeys([q, sq]))
        asked += [m.content or "" for m in history if m.role == MessageRole.USER]
        evidence = Evidence(texts, metadata_evidence(nodes), asked, written, passages_lang)
        return Prepared(
            q,
            search,
            nodes,
            messages,
            refusal,
            kind,
            evidence,
            payloads,
            previous=previous,
            fallback=fallback,
            asks=asked_for(q) or asked_for(sq),
            sentences=asked_sentences(sq) if kind == "summary" else None,
            bullets=kind == "summary" and asked_bullets(sq),
            started=started,
            translated=translated,
            written_refusal=told,
            **langs,
        )

    def count(self, text: str) -> int:
        return len(self._enc.encode(text))

    def outcome(self, p: Prepared, text: str) -> dict[str, Any]:
        """What every door reports about a finished answer (engine metadata, qa.Answer)."""
        return {
            "question": p.question,
            "search_query": p.search_query,
            "route": p.route,
            "language": p.language,
            "question_language": p.question_language,
            "refused": was_refused(p, text),
            "dropped": list(p.dropped),  # answer sentences the grounding check removed
            "usage": self.usage(p, text),
            "seconds": p.seconds,
            "sources": [s.as_dict() for s in sources_of(p.nodes)],
        }

    def usage(self, p: Prepared, answer: str) -> dict[str, int]:
        prompt_tokens = sum(self.count(m.content or "") for m in p.messages or [])
        written = self.count(answer) if p.messages else 0  # a gated refusal: the model wrote none
        return {
            "prompt_tokens": prompt_tokens + p.side_tokens[0],
            "completion_tokens": written + p.side_tokens[1],
        }

    def _reply(self, messages: list[ChatMessage]) -> str:
        return guard(lambda: self.llm.chat(messages).message.content or "", self.settings)

    def _ask_again(self, p: Prepared, discarded: str) -> list[ChatMessage]:
        """The fallback messages, with the discarded answer and the new prompt counted."""
        fallback = p.fallback or []
        p.side_tokens[0] += sum(self.count(m.content or "") for m in fallback)
        p.side_tokens[1] += self.count(discarded)
        return fallback

    # ---- generation -----------------------------------------------------------------------
    def check(self, p: Prepared) -> AnswerCheck:
        """The sentence-by-sentence check of one answer; an answer within a tenth of
        llm.max_tokens (counted with tiktoken, not the model's tokenizer) ran into the limit."""
        limit = 0.9 * self.settings.llm.max_tokens
        tr = self.translator
        render = (lambda s: tr.sentence(s, p.language, p.side_tokens)) if p.translated else None
        return AnswerCheck(
            p, self.settings.retrieval.min_support, lambda t: self.count(t) >= limit, render
        )

    def generate(self, p: Prepared) -> str:
        return "".join(self._written_whole(p))

    def _written_whole(self, p: Prepared) -> Iterator[str]:
        """The answer written whole, then checked: each sentence is sent as soon as it is
        checked and rendered, so a translated answer arrives sentence by sentence (each one
        after its translation), not after the last one's."""
        if p.messages is None:
            yield p.refusal
            return
        out = self._reply(p.messages)
        if p.fallback and p.repeats_previous(out):
            out = self._reply(self._ask_again(p, out))
        check = self.check(p)
        for word in re.findall(r"\S+\s*|\s+", out):  # as if streamed: the same sentences
            yield from check.feed(word)
        yield from check.close()

    def stream(self, p: Prepared) -> Iterator[str]:
        """The checked answer as the model writes it: each sentence is held until it ends and
        passes the grounding check, then sent with its citation markers; a sentence that fails
        is never shown. The same check as `generate`, so every door shows the same answer."""
        if p.messages is None or p.translated:
            # a translated answer is written whole (the LLM cannot translate while it writes),
            # then sent sentence by sentence as each one is translated
            yield from self._written_whole(p)
            return
        check = self.check(p)
        held = ""  # a follow-up's first sentence, held until it is known not to be a repeat
        deltas = guard_stream(lambda: self.llm.stream_chat(p.messages), self.settings)
        for r in deltas:
            if not r.delta:
                continue
            if p.fallback is None:
                yield from check.feed(r.delta)
                if check.done:  # refused, or as many sentences as asked: the rest is not sent
                    getattr(deltas, "close", lambda: None)()
                    break
                continue
            held += r.delta
            if not SENTENCE_END.search(held):
                continue
            if p.repeats_previous(held):
                getattr(deltas, "close", lambda: None)()
                again = self._ask_again(p, held)
                deltas = guard_stream(lambda m=again: self.llm.stream_chat(m), self.settings)
                p.fallback = None
                yield from (d for r2 in deltas if r2.delta for d in check.feed(r2.delta))
                break
            p.fallback = None
            yield from check.feed(held)
        else:
            if held and p.fallback is not None:
                if p.repeats_previous(held):
                    again = self._ask_again(p, held)
                    held = self._reply(again)
                yield from check.feed(held)
        yield from check.close()
