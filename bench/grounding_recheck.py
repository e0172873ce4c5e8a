"""Re-check the same raw LLM answers under the current grounding rules, offline (issue 10).

    PYTHONPATH=. .venv/bin/python bench/grounding_recheck.py answer SET CORPUS OUT.jsonl \
        [--split dev]
    PYTHONPATH=. .venv/bin/python bench/grounding_recheck.py recheck OUT.jsonl [...]

`answer` asks the default pipeline every item of SET's split (conversations in order, each
turn after its earlier turns) and saves the model's raw answer, the evidence it was checked
against and the checked answer of the code that ran. `recheck` passes each saved raw answer
through the answer check of the code checked out now and lists the answers that differ, with
the item's verdict both ways: a grounding rule measured on identical model output, with no
second LLM run. (The count rule of stop 21 was measured with an earlier form of `recheck`
that toggled that one rule; its figures are in bench/results.md.)
"""

from __future__ import annotations

import argparse
import json
import time

from llama_index.core.llms import ChatMessage, MessageRole

import qa
from qa.answering.answer import Prepared
from qa.answering.grounding import Evidence
from qa.answering.injection import Payloads
from qa.answering.pipeline import Pipeline
from qa.api import pipeline
from qa.evaluation.metrics import facts_satisfied
from qa.evaluation.questions import parse_item
from qa.evaluation.runner import eval_settings
from qa.settings import REPO_ROOT
from qa.text import is_refusal


def answer(set_name: str, corpus: str, out: str, split: str) -> None:
    s = eval_settings(qa.Settings(), None if corpus == "corpus" else corpus, None)
    qa.ensure_index(settings=s)
    p = pipeline(s)
    rows = [json.loads(x) for x in open(REPO_ROOT / "tests" / "questions" / f"{set_name}.jsonl")]
    history: dict[str, list[ChatMessage]] = {}
    with open(out, "w", encoding="utf-8") as f:
        for r in (r for r in rows if r.get("split") == split):
            h = history.get(r.get("follow_up_of") or "", [])
            started = time.time()
            prep = p.prepare(r["question"], h)
            raw, evidence, final = "", None, prep.refusal
            if prep.messages is not None:
                raw = p.llm.chat(prep.messages).message.content or ""
                if prep.fallback and prep.repeats_previous(raw):
                    raw = p.llm.chat(prep.fallback).message.content or ""
                check = p.check(prep)
                final = "".join(check.feed(raw) + check.close())
                e = prep.evidence
                evidence = {"texts": e.texts, "extra": e.extra, "asked": e.asked}
            turn = [
                ChatMessage(role=MessageRole.USER, content=r["question"]),
                ChatMessage(role=MessageRole.ASSISTANT, content=final),
            ]
            history[r["id"]] = h + turn
            row = {"item": r, "raw": raw, "evidence": evidence, "route": prep.route}
            row["final"] = final
            f.write(json.dumps(row) + "\n")
            print(r["id"], f"{time.time() - started:.1f} s", final[:100], flush=True)


def checked(row: dict, pipe: Pipeline) -> tuple[str, list[str]]:
    """The saved raw answer through the current answer check (token limit included)."""
    from qa.answering.quantity import asks_count  # (lazy: `answer` also runs on older code)

    question = row["item"]["question"]
    p = Prepared(question, "", [], [], pipe.prompt("refusal"), row["route"],
                 Evidence(**row["evidence"]), Payloads())  # fmt: skip
    # the question as asked: the sets rechecked are in the corpus's language, where the
    # pipeline's flag (asked or translated question) is the same; asked[1] may be an earlier turn
    p.asks_count = asks_count(question)
    c = pipe.check(p)
    return "".join(c.feed(row["raw"]) + c.close()), p.dropped


def verdict(row: dict, text: str, refusal: str) -> str:
    """right / wrong as `qa eval` scores an item (a refusal is right only if unanswerable)."""
    q = parse_item(row["item"], "recheck", row["item"]["id"])
    refused = is_refusal(text, refusal)
    if not q.answerable:
        return "right" if refused else "wrong"
    ok = not refused and facts_satisfied(text, q.facts, q.facts_any, q.min_facts)
    return "right" if ok else "wrong"


def recheck(paths: list[str]) -> None:
    pipe = pipeline(qa.Settings())
    refusal = pipe.prompt("refusal")
    total = changed = 0
    for path in paths:
        for line in open(path, encoding="utf-8"):
            row = json.loads(line)
            total += 1
            if row["evidence"] is None:
                continue
            before = row["final"]
            after, dropped = checked(row, pipe)
            if before != after:
                changed += 1
                item = row["item"]["id"]
                was, now = verdict(row, before, refusal), verdict(row, after, refusal)
                print(f"- {item} ({was} -> {now}): {before[:160]!r} -> {after[:160]!r}")
                print(f"  dropped now: {dropped}")
    print(f"{changed} of {total} answers changed")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("answer")
    a.add_argument("set_name")
    a.add_argument("corpus")
    a.add_argument("out")
    a.add_argument("--split", default="dev")
    r = sub.add_parser("recheck")
    r.add_argument("paths", nargs="+")
    args = ap.parse_args()
    if args.cmd == "answer":
        answer(args.set_name, args.corpus, args.out, args.split)
    else:
        recheck(args.paths)


if __name__ == "__main__":
    main()
