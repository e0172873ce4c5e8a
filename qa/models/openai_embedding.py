"""Embeddings from OpenAI or any OpenAI-compatible server, through the official `openai` client."""

from __future__ import annotations

from typing import Any

from llama_index.core.embeddings import BaseEmbedding
from pydantic import PrivateAttr


class OpenAIClientEmbedding(BaseEmbedding):
    _client: Any = PrivateAttr()

    def __init__(
        self,
        model: str,
        api_key: str,
        api_base: str | None,
        timeout: float,
        max_retries: int,
        **kw: Any,
    ) -> None:
        super().__init__(model_name=model, **kw)
        from openai import OpenAI

        self._client = OpenAI(
            api_key=api_key, base_url=api_base, timeout=timeout, max_retries=max_retries
        )

    @classmethod
    def class_name(cls) -> str:
        return "OpenAIClientEmbedding"

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        out = self._client.embeddings.create(model=self.model_name, input=texts)
        return [d.embedding for d in sorted(out.data, key=lambda d: d.index)]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._get_text_embedding(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)
