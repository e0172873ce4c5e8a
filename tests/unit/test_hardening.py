"""Issue 16: what must not leak (passwords, upstream credentials, files outside the corpus) and
what must not be half done or unbounded (bad files, uploads, timeouts, readiness).

Mock models only; upstream faults come from tiny fake servers on loopback.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

import qa
from qa.documents import chunking, corpus
from qa.server import ServerSettings, create_app
from qa.settings import is_loopback
from tests.helpers import KEY, serving, with_section


# ---- helpers ----------------------------------------------------------------------------------
@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A TCP server on loopback that accepts connections and never answers; yields its port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(sock.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        sock.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def upstream(s: qa.Settings, base: str, timeout: float = 60.0, retries: int = 2) -> qa.Settings:
    """`s` answering through an openai_like server at `base`."""
    return s.model_copy(
        update={
            "llm": s.llm.model_copy(
                update={"mode": "openai_like", "timeout": timeout, "max_retries": retries}
            ),
            "openai": s.openai.model_copy(update={"api_base": base, "api_key": SecretStr("dummy")}),
        }
    )


# ---- 2: one parser for ui.auth, whole entries masked, no open chat off loopback -----------------
def test_is_loopback_is_one_check_for_every_door() -> None:
    for host in ("127.0.0.1", "127.0.1.1", "127.8.9.10", "::1", "[::1]", "localhost", "LOCALHOST"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "192.168.1.5", "example.com", ""):
        assert not is_loopback(host), host


def test_bad_auth_entry_refuses_to_start_qa_serve(mock_settings: qa.Settings) -> None:
    s = with_section(mock_settings, "ui", auth=["TopSecretPassw0rd"])
    with pytest.raises(qa.ConfigError) as exc:
        create_app(s, ServerSettings(api_keys=["sk-x"]), host="0.0.0.0")
    assert "ui.auth entry 1" in str(exc.value) and "TopSecretPassw0rd" not in str(exc.value)
    assert s.ui.credentials.__doc__  # the same parser app.py uses
    ok = with_section(mock_settings, "ui", auth=["ann:pw:1", "bob:pw2"])
    assert ok.ui.credentials() == [("ann", "pw:1"), ("bob", "pw2")]


def test_config_masks_whole_auth_entries() -> None:
    masked = qa.load_settings(ui={"auth": ["TopSecretPassw0rd", "ann:pw1"]}).masked()
    assert masked["ui"]["auth"] == ["***", "***"]
    assert "TopSecretPassw0rd" not in json.dumps(masked) and "pw1" not in json.dumps(masked)


def test_app_refuses_off_loopback_without_login() -> None:
    from qa import ui as app

    open_host = qa.load_settings(ui={"host": "0.0.0.0"})
    with pytest.raises(qa.ConfigError, match="without a login"):
        app.launch_kwargs(open_host)
    assert app.launch_kwargs(qa.load_settings(ui={"host": "127.0.0.2"}))["auth"] is None
    guarded = qa.load_settings(ui={"host": "0.0.0.0", "auth": ["ann:pw"]})
    assert app.launch_kwargs(guarded)["auth"] == [("ann", "pw")]
    with pytest.raises(qa.ConfigError):
        app.launch_kwargs(qa.load_settings(ui={"auth": ["TopSecretPassw0rd"]}))


# ---- 3: the upstream's URL and credentials stay with the operator ------------------------------
SECRET_BASE = "http://admin:S3cretPW@127.0.0.1:{port}/v1"


def test_config_masks_api_base_credentials() -> None:
    s = qa.load_settings(openai={"api_base": "http://admin:S3cretPW@10.0.0.2:8000/v1"})
    assert s.masked()["openai"]["api_base"] == "http://admin:***@10.0.0.2:8000/v1"
    assert "S3cretPW" not in qa.describe(upstream(s, s.openai.api_base))["llm"]


def test_client_gets_no_upstream_address(mock_settings: qa.Settings) -> None:
    port = free_port()  # nothing listens there
    s = upstream(mock_settings, SECRET_BASE.format(port=port), timeout=5, retries=0)
    app = create_app(s, ServerSettings(api_keys=[KEY]), mount_ui=False, warm_up=False)
    with serving(app, ready=False) as base:
        r = httpx.post(
            f"{base}/v1/chat/completions",
            json={"messages": [{"role": "user", "content": "Where was the summit held?"}]},
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=30,
        )
    assert r.status_code == 503
    message = r.json()["error"]["message"]
    assert message.startswith("the model server is unavailable")
    assert "127.0.0.1" not in message and "S3cretPW" not in message and "admin" not in message
    with pytest.raises(qa.BackendError) as exc:  # the operator's line: host, no credentials
        qa.ask("Where was the summit held?", settings=s)
    assert f"127.0.0.1:{port}" in str(exc.value) and "S3cretPW" not in str(exc.value)


# ---- 4: the corpus is what is inside the corpus folder -----------------------------------------
def test_links_out_of_the_corpus_are_skipped_with_a_warning(tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("root:x:0:0:root:/root:/bin/bash\n")
    root = tmp_path / "corpus"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("inside\n")
    (root / "passwd.txt").symlink_to(outside)
    (root / "alias.txt").symlink_to(root / "a.txt")  # inside the corpus: fine
    (root / "gone.txt").symlink_to(tmp_path / "missing.txt")
    (root / "etc").symlink_to(tmp_path)  # a folder outside
    warnings: list[str] = []
    found = [rel for _, rel in corpus.scan(root, warnings.append)]
    assert found == ["a.txt", "alias.txt"]
    assert any(w.startswith("passwd.txt: links to a file outside the corpus") for w in warnings)
    assert any(w.startswith("gone.txt: dangling symbolic link") for w in warnings)
    assert any(w.startswith("etc: link to a folder outside") for w in warnings)
    assert all("\n" not in w for w in warnings)
    allowed = [rel for _, rel in corpus.scan(root, None, follow_external=True)]
    assert "passwd.txt" in allowed


def test_ingest_skips_links_out_of_the_corpus(mock_settings: qa.Settings, tmp_path: Path) -> None:
    outside = tmp_path / "passwd"
    outside.write_text("root:x:0:0:root:/root:/bin/zsh-login-shell-marker\n")
    (mock_settings.corpus_dir / "passwd.txt").symlink_to(outside)
    warnings: list[str] = []
    from qa.ingest import ingest

    report = ingest(mock_settings, warn=warnings.append)
    assert report.added == 1 and any("passwd.txt" in w for w in warnings)
    s = with_section(mock_settings, "ingest", follow_external_links=True)
    assert ingest(s, warn=warnings.append).added == 1  # allowed by the setting


def test_unreadable_folder_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "corpus"
    (root / "locked").mkdir(parents=True)
    (root / "locked" / "x.txt").write_text("x\n")
    (root / "b.txt").write_text("b\n")
    real = corpus.os.scandir

    def scandir(path):  # tests run as root, where chmod 000 does not stop reading
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(corpus.os, "scandir", scandir)
    warnings: list[str] = []
    assert [rel for _, rel in corpus.scan(root, warnings.append)] == ["b.txt"]
    assert warnings == ["locked/: folder cannot be read (Permission denied), skipped"]


# ---- 5: one huge or broken file never stops the ingest -----------------------------------------
def test_files_over_max_file_mb_are_skipped(mock_settings: qa.Settings) -> None:
    assert qa.load_settings().ingest.max_file_mb == 20
    (mock_settings.corpus_dir / "huge.txt").write_text("word " * 1000)  # 5 KB
    s = with_section(mock_settings, "ingest", max_file_mb=0.004)  # ~4 KB
    warnings: list[str] = []
    from qa.ingest import ingest

    report = ingest(s, warn=warnings.append)
    assert report.added == 1 and report.skipped == ["huge.txt"]
    assert warnings == ["huge.txt: 0.00477 MB is over ingest.max_file_mb (0.004), skipped"]


def test_one_failing_file_does_not_stop_the_rest(
    mock_settings: qa.Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    (mock_settings.corpus_dir / "bad.txt").write_text("this one breaks the splitter\n")
    real = chunking.split

    def split(doc, *a, **kw):
        if doc.rel == "bad.txt":
            raise TimeoutError("regular-expression match exceeded its 5.0s time limit")
        return real(doc, *a, **kw)

    monkeypatch.setattr(chunking, "split", split)
    warnings: list[str] = []
    from qa.ingest import ingest

    report = ingest(mock_settings, warn=warnings.append)
    assert report.added == 1 and report.skipped == ["bad.txt"] and report.total_chunks > 0
    assert len(warnings) == 1 and warnings[0].startswith("bad.txt: could not be indexed (")


def test_splitter_sees_paragraph_blocks_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from llama_index.core.node_parser import SentenceSplitter

    seen: list[int] = []
    real = SentenceSplitter.split_text

    def spy(self, text: str) -> list[str]:
        seen.append(len(text))
        return real(self, text)

    monkeypatch.setattr(SentenceSplitter, "split_text", spy)
    para = "The lighthouse keeper counts ships at night. " * 40
    text = "\n\n".join(f"{i} {para}" for i in range(120))  # ~220k characters
    doc = corpus.SourceFile(path=Path("big.txt"), rel="big.txt", sha256="x", text=text)
    nodes = chunking.split(doc, 48, 0)
    assert max(seen) <= chunking.BLOCK_CHARS and len(seen) > 1
    assert nodes[-1].text.endswith("ships at night.")
    one_line_text = "x" * 250_000  # no paragraph, line or space to cut at
    assert [len(b) for b in chunking.blocks(one_line_text)] == [100_000, 100_000, 50_000]


def test_small_documents_chunk_as_before() -> None:
    from llama_index.core.node_parser import SentenceSplitter

    path = next(p for p in (qa.settings.REPO_ROOT / "corpus").iterdir() if p.suffix == ".txt")
    doc = corpus.read(path, path.name)
    plain = SentenceSplitter(
        chunk_size=48, chunk_overlap=0, tokenizer=chunking.tokenizer(), include_metadata=False
    ).split_text(doc.text)
    assert [n.text for n in chunking.split(doc, 48, 0)] == plain


# ---- 7: invalid text, half-done uploads, long names, timeouts, readiness, docs -----------------
@pytest.mark.parametrize("bad", [b"where?", 42, "where\ud800?"])
def test_query_engine_refuses_non_text(mock_settings: qa.Settings, bad: object) -> None:
    with pytest.raises(qa.InputError):
        qa.query_engine(mock_settings).query(bad)
    with pytest.raises(qa.InputError):
        qa.ask(bad, settings=mock_settings)  # type: ignore[arg-type]


def test_lone_surrogate_is_400_at_the_http_api(mock_settings: qa.Settings) -> None:
    app = create_app(mock_settings, ServerSettings(), mount_ui=False)
    body = '{"messages": [{"role": "user", "content": "where \\ud800 held?"}]}'
    with serving(app) as base:
        r = httpx.post(
            f"{base}/v1/chat/completions",
            content=body,
            headers={"content-type": "application/json"},
            timeout=30,
        )
    assert r.status_code == 400, r.text
    assert r.json()["error"]["type"] == "invalid_request_error"


def test_multi_file_upload_is_all_or_nothing(mock_settings: qa.Settings) -> None:
    app = create_app(mock_settings, ServerSettings(api_keys=[KEY]), mount_ui=False)
    h = {"Authorization": f"Bearer {KEY}"}
    good = ("good.md", b"# Varkona\n\nThe lighthouse of Varkona was built in 1873.\n")
    with serving(app) as base:
        r = httpx.post(
            f"{base}/v1/ingest",
            files=[("file", good), ("file", ("bad.exe", b"\x00\x01"))],
            headers=h,
            timeout=60,
        )
        assert r.status_code == 400 and "bad.exe" in r.json()["error"]["message"]
        assert not (mock_settings.corpus_dir / "good.md").exists()
        again = httpx.post(f"{base}/v1/ingest", files=[("file", good)], headers=h, timeout=60)
        assert again.status_code == 200, again.text
        assert again.json()["report"]["added"] == 1


def test_failed_indexing_takes_the_uploads_back(mock_settings: qa.Settings) -> None:
    from qa.server.app import Engine

    class Broken(Engine):
        def ingest(self, paths, settings):
            raise qa.CorpusError("the index is locked")

    app = create_app(
        mock_settings, ServerSettings(), engine=Broken(), mount_ui=False, warm_up=False
    )
    with serving(app, ready=False) as base:
        r = httpx.post(f"{base}/v1/ingest", files=[("file", ("n.txt", b"some text\n"))])
    assert r.status_code == 503
    assert not (mock_settings.corpus_dir / "n.txt").exists()


def test_long_upload_names_are_shortened_keeping_the_suffix(mock_settings: qa.Settings) -> None:
    from qa.uploads import MAX_NAME_BYTES, safe_name

    name = "文" * 120 + ".md"  # 363 bytes
    short = safe_name(name)
    assert short.endswith(".md") and len(short.encode()) <= MAX_NAME_BYTES
    assert short.startswith("文")
    path = qa.save_upload(mock_settings, name, "# 长文件名\n\n内容。\n".encode())
    assert path.is_file() and path.name == short


def test_timeout_bounds_the_whole_model_call(mock_settings: qa.Settings) -> None:
    with silent_server() as port:
        s = upstream(mock_settings, f"http://127.0.0.1:{port}/v1", timeout=0.5, retries=2)
        started = time.monotonic()
        with pytest.raises(qa.BackendError) as exc:
            qa.ask("Where was the sixth CELAC summit held?", settings=s)
        took = time.monotonic() - started
    assert took < 1.5, f"{took:.1f} s for llm.timeout = 0.5 s"  # 3 tries would take 1.5 s
    assert "did not answer within 0.5 s" in str(exc.value)


def test_slot_is_freed_when_the_request_ends(
    mock_settings: qa.Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qa import backend_errors

    # /health also probes the (silent) model server; its 2 s wait is not what is tested here
    monkeypatch.setattr(backend_errors, "PROBE_TIMEOUT", 0.1)
    with silent_server() as port:
        s = upstream(mock_settings, f"http://127.0.0.1:{port}/v1", timeout=6.0, retries=0)
        qa.ingest(settings=s, progress=False)
        app = create_app(s, ServerSettings(request_timeout=0.5), mount_ui=False, warm_up=False)
        with serving(app, ready=False) as base:
            r = httpx.post(
                f"{base}/v1/chat/completions",
                json={"messages": [{"role": "user", "content": "Where was it held?"}]},
                timeout=30,
            )
            assert r.status_code == 504
            time.sleep(0.3)
            assert httpx.get(f"{base}/health").json()["queue"]["active"] == 0


def test_health_reports_a_down_model_server_and_recovers(
    mock_settings: qa.Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qa.server import state as server_state

    monkeypatch.setattr(server_state, "PROBE_TTL", 0.0)
    port = free_port()
    s = upstream(mock_settings, SECRET_BASE.format(port=port))
    app = create_app(s, ServerSettings(), mount_ui=False, warm_up=False)
    with serving(app, ready=False) as base:
        down = httpx.get(f"{base}/health")
        assert down.status_code == 503 and down.json()["status"] == "unavailable"
        assert "S3cretPW" not in down.text and str(port) not in down.text
        model_server = create_app(mock_settings, ServerSettings(), mount_ui=False)
        import uvicorn

        server = uvicorn.Server(
            uvicorn.Config(model_server, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 30
            while httpx.get(f"{base}/health").status_code != 200:
                assert time.monotonic() < deadline, "health did not recover"
                time.sleep(0.1)
        finally:
            server.should_exit = True
            thread.join(10)


def test_api_docs_need_the_key_when_keys_are_set(mock_settings: qa.Settings) -> None:
    locked = create_app(mock_settings, ServerSettings(api_keys=[KEY]), mount_ui=False)
    with serving(locked) as base:
        for path in ("/v1/docs", "/v1/openapi.json"):
            assert httpx.get(base + path).status_code == 401, path
            ok = httpx.get(base + path, headers={"Authorization": f"Bearer {KEY}"})
            assert ok.status_code == 200, path
        spec = httpx.get(base + "/v1/openapi.json", headers={"Authorization": f"Bearer {KEY}"})
        assert "/v1/chat/completions" in spec.json()["paths"]
    open_app = create_app(mock_settings, ServerSettings(), mount_ui=False)
    with serving(open_app) as base:
        assert httpx.get(base + "/v1/openapi.json").status_code == 200
