"""Scale benchmark: how indexing and retrieval grow with corpus size, local store vs pgvector.

    .venv/bin/python bench/scale.py [--sizes 1,100,1000] [--postgres-url URL] \
        [--out bench/results_scale.md]

Why: bench/engine.py measures one 12-chunk article. This one asks what happens at 100x and
1000x that size (~1,200 and ~12,000 chunks at the default chunk_size 48, overlap 0): how ingest
throughput compares with the raw embedding model, how big the index gets, how long a fresh
process takes to load it, how retrieval latency and memory grow, and what adding ONE small file
to an existing index costs (the local store rewrites a whole generation per ingest).

Corpus of size N = our article (`corpus/xi_celac_sixth_summit_speech.txt`, so article questions
keep a known answer) plus Python documentation files (Debian's python3.X-doc reST sources,
sorted by path, each copied as .txt) until the chunk count reaches N x the article's chunks.
The package is fetched once with `apt-get download` and kept in ~/.cache/corpus-qa/bench/pydoc/.

Every measurement (raw model throughput, ingest, cold load + retrieval, incremental update)
runs in a fresh subprocess, so peak RSS (ru_maxrss) is per measurement. The raw embedding
throughput is measured right before each ingest, on a sample of the same chunk texts (at most
2,000, batches of embedding.batch_size), so the ratio ingest/raw shares the machine's state.
Ingest and add-one-file times exclude loading the embedding model and its first call (timed
apart), as the raw figure does, so the ratio is corpus-qa's own overhead per chunk.
PostgreSQL ingests always start from an empty data_dir and empty tables, so they embed every
chunk (no move from a local index). Tables `scale_<N>` are dropped at the end.
Retrieval is measured in vector and hybrid mode for both stores (local hybrid = BM25 + vector,
PostgreSQL hybrid = full-text rank + HNSW, both fused by RRF). PostgreSQL peak RSS is the
client process only; the server's memory is not counted. The header says whether qa/ changed
on disk during the run (each worker imports the code as it is when it starts).

Results: --out (Markdown) and the same path with .json (raw numbers).
`--postgres-url none` measures the local store only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.engine import QUESTIONS as ENGINE_QUESTIONS  # noqa: E402
from qa.text import percentile  # noqa: E402

ARTICLE = ROOT / "corpus" / "xi_celac_sixth_summit_speech.txt"
CACHE = Path.home() / ".cache" / "corpus-qa" / "bench" / "pydoc"
DEFAULT_PG = os.environ.get("QA_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:55433/corpus_qa")
CHUNK_SIZE, CHUNK_OVERLAP = 48, 0
RAW_MAX, RAW_MIN = 2000, 320  # raw-model sample: at most / at least this many chunk texts
WORKER_TIMEOUT_S = 3600

ARTICLE_QUESTIONS = ENGINE_QUESTIONS  # the article questions bench/engine.py asks
QUESTIONS = [
    "How do I open a file for reading?",
    "How do I read a file line by line?",
    "What does the with statement do?",
    "How do I create a virtual environment?",
    "How do I sort a list of dictionaries by a key?",
    "What is a list comprehension?",
    "How do I define a class with a constructor?",
    "What is the difference between a tuple and a list?",
    "How do I handle an exception with try and except?",
    "How do I raise a custom exception?",
    "How do I parse command line arguments?",
    "How do I format a string with f-strings?",
    "How do I join a list of strings?",
    "How do I get the current date and time?",
    "How do I make an HTTP request with urllib?",
    "How do I parse JSON?",
    "How do I start a subprocess and read its output?",
    "What is the global interpreter lock?",
    "How do I create a thread?",
    "How does asyncio run a coroutine?",
    "What is a generator?",
    "How do I write a decorator?",
    "What does the yield keyword do?",
    "How do I copy a dictionary?",
    "How do I remove duplicates from a list?",
    "How do I check if a key is in a dictionary?",
    "What are keyword arguments?",
    "How do I import a module from a package?",
    "How do I write unit tests with unittest?",
    "How do I log messages to a file?",
    "How do I compute the square root of a number?",
    "How do I generate a random integer?",
    "What is the difference between is and ==?",
    "How do I increment the reference count of an object in the C API?",
    *ARTICLE_QUESTIONS,
]
UPDATE_NAME = "zz_scale_update_note.txt"
UPDATE_TEXT = (
    "The Varkona lighthouse stands on a rocky cape north of the harbour. Its keeper is Ilsa "
    "Brandt, who has kept the light since 1998. The lighthouse was built in 1873 from local "
    "granite and was electrified in 1931. Visitors may climb its 112 steps on Saturdays.\n"
)

# One measurement per fresh process; argv[1] is a JSON job, the last stdout line the result.
WORKER = r"""
import json, resource, sys, time
t0 = time.perf_counter()
job = json.loads(sys.argv[1])
import qa
from qa.models.factory import build_embedding
out = {"import_s": time.perf_counter() - t0}
store = {"data_dir": job["data"]}
if job.get("pg_url"):
    store.update(mode="postgres", postgres_url=job["pg_url"], table=job["table"])
