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

# Prompt tokens evaluated as a batch of their own when llm.prefix_cache is on, and kept for the
# next prompt: the system prompt and the passages' header are 98 tokens with the Qwen2.5
# tokenizer (qa/prompts/system.txt, the start of qa.txt); 96 keeps the boundary clear of
# where the first passage's tokens begin.
PREFIX_HEAD = 96
# Prompt tokens per batch after the head when llm.prefix_cache is on: consecutive questions often
# share passages too, and 64-token batches reuse them (1.5B, 8 dev prompts: answer time 0.66x
# of a fresh start, against 0.85x with 512-token batches, which keep only the head); a cold
# prompt in 64-token batches took 0.99x the time of one batch (bench/results_decoding.md).
PREFIX_BATCH = 64


def prefix_llama_class() -> type:
    """A llama_cpp.Llama that keeps the start of the previous prompt's KV state for the next one.

    A prompt is evaluated in fixed batches: its first PREFIX_HEAD tokens, then n_batch
    (PREFIX_BATCH in LocalLlamaLLM) tokens at a time. A call reuses the whole batches it shares
    with the previous prompt and evaluates the rest; a cold call evaluates the same batches
    from position 0. Every batch is thus computed from the same tokens and the same cache
    either way, and the answer to a prompt does not depend on what was asked before it (a
    prefix reused at any length did: see LocalLlamaLLM._kwargs). The previous answer's tokens
    are never reused: they were evaluated one at a time."""
    from llama_cpp import Llama

    class PrefixLlama(Llama):
        head = PREFIX_HEAD
        _prompt_end = 0  # length of the previous prompt: its KV state was built in batches
        reused = 0  # prompt tokens the last call did not evaluate again

        def generate(self, tokens, *args, **kw):  # type: ignore[no-untyped-def]
            tokens = list(tokens)
            done = self._input_ids[: self._prompt_end].tolist()
            shared = min(Llama.longest_token_prefix(done, tokens), len(tokens) - 1)
            keep = 0
            if shared >= self.head:
                keep = self.head + (shared - self.head) // self.n_batch * self.n_batch
            self.n_tokens = self.reused = keep  # Llama.generate reuses these tokens' state
            self._prompt_end = len(tokens)
            if keep == 0 and len(tokens) > self.head:
                self.eval(tokens[: self.head])  # the head's own batch, as a warm call kept it
            return super().generate(tokens, *args, **kw)

    return PrefixLlama


class LocalLlamaLLM(CustomLLM):
    model_path: str
    model_name: str = "local"
    context_window: int = 4096
    max_tokens: int = 256
    temperature: float = 0.0
    seed: int = 0
    threads: int | None = None
    prefix_cache: bool = False  # keep the previous prompt's start (prefix_llama_class)
    _llama: Any = PrivateAttr()
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        from llama_cpp import Llama

        if not Path(self.model_path).is_file():  # never let llama.cpp go looking elsewhere
            raise FileNotFoundError(self.model_path)
        kw: dict[str, Any] = {}
        if self.prefix_cache:
            Llama = prefix_llama_class()  # noqa: N806
            kw["n_batch"] = PREFIX_BATCH
        self._llama = Llama(
            model_path=self.model_path,
            n_ctx=self.context_window,
            n_threads=self.threads,
            n_threads_batch=self.threads,  # prompt evaluation too (llama_cpp: all cores)
            seed=self.seed,
            verbose=False,
            **kw,
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
        """Sampling arguments. Every call also starts from an empty KV cache (_start):
        llama.cpp reuses the cached start of the previous prompt, and a prompt evaluated in
        different batch splits gives slightly different logits, so at temperature 0 the same
        question was answered or refused depending on what was asked before it (seen with the
        1.5B model). The cost is re-reading the shared prompt start, a few hundred tokens;
        llm.prefix_cache keeps it in fixed batches instead (prefix_llama_class)."""
        return {
            "temperature": kw.get("temperature", self.temperature),
            "max_tokens": kw.get("max_tokens", self.max_tokens),
            "seed": self.seed,
        }

    def _start(self) -> None:
        """Before a call: forget the previous prompt, unless its start is kept in blocks."""
        if not self.prefix_cache:
            self._llama.reset()  # see _kwargs: the same prompt gives the same answer

    @staticmethod
    def _messages(messages: list[ChatMessage]) -> list[dict[str, str]]:
        return [{"role": m.role.value, "content": m.content or ""} for m in messages]

    @llm_chat_callback()
    def chat(self, messages: list[ChatMessage], **kw: Any) -> ChatResponse:
        with self._lock:
            self._start()
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
                self._start()
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
