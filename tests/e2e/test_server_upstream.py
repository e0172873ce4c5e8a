"""Fault: the upstream OpenAI-compatible server is killed mid-stream.

corpus-qa runs in `openai_like` mode against qa.server.stub_llm started as a subprocess on
loopback; the stub streams slowly, is SIGKILLed after the first words reach the client. The
client must get a clean error (APIError from an SSE error event), later requests a JSON 503
while the upstream is down, and the same corpus-qa server must answer again once it is back.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import openai
import pytest

from qa.server import ServerSettings, create_app
from tests.helpers import client, free_port, make_settings, serving


def start_stub(port: int, delay: float) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa.server.stub_llm", "--port", str(port), "--delay", str(delay)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1)
            return proc
        except httpx.TransportError:
            assert proc.poll() is None and time.monotonic() < deadline, "stub did not start"
            time.sleep(0.1)


@pytest.fixture
def upstream(tmp_path) -> Iterator[tuple[int, list[subprocess.Popen]]]:
    port = free_port()
    procs = [start_stub(port, delay=0.2)]
    yield port, procs
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait(10)


def test_upstream_killed_mid_stream(tmp_path, upstream):
    port, procs = upstream
    s = make_settings(tmp_path, llm="openai_like", embedding="mock")
    s = s.model_copy(
        update={
            "llm": s.llm.model_copy(update={"max_retries": 0, "timeout": 5.0}),
            "openai": s.openai.model_copy(update={"api_base": f"http://127.0.0.1:{port}/v1"}),
        }
    )
    app = create_app(s, ServerSettings(), mount_ui=False)
    with serving(app) as base:
        c = client(base, key="unused")
        stream = c.chat.completions.create(
            model="corpus-qa", messages=[{"role": "user", "content": "Where? ref-1"}], stream=True
        )
        received = []
        with pytest.raises(openai.APIError) as err:
            for chunk in stream:
                received.append(chunk.choices[0].delta.content or "")
                if len(received) >= 3 and "".join(received).startswith("stub[ref-1]"):
                    procs[0].kill()  # the upstream dies half-way through the answer
        assert "".join(received).startswith("stub[ref-1]")
        assert " end." not in "".join(received)
        assert "model" in err.value.message  # one line naming the model server, no traceback

        # while the upstream is down: a clean JSON 503, and the server stays up
        with pytest.raises(openai.APIStatusError) as down:
            c.chat.completions.create(
                model="corpus-qa", messages=[{"role": "user", "content": "q"}]
            )
        assert down.value.status_code == 503
        assert down.value.body["type"] == "model_unavailable"
        health = httpx.get(f"{base}/health")  # honest: not ready while the upstream is down
        assert health.status_code == 503 and health.json()["queue"]["active"] == 0

        # the upstream comes back: the same corpus-qa process answers again
        procs.append(start_stub(port, delay=0.0))
        r = c.chat.completions.create(
            model="corpus-qa", messages=[{"role": "user", "content": "Where? ref-2"}]
        )
        assert r.choices[0].message.content.startswith("stub[ref-2]")
        assert " end." in r.choices[0].message.content
