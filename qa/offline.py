"""Offline switches, set before any library that might reach for the network is imported.

A user's shell should need nothing: tiktoken reads its BPE files from the copy that ships inside
llama-index-core, Hugging Face libraries never ask the hub, Gradio sends no analytics.
"""

from __future__ import annotations

import os
from importlib.util import find_spec
from pathlib import Path


def _tiktoken_cache() -> str | None:
    try:
        spec = find_spec("llama_index.core")
    except ModuleNotFoundError:
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    cache = Path(list(spec.submodule_search_locations)[0]) / "_static" / "tiktoken_cache"
    return str(cache) if cache.is_dir() else None


def apply() -> None:
    """Point every cache at shipped files and switch off telemetry (idempotent)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    # onnxruntime otherwise tries to send usage events to Microsoft (seen by a test's proxy)
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    cache = _tiktoken_cache()
    if cache:
        os.environ["TIKTOKEN_CACHE_DIR"] = cache


apply()
