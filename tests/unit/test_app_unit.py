"""The browser chat (qa.ui, launched by app.py) without a browser: rendering, history clean-up,
auth, and the chat function on mocks."""

from __future__ import annotations

import ast
import socket
from pathlib import Path

import gradio as gr
import pytest

import qa
from qa import ui as app
from qa.settings import REPO_ROOT
from qa.ui.upload import uploader

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
    """The browser chat (qa.ui) is a door: it uses `import qa` and its own modules, nothing
    below; the root app.py only launches it."""
    for path in [REPO_ROOT / "app.py", *sorted((REPO_ROOT / "qa" / "ui").glob("*.py"))]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                modules.add(node.module or "")
        below = {m for m in modules if m.startswith("qa.") and not m.startswith("qa.ui")}
        assert not below, (path.name, below)
        if path.name == "app.py":
            assert "qa.ui" in modules


def test_sources_are_numbered_escaped_and_highlighted() -> None:
    out = app.render_sources([SOURCE], focus="Where was the summit held? Mexico City")
    assert "[1]" in out and "speech.txt" in out and "score 0.61" in out
    assert "2021-09-20" in out and "A &lt;b&gt;title&lt;/b&gt;" in out
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "<mark>The summit was held in Mexico City.</mark>" in out


def test_empty_sources_show_a_note() -> None:
    assert "appear here" in app.render_sources([])
    assert "No passage" in app.render_sources([], note="No passage matches.")


def test_status_line_says_when_the_model_was_not_asked(shared_mock_settings) -> None:
    from qa.ui.render import status

    def answered(prompt: int, completion: int, gated: bool = False) -> qa.Answer:
        usage = {"prompt_tokens": prompt, "completion_tokens": completion}
        sources = [] if gated else [{"n": 1, "file": "a.txt"}]
        return qa.Answer(text="x", sources=sources, refused=gated, usage=usage, seconds=1.25)

    line = status(shared_mock_settings, answered(400, 20))
    assert "1.2 s · 420 tokens (400 prompt + 20 completion)" in line
    assert "relevance gate" not in line
    line = status(shared_mock_settings, answered(0, 0, gated=True))  # no model call at all
    assert "no answer was generated" in line and "tokens" not in line
    line = status(shared_mock_settings, answered(199, 7, gated=True))  # a follow-up's rewrite
    assert "no answer was generated · preparing the search took 206 tokens (199" in line


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


def _endpoint(demo, name: str):
    for fn in demo.fns.values():
        if fn.api_name == name:
            return fn.fn
    raise AssertionError(f"no /{name} endpoint")


def _chat_fn(demo):
    return _endpoint(demo, "chat")


@pytest.fixture(scope="module")
def demo(shared_mock_settings: qa.Settings):
    """One page for the tests that do not change the corpus (Gradio takes 0.3-0.5 s to build
    one); the upload tests that add documents call uploader() over a corpus of their own."""
    return app.build_app(shared_mock_settings)


def test_build_app_has_chat_and_upload_endpoints(demo, shared_mock_settings) -> None:
    names = {fn.api_name for fn in demo.fns.values() if fn.api_visibility == "public"}
    assert {"chat", "upload"} <= names
    # the upload endpoint is qa.ui.upload.uploader's handler itself, so the upload tests
    # below call uploader(settings) over a corpus of their own instead of building a page
    handler = uploader(shared_mock_settings)
    assert _endpoint(demo, "upload").__code__ is handler.__code__


def test_respond_streams_sources_then_answer(demo) -> None:
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


def test_respond_shows_errors_as_one_line(demo) -> None:
    respond = _chat_fn(demo)
    import asyncio

    async def run(q: str) -> list[tuple]:
        return [out async for out in respond(q, [])]

    for q, expect in [("   ", "empty question"), ("x" * 5000, "too long")]:
        last = asyncio.run(run(q))[-1]
        text = last[0]
        assert text.startswith("⚠️") and expect in text and "Traceback" not in text
        assert "\n" not in text
        # nothing was retrieved: the sources panel is left as it was, not emptied
        assert last[2] == gr.skip()


