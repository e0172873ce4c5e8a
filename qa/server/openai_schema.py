"""The slice of the OpenAI chat-completions format this server speaks, in and out.

Responses are built from the openai package's own types (openai.types.chat), dumped with only
the fields set, plus three of ours beside them: `sources`, `refused` and `language` (the
answer's, ISO 639-1). Requests stay a lenient model of our own: the openai request types are
TypedDicts for clients and would refuse shapes this server has always taken (unknown roles,
missing optional keys).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from openai.types import CompletionUsage
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessage
from openai.types.chat.chat_completion import Choice
from openai.types.chat.chat_completion_chunk import Choice as ChunkChoice
from openai.types.chat.chat_completion_chunk import ChoiceDelta
from pydantic import BaseModel, ConfigDict, Field

from qa.errors import InputError


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        """Plain text of the message; content parts of type 'text' are joined."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(
            str(p.get("text", "")) for p in self.content if p.get("type", "text") == "text"
        )


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatRequest(BaseModel):
    """Sampling parameters (temperature, max_tokens, ...) are accepted and ignored: the
    corpus model's settings decide them."""

    model_config = ConfigDict(extra="allow")

    model: str | None = None
    messages: list[Message] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None

    def conversation(self) -> tuple[str, list[dict[str, str]]]:
        """(question, history): the last message must come from the user; earlier user and
        assistant turns become the history (system messages are ignored: the corpus system
        prompt is fixed, so a client cannot override it)."""
        last = self.messages[-1]
        if last.role != "user":
            raise InputError("the last message must have role 'user'")
        question = last.text()
        if not question.strip():
            raise InputError("empty question: the last user message has no text")
        history = [
            {"role": m.role, "content": m.text()}
            for m in self.messages[:-1]
            if m.role in ("user", "assistant")
        ]
        return question, history


def new_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def usage_of(usage: dict[str, int] | None) -> dict[str, int]:
    u = usage or {}
    p, c = int(u.get("prompt_tokens", 0)), int(u.get("completion_tokens", 0))
    usage = CompletionUsage(prompt_tokens=p, completion_tokens=c, total_tokens=p + c)
    return usage.model_dump(exclude_unset=True)


def public_sources(sources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keep = (
        "n",
        "file",
        "title",
        "date",
        "page",
        "section",
        "citation",
        "score",
        "text",
        "chunk_id",
    )
    return [{k: s.get(k) for k in keep if k in s} for s in sources]


def completion(
    cid: str, model: str, text: str, usage: dict[str, int] | None, **extra: Any
) -> dict[str, Any]:
    """A `chat.completion` body; `extra` carries corpus-qa's own fields (sources, refused)."""
    body = ChatCompletion(
        id=cid,
        object="chat.completion",
        created=int(time.time()),
        model=model,
        choices=[
            Choice(
                index=0,
                message=ChatCompletionMessage(role="assistant", content=text),
                finish_reason="stop",
                logprobs=None,
            )
        ],
        usage=CompletionUsage(**usage_of(usage)),
        **extra,
    )
    return body.model_dump(exclude_unset=True)


def chunk(
    cid: str,
    model: str,
    created: int,
    delta: dict[str, Any],
    finish_reason: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body = ChatCompletionChunk(
        id=cid,
        object="chat.completion.chunk",
        created=created,
        model=model,
        choices=[
            ChunkChoice(
                index=0, delta=ChoiceDelta(**delta), finish_reason=finish_reason, logprobs=None
            )
        ],
        **extra,
    )
    return body.model_dump(exclude_unset=True)


def sse(data: dict[str, Any] | str) -> bytes:
    body = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"data: {body}\n\n".encode()


def error_body(message: str, type_: str, code: str | int | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}
