"""Past one machine (issue 14): two stateless `qa serve` replicas over one PostgreSQL and one
OpenAI-compatible model server, as real processes on loopback.

- PostgreSQL: the shared test server (scripts/postgres), in a database of this module's own,
  reached through `DbGate`, a TCP forwarder this test can cut (the database gone, as a
  restart or a network cut looks to a client) without touching the server other tests use.
- Model server: `python -m llama_cpp.server` with the packaged 0.5B GGUF, one thread, started
  with `--interrupt_requests False` (its default cuts a running stream short, with a normal
  end, whenever another request arrives: concurrent users would get truncated answers).
- Replicas A and B: `qa serve` subprocesses with store.mode postgres and llm.mode openai_like,
  each with its own data dir, sharing only the corpus folder (where uploads land) and the
  database.

The tests run in file order on one set of processes: indexing at start-up by both, ingest at
both at once, ingest through A and ask through B, 8 concurrent streams, the browser chat's
Gradio API through a sticky round-robin proxy, feedback on A's answer through B, kill -9 of A
mid-stream, the database cut and back, the model server stopped and back.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import openai
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

import qa
from qa.models.weights import ensure_model
from tests.helpers import PG_URL, copy_corpus, free_port, needs_postgres

pytestmark = needs_postgres

MODEL_PRESET = "qwen2.5-coder-0.5b"  # the small preset: this test is about plumbing and speed
MODEL_THREADS = os.environ.get("QA_TEST_MODEL_THREADS", "1")
START_S = 240  # a replica's start-up: imports, embedding model, the first index
ANSWER_S = 180  # one answer, waiting behind the others at the one model server
TABLE = "corpus_qa"

# Eight small documents, each with one fact no other holds: a stream that got another's
# answer would name another team's code word.
TEAMS = {
    "falcon": "marigold",
    "otter": "juniper",
    "badger": "saffron",
    "heron": "cobalt",
    "lynx": "lantern",
    "walrus": "harbor",
    "puffin": "meadow",
    "bison": "quartz",
}


def team_doc(team: str) -> bytes:
    word = TEAMS[team]
    return (
        f"# The {team.title()} team\n\n"
        f"The {team.title()} team meets on Tuesdays in the north building. "
        f"The code word of the {team.title()} team is {word.title()}. "
        f"Members of the {team.title()} team use the code word {word.title()} to sign in.\n"
    ).encode()


def question(team: str) -> str:
    return f"What is the code word of the {team.title()} team?"


# ---- processes ---------------------------------------------------------------------------------
class DbGate:
    """A TCP forwarder between the replicas and PostgreSQL. `cut()` drops every connection
    through it and refuses new ones; `open()` lets them through again on the same port."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self.open()

    def open(self) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(64)
        self._listener = sock
        threading.Thread(target=self._accept, args=(sock,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(a, b), daemon=True).start()

    def cut(self) -> None:
        assert self._listener is not None
        self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept loop
        self._listener.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for c in conns:
            _close(c)


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        _close(src)
        _close(dst)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


class ModelServer:
    """llama.cpp's OpenAI-compatible server on a fixed loopback port, stoppable and
    restartable (the replicas keep its address)."""

    def __init__(self, log: Path) -> None:
        self.model = ensure_model(qa.load_settings().llm.models_dir, MODEL_PRESET)
        self.port = free_port()
        self.log = log
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        cmd = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(self.model),
            "--model_alias",
            "qwen-local",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            "4096",
            "--n_threads",
            MODEL_THREADS,
            "--n_threads_batch",
            MODEL_THREADS,
            "--interrupt_requests",
            "False",
        ]
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"{self.base}/models", timeout=2)
                return
            except httpx.TransportError:
                assert self.proc.poll() is None, self.log.read_text(errors="replace")[-2000:]
                assert time.monotonic() < deadline, "llama_cpp.server did not start"
                time.sleep(0.3)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Replica:
    """One `qa serve` process."""

    def __init__(self, name: str, env: dict[str, str], log: Path) -> None:
        self.name, self.port, self.log = name, free_port(), log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "qa.cli", "serve", "--port", str(self.port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> openai.OpenAI:
        return openai.OpenAI(
            base_url=f"{self.url}/v1", api_key="unused-on-loopback", max_retries=0, timeout=ANSWER_S
        )

    def health(self) -> httpx.Response:
        return httpx.get(f"{self.url}/health", timeout=10)

    def wait_health(self, status: int, within: float = 60, error: str | None = None) -> dict:
        """Poll /health until it answers `status` (with this `error`, when given); its body."""
        deadline = time.monotonic() + within
        last = None
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.tail()
            try:
                last = self.health()
                if last.status_code == status and error in (None, last.json().get("error")):
                    return last.json()
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"{self.name} /health never {status}: {last and last.text}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """A database of this module's own on the shared server, dropped afterwards."""
    name = f"qa_replicas_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(
        make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f"create database {name}"))
    url = make_url(PG_URL).set(database=name)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("create extension if not exists vector"))
    engine.dispose()
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f"drop database if exists {name} with (force)"))
    admin.dispose()


