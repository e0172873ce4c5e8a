"""Plain llama-index pipelines on corpus-qa's own models, for side-by-side runs.

Both build `VectorStoreIndex.from_documents(SimpleDirectoryReader(corpus).load_data())` with
llama-index's default chunking and top-k.
- `baseline`: `.as_query_engine(llm=...)`; follow-ups go through llama-index's
  `condense_question` chat engine over that query engine (its default way to add history).
- `condense_plus_context`: llama-index's `CondensePlusContextChatEngine` over the same index's
  default retriever, given the same history our pipeline gets, for every turn (with no history
  it skips the condense step and answers the question as asked).
Refusals are read from the text (neither has a refusal flag).
"""

from __future__ import annotations

import time
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, MessageRole

import qa
from qa.errors import CorpusError
from qa.evaluation.targets import Turn, node_dict
from qa.text import is_refusal


class Baseline:
    name = "baseline"

    def __init__(self, settings: qa.Settings) -> None:
        self.settings = settings
        self.pipe = qa.pipeline(settings)
        self.index: Any = None
        self.engine: Any = None
        self.retriever: Any = None

    def prepare(self, progress: bool | None) -> dict[str, Any]:
        from llama_index.core import SimpleDirectoryReader, VectorStoreIndex

        corpus = self.settings.corpus_dir
        start = time.perf_counter()
        try:
            docs = SimpleDirectoryReader(str(corpus), recursive=True).load_data()
        except ValueError as exc:  # empty or missing folder
            raise CorpusError(f"baseline cannot read corpus {corpus}: {exc}") from exc
        self.index = VectorStoreIndex.from_documents(
            docs, embed_model=self.pipe.embed, show_progress=bool(progress)
        )
        ingest_s = time.perf_counter() - start
        start = time.perf_counter()
        self.engine = self.index.as_query_engine(llm=self.pipe.llm)
        return {
            "ingest_seconds": round(ingest_s, 3),
            "load_seconds": round(time.perf_counter() - start, 3),
            "documents": len(docs),
            "chunks": len(self.index.docstore.docs),
            "top_k": 2,  # llama-index's default similarity_top_k
            "retrieval": "vector, llama-index default chunking (SentenceSplitter 1024/200)",
        }

    def answer(self, question: str, history: list[dict[str, str]]) -> Turn:
        start = time.perf_counter()
        if history:
            engine = self.index.as_chat_engine(
                chat_mode="condense_question",
                llm=self.pipe.llm,
                chat_history=chat_messages(history),
            )
            response = engine.chat(question)
        else:
            response = self.engine.query(question)
        return to_turn(response, time.perf_counter() - start)


class CondensePlusContext(Baseline):
    """llama-index's own conversational RAG engine: condense the turn with the history, retrieve
    for the standalone question, answer with the passages and the history."""

    name = "condense_plus_context"

    def prepare(self, progress: bool | None) -> dict[str, Any]:
        info = super().prepare(progress)
        self.retriever = self.index.as_retriever()  # the default retriever, top-k 2
        info["retrieval"] += "; CondensePlusContextChatEngine"
        return info

    def answer(self, question: str, history: list[dict[str, str]]) -> Turn:
        from llama_index.core.chat_engine import CondensePlusContextChatEngine

        start = time.perf_counter()
        engine = CondensePlusContextChatEngine.from_defaults(
            retriever=self.retriever, llm=self.pipe.llm
        )
        response = engine.chat(question, chat_history=chat_messages(history))
        # the engine records the standalone question it retrieved with on its retriever source
        condensed = next(
            (str(s.raw_input.get("message")) for s in response.sources if s.raw_input), ""
        )
        return to_turn(response, time.perf_counter() - start, condensed or question)


def chat_messages(history: list[dict[str, str]]) -> list[ChatMessage]:
    """The harness's {role, content} turns as llama-index chat messages."""
    return [
        ChatMessage(
            role=MessageRole.USER if m["role"] == "user" else MessageRole.ASSISTANT,
            content=m["content"],
        )
        for m in history
    ]


def to_turn(response: Any, seconds: float, search_query: str = "") -> Turn:
    """A llama-index response (query or chat) as a Turn; its source nodes are both what the
    LLM saw and the ranked retrieval, so hit rate and MRR apply."""
    text = str(response.response or "").strip()
    nodes = [node_dict(i, n) for i, n in enumerate(response.source_nodes or [], 1)]
    return Turn(
        text=text,
        refused=is_refusal(text),
        sources=nodes,
        retrieved=nodes,
        seconds=seconds,
        search_query=search_query,
    )
