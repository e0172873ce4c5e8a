"""Relevance-gate sweep: refusal accuracy and answer recall at each similarity cutoff.

    .venv/bin/python bench/gate_sweep.py [--sets article,squad] [--cutoffs 0,0.25,...]
        [--out bench/results_gate.md]

The gate (`retrieval.similarity_cutoff`) drops passages whose cosine similarity to the question
is below the cutoff and refuses without asking the LLM when none is left. For every question and
cutoff the real pipeline prepares the prompt; the LLM (temperature 0, so deterministic) is asked
once per distinct prompt and its reply reused, which makes a 9-point sweep cost about two LLM
calls per question instead of nine. Everything else (grounding check, citations, refusal
detection) is the engine's own code: `Pipeline.prepare` and `Pipeline.finish`.

Answer recall = fact recall over the answerable questions, a refusal scoring 0 (the same figure
as `qa eval`'s fact recall); refusal accuracy = share of all questions where refusing was the
right call.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from llama_index.core.base.llms.types import ChatMessage, MessageRole  # noqa: E402

import qa  # noqa: E402
from bench.engine import pct  # noqa: E402
from qa.answering.pipeline import was_refused  # noqa: E402
from qa.evaluation import metrics as m  # noqa: E402
from qa.evaluation.questions import load_questions  # noqa: E402

SETS = {
    "article": ("tests/questions/article.jsonl", "corpus"),
    "squad": ("tests/questions/squad.jsonl", "bench/data/squad/corpus"),
}
CUTOFFS = [0.0, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6]


def sweep(name: str, cutoffs: list[float], data_root: Path) -> dict:
    """Rows per cutoff for one question set, plus the top-score distribution."""
    questions_path, corpus = SETS[name]
    s = qa.load_settings(corpus_dir=str(ROOT / corpus), store={"data_dir": str(data_root / name)})
    qa.ingest(settings=s, progress=False)
    pipe = qa.pipeline(s)
    questions = load_questions(ROOT / questions_path)
    by_id = {q.id: q for q in questions}
    cache: dict[tuple[str, ...], str] = {}
    calls = 0
    per_cutoff: dict[float, list[dict]] = {c: [] for c in cutoffs}
    top_scores: dict[str, list[float]] = {"answerable": [], "unanswerable": []}
    for q in questions:
        history = []
        if q.follow_up_of:
            history = [ChatMessage(role=MessageRole.USER, content=by_id[q.follow_up_of].question)]
        ranked = pipe.retrieve(pipe.condense(q.question, history))
        top = max((float(n.score or 0.0) for n in ranked), default=0.0)
        top_scores["answerable" if q.answerable else "unanswerable"].append(top)
        for c in cutoffs:
            pipe.settings.retrieval.similarity_cutoff = c
            p = pipe.prepare(q.question, history)
            if p.messages is None:
                text = p.refusal
            else:
                key = tuple(msg.content or "" for msg in p.messages)
                if key not in cache:
                    cache[key] = pipe.llm.chat(p.messages).message.content or ""
                    calls += 1
                text = pipe.finish(p, cache[key])
            refused = was_refused(p, text)
            recall = m.fact_recall(text, q.facts, q.facts_any) if q.facts else 1.0
            per_cutoff[c].append(
                {
                    "answerable": q.answerable,
                    "refused": refused,
                    "recalled": recall if q.answerable and not refused else 0.0,
                    "gated": p.messages is None,
                }
            )
    rows = []
    for c in cutoffs:
        r = per_cutoff[c]
        ans = [x for x in r if x["answerable"]]
        una = [x for x in r if not x["answerable"]]
        rows.append(
            {
                "cutoff": c,
                "refusal_accuracy": sum(x["refused"] != x["answerable"] for x in r) / len(r),
                "refused_unanswerable": sum(x["refused"] for x in una) / max(1, len(una)),
                "gate_refused_unanswerable": sum(x["gated"] for x in una) / max(1, len(una)),
                "answered_answerable": sum(not x["refused"] for x in ans) / max(1, len(ans)),
                "gate_refused_answerable": sum(x["gated"] for x in ans) / max(1, len(ans)),
                "answer_recall": sum(x["recalled"] for x in ans) / max(1, len(ans)),
            }
        )
    pipe.settings.retrieval.similarity_cutoff = qa.Settings().retrieval.similarity_cutoff
    return {
        "set": name,
        "questions": questions_path,
        "n_answerable": sum(q.answerable for q in questions),
        "n_unanswerable": sum(not q.answerable for q in questions),
        "llm_calls": calls,
        "top_scores": top_scores,
        "rows": rows,
    }


def markdown(results: list[dict], command: str, seconds: float) -> str:
    default = qa.Settings().retrieval.similarity_cutoff
    lines = [
        "# Relevance-gate sweep",
        "",
        f"`{command}` ({time.strftime('%Y-%m-%d')}, {seconds:.0f} s). Embedded default models,"
        " hybrid retrieval, top-k 3. Answer recall: fact recall over the answerable questions,"
        " refusals scoring 0. Gate-refused: refused by the cutoff alone, before any LLM call."
        f" The default cutoff is {default}.",
    ]
    for r in results:
        ts = r["top_scores"]
        lines += [
            "",
            f"## {r['set']} (`{r['questions']}`: {r['n_answerable']} answerable,"
            f" {r['n_unanswerable']} unanswerable; {r['llm_calls']} LLM calls)",
            "",
            "Best passage's cosine similarity: answerable min / p10 / median "
            f"{min(ts['answerable']):.2f} / {pct(ts['answerable'], 0.1):.2f} / "
            f"{pct(ts['answerable'], 0.5):.2f}; unanswerable median / p90 / max "
            f"{pct(ts['unanswerable'], 0.5):.2f} / {pct(ts['unanswerable'], 0.9):.2f} / "
            f"{max(ts['unanswerable'], default=float('nan')):.2f}.",
            "",
            "| cutoff | refusal accuracy | unanswerable refused (by gate) |"
            " answerable answered (gate-refused) | answer recall |",
            "|---|---|---|---|---|",
        ]
        for row in r["rows"]:
            mark = " (default)" if abs(row["cutoff"] - default) < 1e-9 else ""
            lines.append(
                f"| {row['cutoff']:.2f}{mark} | {row['refusal_accuracy']:.3f} |"
                f" {row['refused_unanswerable']:.3f} ({row['gate_refused_unanswerable']:.3f}) |"
                f" {row['answered_answerable']:.3f} ({row['gate_refused_answerable']:.3f}) |"
                f" {row['answer_recall']:.3f} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="article,squad")
    ap.add_argument("--cutoffs", default=",".join(str(c) for c in CUTOFFS))
    ap.add_argument("--out", default=str(ROOT / "bench" / "results_gate.md"))
    a = ap.parse_args()
    cutoffs = [float(c) for c in a.cutoffs.split(",")]
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        results = [sweep(name, cutoffs, Path(tmp)) for name in a.sets.split(",")]
    command = "python bench/gate_sweep.py " + " ".join(sys.argv[1:])
    out = Path(a.out)
    out.write_text(markdown(results, command.strip(), time.perf_counter() - start))
    out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")
    print(out.read_text())


if __name__ == "__main__":
    main()
