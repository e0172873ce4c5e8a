"""Model presets side by side: warm answer latency through `qa.ask` on the article questions.

    PYTHONPATH=. .venv/bin/python bench/presets.py [--questions 5] [--out bench/results_presets.md]

One process, one model at a time: each preset's model is loaded, warmed with one question that
is not counted, timed on the same N article questions sequentially, and dropped before the next
one loads. The load average is recorded beside each preset, since other work on the machine
shows up in these figures. Presets whose packages are not installed are reported as skipped.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import qa  # noqa: E402
from qa import api  # noqa: E402
from qa.models import factory as components  # noqa: E402
from qa.models import weights  # noqa: E402
from qa.text import percentile  # noqa: E402


def article_questions(n: int) -> list[dict]:
    """The first n answerable ('fact') questions of the shipped article set, with their facts."""
    rows = [json.loads(line) for line in (ROOT / "tests/questions/article.jsonl").open()]
    return [r for r in rows if r.get("kind") == "fact" and r.get("facts")][:n]


def drop_models() -> None:
    """Forget every cached pipeline and model so the next preset runs alone in memory."""
    api._PIPES.clear()
    components._CACHE.clear()
    gc.collect()


def run_preset(name: str, warmup: str, questions: list[dict], data_dir: Path) -> dict:
    p = weights.PRESETS[name]
    s = qa.load_settings(
        corpus_dir=ROOT / "corpus",
        llm={"mode": "local", "model": name},
        store={"data_dir": data_dir},
    )
    try:
        t = time.perf_counter()
        weights.ensure_model(s.llm.models_dir, p)  # joins and hashes on first use only
        ensure_s = time.perf_counter() - t
    except weights.WeightsError as exc:
        return {"preset": name, "skipped": str(exc)}
    t = time.perf_counter()
    qa.ask(warmup, settings=s)  # loads the model; not one of the timed questions
    first_s = time.perf_counter() - t
    load = os.getloadavg()[0]
    seconds, hits, rows = [], 0, []
    for q in questions:
        t = time.perf_counter()
        a = qa.ask(q["question"], settings=s)
        seconds.append(time.perf_counter() - t)
        hit = all(f.lower() in a.text.lower() for f in q["facts"])
        hits += hit
        rows.append((q["question"], a.text.replace("\n", " ")[:120], hit, seconds[-1]))
    load = max(load, os.getloadavg()[0])
    drop_models()
    return {
        "preset": name,
        "display": p.display_name,
        "ensure_s": ensure_s,
        "first_s": first_s,
        "p50": percentile(seconds, 50),
        "mean": statistics.mean(seconds),
        "max": max(seconds),
        "hits": hits,
        "n": len(questions),
        "load1": load,
        "rows": rows,
    }


def report(results: list[dict], n: int) -> str:
    lines = [
        "# Model presets: warm answer latency",
        "",
        f"`PYTHONPATH=. .venv/bin/python bench/presets.py --questions {n}`: `qa.ask` on the first "
        f"{n} fact questions of `tests/questions/article.jsonl` (the next one warms up), one "
        "process, presets one after the other, each model loaded by that uncounted question and "
        "dropped before the next "
        f"loads; {os.cpu_count()} CPU cores, llama.cpp threads = all cores.",
        "",
        "| preset | model | warm p50 s | mean s | max s | facts found | first answer s "
        "(load) | file ready s | load avg (1 min, max of start/end) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if "skipped" in r:
            lines.append(f"| {r['preset']} | skipped: {r['skipped']} |||||||")
            continue
        lines.append(
            f"| {r['preset']} | {r['display']} | {r['p50']:.2f} | {r['mean']:.2f} | "
            f"{r['max']:.2f} | {r['hits']}/{r['n']} | {r['first_s']:.1f} | {r['ensure_s']:.1f} | "
            f"{r['load1']:.2f} |"
        )
    done = [r for r in results if "skipped" not in r]
    if len(done) == 2:
        lines += ["", f"Latency ratio (p50): {done[1]['p50'] / done[0]['p50']:.2f}x."]
    lines += [
        "",
        "'file ready' is `ensure_model`: joining the parts and hashing on the first run, a stamp "
        "check (size, mtime) after that.",
    ]
    for r in done:
        lines += [
            "",
            f"## {r['preset']}",
            "",
            "| question | answer | fact | s |",
            "|---|---|---|---|",
        ]
        for q, a, hit, sec in r["rows"]:
            a = a.replace("|", "/")
            lines.append(f"| {q} | {a} | {'yes' if hit else 'no'} | {sec:.2f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", type=int, default=5)
    ap.add_argument("--presets", nargs="*", default=list(weights.PRESETS))
    ap.add_argument("--out", default=str(ROOT / "bench" / "results_presets.md"))
    a = ap.parse_args()
    *questions, warmup = article_questions(a.questions + 1)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        s = qa.load_settings(corpus_dir=ROOT / "corpus", store={"data_dir": data})
        qa.ingest(settings=s, progress=False)
        results = [run_preset(name, warmup["question"], questions, data) for name in a.presets]
    text = report(results, a.questions)
    print(text)
    Path(a.out).write_text(text)


if __name__ == "__main__":
    main()
