"""Load and fault benchmark of the HTTP API (`qa serve`), on 127.0.0.1 only.

    python bench/load.py [--modes embedded,stub] [--conversations 16] [--stub-seconds 20]

For each mode it starts `qa serve` as a subprocess over a temporary copy of corpus/ plus one
small fact file per conversation, then runs N concurrent streamed conversations (a question and
a follow-up) through raw HTTP/SSE, and checks every answer:
- complete: SSE well formed, a final chunk with finish_reason "stop", then [DONE];
- its own: the top source is the conversation's own fact file; the answer names its own fact
  (embedded) or carries exactly its own `ref-N` tag (stub), never another conversation's;
- errors: only 503s with a JSON body and Retry-After (retried), nothing else.

Modes: `embedded` = the local Qwen GGUF + ONNX embeddings (one conversation per client);
`stub` = `qa.server.stub_llm`, a fast OpenAI-compatible server on loopback, so the figures are
corpus-qa's own overhead (retrieval with the real ONNX embeddings, HTTP, SSE, queue); clients
loop for `--stub-seconds`. The stub run ends with the fault: the upstream is SIGKILLed while
streams are in flight; every client must get a clean error event, the server must stay up and
answer again once the upstream is back. Results go to bench/results_load.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from qa.text import percentile  # noqa: E402

OUT = REPO / "bench" / "results_load.md"

# One invented place per conversation: retrieval must find its own file, the answer its own fact.
PLACES = [
    ("Varkona", "Ilsa Brandt", "1873"),
    ("Quelmora", "Tomas Ederle", "1881"),
    ("Brisselt", "Anouk Varga", "1894"),
    ("Oskaveen", "Pavel Ruzek", "1902"),
    ("Deltrano", "Mira Solheim", "1911"),
    ("Harnwick", "Lucia Ferrante", "1925"),
    ("Zembrola", "Jonas Albrecht", "1932"),
    ("Kittlemere", "Sanna Virtanen", "1947"),
    ("Palvoria", "Dario Montes", "1953"),
    ("Trennick", "Helga Sorensen", "1968"),
    ("Ulvastra", "Ravi Menon", "1974"),
    ("Grendholm", "Clara Whitfield", "1986"),
    ("Norvalis", "Emil Kovacs", "1991"),
    ("Serabeth", "Yusuf Demir", "2003"),
    ("Lanquist", "Ingrid Holm", "2012"),
    ("Mordavia", "Felix Okafor", "2019"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_corpus(root: Path, n: int) -> Path:
    corpus = root / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    for place, keeper, year in PLACES[:n]:
        (corpus / f"lighthouse_{place.lower()}.md").write_text(
            f"# The {place} lighthouse\n\nThe {place} lighthouse stands on a rocky cape. "
            f"The keeper of the {place} lighthouse is {keeper}. "
            f"The {place} lighthouse was built in {year}.\n"
        )
    return corpus


def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, cwd=REPO)


def wait_http(url: str, proc: subprocess.Popen, seconds: float, want: int = 200) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == want:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"{url} not ready after {seconds:g} s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


# ---- one streamed request, checked -----------------------------------------------------------
@dataclass
class Result:
    ok: bool
    text: str = ""
    sources: list = field(default_factory=list)
    seconds: float = 0.0
    ttft: float | None = None
    busy: int = 0  # 503s answered before this request got in
    error: str = ""  # a well-formed error event or status, or a protocol violation


async def stream_once(http: httpx.AsyncClient, url: str, messages: list[dict]) -> Result:
    busy = 0
    while True:
        t0 = time.perf_counter()
        async with http.stream(
            "POST", url, json={"model": "corpus-qa", "messages": messages, "stream": True}
        ) as r:
            if r.status_code == 503:
                raw = await r.aread()
                body = json.loads(raw)
                if body["error"]["type"] != "server_busy" or not r.headers.get("retry-after"):
                    return Result(False, error=f"HTTP 503: {raw[:200]!r}", busy=busy)
                busy += 1
                await asyncio.sleep(min(int(r.headers["retry-after"]), 2))
                continue
            if r.status_code != 200:
                body = await r.aread()
                return Result(False, error=f"HTTP {r.status_code}: {body[:200]!r}", busy=busy)
            text, ttft, final, done = "", None, None, False
            async for line in r.aiter_lines():
                if not line:
                    continue
                if not line.startswith("data: "):
                    return Result(False, error=f"bad SSE line {line[:80]!r}", busy=busy)
                data = line[6:]
                if data == "[DONE]":
                    done = True
                    break
                obj = json.loads(data)
                if "error" in obj:
                    return Result(False, text=text, error="event: " + obj["error"]["message"])
                assert obj["object"] == "chat.completion.chunk", obj
                choice = obj["choices"][0]
                piece = choice["delta"].get("content") or ""
                if piece and ttft is None:
                    ttft = time.perf_counter() - t0
                text += piece
                if choice["finish_reason"]:
                    final = obj
            seconds = time.perf_counter() - t0
            if not done or final is None or final["choices"][0]["finish_reason"] != "stop":
                return Result(False, text=text, error="stream ended without stop + [DONE]")
            return Result(True, text, final.get("sources") or [], seconds, ttft, busy)


# ---- a load run ------------------------------------------------------------------------------
@dataclass
class Conversation:
    idx: int
    turns: list[Result] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def questions(i: int, stub: bool) -> tuple[str, str]:
    place = PLACES[i][0]
    tag = f" ref-{i}" if stub else ""
    if stub:  # the stub echoes the follow-up as the standalone question: keep it self-contained
        return (
            f"Who is the keeper of the {place} lighthouse?{tag}",
            f"When was the {place} lighthouse built?{tag}",
        )
    return f"Who is the keeper of the {place} lighthouse?", "When was it built?"


def check(conv: Conversation, turn: int, r: Result, stub: bool, n: int) -> None:
    place, keeper, year = PLACES[conv.idx]
    own = f"lighthouse_{place.lower()}.md"
    if not r.ok:
        conv.problems.append(f"turn {turn}: {r.error}")
        return
    if not r.sources or r.sources[0]["file"] != own:
        top = r.sources[0]["file"] if r.sources else None
        conv.problems.append(f"turn {turn}: top source {top}, expected {own}")
    others = [p for j, p in enumerate(PLACES[:n]) if j != conv.idx]
    if stub:
        whole = r.text.startswith(f"stub[ref-{conv.idx}] ") and " end." in r.text
        if not whole or "Caution" in r.text:
            conv.problems.append(f"turn {turn}: wrong or truncated stub answer {r.text[:60]!r}")
    else:
        fact = keeper.split()[-1] if turn == 0 else year
        if fact not in r.text:
            conv.problems.append(f"turn {turn}: fact {fact!r} missing from {r.text[:80]!r}")
        if any(o[1].split()[-1] in r.text or o[2] in r.text for o in others):
            conv.problems.append(f"turn {turn}: another conversation's fact in {r.text[:80]!r}")


async def run_load(base: str, n: int, seconds: float, stub: bool, budget: float) -> dict:
    url = f"{base}/v1/chat/completions"
    convs: list[Conversation] = []
    t_start = time.perf_counter()
    limits = httpx.Limits(max_connections=n * 2)
    async with httpx.AsyncClient(timeout=600, limits=limits) as http:

        async def client(i: int) -> None:
            while True:
                conv = Conversation(i)
                convs.append(conv)
                q1, q2 = questions(i, stub)
                history: list[dict] = []
                for turn, q in enumerate((q1, q2)):
                    msgs = history + [{"role": "user", "content": q}]
                    r = await stream_once(http, url, msgs)
                    conv.turns.append(r)
                    check(conv, turn, r, stub, n)
                    if not r.ok:
                        break
                    history = msgs + [{"role": "assistant", "content": r.text}]
                if time.perf_counter() - t_start >= seconds:
                    return

        tasks = [asyncio.create_task(client(i)) for i in range(n)]
        _, pending = await asyncio.wait(tasks, timeout=budget)
        for task in pending:  # hard bound: what is still queued or generating is cut off
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    wall = time.perf_counter() - t_start
    unfinished = n * 2 - sum(len(c.turns) for c in convs) if pending else 0
    turns = [t for c in convs for t in c.turns]
    good = [t for t in turns if t.ok]
    lat = sorted(t.seconds for t in good)
    ttft = sorted(t.ttft for t in good if t.ttft is not None)

    def pct(xs: list[float], q: float) -> float:
        """percentile(), as NaN where no answer completed (the table prints it as nan)."""
        v = percentile(xs, q)
        return float("nan") if v is None else v

    problems = [f"conv {c.idx}: {p}" for c in convs for p in c.problems]
    return {
        "conversations": len(convs),
        "answers": len(turns),
        "complete": len(good),
        "failed": len(turns) - len(good),
        "busy_503": sum(t.busy for t in turns),
        "wall_s": wall,
        "answers_per_s": len(good) / wall,
        "p50_s": pct(lat, 50),
        "p95_s": pct(lat, 95),
        "ttft_p50_s": pct(ttft, 50),
        "correct": sum(1 for c in convs if not c.problems and len(c.turns) == 2),
        "cut_off": max(0, unfinished) if not stub else len(pending),
        "problems": problems,
        "crossing": [p for p in problems if "another conversation" in p or "top source" in p],
    }


async def run_fault(base: str, stub: subprocess.Popen, restart) -> dict:
    """SIGKILL the upstream while 4 slow streams are in flight."""
    url = f"{base}/v1/chat/completions"
    async with httpx.AsyncClient(timeout=120) as http:
        msgs = [
            [{"role": "user", "content": f"Who keeps the Varkona lighthouse? ref-{i} slow-150"}]
            for i in range(4)
        ]
        tasks = [asyncio.create_task(stream_once(http, url, m)) for m in msgs]
        await asyncio.sleep(1.5)  # streams have started
        stub.kill()
        results = await asyncio.gather(*tasks)
        down = await http.post(url, json={"messages": msgs[0][:1]})
        health = await http.get(f"{base}/health")
        new_stub = restart()
        back = [
            await stream_once(http, url, [{"role": "user", "content": f"Varkona keeper? ref-{i}"}])
            for i in range(4)
        ]
    return {
        "in_flight": len(results),
        "clean_errors": sum(1 for r in results if not r.ok and r.error.startswith("event: ")),
        "error_example": next((r.error for r in results if not r.ok), ""),
        "down_status": down.status_code,
        "down_body": down.json().get("error", {}).get("type"),
        "health_after": health.status_code,
        "answered_after_restart": sum(1 for r in back if r.ok and " end." in r.text),
        "new_stub": new_stub,
    }


# ---- driver ----------------------------------------------------------------------------------
def serve(tmp: Path, corpus: Path, mode: str, api_base: str | None) -> tuple[str, subprocess.Popen]:
    port = free_port()
    env = {
        **os.environ,
        "QA_CORPUS_DIR": str(corpus),
        "QA_STORE__DATA_DIR": str(tmp / "data"),
        "QA_LLM__MODE": mode,
        "QA_EMBEDDING__MODE": "local",
        "QA_SERVER__QUEUE_SIZE": "16",
        "QA_SERVER__REQUEST_TIMEOUT": "600",
        "QA_SERVER__RETRY_AFTER": "1",
    }
    if api_base:
        env.update({"QA_OPENAI__API_BASE": api_base, "QA_LLM__MAX_RETRIES": "0"})
        env.update({"QA_LLM__TIMEOUT": "10", "QA_OPENAI__API_KEY": "stub"})
    cmd = [sys.executable, "-m", "qa.cli", "serve", "--port", str(port), "--no-ui"]
    proc = start(cmd + ["--log-level", "warning"], env, tmp / f"serve-{mode}.log")
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/health", proc, 600)
    return base, proc


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--modes", default="embedded,stub")
    p.add_argument("--conversations", type=int, default=16)
    p.add_argument("--stub-seconds", type=float, default=20.0)
    p.add_argument("--budget", type=float, default=150.0, help="hard bound per mode, seconds")
    p.add_argument("--out", type=Path, default=OUT)
    a = p.parse_args()
    n = min(a.conversations, len(PLACES))
    tmp = Path(tempfile.mkdtemp(prefix="qa-load-"))
    corpus = make_corpus(tmp, n)
    rows, fault, notes = [], None, []
    load0 = os.getloadavg()[0]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still stop the servers
    procs: list[subprocess.Popen] = []
    try:
        for mode in a.modes.split(","):
            stub_port = free_port()
            api_base = None
            if mode == "stub":
                stub_cmd = [sys.executable, "-m", "qa.server.stub_llm", "--port", str(stub_port)]
                stub = start(stub_cmd, dict(os.environ), tmp / "stub.log")
                procs.append(stub)
                wait_http(f"http://127.0.0.1:{stub_port}/v1/models", stub, 60)
                api_base = f"http://127.0.0.1:{stub_port}/v1"
            t0 = time.perf_counter()
            base, server = serve(
                tmp, corpus, "local" if mode == "embedded" else "openai_like", api_base
            )
            procs.append(server)
            ready = time.perf_counter() - t0
            print(f"[{mode}] ready in {ready:.1f} s; load test...", flush=True)
            seconds = 0.0 if mode == "embedded" else a.stub_seconds
            res = asyncio.run(run_load(base, n, seconds, mode == "stub", a.budget))
            res.update(mode=mode, ready_s=ready)
            rows.append(res)
            print(json.dumps({k: v for k, v in res.items() if k != "problems"}, default=str))
            if mode == "stub":

                def restart(cmd=stub_cmd, port=stub_port) -> bool:
                    new = start(cmd, dict(os.environ), tmp / "stub.log")
                    procs.append(new)
                    wait_http(f"http://127.0.0.1:{port}/v1/models", new, 60)
                    return True

                fault = asyncio.run(run_fault(base, stub, restart))
                print("[fault]", json.dumps(fault), flush=True)
            stop(server)
    finally:
        for proc in procs:
            stop(proc)
        notes.append(f"load average at start {load0:.1f}, at end {os.getloadavg()[0]:.1f}")
    write(a.out, rows, fault, n, notes)
    shutil.rmtree(tmp, ignore_errors=True)
    bad = any(r["failed"] or r["crossing"] for r in rows) or (
        fault is not None
        and (fault["clean_errors"] != fault["in_flight"] or fault["answered_after_restart"] != 4)
    )
    return 1 if bad else 0


def write(out: Path, rows: list[dict], fault: dict | None, n: int, notes: list[str]) -> None:
    lines = [
        "# HTTP API under load (bench/load.py)",
        "",
        f"{n} concurrent streamed conversations (question + follow-up) through `qa serve` on "
        "127.0.0.1, raw HTTP/SSE clients; `embedded` = local Qwen2.5-Coder-0.5B-Instruct GGUF "
        "+ ONNX MiniLM "
        "(one generation slot, 16 waiting), one conversation per client; `stub` = "
        "`qa.server.stub_llm` upstream (4 slots) with the real ONNX retrieval, clients looping. "
        "Latency is per answer, request to [DONE], queue wait included. "
        + "; ".join(notes)
        + " (other work shared the 2 cores).",
        "",
        "| mode | conversations | answers complete | failed | 503 (retried) | wall s "
        "| answers/s | p50 s | p95 s | TTFT p50 s | conversations correct | crossed "
        "| cut off at budget |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['mode']} | {r['conversations']} | {r['complete']}/{r['answers']} "
            f"| {r['failed']} | {r['busy_503']} | {r['wall_s']:.1f} | {r['answers_per_s']:.2f} "
            f"| {r['p50_s']:.2f} | {r['p95_s']:.2f} | {r['ttft_p50_s']:.2f} "
            f"| {r['correct']}/{r['conversations']} | {len(r['crossing'])} | {r['cut_off']} |"
        )
    for r in rows:
        if r["problems"]:
            lines += ["", f"Problems ({r['mode']}), first 10:", ""]
            lines += [f"- {p}" for p in r["problems"][:10]]
    if fault:
        lines += [
            "",
            "## Fault: upstream OpenAI-compatible server SIGKILLed mid-stream",
            "",
            f"- streams in flight: {fault['in_flight']}; ended with a clean SSE error event: "
            f"{fault['clean_errors']} (e.g. `{fault['error_example']}`)",
            f"- a request while the upstream is down: HTTP {fault['down_status']} "
            f"`{fault['down_body']}`; /health: {fault['health_after']}",
            f"- after restarting the upstream, same corpus-qa process: "
            f"{fault['answered_after_restart']}/4 answered completely",
        ]
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
