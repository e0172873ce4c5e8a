"""Engine benchmark: corpus-qa vs the plain llama-index default pipeline on the same models.

    .venv/bin/python bench/engine.py [--questions N] [--copies N] [--out bench/results_engine.md]

Both pipelines use the same local embedding (MiniLM int8 ONNX) and LLM (Qwen2.5 0.5B, llama.cpp).
The baseline is `VectorStoreIndex.from_documents(SimpleDirectoryReader(corpus))` +
`.as_query_engine()` with its defaults. Cold starts and peak memory are measured in fresh
processes; everything else in one process, interleaved, so the ratios share the machine's noise.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.text import percentile  # noqa: E402

QUESTIONS = [
    "Where was the sixth CELAC summit held?",
    "Who delivered a video speech to the summit?",
    "In what year was the China-CELAC Forum established?",
    "What does China want to build together with Latin America?",
    "How many years ago did CELAC come into being?",
    "Which country holds the rotating presidency of CELAC?",
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", type=int, default=len(QUESTIONS))
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--copies", type=int, default=30, help="article copies for ingest speed")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results_engine.md"))
    a = ap.parse_args()

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
    qs = QUESTIONS[: a.questions] * a.rounds
    ret_o, ret_b, ans_o, ans_b, ttft_o, ttft_b = [], [], [], [], [], []
    for q in qs:
        t = time.perf_counter()
        pipe.retrieve(q)
        ret_o.append(time.perf_counter() - t)
        t = time.perf_counter()
        base_retriever.retrieve(QueryBundle(q))
        ret_b.append(time.perf_counter() - t)
        t = time.perf_counter()
        qa.ask(q, settings=s)
        ans_o.append(time.perf_counter() - t)
        t = time.perf_counter()
        base_engine.query(q)
        ans_b.append(time.perf_counter() - t)
        t = time.perf_counter()
        _, deltas, _ = qa.stream_ask(q, settings=s)
        next(iter(deltas))
        ttft_o.append(time.perf_counter() - t)
        list(deltas)
        t = time.perf_counter()
        gen = base_stream.query(q).response_gen
        next(iter(gen))
        ttft_b.append(time.perf_counter() - t)
        list(gen)
    ms = 1000
    rows["retrieval latency p50 (ms)"] = (percentile(ret_o, 50) * ms, percentile(ret_b, 50) * ms)
    rows["retrieval latency p95 (ms)"] = (percentile(ret_o, 95) * ms, percentile(ret_b, 95) * ms)
    rows["whole answer p50 (s)"] = (percentile(ans_o, 50), percentile(ans_b, 50))
    rows["whole answer p95 (s)"] = (percentile(ans_o, 95), percentile(ans_b, 95))
    rows["time to first streamed token p50 (s)"] = (percentile(ttft_o, 50), percentile(ttft_b, 50))

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

    lines = [
        "## Engine: corpus-qa vs the plain llama-index default pipeline",
        "",
        f"`{' '.join(['python', *sys.argv])}` on {time.strftime('%Y-%m-%d %H:%M')}; same models "
        f"for both; {len(qs)} warm questions; ingest on {a.copies} copies of the article "
        f"({rep.total_chunks} chunks). Ratio = corpus-qa / baseline (below 1 is faster).",
        "",
        "| measure | corpus-qa | llama-index default | ratio |",
        "|---|---|---|---|",
    ]
    for k, (o, b) in rows.items():
        ratio = f"{o / b:.2f}" if b else "-"
        lines.append(f"| {k} | {o:.2f} | {'-' if b is None else f'{b:.2f}'} | {ratio} |")
    lines.append("")
    share = rows["ingest (chunks/s)"][0] / rows["raw embedding model (chunks/s)"][0]
    lines.append(
        f"Ingest runs at {share:.2f}x the raw embedding model's throughput "
        "(chunking, hashing and the atomic commit cost the rest)."
    )
    Path(a.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