@pytest.fixture(scope="module")
def cluster(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    tmp = tmp_path_factory.mktemp("replicas")
    corpus = tmp / "corpus"  # the shared corpus folder: uploads through either replica land here
    copy_corpus(corpus)
    url = make_url(database)
    gate = DbGate(url.host or "127.0.0.1", url.port or 5432)
    model = ModelServer(tmp / "llama.log")
    model.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QA_", "OPENAI_"))}
    env.update(
        QA_CORPUS_DIR=str(corpus),
        QA_STORE__MODE="postgres",
        QA_STORE__TABLE=TABLE,
        QA_STORE__POSTGRES_URL=url.set(host="127.0.0.1", port=gate.port).render_as_string(
            hide_password=False
        ),
        QA_LLM__MODE="openai_like",
        QA_LLM__MODEL="qwen-local",
        QA_LLM__MAX_TOKENS="40",
        QA_LLM__TIMEOUT=str(ANSWER_S),
        QA_LLM__MAX_RETRIES="1",
        QA_OPENAI__API_BASE=model.base,
        QA_OPENAI__API_KEY="unused-on-loopback",
        QA_EMBEDDING__THREADS="1",
        QA_SERVER__REQUEST_TIMEOUT=str(ANSWER_S * 2),
    )
    replicas = []
    try:
        for name in ("a", "b"):  # started together: both find no index and ingest at once
            (tmp / name).mkdir()
            replicas.append(
                Replica(name, {**env, "QA_STORE__DATA_DIR": str(tmp / name)}, tmp / f"{name}.log")
            )
        for r in replicas:
            r.wait_health(200, START_S)
        yield {
            "a": replicas[0],
            "b": replicas[1],
            "model": model,
            "gate": gate,
            "db": database,
            "corpus": corpus,
        }
    finally:
        for r in replicas:
            r.stop()
        model.stop()
    for r in replicas:
        assert "Traceback" not in r.log.read_text(errors="replace"), r.tail()


def index_state(db: str) -> dict:
    """What the shared index holds, read straight from the database."""
    engine = sa.create_engine(db)
    try:
        with engine.connect() as conn:
            rows, distinct = conn.execute(
                sa.text(f"select count(*), count(distinct node_id) from data_{TABLE}")
            ).one()
            files = {
                r.file_name: len(r.chunks)
                for r in conn.execute(sa.text(f"select file_name, chunks from {TABLE}_files"))
            }
    finally:
        engine.dispose()
    return {"rows": rows, "distinct": distinct, "files": files}


def ask(replica: Replica, team: str, stream: bool = False):
    """A two-turn conversation about one team, through the openai client."""
    messages = [
        {"role": "user", "content": f"Where does the {team.title()} team meet?"},
        {"role": "assistant", "content": "In the north building."},
        {"role": "user", "content": question(team)},
    ]
    return replica.client().chat.completions.create(
        model="corpus-qa", messages=messages, max_tokens=40, stream=stream
    )


# ---- the tests, in order ---------------------------------------------------------------------
def test_two_replicas_indexing_at_start_up_index_once(cluster):
    state = index_state(cluster["db"])
    assert set(state["files"]) == {f.name for f in cluster["corpus"].iterdir()}
    assert state["rows"] == state["distinct"] == sum(state["files"].values()) > 0
    for r in (cluster["a"], cluster["b"]):
        assert httpx.get(f"{r.url}/health/live").json() == {"status": "alive"}


def test_ingesting_at_both_replicas_at_once_loses_and_duplicates_nothing(cluster):
    teams = list(TEAMS)
    halves = {"a": teams[:4], "b": teams[4:]}

    def upload(name: str) -> dict:
        files = [("file", (f"{t}.md", team_doc(t), "text/markdown")) for t in halves[name]]
        r = httpx.post(f"{cluster[name].url}/v1/ingest", files=files, timeout=ANSWER_S)
        assert r.status_code == 200, r.text
        return r.json()

    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(upload, halves))
    assert [sorted(r["files"]) for r in reports] == [
        sorted(f"{t}.md" for t in halves[n]) for n in halves
    ]
    state = index_state(cluster["db"])
    assert {f"{t}.md" for t in teams} <= set(state["files"])
    assert state["rows"] == state["distinct"] == sum(state["files"].values())
    assert all((cluster["corpus"] / f"{t}.md").is_file() for t in teams)  # one shared folder


