"""Evaluation: question sets, retrieval and answer metrics, reports and comparisons.

from qa.evaluation import evaluate
run = evaluate("tests/questions/article.jsonl", judge=False, report_dir="out")
run.summary["hit_rate"], run.summary["refusal_accuracy"]
"""

from __future__ import annotations

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
