"""Evaluation: question sets, retrieval and answer metrics, reports and comparisons.

from qa.evaluation import evaluate
run = evaluate("tests/questions/article.jsonl", judge=False, report_dir="out")
run.summary["hit_rate"], run.summary["refusal_accuracy"]
"""

from __future__ import annotations

from qa.evaluation.questions import Question, load_questions
from qa.evaluation.run import EvalRun
from qa.evaluation.runner import evaluate

__all__ = ["EvalRun", "Question", "evaluate", "load_questions"]