def test_ingested_through_a_answered_through_b(cluster):
    r = ask(cluster["b"], "falcon")  # falcon.md went in through A
    text = r.choices[0].message.content
    assert "marigold" in text.lower(), text
    assert r.model_extra["sources"][0]["file"] == "falcon.md"


def test_eight_concurrent_streams_over_both_replicas_complete_uncrossed(cluster):
    replicas = [cluster["a"], cluster["b"]]
    cluster["streamed"] = {}  # team -> (replica, completion id), rated in a later test

    def converse(i_team: tuple[int, str]) -> tuple[str, str, list, str | None]:
        i, team = i_team
        text, sources, finish = "", [], None
        for chunk in ask(replicas[i % 2], team, stream=True):
            cluster["streamed"][team] = (replicas[i % 2].name, chunk.id)
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
                finish = chunk.choices[0].finish_reason or finish
            sources = (chunk.model_extra or {}).get("sources") or sources
        return team, text, sources, finish

    statuses: list[int] = []  # readiness while the model server is busy: never 503
    done = threading.Event()

    def poll() -> None:
        while not done.wait(0.5):
            statuses.extend(r.health().status_code for r in replicas)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(converse, enumerate(TEAMS)))
    finally:
        done.set()
        poller.join(30)
    assert statuses and set(statuses) == {200}, statuses
    for team, text, sources, finish in results:
        assert finish == "stop", (team, text)
        assert TEAMS[team] in text.lower(), (team, text)
        others = [w for t, w in TEAMS.items() if t != team and w in text.lower()]
        assert not others, (team, text)
        assert sources and sources[0]["file"] == f"{team}.md", (team, sources)


def test_browser_chat_through_a_sticky_round_robin_proxy(cluster):
    """Gradio keeps a session's queue in one process: behind a balancer the chat needs
    sticky sessions. A round-robin proxy that pins a client by cookie carries the chat."""
    from gradio_client import Client

    with sticky_proxy([cluster["a"].url, cluster["b"].url]) as (url, seen):
        clients = [Client(url, verbose=False) for _ in range(2)]
        answers = [c.predict(message=question("otter"), api_name="/chat") for c in clients]
    for answer, sources, _status in answers:
        assert "juniper" in answer.lower(), answer
        assert "otter.md" in sources
    assert {index for _new, index in seen} == {0, 1}, seen  # the clients were spread
    assert sum(new for new, _index in seen) <= 4, seen  # then each kept to its replica


def test_feedback_on_an_answer_of_a_rated_through_b(cluster):
    replica, cid = cluster["streamed"]["badger"]  # streamed through A in the test above
    assert replica == "a"
    rated = httpx.post(
        f"{cluster['b'].url}/v1/feedback",
        json={"id": cid, "verdict": "down", "correction": "Saffron."},
        timeout=30,
    )
    assert rated.status_code == 200, rated.text
    assert rated.json()["question"] == question("badger")
    engine = sa.create_engine(cluster["db"])
    try:
        with engine.connect() as conn:
            row = conn.execute(
                sa.text(f"select verdict from {TABLE}_feedback where id = :i"), {"i": cid}
            ).one()
    finally:
        engine.dispose()
    assert row.verdict == "down"


