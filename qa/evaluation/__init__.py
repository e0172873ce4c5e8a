"""Evaluation: question sets, retrieval and answer metrics, reports and comparisons.

from qa.evaluation import evaluate
run = evaluate("tests/questions/article.jsonl", judge=False, report_dir="out")
run.summary["hit_rate"], run.summary["refusal_accuracy"]

The names below load on first use: qa.cli registers `qa eval` through qa.evaluation.cli on
every command, and `qa ask` should not pay for the harness.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qa.evaluation.questions import Question, load_questions
    from qa.evaluation.run import EvalRun
    from qa.evaluation.runner import evaluate
    from qa.evaluation.saved import Busy, list_reports, question_sets, report_folders, run_saved

__all__ = [
    "Busy",
    "EvalRun",
    "Question",
    "evaluate",
    "list_reports",
    "load_questions",
    "question_sets",
    "report_folders",
    "run_saved",
]
SAVED = ("Busy", "list_reports", "question_sets", "report_folders", "run_saved")


def __getattr__(name: str) -> Any:
    # plain imports, so tests/unit/test_architecture.py sees these edges
    if name in ("Question", "load_questions"):
        from qa.evaluation.questions import Question, load_questions

        return {"Question": Question, "load_questions": load_questions}[name]
    if name == "EvalRun":
        from qa.evaluation.run import EvalRun

        return EvalRun
    if name == "evaluate":
        from qa.evaluation.runner import evaluate

        return evaluate
    if name in SAVED:
        from qa.evaluation import saved

        return getattr(saved, name)
    raise AttributeError(f"module 'qa.evaluation' has no attribute {name!r}")
