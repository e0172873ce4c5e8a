"""Score stored eval reports again with the current metrics, on the answers they hold, with no
model run: a change to how facts are matched is measured on identical answers, for every
pipeline alike (ours and the baselines).

    PYTHONPATH=. .venv/bin/python bench/rescore.py REPORT_DIR [...] [--write]

Prints each report's fact recall, items right and the figures built on them, before -> after;
`--write` rewrites the report (json, markdown, chart) with the new scores.
"""

from __future__ import annotations

import argparse

from qa.evaluation import metrics as m
from qa.evaluation.questions import load_questions
from qa.evaluation.report import load_run, write_report
from qa.evaluation.scoring import right, summarize
from qa.evaluation.targets import Turn
from qa.settings import REPO_ROOT

SHOWN = ("fact_recall", "turn_accuracy", "follow_up_accuracy", "broad_answered")


def rescore(report_dir: str, write: bool) -> None:
    run = load_run(report_dir)
    items = {q.id: q for q in load_questions(REPO_ROOT / str(run.meta["questions"]))}
    changed = 0
    for row in run.results:
        q = items[row["id"]]
        if row.get("error") or not q.answerable:
            continue
        turn = Turn(row["answer"], row["refused"], [], [], 0.0)
        fr = m.fact_recall(row["answer"], q.facts, q.facts_any)
        ok = None if q.refusal_and_sources_only else right(q, turn)
        changed += (fr, ok) != (row.get("fact_recall"), row.get("correct"))
        row["fact_recall"], row["correct"] = fr, ok
    before = run.summary
    after = summarize(run.results, None)
    after["cost_usd"] = before.get("cost_usd")  # prices are not in the report; answers unchanged
    shown = ", ".join(f"{k} {before.get(k)} -> {after.get(k)}" for k in SHOWN if after.get(k))
    print(f"{report_dir}: {changed} items rescored; {shown}")
    if write:
        run.summary = after
        write_report(run, report_dir)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("reports", nargs="+")
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args()
    for d in a.reports:
        rescore(d, a.write)


if __name__ == "__main__":
    main()