s = qa.load_settings(corpus_dir=job["corpus"], store=store,
                     retrieval={"mode": job.get("mode", "hybrid")})
kind = job["kind"]
if kind == "raw":
    texts = json.loads(open(job["texts"], encoding="utf-8").read())
    t = time.perf_counter()
    e = build_embedding(s)
    out["model_s"] = time.perf_counter() - t
    b = s.embedding.batch_size
    e.get_text_embedding_batch(texts[:b])  # warm-up
    t = time.perf_counter()
    for i in range(0, len(texts), b):
        e.get_text_embedding_batch(texts[i:i + b])
    out["seconds"] = time.perf_counter() - t
    out["chunks"] = len(texts)
    out["chunks_per_s"] = len(texts) / out["seconds"]
elif kind == "ingest":
    t = time.perf_counter()
    build_embedding(s).get_text_embedding_batch(["warm-up"])  # cached: qa.ingest reuses it
    out["model_s"] = time.perf_counter() - t
    t = time.perf_counter()
    rep = qa.ingest(settings=s, progress=False)
    out["seconds"] = time.perf_counter() - t
    out["report"] = rep.as_dict()
elif kind == "query":
    t = time.perf_counter()
    pipe = qa.pipeline(s)  # loads the embedding model
    out["model_s"] = time.perf_counter() - t
    t = time.perf_counter()
    pipe.retrieve(job["questions"][0])  # cold: index load (or connect) + first query
    out["first_s"] = time.perf_counter() - t
    ms, top = [], {}
    for q in job["questions"]:
        t = time.perf_counter()
        nodes = pipe.retrieve(q)
        ms.append((time.perf_counter() - t) * 1000)
        top[q] = nodes[0].node.metadata.get("file_name") if nodes else None
    out["latencies_ms"] = ms
    out["top_file"] = top
elif kind == "update":
    t = time.perf_counter()
    build_embedding(s).get_text_embedding_batch(["warm-up"])
    out["model_s"] = time.perf_counter() - t
    t = time.perf_counter()
    rep = qa.ingest(settings=s, progress=False)
    out["noop_s"] = time.perf_counter() - t
    out["noop_report"] = rep.as_dict()
    (__import__("pathlib").Path(job["corpus"]) / job["name"]).write_text(job["text"])
    t = time.perf_counter()
    rep = qa.ingest(settings=s, progress=False)
    out["add_s"] = time.perf_counter() - t
    out["add_report"] = rep.as_dict()
