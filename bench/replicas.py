"""Past one machine, measured: answers/s and latency against concurrent users for one replica
with the embedded model, replicas sharing one llama.cpp model server, and what "parallel slots"
become with llama-cpp-python's server. Loopback only; writes bench/results_replicas.md.

    python bench/replicas.py [--users 1,4,16] [--threads 2]

Every setup serves the same index in PostgreSQL (a database of its own on the scripts/postgres
server, dropped at the end) and eight small documents with one code word each; user i asks
about team i % 8, and an answer counts as right when it names that team's code word. Latency
is per answer, request to the stream's end, waiting included. Model: the 0.5B preset.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import sqlalchemy as sa
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import qa  # noqa: E402
from qa.models.weights import ensure_model  # noqa: E402
from qa.text import percentile  # noqa: E402

OUT = REPO / "bench" / "results_replicas.md"
PG_URL = os.environ.get("QA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:55433/corpus_qa")
PRESET = "qwen2.5-coder-0.5b"
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
MAX_TOKENS = 64


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(url: str, proc: subprocess.Popen, log: Path, within: float = 300) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            if httpx.get(url, timeout=3).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{url} did not come up:\n{log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.3)


class Procs:
    """The processes of one setup, stopped together."""

    def __init__(self, tmp: Path) -> None:
        self.tmp, self.procs = tmp, []

    def model_server(self, threads: int, interrupt: bool = False) -> str:
        port, log = free_port(), self.tmp / f"llama-{len(self.procs)}.log"
        cmd = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(ensure_model(qa.load_settings().llm.models_dir, PRESET)),
            "--model_alias",
            "qwen-local",
            "--port",
            str(port),
            "--n_ctx",
            "4096",
            "--n_threads",
            str(threads),
            "--n_threads_batch",
            str(threads),
            "--interrupt_requests",
            str(interrupt),
        ]
        proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT)
        self.procs.append(proc)
        wait(f"http://127.0.0.1:{port}/v1/models", proc, log)
        return f"http://127.0.0.1:{port}/v1"

    def replica(self, env: dict[str, str]) -> str:
        port, log = free_port(), self.tmp / f"qa-{len(self.procs)}.log"
        data = self.tmp / f"data-{len(self.procs)}"
        proc = subprocess.Popen(
            [sys.executable, "-m", "qa.cli", "serve", "--port", str(port), "--no-ui"],
            env={**env, "QA_STORE__DATA_DIR": str(data)},
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        wait(f"http://127.0.0.1:{port}/health", proc, log)
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


def ask(base: str, team: str) -> tuple[float, bool, bool]:
    """(seconds, complete, right) of one streamed answer."""
    client = openai.OpenAI(base_url=f"{base}/v1", api_key="x", max_retries=0, timeout=600)
    t0 = time.monotonic()
    text, finish = "", None
    try:
        for chunk in client.chat.completions.create(
            model="corpus-qa",
            messages=[{"role": "user", "content": f"What is the code word of the {team} team?"}],
            stream=True,
            max_tokens=MAX_TOKENS,
        ):
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
                finish = chunk.choices[0].finish_reason or finish
    except openai.APIError:
        return time.monotonic() - t0, False, False
    return time.monotonic() - t0, finish == "stop", TEAMS[team] in text.lower()


def run_users(bases: list[str], users: int, per_user: int) -> dict:
    teams = list(TEAMS)
    results: list[tuple[float, bool, bool]] = []
    lock = threading.Lock()

    def user(i: int) -> None:
        for k in range(per_user):
            r = ask(bases[i % len(bases)], teams[(i + k) % len(teams)])
            with lock:
                results.append(r)

    t0 = time.monotonic()
    with ThreadPoolExecutor(users) as pool:
        list(pool.map(user, range(users)))
    wall = time.monotonic() - t0
    secs = [r[0] for r in results]
    return {
        "users": users,
        "answers": len(results),
        "complete": sum(r[1] for r in results),
        "right": sum(r[2] for r in results),
        "wall": wall,
        "rate": len(results) / wall,
        "p50": percentile(secs, 50),
        "p95": percentile(secs, 95),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", default="1,4,16")
    # threads per model (1: llama.cpp with 2 threads collapses when other work shares 2 cores)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    users = [int(u) for u in a.users.split(",")]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stopped: still drop the database
    cores = a.threads
    tmp = Path(tempfile.mkdtemp(prefix="qa-replicas-bench-"))
    corpus = tmp / "corpus"
    corpus.mkdir()
    for team, word in TEAMS.items():
        (corpus / f"{team}.md").write_text(
            f"# The {team.title()} team\n\nThe {team.title()} team meets on Tuesdays. "
            f"The code word of the {team.title()} team is {word.title()}.\n"
        )
    db = f"qa_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(
        make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f"create database {db}"))
    url = make_url(PG_URL).set(database=db).render_as_string(hide_password=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QA_", "OPENAI_"))}
    env.update(
        QA_CORPUS_DIR=str(corpus),
        QA_STORE__MODE="postgres",
        QA_STORE__POSTGRES_URL=url,
        QA_LLM__MAX_TOKENS=str(MAX_TOKENS),
        QA_LLM__TIMEOUT="600",
        QA_SERVER__REQUEST_TIMEOUT="900",
        QA_SERVER__QUEUE_SIZE="64",
        QA_EMBEDDING__THREADS="1",
    )
    remote = {"QA_LLM__MODE": "openai_like", "QA_LLM__MODEL": "qwen-local"}

    def embedded(p: Procs) -> list[str]:
        local = {"QA_LLM__MODE": "local", "QA_LLM__MODEL": PRESET, "QA_LLM__THREADS": str(cores)}
        return [p.replica({**env, **local})]

    def shared(replicas: int, interrupt: bool = False, threads: int = cores):
        def setup(p: Procs) -> list[str]:
            base = p.model_server(threads, interrupt)
            return [
                p.replica({**env, **remote, "QA_OPENAI__API_BASE": base}) for _ in range(replicas)
            ]

        return setup

    def split(p: Procs) -> list[str]:
        bases = [p.model_server(cores) for _ in range(2)]
        return [p.replica({**env, **remote, "QA_OPENAI__API_BASE": b}) for b in bases]

    setups = [
        ("one replica, embedded model", threads_of(cores), embedded, users),
        ("one replica, one model server (1 slot)", threads_of(cores), shared(1), users),
        (
            "one replica, one model server (1 slot)",
            threads_of(2 * cores),
            shared(1, threads=2 * cores),
            [4],
        ),
        ("two replicas sharing one model server (1 slot)", threads_of(cores), shared(2), users),
        (
            "two replicas, two model servers (the 2 slots llama-cpp-python lacks)",
            f"2 x {threads_of(cores)}",
            split,
            users,
        ),
        (
            "two replicas sharing one model server, interrupt_requests left on (its default)",
            threads_of(cores),
            shared(2, interrupt=True),
            [u for u in users if u > 1][:1],
        ),
    ]
    rows = []
    load0 = os.getloadavg()[0]
    try:
        for name, threads, setup, user_counts in setups:
            procs = Procs(tmp)
            try:
                bases = setup(procs)
                ask(bases[0], "falcon")  # warm: model loaded, prompt prefix cached
                for u in user_counts:
                    r = run_users(bases, u, per_user=2 if u == 1 else 1)
                    rows.append({"setup": name, "threads": threads, **r})
                    print(rows[-1], flush=True)
                    write(rows, load0, os.getloadavg()[0], cores)  # partial results survive
            finally:
                procs.stop()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"drop database if exists {db} with (force)"))
        shutil.rmtree(tmp, ignore_errors=True)


def write(rows: list[dict], load0: float, load1: float, cores: int) -> None:
    lines = [
        "# Past one machine: replicas and model servers (bench/replicas.py)",
        "",
        f"Loopback, {os.cpu_count()} cores, Qwen2.5-Coder-0.5B-Instruct Q4_K_M, max_tokens "
        f"{MAX_TOKENS}, llama-cpp-python {_llama_version()} server; index in PostgreSQL. Each "
        "user asks streamed questions (1 user: 2 one after the other, more users: 1 each, all at "
        "once); latency is per answer, request to the end of the stream, waiting included; "
        "right = the answer names the asked team's code word. "
        f"Load average at start {load0:.1f}, at end {load1:.1f} (other work shared the cores).",
        "",
        "| setup | model threads | users | answers | complete | right | wall s | answers/s "
        "| p50 s | p95 s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['setup']} | {r['threads']} | {r['users']} | {r['answers']} | {r['complete']} "
            f"| {r['right']} | {r['wall']:.1f} | {r['rate']:.2f} | {r['p50']:.2f} "
            f"| {r['p95']:.2f} |"
        )
    kept = OUT.read_text().partition("\n## Reading")[2] if OUT.exists() else ""
    reading = "\n## Reading" + kept if kept else ""  # written by hand from a run: kept
    OUT.write_text("\n".join(lines) + "\n" + reading)
    print(f"wrote {OUT}")


def threads_of(n: int) -> str:
    return f"{n} thread" + ("s" if n > 1 else "")


def _llama_version() -> str:
    import llama_cpp

    return llama_cpp.__version__


if __name__ == "__main__":
    main()