def test_main_rejects_bad_auth(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("QA_UI__AUTH", '["broken"]')
    monkeypatch.setenv("QA_STORE__DATA_DIR", str(tmp_path))
    assert app.main(["--port", "0"]) == qa.ConfigError.exit_code


def test_a_second_chat_on_a_taken_port_is_one_line_before_anything_loads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A second `python app.py` got Gradio's OSError traceback after indexing and loading the
    model; now one line, before either, and nothing written."""
    monkeypatch.setenv("QA_STORE__DATA_DIR", str(tmp_path / "data"))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert app.main(["--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot listen on 127.0.0.1:{port}") and err.count("\n") == 1
    assert "--port" in err and not (tmp_path / "data").exists()


def test_login_from_settings(mock_settings: qa.Settings) -> None:
    """ui.auth turns on Gradio's login: the app's config is refused until one logs in."""
    import socket
    import urllib.error
    import urllib.parse
    import urllib.request
    from http.cookiejar import CookieJar

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    s = mock_settings.model_copy(
        update={"ui": mock_settings.ui.model_copy(update={"auth": ["ana:secret"], "port": port})}
    )
    demo = app.build_app(s)
    demo.launch(**app.launch_kwargs(s), prevent_thread_lock=True, quiet=True)
    try:
        base = f"http://127.0.0.1:{port}"
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(f"{base}/config", timeout=10)  # noqa: S310 (loopback)
        assert exc.value.code == 401
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        bad = urllib.parse.urlencode({"username": "ana", "password": "wrong"}).encode()
        with pytest.raises(urllib.error.HTTPError):
            opener.open(f"{base}/login", data=bad, timeout=10)
        good = urllib.parse.urlencode({"username": "ana", "password": "secret"}).encode()
        assert opener.open(f"{base}/login", data=good, timeout=10).status == 200
        assert opener.open(f"{base}/config", timeout=10).status == 200
    finally:
        demo.close()


def test_model_server_down_is_one_line_in_chat(mock_settings: qa.Settings) -> None:
    import asyncio
    import socket

    with socket.socket() as sock:  # a free port: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    s = mock_settings.model_copy(
        update={
            "llm": mock_settings.llm.model_copy(
                update={"mode": "openai_like", "timeout": 2.0, "max_retries": 0}
            ),
            "openai": mock_settings.openai.model_copy(
                update={"api_base": f"http://127.0.0.1:{port}/v1", "api_key": "dummy"}
            ),
        }
    )
    respond = _chat_fn(app.build_app(s))

    async def run() -> list[tuple]:
        return [out async for out in respond("Where was the sixth CELAC summit held?", [])]

    last = asyncio.run(run())[-1]
    text, status = last[0], last[3]
    assert text.startswith("⚠️") and "\n" not in text and "Traceback" not in text
    assert "error" in status


def test_upload_handler_saves_indexes_and_reports(
    mock_settings: qa.Settings, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    upload = uploader(mock_settings)  # the page's upload endpoint (see the endpoints test)
    good = tmp_path / "gradio" / "abc123" / "glass.txt"  # where Gradio puts uploads
    bad = tmp_path / "gradio" / "def456" / "tool.exe"
    good.parent.mkdir(parents=True)
    bad.parent.mkdir(parents=True)
    good.write_text("The Zorblat Glass Festival is held in Quellmoor.\n", encoding="utf-8")
    bad.write_bytes(b"MZ\x90\x00binary")
    cleared, report = upload([str(good), str(bad)])
    assert cleared is None
    assert "Added glass.txt (1 passage)" in report and "tool.exe: cannot index" in report
    assert (mock_settings.corpus_dir / "glass.txt").exists()
    answer = qa.ask("Where is the Zorblat Glass Festival held?", settings=mock_settings)
    assert any(src["file"] == "glass.txt" for src in answer.sources)


def test_upload_reports_each_document_and_why_one_was_not_indexed(
    mock_settings: qa.Settings, tmp_path, monkeypatch
) -> None:
    import shutil

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    upload = uploader(mock_settings)  # the page's upload endpoint (see the endpoints test)
    data = Path(__file__).parents[1] / "data"
    sent = []
    for i, name in enumerate(["heron-station-guide.docx", "bad/scanned.pdf"]):
        (tmp_path / "gradio" / str(i)).mkdir(parents=True)
        sent.append(shutil.copy(data / name, tmp_path / "gradio" / str(i)))
    _, report = upload(sent)
    assert "Added heron-station-guide.docx (8 passages)" in report, report
    assert "scanned.pdf: no text layer" in report, report
    assert "not added to the corpus" in report
    # taken back: the next ingest does not warn about it again
    assert not (mock_settings.corpus_dir / "scanned.pdf").exists()
    assert (mock_settings.corpus_dir / "heron-station-guide.docx").is_file()
    assert qa.ingest(settings=mock_settings, progress=False).skipped == []


def test_upload_handler_reads_only_gradio_uploads(
    demo, shared_mock_settings: qa.Settings, tmp_path, monkeypatch
) -> None:
    """A payload naming a server path outside Gradio's upload folder is refused, with the same
    message whether the file exists or not (no probing), and nothing reaches the corpus."""
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    (tmp_path / "gradio").mkdir()
    secret = tmp_path / "secret2.txt"
    secret.write_text("SECRET2: the launch code is 9988 okapi.\n", encoding="utf-8")
    escape = tmp_path / "gradio" / "link.txt"  # a link inside the folder to a file outside
    escape.symlink_to(secret)
    corpus = shared_mock_settings.corpus_dir
    before = sorted(p.name for p in corpus.iterdir())
    upload = _endpoint(demo, "upload")  # reads the upload folder when called
    for path in (secret, tmp_path / "nonexistent" / "x.txt", escape, tmp_path / "gradio"):
        _, report = upload([str(path)])
        assert report == f"⚠️ {path.name}: not a file uploaded through this page", report
    assert sorted(p.name for p in corpus.iterdir()) == before


def _upload_types(demo) -> list[str]:
    import gradio as gr

    (files,) = [b for b in demo.blocks.values() if isinstance(b, gr.File)]
    return list(files.file_types)


def test_upload_offers_only_the_types_ingestion_reads(
    demo, mock_settings: qa.Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert {".pdf", ".docx", ".html", ".md"} <= qa.FILE_TYPES  # qa.documents.readers.KINDS
    assert _upload_types(demo) == sorted(qa.FILE_TYPES)
    monkeypatch.setattr(qa, "FILE_TYPES", {".txt", ".md"})  # the browser reads the one list
    assert _upload_types(app.build_app(mock_settings)) == [".md", ".txt"]


def test_highlight_ignores_words_that_carry_no_claim() -> None:
    # 'according', 'passage', 'states' are stopwords in qa.text: they mark no sentence
    passage = "According to the passage, it states this. The summit was held in Mexico City."
    out = app.render_sources([SOURCE | {"text": passage}], focus="according passage states city")
    assert "<mark>" not in out
    out = app.render_sources([SOURCE | {"text": passage}], focus="summit held")
    assert "<mark>The summit was held in Mexico City.</mark>" in out


def test_unexpected_errors_are_one_line_like_qa_errors() -> None:
    assert app.error_text(qa.InputError("bad\n  question")) == f"{app.ERROR_MARK} bad question"
    text = app.error_text(ValueError("x\n" * 400))
    assert text.startswith(f"{app.ERROR_MARK} something went wrong (ValueError: x x")
    assert "\n" not in text and len(text) == len(app.ERROR_MARK) + 1 + 300