out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def log(msg: str) -> None:
    print(f"[scale {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---- the Python documentation ----------------------------------------------------------------
def doc_package() -> str:
    """The python3.X-doc package that python3-doc depends on (python3.11-doc if unknown)."""
    try:
        out = subprocess.run(
            ["apt-cache", "depends", "python3-doc"], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "python3.11-doc"
    for line in out.splitlines():
        name = line.split("Depends:", 1)[-1].strip() if "Depends:" in line else ""
        if name.startswith("python3.") and name.endswith("-doc"):
            return name
    return "python3.11-doc"


def pydoc_sources() -> tuple[Path, str]:
    """The cached doc files (reST sources as .txt, else HTML) and the .deb they came from."""
    done = CACHE / "sources" / ".complete"
    if done.exists():
        return done.parent, done.read_text().strip()
    pkg = doc_package()
    log(f"fetching {pkg} with apt-get download (once; cached in {CACHE})")
    with tempfile.TemporaryDirectory(prefix="qa-pydoc-") as tmp:
        got = subprocess.run(
            ["apt-get", "download", pkg], cwd=tmp, capture_output=True, text=True, check=False
        )
        debs = sorted(Path(tmp).glob("*.deb"))
        if got.returncode != 0 or not debs:
            last = (got.stderr.strip().splitlines() or ["no .deb file written"])[-1]
            sys.exit(
                f"error: `apt-get download {pkg}` failed ({last}); the scale benchmark "
                "needs the Python documentation package from the Debian mirror"
            )
        subprocess.run(["dpkg-deb", "-x", str(debs[0]), f"{tmp}/x"], check=True)
        found = sorted(Path(tmp, "x/usr/share/doc").glob("python3*/html/_sources"))
        if found:
            files = [(p, p.relative_to(found[0]).as_posix()) for p in found[0].rglob("*.rst.txt")]
            files = [(p, rel[: -len(".rst.txt")] + ".txt") for p, rel in files]
        else:
            html = sorted(Path(tmp, "x/usr/share/doc").glob("python3*/html"))
            if not html:
                sys.exit(f"error: {debs[0].name} has neither _sources/*.rst.txt nor HTML files")
            files = [(p, p.relative_to(html[0]).as_posix()) for p in html[0].rglob("*.html")]
        dest = CACHE / "sources"
        shutil.rmtree(dest, ignore_errors=True)
        for src, rel in files:
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest / rel)
        done.write_text(debs[0].name + "\n")
        return dest, debs[0].name


# ---- corpora -----------------------------------------------------------------------------------
def chunk_texts(path: Path, rel: str) -> list[str]:
    from qa.documents import chunking, corpus

    try:
        doc = corpus.read(path, rel)
    except corpus.UnreadableFile:
        return []
    return [n.text for n in chunking.split(doc, CHUNK_SIZE, CHUNK_OVERLAP)]


def build_corpora(sizes: list[int], docs: Path, tmp: Path) -> dict[int, dict[str, Any]]:
    """One corpus dir per size: the article + doc files (sorted) until N x the article chunks."""
    from qa.documents import corpus

    base = chunk_texts(ARTICLE, ARTICLE.name)
    pool = iter(corpus.scan(docs))
    taken: list[tuple[Path, str, list[str]]] = []
    have = len(base)
    out: dict[int, dict[str, Any]] = {}
    for n in sorted(sizes):
        target = n * len(base)
        while have < target:
            nxt = next(pool, None)
            if nxt is None:
                log(f"{n}x: the documentation has only {have} chunks (wanted {target})")
                break
            texts = chunk_texts(*nxt)
            if texts:
                taken.append((nxt[0], nxt[1], texts))
                have += len(texts)
        cdir = tmp / f"corpus_{n}"
        cdir.mkdir()
        shutil.copyfile(ARTICLE, cdir / ARTICLE.name)
        texts = list(base)
        for src, rel, t in taken:
            (cdir / "pydoc" / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, cdir / "pydoc" / rel)
            texts += t
        step = max(1, len(texts) // RAW_MAX)
        sample = texts[::step][:RAW_MAX]
        while len(sample) < RAW_MIN:
            sample += sample[: RAW_MIN - len(sample)]
        (tmp / f"raw_{n}.json").write_text(json.dumps(sample))
        out[n] = {
            "dir": cdir,
            "target": target,
            "chunks": len(texts),
            "files": 1 + len(taken),
            "text_mb": sum(p.stat().st_size for p, _ in corpus.scan(cdir)) / 2**20,
            "raw_texts": tmp / f"raw_{n}.json",
            "raw_sample": len(sample),
        }
        log(f"{n}x: {len(texts)} chunks in {1 + len(taken)} files (target {target})")
    return out


# ---- measurements ----------------------------------------------------------------------------
def worker(job: dict[str, Any], cwd: Path) -> dict[str, Any]:
    """Run one measurement in a fresh process; {'error': ...} instead of raising."""
    t = time.perf_counter()
    try:
        got = subprocess.run(
            [sys.executable, "-c", WORKER, json.dumps(job)],
            capture_output=True,
            text=True,
            cwd=cwd,
            timeout=WORKER_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {WORKER_TIMEOUT_S} s"}
    if got.returncode != 0:
        last = (got.stderr.strip().splitlines() or [f"exit status {got.returncode}"])[-1]
        log(f"  {job['kind']} failed: {last}")
        return {"error": last}
    res = json.loads(got.stdout.strip().splitlines()[-1])
    res["process_s"] = time.perf_counter() - t
    if got.stderr.strip():
        res["stderr_tail"] = got.stderr.strip().splitlines()[-3:]
    return res


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def pg_tables(table: str) -> list[str]:
    return [f"data_{table}", f"{table}_files", f"{table}_meta"]


def pg_exec(url: str, sql: str) -> Any:
    import sqlalchemy as sa

    engine = sa.create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.begin() as conn:
            res = conn.execute(sa.text(sql))
            return res.scalar() if res.returns_rows else None
    finally:
        engine.dispose()


def pg_drop(url: str, table: str) -> None:
    pg_exec(url, "drop table if exists " + ", ".join(pg_tables(table)))


def pg_bytes(url: str, table: str) -> int:
    parts = " + ".join(
        f"coalesce(pg_total_relation_size(to_regclass('{t}')), 0)" for t in pg_tables(table)
    )
    return int(pg_exec(url, f"select {parts}"))


def measure(store: str, n: int, c: dict[str, Any], tmp: Path, pg_url: str | None) -> dict:
    """raw model -> ingest from scratch -> size -> cold query process(es) -> add one file."""
    data = tmp / f"data_{store}_{n}"
    shutil.rmtree(data, ignore_errors=True)
    job: dict[str, Any] = {"corpus": str(c["dir"]), "data": str(data)}
    table = f"scale_{n}"
    if store == "postgres":
        job |= {"pg_url": pg_url, "table": table}
        pg_drop(pg_url, table)
    r: dict[str, Any] = {"store": store, "size": n}
    log(f"{store} {n}x: raw embedding model on {c['raw_sample']} chunks")
    r["raw"] = worker({**job, "kind": "raw", "texts": str(c["raw_texts"])}, tmp)
    log(f"{store} {n}x: ingest from scratch ({c['chunks']} chunks)")
    r["load_before_ingest"] = os.getloadavg()[0]
    r["ingest"] = worker({**job, "kind": "ingest"}, tmp)
    if "error" in r["ingest"]:
        return r
    r["index_bytes"] = dir_bytes(data) if store == "local" else pg_bytes(pg_url, table)
    r["query"], r["load_before_query"] = {}, {}
    for mode in ("vector", "hybrid"):
        log(f"{store} {n}x: cold load + {len(QUESTIONS)} retrievals ({mode})")
        r["load_before_query"][mode] = os.getloadavg()[0]
        r["query"][mode] = worker(
            {**job, "kind": "query", "mode": mode, "questions": QUESTIONS}, tmp
        )
    log(f"{store} {n}x: re-ingest unchanged, then add one small file")
    r["update"] = worker({**job, "kind": "update", "name": UPDATE_NAME, "text": UPDATE_TEXT}, tmp)
    (c["dir"] / UPDATE_NAME).unlink(missing_ok=True)  # the next store sees the same corpus
    if store == "local":
        shutil.rmtree(data, ignore_errors=True)
    return r


# ---- report ------------------------------------------------------------------------------------
def get(d: dict, *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def derive(r: dict[str, Any]) -> dict[str, float | None]:
    """The numbers of one store x size, by row name."""
    chunks = get(r, "ingest", "report", "total_chunks")
    ing_s = get(r, "ingest", "seconds")
    embedded = get(r, "ingest", "report", "embedded_chunks")
    raw = get(r, "raw", "chunks_per_s")
    rate = embedded / ing_s if embedded and ing_s else None
    row: dict[str, float | None] = {
        "chunks": chunks,
        "raw embedding model (chunks/s)": raw,
        "ingest from scratch (s)": ing_s,
        "ingest (chunks/s)": rate,
        "ingest / raw model": rate / raw if rate and raw else None,
        "peak RSS, ingest process (MB)": get(r, "ingest", "peak_mb"),
        "index size (MB)": r["index_bytes"] / 2**20 if r.get("index_bytes") else None,
    }
    for mode, q in (r.get("query") or {}).items():
        lat = q.get("latencies_ms")
        hits = [q["top_file"].get(x) == ARTICLE.name for x in ARTICLE_QUESTIONS] if lat else []
        row |= {
            f"cold first retrieve, {mode} (s)": q.get("first_s"),
            f"retrieval p50, {mode} (ms)": percentile(lat, 50),
            f"retrieval p95, {mode} (ms)": percentile(lat, 95),
            f"peak RSS, query process, {mode} (MB)": q.get("peak_mb"),
            f"article questions with the article as top hit, {mode}": sum(hits) if lat else None,
        }
    row |= {
        "re-ingest unchanged corpus (s)": get(r, "update", "noop_s"),
        "add one small file to the index (s)": get(r, "update", "add_s"),
        "embedding model load + warm-up call, excluded above (s)": get(r, "ingest", "model_s"),
        "1-min load average before ingest": r.get("load_before_ingest"),
    }
    return row


def fmt(v: float | None) -> str:
    if v is None:
        return "error"
    if isinstance(v, int) or float(v).is_integer() and abs(v) >= 100:
        return f"{int(v):,}"
    return f"{v:.3g}" if abs(v) < 10 else f"{v:,.1f}"


def report(meta: dict[str, Any], results: list[dict], sizes: list[int]) -> str:
    stores = [s for s in ("local", "postgres") if any(r["store"] == s for r in results)]
    rows = {(r["store"], r["size"]): derive(r) for r in results}
    lines = [
        "## Scale: indexing and retrieval vs corpus size",
        "",
        f"`{meta['command']}` on {meta['date']}; {meta['run_minutes']:.1f} min in all. "
        f"Machine: {meta['nproc']} cores (`nproc`), {meta['cpu']}, {meta['mem_gb']:.0f} GiB RAM, "
        f"load average {meta['load_start']:.2f} at the start, {meta['load_end']:.2f} at the end "
        "(the 2 cores may be shared with other work, so single figures are noisy). "
        f"Code: {meta['git']}; {meta['code_note']}.",
        "",
        f"Corpus of size Nx = our article ({meta['article_chunks']} chunks) + Python docs "
        f"({meta['pydoc']}, reST sources, sorted by path) until N x {meta['article_chunks']} "
        f"chunks; chunk_size {CHUNK_SIZE}, overlap {CHUNK_OVERLAP}; embedding "
        "all-MiniLM-L6-v2 int8 (onnxruntime), batch 32. Every cell is one fresh process. "
        f"Ingest is from scratch (PostgreSQL: empty tables, every chunk embedded). Raw model = "
        f"`get_text_embedding_batch` on up to {RAW_MAX:,} of the same chunk texts, measured "
        "just before each ingest; ingest and add-one-file times exclude loading the embedding "
        "model and its first (warm-up) call, listed in their own row. "
        f"Retrieval: {len(QUESTIONS)} questions ({len(ARTICLE_QUESTIONS)} about the article), "
        "top_k 3, after one cold call; cold first retrieve = index load (local) or connection "
        "setup (PostgreSQL) + the first query, model already loaded. Add one small file = write "
        "one 2-chunk .txt into the corpus and call `qa.ingest` on the existing index.",
        "",
    ]
    corpora = ", ".join(
        f"{n}x = {meta['corpora'][n]['chunks']:,} chunks / {meta['corpora'][n]['files']} files / "
        f"{meta['corpora'][n]['text_mb']:.3g} MB"
        for n in sizes
    )
    lines += [f"Corpora: {corpora}.", ""]
    for store in stores:
        title = "Local store" if store == "local" else "PostgreSQL + pgvector (HNSW)"
        lines += [f"### {title}", "", "| measure | " + " | ".join(f"{n}x" for n in sizes) + " |"]
        lines.append("|---|" + "---|" * len(sizes))
        names = list(dict.fromkeys(k for n in sizes for k in rows.get((store, n), {})))
        for k in names:
            cells = [fmt(rows.get((store, n), {}).get(k)) for n in sizes]
            lines.append(f"| {k} | " + " | ".join(cells) + " |")
        if store == "postgres":
            lines += [
                "",
                "Index size = data_, _files and _meta tables with their indexes "
                "(`pg_total_relation_size`); peak RSS is the client process only.",
            ]
        lines.append("")
        errs = [
            f"{n}x {part}: {v['error']}"
            for n in sizes
            for part, v in _parts(
                next((r for r in results if r["store"] == store and r["size"] == n), {})
            )
            if isinstance(v, dict) and "error" in v
        ]
        if errs:
            lines += ["Errors: " + "; ".join(errs), ""]
    if len(sizes) >= 2:
        a, b = sizes[-2], sizes[-1]
        lines += [f"### How it grows ({b}x / {a}x)", ""]
        head = "| measure | " + " | ".join(stores) + " |"
        lines += [head, "|---|" + "---|" * len(stores)]
        names = list(dict.fromkeys(k for s in stores for k in rows.get((s, b), {})))
        ratios: dict[str, dict[str, float | None]] = {}
        for k in names:
            ratios[k] = {}
            for s in stores:
                lo, hi = rows.get((s, a), {}).get(k), rows.get((s, b), {}).get(k)
                ratios[k][s] = hi / lo if lo and hi is not None else None
            cells = [f"{ratios[k][s]:.2f}" if ratios[k][s] is not None else "-" for s in stores]
            lines.append(f"| {k} | " + " | ".join(cells) + " |")
        lines.append("")
        for s in stores:

            def r(k: str, s: str = s) -> str:
                v = ratios.get(k, {}).get(s)
                return f"x{v:.2f}" if v is not None else "n/a"

            lines.append(
                f"- {s}: for {r('chunks')} chunks, ingest time {r('ingest from scratch (s)')}, "
                f"index size {r('index size (MB)')}, peak ingest RSS "
                f"{r('peak RSS, ingest process (MB)')}, cold first retrieve "
                f"{r('cold first retrieve, vector (s)')} (vector) / "
                f"{r('cold first retrieve, hybrid (s)')} (hybrid), retrieval p50 "
                f"{r('retrieval p50, vector (ms)')} / {r('retrieval p50, hybrid (ms)')}, "
                f"query-process RSS {r('peak RSS, query process, hybrid (MB)')} (hybrid), "
                f"adding one file {r('add one small file to the index (s)')}."
            )
        lines.append("")
    return "\n".join(lines)


def _parts(r: dict) -> list[tuple[str, Any]]:
    out = [(k, r.get(k)) for k in ("raw", "ingest", "update")]
    return out + [(f"query {m}", q) for m, q in (r.get("query") or {}).items()]


# ---- main --------------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    cpu = platform.processor() or "cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        mem_kb = 0
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return {"nproc": nproc or str(os.cpu_count()), "cpu": cpu, "mem_gb": mem_kb / 2**20}


def git_state() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout

    head = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    dirty = [x for x in git("status", "--porcelain", "qa").splitlines() if x.strip()]
    return f"commit {head}" + (f" + {len(dirty)} uncommitted change(s) under qa/" if dirty else "")


def code_fingerprint() -> str:
    """sha256 of qa/**/*.py as they are on disk (the workers import what is there)."""
    h = hashlib.sha256()
    for f in sorted((ROOT / "qa").rglob("*.py")):
        h.update(f.relative_to(ROOT).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:12]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,100,1000", help="multiples of the article's chunks")
    ap.add_argument("--postgres-url", default=DEFAULT_PG, help="'none' = local store only")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results_scale.md"))
    ap.add_argument("--keep", action="store_true", help="keep the temporary corpora")
    a = ap.parse_args()
    sizes = sorted({int(x) for x in a.sizes.split(",") if x.strip()})
    pg_url = None if a.postgres_url.lower() in ("", "none") else a.postgres_url
    if pg_url:
        try:
            pg_exec(pg_url, "select 1")
        except Exception as exc:  # noqa: BLE001 - any failure: say so in one line
            first = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
            sys.exit(
                f"error: PostgreSQL at {pg_url} is not reachable ({first}); start it with "
                "`bash scripts/postgres`, or pass --postgres-url none"
            )

    t_run = time.perf_counter()
    load_start = os.getloadavg()[0]
    git_start, code_start = git_state(), code_fingerprint()
    docs, deb = pydoc_sources()
    tmp = Path(tempfile.mkdtemp(prefix="qa-scale-"))
    results: list[dict] = []
    try:
        corpora = build_corpora(sizes, docs, tmp)
        for n in sizes:
            for store in ["local"] + (["postgres"] if pg_url else []):
                results.append(measure(store, n, corpora[n], tmp, pg_url))
    finally:
        if pg_url:
            for n in sizes:
                pg_drop(pg_url, f"scale_{n}")
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    meta: dict[str, Any] = {
        "command": " ".join([".venv/bin/python", "bench/scale.py", *sys.argv[1:]]),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "run_minutes": (time.perf_counter() - t_run) / 60,
        "load_start": load_start,
        "load_end": os.getloadavg()[0],
        "git": git_start,
        "code_start": code_start,
        "code_end": code_fingerprint(),
        "pydoc": deb,
        "article_chunks": len(chunk_texts(ARTICLE, ARTICLE.name)),
        "questions": QUESTIONS,
        "corpora": {
            n: {k: v for k, v in c.items() if k not in ("dir", "raw_texts")}
            for n, c in corpora.items()
        },
        **machine(),
    }
    meta["code_note"] = (
        f"qa/ sources unchanged during the run (sha256 {code_start})"
        if meta["code_end"] == code_start
        else f"WARNING: qa/ sources changed during the run ({code_start} -> "
        f"{meta['code_end']}), so later measurements may use other code than earlier ones"
    )
    text = report(meta, results, sizes)
    out = Path(a.out)
    out.write_text(text + "\n")
    out.with_suffix(".json").write_text(
        json.dumps(
            {
                "meta": meta,
                "results": results,
                "table": [{"store": r["store"], "size": r["size"], **derive(r)} for r in results],
            },
            indent=1,
        )
        + "\n"
    )
    print(text)
    log(f"wrote {out} and {out.with_suffix('.json')} in {meta['run_minutes']:.1f} min")


if __name__ == "__main__":
    main()
