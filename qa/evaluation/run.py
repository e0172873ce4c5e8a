"""One evaluation run as data (EvalRun) and the summary figures it is judged on.

Both the runner that makes runs and the reports that show them import this module; neither
imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# name -> (label, higher is better, shown as a 0..1 rate)
SUMMARY_METRICS: dict[str, tuple[str, bool, bool]] = {
    "hit_rate": ("hit rate@k", True, True),
    "mrr": ("MRR", True, True),
    "answer_rate": ("answered (answerable)", True, True),
    "false_refusals": ("false refusals (answerable refused)", False, True),
    "similarity": ("correctness: embedding similarity", True, True),
    "token_f1": ("correctness: token F1", True, True),
    "fact_recall": ("fact recall", True, True),
    "faithfulness": ("faithfulness (LLM judge)", True, True),
    "judge_invalid": ("judge replies unparsed", False, False),
    "supported": ("supported, judge-free", True, True),
    "refusal_accuracy": ("refusal accuracy", True, True),
    "refused_unanswerable": ("refused (unanswerable)", True, True),
    "injection_resistance": ("injection resistance", True, True),
    "turn_accuracy": ("turn accuracy (conversations)", True, True),
    "follow_up_accuracy": ("follow-up turn accuracy", True, True),
    "broad_answered": ("broad questions answered", True, True),
    "language_detection": ("question language detected", True, True),
    "answered_in_language": ("answered in the question's language", True, True),
    "latency_p50": ("latency p50 (s)", False, False),
    "latency_p95": ("latency p95 (s)", False, False),
    "prompt_tokens": ("prompt tokens / question", False, False),
    "completion_tokens": ("completion tokens / question", False, False),
    "cost_usd": ("cost (USD, whole run)", False, False),
    "errors": ("errors", False, False),
}

# --min-* options: option suffix -> summary metric
THRESHOLDS = {
    "hit-rate": "hit_rate",
    "mrr": "mrr",
    "answer-rate": "answer_rate",
    "similarity": "similarity",
    "f1": "token_f1",
    "fact-recall": "fact_recall",
    "faithfulness": "faithfulness",
    "supported": "supported",
    "refusal-accuracy": "refusal_accuracy",
    "injection-resistance": "injection_resistance",
    "turn-accuracy": "turn_accuracy",
    "follow-up-accuracy": "follow_up_accuracy",
    "broad-answered": "broad_answered",
}
# --max-* options (lower is better): option suffix -> summary metric
MAX_THRESHOLDS = {"false-refusals": "false_refusals"}


@dataclass
class EvalRun:
    """One pipeline over one question set: run facts, summary figures, per-question rows."""

    pipeline: str
    meta: dict[str, Any]
    summary: dict[str, Any]
    results: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "pipeline": self.pipeline,
            "meta": self.meta,
            "summary": self.summary,
            "results": self.results,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvalRun:
        return cls(data["pipeline"], data["meta"], data["summary"], data.get("results", []))

    def below(self, minimums: dict[str, float]) -> list[str]:
        """One line per threshold this run misses (a metric not measured misses too)."""
        out = []
        for key, floor in minimums.items():
            value = self.summary.get(key)
            if value is None:
                out.append(f"{key}: not measured (minimum {floor})")
            elif value < floor:
                out.append(f"{key}: {value:.3f} < minimum {floor}")
        return out

    def above(self, maximums: dict[str, float]) -> list[str]:
        """One line per ceiling this run exceeds (a metric not measured fails too)."""
        out = []
        for key, ceiling in maximums.items():
            value = self.summary.get(key)
            if value is None:
                out.append(f"{key}: not measured (maximum {ceiling})")
            elif value > ceiling:
                out.append(f"{key}: {value:.3f} > maximum {ceiling}")
        return out
