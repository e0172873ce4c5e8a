"""Shared fixtures: settings pointed at a temporary data dir and a copy of the corpus.

`mock_settings` runs the whole pipeline on llama-index MockLLM/MockEmbedding (logic only);
`local_settings` runs the real embedded models (integration).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import qa
from tests.helpers import make_settings


@pytest.fixture
def settings_factory(tmp_path: Path) -> Callable[..., qa.Settings]:
    return lambda **kw: make_settings(tmp_path, **kw)


@pytest.fixture
def mock_settings(tmp_path: Path) -> qa.Settings:
    return make_settings(tmp_path, llm="mock", embedding="mock")


@pytest.fixture(scope="session")
def local_settings(tmp_path_factory: pytest.TempPathFactory) -> qa.Settings:
    """Real embedded models over a private copy of the article, ingested once per session."""
    s = make_settings(tmp_path_factory.mktemp("local"))
    qa.ingest(settings=s, progress=False)
    return s
