"""Warm answer latency p50/p95 through each door, one model preset per run (issue 10).

    PYTHONPATH=. .venv/bin/python bench/doors.py --model qwen2.5-coder-0.5b [--questions 8]
        [--doors python,cli,http,browser] [--out bench/results_doors.md]

The same N questions (the first N answerable, standalone items of tests/questions/article.jsonl
with split "test") go through each door in turn, sequentially:

- python:  `qa.ask(q)` in this process, after one uncounted warm-up question;
- cli:     `qa ask "q" --json`, a fresh process per question, so every figure includes the
           interpreter start, imports, index and model load: it is reported as such, and its p50
           again as the cold-start figure;
- http:    `qa serve --host 127.0.0.1 --no-ui` started as a subprocess, /health awaited, one
           uncounted warm-up, then the `openai` client non-streamed (p50/p95 of the whole
           answer) and streamed (p50/p95 of the time to the first content chunk);
- browser: `python app.py --host 127.0.0.1` started as a subprocess, its page awaited, one
           uncounted warm-up, then `gradio_client.Client(url)` on the "/chat" endpoint.

Only one process holds a model at a time: the in-process model is dropped after the python
door and each server is stopped before the next door starts (two llama.cpp processes on the
same cores slow each other down badly). The preset is passed to every door as QA_LLM__MODEL and
one private, ingested-once data dir (QA_STORE__DATA_DIR) serves all doors of a run. The load
average is recorded at the start and end of the run and of each door: other work on the machine
shows up in these figures. A door that fails gets one line and the run goes on with the next.

Results: a markdown section appended to --out (written when absent) and the run's JSON
appended to the list in the .json beside it; the table is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gc
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from qa.text import percentile  # noqa: E402

DOORS = ("python", "cli", "http", "browser")
READY_TIMEOUT = 600.0  # seconds a server may take to load the index and the model


class DoorError(Exception):
    """A door could not be measured; its message is the one line shown for it."""


# ---- inputs and small helpers -----------------------------------------------------------------
def article_questions(n: int) -> list[dict]:
    """The first n answerable items of the article set's test part that stand alone (follow-up
    turns need their conversation, so they are skipped)."""
    rows = [json.loads(line) for line in (ROOT / "tests/questions/article.jsonl").open()]
    keep = [
        r
        for r in rows
        if r.get("split") == "test"
        and r.get("answerable", True)
        and r.get("kind") != "unanswerable"
        and not r.get("follow_up_of")
    ]
    return keep[:n]


def clip(text: Any, limit: int = 200) -> str:
    """Any text as one line of at most `limit` characters (for the results table)."""
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def load1() -> float:
    return os.getloadavg()[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def summary(seconds: list[float]) -> dict:
    return {"p50": percentile(seconds, 50), "p95": percentile(seconds, 95), "n": len(seconds)}


def door_env(preset: str, data_dir: Path) -> dict[str, str]:
    """Environment of every door: the preset and data dir as settings, offline switches, and
    this checkout's `qa` first on the path."""
    env = dict(os.environ)
    env.update(
        QA_LLM__MODEL=preset,
        QA_STORE__DATA_DIR=str(data_dir),
        HF_HUB_OFFLINE="1",
        GRADIO_ANALYTICS_ENABLED="False",
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
    )
    return env


# ---- server subprocesses ----------------------------------------------------------------------
@contextlib.contextmanager
def server(argv: list[str], env: dict[str, str], ready_url: str, log: Path) -> Iterator[float]:
    """Start a server in its own process group, yield once `ready_url` answers 200 (the
    seconds that took), and stop it (and anything it started) on the way out."""
    t0 = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = t0 + READY_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise DoorError(f"server exited with {proc.returncode}: {log_tail(log)}")
            try:
                with urllib.request.urlopen(ready_url, timeout=5) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass  # not listening yet, or 503 while warming up
            if time.perf_counter() > deadline:
                raise DoorError(f"not ready after {READY_TIMEOUT:.0f} s: {log_tail(log)}")
            time.sleep(0.5)
        yield time.perf_counter() - t0
    finally:
        stop(proc)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def log_tail(log: Path) -> str:
    try:
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "(no log)"
    return clip(lines[-1]) if lines else "(no output)"


# ---- the doors ----------------------------------------------------------------------------------
def door_python(questions: list[str], warmup: str, ctx: dict) -> dict:
    import qa
    from qa import api
    from qa.models import factory as components

    s = qa.load_settings()  # QA_LLM__MODEL and QA_STORE__DATA_DIR come from the environment
    try:
        first, _ = timed(lambda: qa.ask(warmup, settings=s))  # loads the model; not counted
        seconds, answers = [], []
        for q in questions:
            sec, a = timed(lambda q=q: qa.ask(q, settings=s))
            seconds.append(sec)
            answers.append(a.text)
    finally:  # drop the model before any other door loads its own
        api._PIPES.clear()
        components._CACHE.clear()
        gc.collect()
    row = {"door": "python", **summary(seconds), "first_s": first, "answers": answers}
    row["notes"] = f"`qa.ask` in-process; first (uncounted) answer incl. model load {first:.1f} s"
    return row


