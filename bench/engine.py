"""Engine benchmark: corpus-qa vs the plain llama-index default pipeline on the same models.

    .venv/bin/python bench/engine.py [--model PRESET] [--variant KEY=VALUE] [--questions N]
        [--users 1,4,16] [--copies N] [--out bench/results_engine.md]

Both pipelines use the same local embedding (MiniLM int8 ONNX) and LLM (--model, the llm.model
preset; default: the settings' default). The baseline is
`VectorStoreIndex.from_documents(SimpleDirectoryReader(corpus))` + `.as_query_engine()` with its
defaults. Cold starts and peak memory are measured in fresh processes; everything else in one
process, interleaved, so the ratios share the machine's noise. --variant adds a column: corpus-qa
with one setting changed (e.g. llm.prefix_cache=true), measured in the same loop, so an idea's
effect is a before/after ratio of one run. Prompt and completion tokens are the model's own
counts (llama.cpp's usage of every non-streamed call an answer makes); generation tokens/s is
streamed chunks after the first over the time from the first to the last. Users: N threads
ask at once (each one question), answers/s = N / wall time of the batch.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.text import percentile  # noqa: E402

USERS = (1, 4, 16)

QUESTIONS = [
    "Where was the sixth CELAC summit held?",
    "Who delivered a video speech to the summit?",
    "In what year was the China-CELAC Forum established?",
    "What does China want to build together with Latin America?",
    "How many years ago did CELAC come into being?",
    "Which country holds the rotating presidency of CELAC?",
    # more, so that 16 users at once ask 16 different questions (a repeated prompt is all
    # reused by llm.prefix_cache, which would flatter it)
    "When was the China-Latin America Community Forum announced?",
    "What role has CELAC played in the region over the past decade?",
    "What kind of cooperation did China and Latin America carry out against the epidemic?",
    "What will China continue to provide to Latin American and Caribbean countries?",
    "How does Xi describe the new era of China-Latin America relations?",
    "What has the China-Latin America Forum become?",
    "Who published the report of the speech?",
    "What does China support the Latin American Community in doing?",
    "What did the forum open up for China and Latin America?",
    "Where is China-Latin America friendship rooted, according to Xi?",
]

WORKER = r"""
import json, resource, sys, time
t0 = time.perf_counter()
mode, corpus, data, question = sys.argv[1:5]
if mode == "ours":
    import qa
    s = qa.load_settings(corpus_dir=corpus, store={"data_dir": data})
    text = qa.ask(question, settings=s).text
else:
    import qa  # same offline switches and model construction
    from llama_index.core import SimpleDirectoryReader, VectorStoreIndex
    pipe = qa.pipeline(qa.load_settings(corpus_dir=corpus, store={"data_dir": data}))
    docs = SimpleDirectoryReader(corpus).load_data()
    engine = VectorStoreIndex.from_documents(docs, embed_model=pipe.embed).as_query_engine(
        llm=pipe.llm)
    text = str(engine.query(question))
