"""Shared fixtures: settings pointed at a temporary data dir and a copy of the corpus.

`mock_settings` runs the whole pipeline on llama-index MockLLM/MockEmbedding (logic only);
`local_settings` runs the real embedded models (integration).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import qa
from qa.settings import REPO_ROOT

ARTICLE_DIR = REPO_ROOT / "corpus"


def make_settings(
    tmp: Path, llm: str | dict = "local", embedding: str | dict = "local", **extra
) -> qa.Settings:
    """llm / embedding: a mode name, or a whole section as a dict."""
    corpus = tmp / "corpus"
    if not corpus.exists():
        shutil.copytree(ARTICLE_DIR, corpus)
    return qa.load_settings(
        corpus_dir=corpus,
        llm=llm if isinstance(llm, dict) else {"mode": llm},
        embedding=embedding if isinstance(embedding, dict) else {"mode": embedding},
        store={"data_dir": tmp / "data", **extra.pop("store", {})},
        **extra,
    )


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