def door_cli(questions: list[str], warmup: str, ctx: dict) -> dict:
    seconds, inner, answers = [], [], []
    for q in questions:
        argv = [sys.executable, "-m", "qa.cli", "ask", q, "--json"]
        sec, out = timed(
            lambda argv=argv: subprocess.run(
                argv, cwd=ROOT, env=ctx["env"], capture_output=True, text=True, timeout=600
            )
        )
        if out.returncode != 0:
            raise DoorError(f"`qa ask` exited with {out.returncode}: {clip(out.stderr)}")
        try:
            reply = json.loads(out.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise DoorError(f"`qa ask --json` printed no JSON: {clip(out.stdout)}") from None
        seconds.append(sec)
        inner.append(float(reply.get("seconds") or 0.0))
        answers.append(reply.get("answer", ""))
    row = {"door": "cli", **summary(seconds), "answers": answers, "inner": summary(inner)}
    row["notes"] = (
        "`qa ask --json`, a fresh process per question: includes interpreter start, imports, "
        f"index and model load (the answer itself, as the JSON reports it: p50 "
        f"{row['inner']['p50']:.2f} s)"
    )
    row["cold"] = {"door": "cli cold start", "p50": row["p50"], "p95": None, "n": row["n"]}
    row["cold"]["notes"] = "p50 of the cli row: every call is a cold start of a fresh process"
    return row


def door_http(questions: list[str], warmup: str, ctx: dict) -> dict:
    from openai import OpenAI

    port = free_port()
    argv = [sys.executable, "-m", "qa.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--no-ui", "--log-level", "warning"]
    base = f"http://127.0.0.1:{port}"
    with server(argv, ctx["env"], f"{base}/health", ctx["tmp"] / "serve.log") as ready_s:
        client = OpenAI(base_url=f"{base}/v1", api_key="unused", timeout=600, max_retries=0)
        model = client.models.list().data[0].id

        def ask(q: str) -> str:
            r = client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": q}]
            )
            return r.choices[0].message.content or ""

        def first_chunk(q: str) -> tuple[float, float, str]:
            t = time.perf_counter()
            first, text = None, ""
            stream = client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": q}], stream=True
            )
            for chunk in stream:
                delta = chunk.choices[0].delta.content if chunk.choices else None
                if delta:
                    first = first if first is not None else time.perf_counter() - t
                    text += delta
            total = time.perf_counter() - t
            if first is None:
                raise DoorError(f"stream for {q!r} carried no content")
            return first, total, text

        ask(warmup)  # the server loaded the model at start-up; this warms the first answer
        seconds, answers = [], []
        for q in questions:
            sec, text = timed(lambda q=q: ask(q))
            seconds.append(sec)
            answers.append(text)
        ttft, stream_total, streamed = [], [], []
        for q in questions:
            first, total, text = first_chunk(q)
            ttft.append(first)
            stream_total.append(total)
            streamed.append(text)
    row = {"door": "http", **summary(seconds), "answers": answers, "ready_s": ready_s}
    row["notes"] = (
        f"`qa serve --no-ui`, `openai` client, not streamed; server ready (/health 200) after "
        f"{ready_s:.1f} s"
    )
    row["stream"] = {"door": "http stream, first chunk", **summary(ttft)}
    row["stream"]["notes"] = (
        "same client, `stream=True`: time to the first content chunk (each sentence is held "
        "until it is checked, so a one-sentence answer arrives whole); whole streamed answer "
        f"p50 {percentile(stream_total, 50):.2f} s"
    )
    row["stream"]["total"] = summary(stream_total)
    row["stream"]["answers"] = streamed
    return row


def door_browser(questions: list[str], warmup: str, ctx: dict) -> dict:
    from gradio_client import Client

    port = free_port()
    argv = [sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}/"
    with server(argv, ctx["env"], url, ctx["tmp"] / "app.log") as ready_s:
        client = Client(url, verbose=False)

        def ask(q: str) -> str:
            # /chat keeps the conversation in a gr.State of the client's session: a new
            # session per question, so each one is asked alone as at the other doors.
            client.reset_session()
            # Client.predict(message=q, api_name="/chat") is submit(...).result(); the same
            # call with a timeout, so a stuck server fails this door instead of the run.
            out = client.submit(message=q, api_name="/chat").result(timeout=600)
            return out[0] if isinstance(out, list | tuple) else out

        ask(warmup)  # loads the index and the model; not counted
        seconds, answers = [], []
        for q in questions:
            sec, text = timed(lambda q=q: ask(q))
            seconds.append(sec)
            answers.append(text)
    row = {"door": "browser", **summary(seconds), "answers": answers, "ready_s": ready_s}
    row["notes"] = (
        f"`python app.py`, `gradio_client` predict on /chat (whole answer, a new session "
        f"per question); page served after "
        f"{ready_s:.1f} s"
    )
    return row