print(json.dumps({"seconds": time.perf_counter() - t0, "answer": text,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def cold(mode: str, corpus: Path, data: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", WORKER, mode, str(corpus), str(data), QUESTIONS[0]],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


class Counted:
    """Wraps one llama_cpp.Llama's create_chat_completion to record what each call cost: the
    model's own prompt/completion token counts (non-streamed calls) and the streamed chunks'
    times. Bench-only; the engine itself is untouched."""

    def __init__(self, llm) -> None:  # noqa: ANN001 - LocalLlamaLLM
        self.inner = llm._llama.create_chat_completion
        llm._llama.create_chat_completion = self
        self.prompt_tokens = 0
        self.rates: list[float] = []

    def __call__(self, *args, stream: bool = False, **kw):  # noqa: ANN002, ANN003, ANN204
        if not stream:
            out = self.inner(*args, **kw)
            self.prompt_tokens += out.get("usage", {}).get("prompt_tokens", 0)
            return out
        return self._stream(self.inner(*args, stream=True, **kw))

    def _stream(self, chunks):  # noqa: ANN001, ANN202
        times = []
        for chunk in chunks:
            if chunk["choices"][0]["delta"].get("content"):
                times.append(time.perf_counter())
            yield chunk
        if len(times) > 2:
            self.rates.append((len(times) - 1) / (times[-1] - times[0]))

    def take(self) -> int:
        n, self.prompt_tokens = self.prompt_tokens, 0
        return n


def users(ask, n: int) -> tuple[float, float]:  # noqa: ANN001
    """(answers/s, p95 seconds) with n threads asking at once, one question each."""
    start = threading.Barrier(n + 1)
    took: list[float] = []

    def one(i: int) -> None:
        start.wait()
        t = time.perf_counter()
        ask(QUESTIONS[i % len(QUESTIONS)])
        took.append(time.perf_counter() - t)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    t = time.perf_counter()
    start.wait()
    for th in threads:
        th.join()
    return n / (time.perf_counter() - t), percentile(took, 95)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", help="llm.model preset for both pipelines (default: settings')")
    ap.add_argument("--variant", help="KEY=VALUE: a third column, corpus-qa with this setting")
    ap.add_argument("--questions", type=int, default=6, help="distinct warm questions")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--users", default=",".join(map(str, USERS)), help="concurrent users")
    ap.add_argument("--copies", type=int, default=30, help="article copies for ingest speed")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results_engine.md"))
    a = ap.parse_args()
    if a.model:
        os.environ["QA_LLM__MODEL"] = a.model  # the cold workers read it too

    from llama_index.core import SimpleDirectoryReader, VectorStoreIndex
    from llama_index.core.schema import QueryBundle

    import qa

    tmp = Path(tempfile.mkdtemp(prefix="qa-bench-"))
    corpus = tmp / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    data = tmp / "data"
    rows: dict[str, tuple] = {}

    # cold start to first answer (fresh processes; ours with its persisted index)
    qa.ingest(
        settings=qa.load_settings(corpus_dir=corpus, store={"data_dir": data}), progress=False
    )
    c_ours, c_base = cold("ours", corpus, data), cold("baseline", corpus, data)
    rows["cold start to first answer (s)"] = (c_ours["seconds"], c_base["seconds"])
    rows["peak memory, cold process (MB)"] = (c_ours["peak_mb"], c_base["peak_mb"])

    s = qa.load_settings(corpus_dir=corpus, store={"data_dir": data})
    pipe = qa.pipeline(s)
    docs = SimpleDirectoryReader(str(corpus)).load_data()
    index = VectorStoreIndex.from_documents(docs, embed_model=pipe.embed)
    base_engine = index.as_query_engine(llm=pipe.llm)
    base_stream = index.as_query_engine(llm=pipe.llm, streaming=True)
    base_retriever = index.as_retriever()

    def ours(settings):  # noqa: ANN001, ANN202 - (ask, stream): answer, deltas iterator
        def stream(q: str):  # noqa: ANN202
            return iter(qa.stream_ask(q, settings=settings)[1])

        return lambda q: qa.ask(q, settings=settings), stream

    def base_stream_q(q: str):  # noqa: ANN202
        return iter(base_stream.query(q).response_gen)

    pipelines = {
        "corpus-qa": (*ours(s), pipe.retrieve, pipe.llm),
        "llama-index default": (
            base_engine.query,
            base_stream_q,
            lambda q: base_retriever.retrieve(QueryBundle(q)),
            pipe.llm,
        ),
    }
    if a.variant:
        key, value = a.variant.split("=", 1)
        section, name = key.split(".", 1)
        sv = qa.load_settings(
            corpus_dir=corpus, store={"data_dir": data}, **{section: {name: value}}
        )
        pv = qa.pipeline(sv)
        pipelines[f"corpus-qa, {a.variant}"] = (*ours(sv), pv.retrieve, pv.llm)
    by_llm: dict[int, Counted] = {}  # one wrapper per model: ours and the default share one
    for *_, llm in pipelines.values():
        if id(llm) not in by_llm:
            by_llm[id(llm)] = Counted(llm)
    counters = {n: by_llm[id(p[-1])] for n, p in pipelines.items()}
    names = list(pipelines)
    m: dict[str, dict[str, list[float]]] = {n: {} for n in names}
    qs = QUESTIONS[: a.questions] * a.rounds
    for i, q in enumerate(qs):
        for n in names:
            ask, stream, retrieve, _ = pipelines[n]
            got = m[n]
            c = counters[n]
            t = time.perf_counter()
            retrieve(q)
            got.setdefault("retrieve", []).append(time.perf_counter() - t)
            c.take()
            t = time.perf_counter()
            ask(q)
            got.setdefault("answer", []).append(time.perf_counter() - t)
            got.setdefault("prompt", []).append(c.take())
            seen = len(c.rates)
            t = time.perf_counter()
            # another question than the one just asked: a repeated prompt is all reused
            deltas = stream(qs[(i + len(qs) // 2) % len(qs)])
            next(deltas, None)
            got.setdefault("ttft", []).append(time.perf_counter() - t)
            list(deltas)
            got.setdefault("rate", []).extend(c.rates[seen:])  # the answer's stream
            c.take()
    levels = [int(x) for x in a.users.split(",") if x]
    for u in levels:
        for n in names:
            per_s, p95 = users(pipelines[n][0], u)
            m[n][f"users{u}"] = [per_s]
            m[n][f"users{u}p95"] = [p95]

    def row(label: str, key: str, p: int = 50, scale: float = 1.0) -> None:
        rows[label] = tuple(percentile(m[n].get(key) or [0.0], p) * scale for n in names)

    ms = 1000
    row("retrieval latency p50 (ms)", "retrieve", 50, ms)
    row("retrieval latency p95 (ms)", "retrieve", 95, ms)
    row("whole answer p50 (s)", "answer")
    row("whole answer p95 (s)", "answer", 95)
    row("time to first streamed token p50 (s)", "ttft")
    row("prompt tokens per answer p50", "prompt")
    row("generation tokens/s p50", "rate")
    for u in levels:
        row(f"answers/s, {u} users at once", f"users{u}")
        row(f"answer p95, {u} users at once (s)", f"users{u}p95")

    # ingest throughput on N copies of the article, against the raw embedding model
    big = tmp / "big"
    big.mkdir()
    text = next(corpus.iterdir()).read_text()
    for i in range(a.copies):
        (big / f"copy{i:03d}.txt").write_text(text.replace("18th", f"18th ({i})"))
    sb = qa.load_settings(corpus_dir=big, store={"data_dir": tmp / "bigdata"})
    t = time.perf_counter()
    rep = qa.ingest(settings=sb, progress=False)
    ingest_s = time.perf_counter() - t
    chunks = [r["text"] for r in qa.pipeline(sb).store.load().records]
    t = time.perf_counter()
    for i in range(0, len(chunks), 32):
        pipe.embed.embed(chunks[i : i + 32])
    raw_s = time.perf_counter() - t
    bdocs = SimpleDirectoryReader(str(big)).load_data()
    t = time.perf_counter()
    VectorStoreIndex.from_documents(bdocs, embed_model=pipe.embed)
    base_ingest_s = time.perf_counter() - t
    t = time.perf_counter()
    qa.ingest(settings=sb, progress=False)
    reingest_s = time.perf_counter() - t
    rows["ingest (chunks/s)"] = (rep.total_chunks / ingest_s, None)
    rows["raw embedding model (chunks/s)"] = (len(chunks) / raw_s, None)
    rows[f"index {a.copies} docs from scratch (s)"] = (ingest_s, base_ingest_s)
    rows["re-ingest unchanged corpus (s)"] = (reingest_s, base_ingest_s)
    model = s.llm.model

    lines = [
        f"## Engine: corpus-qa vs the plain llama-index default pipeline, {model}",
        "",
        f"`{' '.join(['python', *sys.argv])}` on {time.strftime('%Y-%m-%d %H:%M')}; same models "
        f"for both ({model}); {len(qs)} warm questions; ingest on {a.copies} copies of the "
        f"article ({rep.total_chunks} chunks); load average {os.getloadavg()[0]:.1f} at the end. "
        "Ratios: corpus-qa / llama-index default, and the variant / corpus-qa (the setting's "
        "effect); below 1 is faster or fewer, above 1 for rates is more.",
        "",
        "| measure | "
        + " | ".join(names)
        + " | ratio corpus-qa / default"
        + (" | ratio variant / corpus-qa |" if a.variant else " |"),
        "|---|" + "---|" * (len(names) + len(names) - 1),
    ]

    def fmt(v: float | None) -> str:
        return "-" if v is None else f"{v:.2f}"

    def ratio(x: float | None, y: float | None) -> str:
        return fmt(x / y) if x is not None and y else "-"

    for k, vals in rows.items():
        vals = tuple(vals) + (None,) * (len(names) - len(vals))
        ratios = [ratio(vals[0], vals[1])] + [ratio(v, vals[0]) for v in vals[2:]]
        lines.append(f"| {k} | " + " | ".join(map(fmt, vals)) + " | " + " | ".join(ratios) + " |")
    lines.append("")
    share = rows["ingest (chunks/s)"][0] / rows["raw embedding model (chunks/s)"][0]
    lines.append(
        f"Ingest runs at {share:.2f}x the raw embedding model's throughput "
        "(chunking, hashing and the atomic commit cost the rest)."
    )
    out = Path(a.out)
    before = out.read_text() + "\n" if out.exists() and a.model else ""
    out.write_text(before + "\n".join(lines) + "\n")
    print("\n".join(lines))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
