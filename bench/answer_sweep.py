"""Tuning sweep on the DEV parts only: the relevance gate (cosine and keyword cutoffs), the
per-sentence grounding threshold, and the follow-up condense mode.

    .venv/bin/python bench/answer_sweep.py [--sets article,squad,chat_article,chat_squad]
        [--grid '{"window": [0, 2]}'] [--out bench/results_sweep.md]

Every setting combination runs the real pipeline (`Pipeline.prepare`, `AnswerCheck`); the LLM
(temperature 0, deterministic) is asked once per distinct prompt and its reply reused, so the
grid costs a few LLM calls per question. A follow-up gets its conversation with the previous
turns' reference answers (the same history at every grid point). An item is right as
`qa eval` scores it (qa.evaluation.scoring.right). Test parts are never read here: they are
only reported, by `qa eval --split test`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from llama_index.core.base.llms.types import ChatMessage, MessageRole  # noqa: E402

import qa  # noqa: E402
from qa.answering.pipeline import AnswerCheck, was_refused  # noqa: E402
from qa.evaluation.questions import load_questions  # noqa: E402
from qa.evaluation.scoring import right  # noqa: E402
from qa.evaluation.targets import Turn  # noqa: E402

SETS = {
    "article": ("tests/questions/article.jsonl", "corpus"),
    "squad": ("tests/questions/squad.jsonl", "bench/data/squad/corpus"),
    "chat_article": ("tests/questions/chat_article.jsonl", "corpus"),
    "chat_squad": ("tests/questions/chat_squad.jsonl", "bench/data/squad/corpus"),
}
GRID = {
    "similarity_cutoff": [0.3, 0.35],
    "keyword_cutoff": [0.5, 1.01],  # 1.01: keyword evidence off
    "min_support": [0.5, 0.6, 0.7],
    "condense": ["template", "fusion"],
}
# --grid replaces these lists by name and adds the settings named below; a setting
# left out of the grid keeps its default
RETRIEVAL = ("similarity_cutoff", "keyword_cutoff", "window", "top_k")
LLM = ("condense", "follow_up_own_query", "history_messages")


def history_of(q, by_id) -> list[ChatMessage]:
    chain = []
    prev = q.follow_up_of
    while prev:
        chain.insert(0, by_id[prev])
        prev = by_id[prev].follow_up_of
    out = []
    for t in chain:
        out.append(ChatMessage(role=MessageRole.USER, content=t.question))
        out.append(ChatMessage(role=MessageRole.ASSISTANT, content=t.reference_answer or ""))
    return out


def sweep(name: str, data_root: Path, grid: dict) -> dict:
    questions_path, corpus = SETS[name]
    s = qa.load_settings(corpus_dir=str(ROOT / corpus), store={"data_dir": str(data_root / corpus)})
    qa.ingest(settings=s, progress=False)
    pipe = qa.pipeline(s)
    items = [q for q in load_questions(ROOT / questions_path) if q.split == "dev"]
    by_id = {q.id: q for q in load_questions(ROOT / questions_path)}
    cache: dict[tuple[str, ...], str] = {}
    scores: dict[tuple, list[bool]] = {}
    kinds: dict[tuple, dict[str, list[bool]]] = {}
    for i, q in enumerate(items, 1):
        print(f"{name}: {i}/{len(items)} {q.id} ({len(cache)} LLM calls)", file=sys.stderr)
        history = history_of(q, by_id)
        for combo in itertools.product(*grid.values()):
            values = dict(zip(grid, combo, strict=True))
            # settings are frozen: the one loaded pipeline (models, index) reads a variant
            retrieval = s.retrieval.model_copy(
                update={k: values[k] for k in RETRIEVAL if k in values}
            )
            condense = values.get("condense", s.llm.condense)
            llm = s.llm.model_copy(update={k: values[k] for k in LLM if k in values})
            pipe.settings = s.model_copy(update={"retrieval": retrieval, "llm": llm})
            if condense != "template" and not history:
                continue  # same as template without a conversation
            p = pipe.prepare(q.question, history)
            if p.messages is None:
                text = p.refusal
            else:
                key = tuple(msg.content or "" for msg in p.messages)
                if key not in cache:
                    cache[key] = pipe.llm.chat(p.messages).message.content or ""
                check = AnswerCheck(p, values.get("min_support", retrieval.min_support))
                text = "".join(check.feed(cache[key]) + check.close())
            ok = right(q, Turn(text, was_refused(p, text), [], [], 0.0))
            keys = [combo]
            if not history and "condense" in grid and condense == "template":
                i = list(grid).index("condense")  # no conversation: the same run
                keys += [combo[:i] + (c,) + combo[i + 1 :] for c in grid["condense"][1:]]
            for k in keys:
                scores.setdefault(k, []).append(ok)
                bucket = "follow_up" if q.follow_up_of else q.kind or "fact"
                kinds.setdefault(k, {}).setdefault(bucket, []).append(ok)
    return {
        "set": name,
        "n": len(items),
        "llm_calls": len(cache),
        "rows": [
            {
                **dict(zip(grid, k, strict=True)),
                "right": sum(v) / len(v),
                "n": len(v),
                "by_kind": {b: f"{sum(x)}/{len(x)}" for b, x in sorted(kinds[k].items())},
            }
            for k, v in scores.items()
        ],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--grid", default="", help="JSON: setting -> values, replacing GRID")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results_sweep.md"))
    args = ap.parse_args()
    grid = json.loads(args.grid) if args.grid else GRID
    start = time.time()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sets.split(","):
            results.append(sweep(name, Path(tmp), grid))
            print(f"{name}: done in {time.time() - start:.0f} s", file=sys.stderr)
    totals: dict[tuple, list[float]] = {}
    for r in results:
        for row in r["rows"]:
            k = tuple(row[g] for g in grid)
            totals.setdefault(k, []).append(row["right"])
    ranked = sorted(totals.items(), key=lambda kv: -sum(kv[1]) / len(kv[1]))
    default = qa.Settings()
    lines = [
        "# Answering sweep on the dev parts",
        "",
        f"`.venv/bin/python bench/answer_sweep.py --sets {args.sets}` "
        f"({time.strftime('%Y-%m-%d')}, {time.time() - start:.0f} s; dev items only). "
        "Right: the item's verdict as `qa eval` scores it (facts found and not refused, or "
        "refused when unanswerable). Defaults now: similarity_cutoff "
        f"{default.retrieval.similarity_cutoff}, keyword_cutoff "
        f"{default.retrieval.keyword_cutoff}, min_support {default.retrieval.min_support}, "
        f"condense {default.llm.condense}, window {default.retrieval.window}, top_k "
        f"{default.retrieval.top_k}; model {default.llm.model}.",
        "",
        "| " + " | ".join(grid) + " | " + " | ".join(r["set"] for r in results) + " | mean |",
        "|" + "---|" * (len(grid) + len(results) + 1),
    ]
    for k, vals in ranked[:25]:
        per = []
        for r in results:
            row = next((x for x in r["rows"] if tuple(x[g] for g in grid) == k), None)
            per.append(f"{row['right']:.3f}" if row else "-")
        lines.append(
            "| "
            + " | ".join(str(x) for x in k)
            + " | "
            + " | ".join(per)
            + f" | {sum(vals) / len(vals):.3f} |"
        )
    lines += ["", "Per kind at the best setting:", ""]
    best = ranked[0][0]
    for r in results:
        row = next(x for x in r["rows"] if tuple(x[g] for g in grid) == best)
        lines.append(
            f"- {r['set']} ({r['n']} dev items, {r['llm_calls']} LLM calls): "
            + ", ".join(f"{b} {v}" for b, v in row["by_kind"].items())
        )
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    Path(args.out).with_suffix(".json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