RUNNERS = {"python": door_python, "cli": door_cli, "http": door_http, "browser": door_browser}


# ---- report -------------------------------------------------------------------------------------
def fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:.2f}"


def table(rows: list[dict]) -> str:
    lines = ["| door | p50 s | p95 s | n | notes |", "|---|---|---|---|---|"]
    for r in rows:
        if "failed" in r:
            lines.append(f"| {r['door']} | – | – | 0 | failed: {r['failed'].replace('|', '/')} |")
            continue
        for row in (r, r.get("stream"), r.get("cold")):
            if row:
                lines.append(
                    f"| {row['door']} | {fmt(row['p50'])} | {fmt(row['p95'])} | {row['n']} | "
                    f"{row['notes']}; load {r['load'][0]:.2f} → {r['load'][1]:.2f} |"
                )
    return "\n".join(lines)


def report(run: dict) -> str:
    return "\n".join(
        [
            f"## {run['preset']}, {run['n_questions']} questions, {run['date']}",
            "",
            f"`{run['command']}`",
            "",
            f"Model: {run['llm']}. {run['cpus']} CPU cores. Load average (1 min) at start "
            f"{run['load_start']:.2f}, at end {run['load_end']:.2f} (per door in the notes, "
            "start → end). Questions: the first "
            f"{run['n_questions']} answerable, standalone test items of "
            "`tests/questions/article.jsonl`; warm-up: the next one, uncounted. Percentiles "
            "interpolated linearly (qa.text.percentile): with few questions p95 is near the "
            "slowest one.",
            "",
            table(run["doors"]),
            "",
        ]
    )


def save(run: dict, out: Path) -> None:
    head = (
        "# Latency per door\n\nWritten by `bench/doors.py` (see its docstring); one section "
        "per run, newest last. Figures are seconds of wall time per question as the client "
        "sees it.\n\n"
    )
    old = out.read_text() if out.exists() else head
    out.write_text(old.rstrip("\n") + "\n\n" + report(run))
    js = out.with_suffix(".json")
    runs = json.loads(js.read_text()) if js.exists() else []
    runs.append(run)
    js.write_text(json.dumps(runs, indent=1, ensure_ascii=False) + "\n")


def command_line() -> str:
    pp = os.environ.get("PYTHONPATH")
    prefix = f"PYTHONPATH={shlex.quote(pp)} " if pp else ""
    return prefix + shlex.join([sys.executable, *sys.argv])


# ---- main ---------------------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="llm.model preset, e.g. qwen2.5-coder-0.5b")
    ap.add_argument("--questions", type=int, default=8)
    ap.add_argument("--doors", default=",".join(DOORS), help="comma-separated, in order")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results_doors.md"))
    a = ap.parse_args()
    doors = [d.strip() for d in a.doors.split(",") if d.strip()]
    if unknown := [d for d in doors if d not in RUNNERS]:
        ap.error(f"unknown door(s) {', '.join(unknown)}; choose from {', '.join(DOORS)}")
    *items, warm = article_questions(a.questions + 1)
    if len(items) < a.questions:
        ap.error(f"only {len(items)} answerable test questions (one more is the warm-up)")
    questions = [r["question"] for r in items]

    run: dict[str, Any] = {
        "command": command_line(),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "preset": a.model,
        "n_questions": a.questions,
        "questions": questions,
        "warmup": warm["question"],
        "cpus": os.cpu_count(),
        "load_start": load1(),
        "doors": [],
    }
    with tempfile.TemporaryDirectory(prefix="qa-doors-") as tmp:
        tmp_dir = Path(tmp)
        env = door_env(a.model, tmp_dir / "data")
        os.environ.update(env)  # the python door reads the same settings from the environment
        import qa
        from qa.models import weights

        try:
            s = qa.load_settings()
            run["llm"] = qa.describe(s)["llm"]
            weights.ensure_model(s.llm.models_dir, s.llm.model)  # joins parts on first use only
            qa.ingest(settings=s, progress=False)  # once, before any timing
        except Exception as exc:
            print(f"setup failed: {exc.__class__.__name__}: {clip(exc)}", file=sys.stderr)
            return 1
        ctx = {"env": env, "tmp": tmp_dir}
        for door in doors:
            before = load1()
            print(f"door {door}: {len(questions)} questions …", file=sys.stderr, flush=True)
            try:
                row = RUNNERS[door](questions, warm["question"], ctx)
            except Exception as exc:
                msg = f"{exc.__class__.__name__}: {clip(exc)}"
                if isinstance(exc, DoorError):
                    msg = clip(exc)
                print(f"door {door}: failed: {msg}", file=sys.stderr, flush=True)
                row = {"door": door, "failed": msg}
            row["load"] = [before, load1()]
            run["doors"].append(row)
    run["load_end"] = load1()
    save(run, Path(a.out))
    print(report(run))
    return 0


if __name__ == "__main__":
    sys.exit(main())
