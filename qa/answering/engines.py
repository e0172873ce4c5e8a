"""llama-index engines over the shared Pipeline: a query engine and a chat engine.

The chat engine keeps its own history (one per caller: a browser session, an HTTP request),
condenses each follow-up with the newest turns, and retrieves with the condensed question.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from threading import Thread
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, ChatResponse, MessageRole
from llama_index.core.base.response.schema import Response, StreamingResponse
from llama_index.core.chat_engine.types import (
    AgentChatResponse,
    BaseChatEngine,
    StreamingAgentChatResponse,
)
from llama_index.core.memory import ChatMemoryBuffer
from llama_index.core.query_engine import CustomQueryEngine
from llama_index.core.schema import QueryBundle
from pydantic import ConfigDict

from qa.answering.pipeline import Pipeline, Prepared
from qa.errors import require_text


class CorpusQueryEngine(CustomQueryEngine):
    """`.query(q)` -> Response(.response, .source_nodes, .metadata[usage, refused, seconds])."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    pipeline: Any
    streaming: bool = False

    def query(self, str_or_query_bundle: Any) -> Any:
        """Refuse anything but text (InputError) before llama-index's events and query bundle
        touch it: bytes or a number used to end in TypeError / AttributeError."""
        q = str_or_query_bundle
        require_text(q.query_str if isinstance(q, QueryBundle) else q)
        return super().query(q)

    async def aquery(self, str_or_query_bundle: Any) -> Any:
        q = str_or_query_bundle
        require_text(q.query_str if isinstance(q, QueryBundle) else q)
        return await super().aquery(q)

    def custom_query(self, query_str: str) -> Response | StreamingResponse:
        pipe: Pipeline = self.pipeline
        p = pipe.prepare(query_str)
        if self.streaming:
            meta: dict[str, Any] = {}

            def gen() -> Iterator[str]:
                text = ""
                for delta in pipe.stream(p):
                    text += delta
                    yield delta
                meta.update(pipe.outcome(p, text))

            return StreamingResponse(response_gen=gen(), source_nodes=p.nodes, metadata=meta)
        text = pipe.generate(p)
        return Response(response=text, source_nodes=p.nodes, metadata=pipe.outcome(p, text))


class CorpusChatEngine(BaseChatEngine):
    """Condense-then-answer chat with its own memory; answers only from retrieved passages."""

    def __init__(
        self,
        pipeline: Pipeline,
        chat_history: list[ChatMessage] | None = None,
        token_limit: int = 1500,
    ) -> None:
        self._pipe = pipeline
        self._memory = ChatMemoryBuffer.from_defaults(
            chat_history=list(chat_history or []), token_limit=token_limit
        )
        self.last_metadata: dict[str, Any] = {}

    @property
    def chat_history(self) -> list[ChatMessage]:
        return self._memory.get_all()

    def reset(self) -> None:
        self._memory.reset()
        self.last_metadata = {}

    def _prepare(self, message: str, chat_history: list[ChatMessage] | None) -> Prepared:
        if chat_history is not None:
            self._memory.set(list(chat_history))
        return self._pipe.prepare(message, self._memory.get())

    def _remember(self, p: Prepared, text: str) -> None:
        self._memory.put(ChatMessage(role=MessageRole.USER, content=p.question))
        self._memory.put(ChatMessage(role=MessageRole.ASSISTANT, content=text))

    def chat(
        self, message: str, chat_history: list[ChatMessage] | None = None
    ) -> AgentChatResponse:
        p = self._prepare(message, chat_history)
        text = self._pipe.generate(p)
        self._remember(p, text)
        self.last_metadata = self._pipe.outcome(p, text)
        return AgentChatResponse(response=text, source_nodes=p.nodes, metadata=self.last_metadata)

    def stream_chat(
        self, message: str, chat_history: list[ChatMessage] | None = None
    ) -> StreamingAgentChatResponse:
        p = self._prepare(message, chat_history)
        self.last_metadata = {}

        def chat_stream() -> Iterator[ChatResponse]:
            text = ""
            for delta in self._pipe.stream(p):
                text += delta
                yield ChatResponse(
                    message=ChatMessage(role=MessageRole.ASSISTANT, content=text), delta=delta
                )
            self._memory.put(ChatMessage(role=MessageRole.USER, content=p.question))
            self.last_metadata.update(self._pipe.outcome(p, text))

        response = StreamingAgentChatResponse(chat_stream=chat_stream(), source_nodes=p.nodes)
        response.metadata = self.last_metadata  # filled when the stream ends
        thread = Thread(target=response.write_response_to_history, args=(self._memory,))
        thread.start()
        return response

    async def achat(
        self, message: str, chat_history: list[ChatMessage] | None = None
    ) -> AgentChatResponse:
        return await asyncio.to_thread(self.chat, message, chat_history)

    async def astream_chat(
        self, message: str, chat_history: list[ChatMessage] | None = None
    ) -> StreamingAgentChatResponse:
        return await asyncio.to_thread(self.stream_chat, message, chat_history)
