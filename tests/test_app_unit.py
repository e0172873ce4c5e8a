"""app.py without a browser: rendering, history clean-up, auth, and the chat function on mocks."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

import pytest

import qa
from qa.settings import REPO_ROOT


def _load_app():
    if "app" in sys.modules:
        return sys.modules["app"]
    spec = importlib.util.spec_from_file_location("app", REPO_ROOT / "app.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["app"] = module
    spec.loader.exec_module(module)
    return module


app = _load_app()

SOURCE = {
    "n": 1,
    "file": "speech.txt",
    "title": "A <b>title</b>",
    "date": "2021-09-20",
    "score": 0.61234,
    "text": "The summit was held in Mexico City. Other things <script>x</script> happened.",
    "chunk_id": "c1",
}


def test_app_imports_only_the_public_qa_api() -> None:
    tree = ast.parse((REPO_ROOT / "app.py").read_text(encoding="utf-8"))
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            modules.add(node.module or "")
    below = {m for m in modules if m.startswith("qa.")}
    # qa.uploads only as the fallback until qa/__init__.py exports save_upload
    assert below <= {"qa.uploads"}, below
    assert "qa" in modules


def test_sources_are_numbered_escaped_and_highlighted() -> None:
    out = app.render_sources([SOURCE], focus="Where was the summit held? Mexico City")
    assert "[1]" in out and "speech.txt" in out and "score 0.61" in out
    assert "2021-09-20" in out and "A &lt;b&gt;title&lt;/b&gt;" in out
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "<mark>The summit was held in Mexico City.</mark>" in out


def test_empty_sources_show_a_note() -> None:
    assert "appear here" in app.render_sources([])
    assert "No passage" in app.render_sources([], note="No passage matches.")


def test_clean_history_drops_error_turns_and_flattens_content() -> None:
    history = [
        {"role": "user", "content": "When was the summit?"},
        {"role": "assistant", "content": [{"type": "text", "text": "On September 18th [1]."}]},
        {"role": "user", "content": ""},
        {"role": "assistant", "content": "⚠️ empty question: type a question"},
        {"role": "user", "content": "And where?"},
    ]
    assert app.clean_history(history) == [
        {"role": "user", "content": "When was the summit?"},
        {"role": "assistant", "content": "On September 18th [1]."},
        {"role": "user", "content": "And where?"},
    ]


def test_auth_pairs_from_settings() -> None:
    s = qa.load_settings(ui={"auth": ["ana:secret", "bo:pa:ss"]})
    assert app.launch_kwargs(s)["auth"] == [("ana", "secret"), ("bo", "pa:ss")]
    assert app.launch_kwargs(qa.load_settings())["auth"] is None
    with pytest.raises(qa.ConfigError):
        app.launch_kwargs(qa.load_settings(ui={"auth": ["nopassword"]}))


def test_defaults_listen_on_loopback() -> None:
    kw = app.launch_kwargs(qa.load_settings())
    assert kw["server_name"] == "127.0.0.1" and kw["server_port"] == 7860
    assert kw["share"] is False


def _chat_fn(demo):
    for fn in demo.fns.values():
        if fn.api_name == "chat":
            return fn.fn
    raise AssertionError("no /chat endpoint")


def test_build_app_has_chat_and_upload_endpoints(mock_settings: qa.Settings) -> None:
    demo = app.build_app(mock_settings)
    names = {fn.api_name for fn in demo.fns.values() if fn.api_visibility == "public"}
    assert {"chat", "upload"} <= names


def test_respond_streams_sources_then_answer(mock_settings: qa.Settings) -> None:
    demo = app.build_app(mock_settings)
    respond = _chat_fn(demo)
    import asyncio

    async def run() -> list[tuple]:
        return [out async for out in respond("Where was the sixth CELAC summit held?", [])]

    outs = asyncio.run(run())
    assert len(outs) >= 2
    text, panel, status = outs[-1][0], outs[-1][2], outs[-1][3]
    assert text and "⚠️" not in text
    assert "xi_celac_sixth_summit_speech.txt" in panel
    assert "answered in" in status and "tokens" in status


def test_respond_shows_errors_as_one_line(mock_settings: qa.Settings) -> None:
    demo = app.build_app(mock_settings)
    respond = _chat_fn(demo)
    import asyncio

    async def run(q: str) -> list[tuple]:
        return [out async for out in respond(q, [])]

    for q, expect in [("   ", "empty question"), ("x" * 5000, "too long")]:
        text = asyncio.run(run(q))[-1][0]
        assert text.startswith("⚠️") and expect in text and "Traceback" not in text
        assert "\n" not in text


def test_main_rejects_bad_auth(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("QA_UI__AUTH", '["broken"]')
    monkeypatch.setenv("QA_STORE__DATA_DIR", str(tmp_path))
    assert app.main(["--port", "0"]) == qa.ConfigError.exit_code
