"""Settings: env prefix, sections, qa.toml, the pipeline cache key (in a fresh interpreter:
tests/integration/test_settings.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

import qa


def test_env_sections_override_defaults(monkeypatch):
    monkeypatch.setenv("QA_LLM__MODE", "mock")
    monkeypatch.setenv("QA_RETRIEVAL__TOP_K", "7")
    s = qa.load_settings()
    assert s.llm.mode == "mock"
    assert s.retrieval.top_k == 7
    assert s.embedding.mode == "local"  # untouched sections keep the embedded default


def test_toml_file_is_read(tmp_path, monkeypatch):
    (tmp_path / "qa.toml").write_text('[retrieval]\ntop_k = 9\n[llm]\nmode = "openai_like"\n')
    monkeypatch.setenv("QA_CONFIG", str(tmp_path / "qa.toml"))
    s = qa.load_settings()
    assert (s.retrieval.top_k, s.llm.mode) == (9, "openai_like")


def test_env_beats_toml(tmp_path, monkeypatch):
    (tmp_path / "qa.toml").write_text("[retrieval]\ntop_k = 9\n")
    monkeypatch.setenv("QA_CONFIG", str(tmp_path / "qa.toml"))
    monkeypatch.setenv("QA_RETRIEVAL__TOP_K", "4")
    assert qa.load_settings().retrieval.top_k == 4


def test_pipeline_cache_key_tells_secrets_apart_without_holding_them(monkeypatch, mock_settings):
    """model_dump_json() writes secrets as '**********': settings differing only in a secret
    shared one Pipeline. The key now includes them, hashed."""
    from pydantic import SecretStr

    from qa import api

    built = []
    monkeypatch.setattr(api, "_PIPES", {})
    monkeypatch.setattr(api, "Pipeline", lambda s: built.append(s) or object())

    def with_secrets(password: str, key: str) -> qa.Settings:
        pg = SecretStr(f"postgresql://u:{password}@db/qa")
        return mock_settings.model_copy(
            update={
                "store": mock_settings.store.model_copy(update={"postgres_url": pg}),
                "openai": mock_settings.openai.model_copy(update={"api_key": SecretStr(key)}),
            }
        )

    a, b, c = (
        with_secrets("pw-a", "sk-a"),
        with_secrets("pw-b", "sk-a"),
        with_secrets("pw-a", "sk-c"),
    )
    assert a.model_dump_json() == b.model_dump_json() == c.model_dump_json()  # the old key

    assert len({id(qa.pipeline(s)) for s in (a, b, c)}) == 3
    assert qa.pipeline(with_secrets("pw-a", "sk-a")) is qa.pipeline(a)  # same configuration
    assert len(built) == 3
    assert not [k for k in api._PIPES for secret in ("pw-", "sk-") if secret in k]


def test_installed_package_keeps_corpus_and_index_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From a wheel, qa/ sits in site-packages: corpus/ and .qa/ default to the working
    directory there, and to the checkout's root in a checkout."""
    from qa.settings import _home

    installed = tmp_path / "site-packages" / "qa" / "settings.py"
    installed.parent.mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert _home(installed) == tmp_path
    assert _home() == Path(qa.settings.__file__).resolve().parent.parent
    assert (_home() / "pyproject.toml").is_file()
