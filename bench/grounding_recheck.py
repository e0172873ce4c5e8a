"""Re-check the same raw LLM answers under two grounding rules, offline (issue 10).

    PYTHONPATH=. .venv/bin/python bench/grounding_recheck.py answer SET CORPUS OUT.jsonl \
        [--split dev]
    PYTHONPATH=. .venv/bin/python bench/grounding_recheck.py recheck OUT.jsonl [...]

`answer` asks the default pipeline every item of SET's split (conversations in order, each
turn after its earlier turns) and saves the model's raw answer with the evidence it was
checked against. `recheck` passes each saved raw answer through the answer check twice, with
and without the rule that a number must count the same thing in the passages
(grounding.claimed_counts), and lists the answers that differ: a grounding rule measured on
identical model output, with no second LLM run.
"""

from __future__ import annotations

import argparse
import json
import time
from unittest import mock

from llama_index.core.llms import ChatMessage, MessageRole

import qa
from qa.answering.answer import Prepared
from qa.answering.check import AnswerCheck
from qa.answering.grounding import Evidence
from qa.answering.injection import Payloads
from qa.api import pipeline
from qa.evaluation.runner import eval_settings
from qa.settings import REPO_ROOT


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
            f.write(json.dumps(row) + "\n")
            print(r["id"], f"{time.time() - started:.1f} s", final[:100], flush=True)


def checked(row: dict, refusal: str, counts: bool) -> tuple[str, list[str]]:
    p = Prepared(row["item"]["question"], "", [], [], refusal, row["route"],
                 Evidence(**row["evidence"]), Payloads())  # fmt: skip
    off = mock.patch("qa.answering.grounding.claimed_counts", lambda *_a: {})
    with off if not counts else mock.patch.dict({}):
        c = AnswerCheck(p, qa.Settings().retrieval.min_support)
        return "".join(c.feed(row["raw"]) + c.close()), p.dropped


def recheck(paths: list[str]) -> None:
    refusal = qa.api.pipeline(qa.Settings()).prompt("refusal")
    total = changed = 0
    for path in paths:
        for line in open(path, encoding="utf-8"):
            row = json.loads(line)
            total += 1
            if row["evidence"] is None:
                continue
            before, _ = checked(row, refusal, counts=False)
            after, dropped = checked(row, refusal, counts=True)
            if before != after:
                changed += 1
                item = row["item"]["id"]
                print(f"- {item}: {before[:160]!r} -> {after[:160]!r} (dropped {dropped})")
    print(f"{changed} of {total} answers changed by the count rule")


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
