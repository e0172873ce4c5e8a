"""The embedded LLM: a GGUF model run by llama-cpp-python with the model's own chat template.

llama-index's LlamaCPP wrapper formats prompts as Llama-2; this one calls
`create_chat_completion`, which applies the template stored in the GGUF. One llama.cpp context
cannot generate for two callers at once, so generation is serialised by a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.custom import CustomLLM
from pydantic import PrivateAttr


class LocalLlamaLLM(CustomLLM):
    model_path: str
    model_name: str = "local"
    context_window: int = 4096
    max_tokens: int = 256
    temperature: float = 0.0
    seed: int = 0
    threads: int | None = None
    _llama: Any = PrivateAttr()
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        from llama_cpp import Llama

        if not Path(self.model_path).is_file():  # never let llama.cpp go looking elsewhere
            raise FileNotFoundError(self.model_path)
        self._llama = Llama(
            model_path=self.model_path,
            n_ctx=self.context_window,
            n_threads=self.threads,
            seed=self.seed,
            verbose=False,
        )

    @classmethod
    def class_name(cls) -> str:
        return "LocalLlamaLLM"

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=self.context_window,
            num_output=self.max_tokens,
            is_chat_model=True,
            model_name=self.model_name,
        )

    def _kwargs(self, kw: dict[str, Any]) -> dict[str, Any]:
        """Sampling arguments. Every call also starts from an empty KV cache (reset()):
        llama.cpp reuses the cached start of the previous prompt, and a prompt evaluated in
        different batch splits gives slightly different logits, so at temperature 0 the same
        question was answered or refused depending on what was asked before it (seen with the
        1.5B model). The cost is re-reading the shared prompt start, a few hundred tokens."""
        return {
            "temperature": kw.get("temperature", self.temperature),
            "max_tokens": kw.get("max_tokens", self.max_tokens),
            "seed": self.seed,
        }

    @staticmethod
    def _messages(messages: list[ChatMessage]) -> list[dict[str, str]]:
        return [{"role": m.role.value, "content": m.content or ""} for m in messages]

    @llm_chat_callback()
    def chat(self, messages: list[ChatMessage], **kw: Any) -> ChatResponse:
        with self._lock:
            self._llama.reset()  # see _kwargs: the same prompt gives the same answer
            out = self._llama.create_chat_completion(
                messages=self._messages(messages), **self._kwargs(kw)
            )
        text = out["choices"][0]["message"]["content"] or ""
        return ChatResponse(
            message=ChatMessage(role=MessageRole.ASSISTANT, content=text),
            raw=out,
            additional_kwargs={"usage": out.get("usage", {})},
        )

    @llm_chat_callback()
    def stream_chat(self, messages: list[ChatMessage], **kw: Any) -> ChatResponseGen:
        def gen() -> Iterator[ChatResponse]:
            text = ""
            with self._lock:
                self._llama.reset()
                for chunk in self._llama.create_chat_completion(
                    messages=self._messages(messages), stream=True, **self._kwargs(kw)
                ):
                    delta = chunk["choices"][0]["delta"].get("content") or ""
                    if not delta:
                        continue
                    text += delta
                    yield ChatResponse(
                        message=ChatMessage(role=MessageRole.ASSISTANT, content=text),
                        delta=delta,
                    )

        return gen()

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kw: Any) -> CompletionResponse:
        r = self.chat([ChatMessage(role=MessageRole.USER, content=prompt)], **kw)
        return CompletionResponse(text=r.message.content or "", raw=r.raw)

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kw: Any
    ) -> CompletionResponseGen:
        def gen() -> Iterator[CompletionResponse]:
            for r in self.stream_chat([ChatMessage(role=MessageRole.USER, content=prompt)], **kw):
                yield CompletionResponse(text=r.message.content or "", delta=r.delta)

        return gen()