def test_replica_killed_mid_stream_b_keeps_serving(cluster):
    a, b = cluster["a"], cluster["b"]
    stream = ask(a, "lynx", stream=True)
    first = next(iter(stream))  # the stream has begun
    assert first.choices[0].delta.role == "assistant"
    os.kill(a.proc.pid, signal.SIGKILL)
    with pytest.raises((openai.APIError, httpx.TransportError)):
        for _ in stream:
            pass
    assert a.proc.wait(10) == -signal.SIGKILL
    assert b.health().status_code == 200
    retry = ask(b, "lynx")  # the client retries the same conversation through B
    assert "lantern" in retry.choices[0].message.content.lower()


def test_database_gone_is_503_with_reason_and_recovers(cluster):
    b, gate = cluster["b"], cluster["gate"]
    gate.cut()
    try:
        b.wait_health(503, within=30, error="the database is unavailable")
        assert httpx.get(f"{b.url}/health/live").status_code == 200  # alive: no restart wanted
        with pytest.raises(openai.APIStatusError) as err:
            ask(b, "walrus")
        assert err.value.status_code == 503
        assert err.value.body["type"] == "database_unavailable"
        assert err.value.body["message"] == "the database is unavailable"
    finally:
        gate.open()
    b.wait_health(200, within=30)
    assert "harbor" in ask(b, "walrus").choices[0].message.content.lower()
    assert "PostgreSQL at" in b.log.read_text(errors="replace")  # the operator's line


def test_model_server_gone_is_503_and_recovers(cluster):
    b, model = cluster["b"], cluster["model"]
    model.stop()
    try:
        body = b.wait_health(503, within=30)
        assert body["error"].startswith("the model server is unavailable"), body
        with pytest.raises(openai.APIStatusError) as err:
            ask(b, "puffin")
        assert err.value.status_code == 503
        assert err.value.body["type"] == "model_unavailable"
    finally:
        model.start()
    b.wait_health(200, within=30)
    assert "meadow" in ask(b, "puffin").choices[0].message.content.lower()


# ---- a round-robin reverse proxy with sticky sessions --------------------------------------------
COOKIE = "qa_replica"
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}


class sticky_proxy:  # noqa: N801 - used as a context manager, like open()
    """A reverse proxy that sends each new client to the next backend in turn and pins it
    there with a cookie (what nginx's `sticky cookie`, Caddy's `lb_policy cookie` or a
    Kubernetes session affinity do). Yields (url, [(came without the cookie, backend)])."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = [b.removeprefix("http://") for b in backends]
        self.seen: list[tuple[bool, int]] = []  # (came without the cookie, backend)
        self.turn = 0
        self.lock = threading.Lock()

    def __enter__(self) -> tuple[str, list[tuple[bool, int]]]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # one request per connection; bodies end at close

            def log_message(self, *args) -> None:
                pass

            def _forward(self) -> None:
                cookies = dict(
                    c.strip().split("=", 1)
                    for c in (self.headers.get("Cookie") or "").split(";")
                    if "=" in c
                )
                pinned = cookies.get(COOKIE)
                with proxy.lock:
                    new = pinned not in ("0", "1")
                    if new:
                        pinned = str(proxy.turn % 2)
                        proxy.turn += 1
                    index = int(pinned)
                    proxy.seen.append((new, index))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                host, port = proxy.backends[index].split(":")
                upstream = HTTPConnection(host, int(port), timeout=ANSWER_S)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
                upstream.request(self.command, self.path, body=body, headers=headers)
                resp = upstream.getresponse()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in HOP and k.lower() != "content-length":
                        self.send_header(k, v)
                if new:
                    self.send_header("Set-Cookie", f"{COOKIE}={pinned}; Path=/; HttpOnly")
                self.send_header("Connection", "close")
                self.end_headers()
                while data := resp.read1(65536):
                    self.wfile.write(data)
                    self.wfile.flush()
                upstream.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_port}", self.seen

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
