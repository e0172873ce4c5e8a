"""openai_like mode against a real OpenAI-compatible server on loopback: llama.cpp's own server
(`python -m llama_cpp.server`) serving the same packaged GGUF."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

import qa
from qa.answering.grounding import split_sentences, strip_markers
from qa.models.weights import ensure_model


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server():
    model = ensure_model(qa.load_settings().llm.models_dir)
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "4096",
            "--model_alias",
            "qwen-local",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(base + "/models", timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail("llama_cpp.server exited")
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("llama_cpp.server did not start")
    yield base
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture
def server_settings(settings_factory, llama_server):
    s = settings_factory(
        llm={"mode": "openai_like", "model": "qwen-local", "timeout": 120},
        openai={"api_base": llama_server, "api_key": "test-key"},
    )
    qa.ingest(settings=s, progress=False)
    return s


def test_answers_through_the_server(server_settings):
    ans = qa.ask("Where was the sixth CELAC summit held?", settings=server_settings)
    assert "Mexico City" in ans.text and not ans.refused
    assert ans.sources[0]["file"] == "xi_celac_sixth_summit_speech.txt"
    assert "server" in qa.describe(server_settings)["llm"]


def test_streams_through_the_server(server_settings):
    srcs, deltas, answer = qa.stream_ask(
        "Who delivered a video speech to the summit?", settings=server_settings
    )
    pieces = list(deltas)  # one per checked sentence
    assert "".join(pieces) == answer.text and "Xi" in answer.text
    assert len(pieces) == len(split_sentences(strip_markers(answer.text)))
    assert srcs and answer.usage["completion_tokens"] > 0


def test_follow_up_through_the_server(server_settings):
    engine = qa.chat_engine(server_settings)
    engine.chat("When was the sixth CELAC summit held?")
    assert "Mexico City" in engine.chat("And where was it held?").response


def test_base_url_from_openai_env_reaches_both_clients(llama_server, monkeypatch, tmp_path):
    """One setting feeds every client: OPENAI_BASE_URL alone is enough."""
    monkeypatch.setenv("OPENAI_BASE_URL", llama_server)
    s = qa.load_settings(llm={"mode": "openai_like", "model": "qwen-local"})
    assert s.openai.base() == llama_server
    from qa.models.factory import build_llm

    assert build_llm(s).api_base == llama_server
    assert os.environ["OPENAI_BASE_URL"] == llama_server
