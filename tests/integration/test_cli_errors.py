"""Every bad input or broken backend gives one line on stderr and a non-zero exit code."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import qa
from qa.models.weights import FILE_NAME
from tests.helpers import run_qa


def assert_one_line_error(out, code=None):
    assert out.returncode != 0
    if code is not None:
        assert out.returncode == code
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in out.stderr
    return lines[0]


def test_empty_question(mock_settings):
    assert "empty question" in assert_one_line_error(run_qa(["ask", "  "], mock_settings), 2)


def test_question_over_the_limit(mock_settings):
    line = assert_one_line_error(run_qa(["ask", "-"], mock_settings, stdin="why " * 262_144), 2)
    assert "too long" in line


def test_openai_mode_without_key(mock_settings):
    out = run_qa(["ask", "Where?"], mock_settings, QA_LLM__MODE="openai")
    assert "API key" in assert_one_line_error(out, 3)


def test_empty_corpus(mock_settings):
    for f in mock_settings.corpus_dir.iterdir():
        f.unlink()
    out = run_qa(["ask", "Where?"], mock_settings)
    assert "no readable documents" in assert_one_line_error(out, 5)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_server_down(mock_settings):
    port = _free_port()  # nothing listens there
    out = run_qa(
        ["ask", "Where was the summit held?"],
        mock_settings,
        QA_LLM__MODE="openai_like",
        QA_OPENAI__API_BASE=f"http://127.0.0.1:{port}/v1",
        QA_LLM__MAX_RETRIES="1",
    )
    assert "cannot reach the model server" in assert_one_line_error(out, 4)


class _Handler(BaseHTTPRequestHandler):
    mode = "stall"

    def do_POST(self):  # noqa: N802
        if self.mode == "stall":
            time.sleep(5)
            return
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"error": {"message": "internal"}}')

    def log_message(self, *a):
        pass


@pytest.fixture
def bad_server():
    def start(mode):
        handler = type("H", (_Handler,), {"mode": mode})
        srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}/v1"

    servers: list = []
    yield start
    for s in servers:
        s.shutdown()


def test_server_stalls_times_out_after_retries(mock_settings, bad_server):
    out = run_qa(
        ["ask", "Where was the summit held?"],
        mock_settings,
        QA_LLM__MODE="openai_like",
        QA_OPENAI__API_BASE=bad_server("stall"),
        QA_LLM__TIMEOUT="0.5",
        QA_LLM__MAX_RETRIES="1",
    )
    assert "did not answer within 0.5 s" in assert_one_line_error(out, 4)


def test_server_refuses(mock_settings, bad_server):
    out = run_qa(
        ["ask", "Where was the summit held?"],
        mock_settings,
        QA_LLM__MODE="openai_like",
        QA_OPENAI__API_BASE=bad_server("error"),
        QA_LLM__MAX_RETRIES="0",
    )
    assert "answered with an error (500)" in assert_one_line_error(out, 4)


def test_corrupt_weights_file(mock_settings, tmp_path):
    bad = tmp_path / "models"
    bad.mkdir()
    (bad / FILE_NAME).write_bytes(b"garbage")
    out = run_qa(
        ["ask", "Where was the summit held?"],
        mock_settings,
        QA_LLM__MODE="local",
        QA_LLM__MODELS_DIR=str(bad),
    )
    assert "sha256" in assert_one_line_error(out, 5)


def test_invalid_text_is_one_line_in_the_cli(mock_settings: qa.Settings) -> None:
    out = run_qa(["ask", "where \udcff held?"], mock_settings)
    assert out.returncode == qa.InputError.exit_code, out.stderr
    assert out.stderr.startswith("error: the question contains invalid text")
    assert out.stderr.count("\n") == 1
