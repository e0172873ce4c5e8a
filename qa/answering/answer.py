"""What an answer is made of, shared by the pipeline, the streamed check and the engines:
its sources, what was decided before generation, and whether it ended as a refusal."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.schema import NodeWithScore

from qa.answering.grounding import Evidence, split_sentences, strip_markers
from qa.answering.injection import Payloads
from qa.answering.quantity import Asked
from qa.answering.router import Route
from qa.text import is_refusal


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
    page: int | None = None  # PDF passages
    section: str | None = None  # heading path: "Installation > Linux"

    @property
    def citation(self) -> str:
        return citation(self.file, self.page, self.section)

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "file": self.file,
            "title": self.title,
            "date": self.date,
            "page": self.page,
            "section": self.section,
            "citation": self.citation,
            "score": round(self.score, 4),
            "text": self.text,
            "chunk_id": self.chunk_id,
        }


def citation(file: str, page: int | None = None, section: str | None = None) -> str:
    """Where a passage is, the same in every door: "report.pdf, p. 12",
    "guide.docx, Installation > Linux", or the file alone."""
    where = f"p. {page}" if page else (section or "")
    return f"{file}, {where}" if where else file


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
            page=n.node.metadata.get("page"),
            section=n.node.metadata.get("section"),
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
    # "How many ...?", "When ...?": only a number, a time answers it (qa.answering.quantity)
    asks: Asked | None = None
    sentences: int | None = None  # a summary asked for in so many sentences sends no more
    bullets: bool = False  # a summary asked for as bullet points: each sentence is one
    # A follow-up whose answer repeats the previous one answered the earlier question (the
    # 0.5B model copies the answer shown in the conversation): then it is asked again with
    # the standalone question and no conversation (Pipeline.generate / stream).
    previous: str = ""
    fallback: list[ChatMessage] | None = None
    # when the question arrived (perf_counter), so every door reports the same `seconds`
    started: float = field(default_factory=time.perf_counter)
    # ISO 639-1 codes (qa.language): the answer's language and the question's
    language: str = "en"
    question_language: str = "en"
    # llm.translate_answers: the LLM writes in the passages' language and says `written_refusal`
    # (checked there); each sentence it keeps is translated into `language` when sent
    translated: bool = False
    written_refusal: str = ""
    # prompt and completion tokens of the LLM calls besides the answer: a follow-up's rewrite,
    # a translation, an answer discarded as a repeat (counted in usage)
    side_tokens: list[int] = field(default_factory=lambda: [0, 0])

    @property
    def model_refusal(self) -> str:
        """The refusal sentence the LLM was told to write."""
        return self.written_refusal or self.refusal

    @property
    def seconds(self) -> float:
        return round(time.perf_counter() - self.started, 3)

    def repeats_previous(self, text: str) -> bool:
        first = comparable(next(iter(split_sentences(strip_markers(text))), ""))
        return len(first) >= 20 and first in comparable(self.previous)


def comparable(text: str) -> str:
    """Text as a repeat is recognised: no citation markers, case or spacing."""
    return " ".join(strip_markers(text).lower().split())


def tidy(text: str) -> str:
    """Strip chat-template leftovers a small model sometimes emits."""
    return re.sub(r"<\|im_(start|end)\|>(assistant)?", "", text).strip()


def was_refused(p: Prepared, text: str) -> bool:
    """Did this answer end up saying the documents lack the answer (gate, model or grounding)?"""
    return p.messages is None or p.unsupported or is_refusal(text, p.refusal)
