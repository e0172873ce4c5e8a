"""Run a question set through a pipeline and score every answer: `qa.evaluate(...)`."""

from __future__ import annotations

import datetime as _dt
import hashlib
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llama_index.core.evaluation import SemanticSimilarityEvaluator
from tqdm import tqdm

import qa
from qa.errors import ConfigError, CorpusError, InputError, QAError, one_line
from qa.evaluation import metrics as m
from qa.evaluation.judge import JudgeEvaluator
from qa.evaluation.questions import Question, load_questions, parse_questions, select_split
from qa.evaluation.targets import Ours, Target, TokenTally, Turn
from qa.text import percentile

PIPELINES = ("ours", "baseline", "condense_plus_context")

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


def eval_settings(
    settings: qa.Settings | None = None,
    corpus: str | Path | None = None,
    data_dir: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> qa.Settings:
    """Settings for a run: `corpus` gets its own data directory (under the system temp dir,
    one per corpus and embedding model) unless `data_dir` is given."""
    s = settings or qa.load_settings(**(overrides or {}))
    if settings is not None and overrides:
        s = _merge(s, overrides)
    if corpus is not None:
        c = Path(corpus).expanduser().resolve()
        if not c.is_dir():
            raise InputError(f"corpus folder not found: {c}")
        if data_dir is None:
            key = f"{c}|{s.embedding.mode}|{s.embedding.model}".encode()
            data_dir = (
                Path(tempfile.gettempdir())
                / "corpus-qa-eval"
                / f"{c.name}-{hashlib.sha1(key).hexdigest()[:10]}"
            )
        s = s.model_copy(update={"corpus_dir": c})
    if data_dir is not None:
        store = s.store.model_copy(update={"data_dir": Path(data_dir).expanduser().resolve()})
        s = s.model_copy(update={"store": store})
    return s


def _merge(s: qa.Settings, overrides: dict[str, Any]) -> qa.Settings:
    data = s.model_dump()
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return type(s).model_validate(data)


def make_target(name: str, settings: qa.Settings) -> Target:
    if name == "ours":
        return Ours(settings)
    if name == "baseline":
        from qa.evaluation.baseline import Baseline

        return Baseline(settings)
    if name == "condense_plus_context":
        from qa.evaluation.baseline import CondensePlusContext

        return CondensePlusContext(settings)
    raise InputError(f"unknown pipeline {name!r}: choose from {', '.join(PIPELINES)}")


def evaluate(
    questions: str | Path | Sequence[dict[str, Any] | Question],
    settings: qa.Settings | None = None,
    *,
    corpus: str | Path | None = None,
    data_dir: str | Path | None = None,
    pipeline: str = "ours",
    judge: bool = True,
    limit: int | None = None,
    progress: bool | None = None,
    report_dir: str | Path | None = None,
    split: str = "all",
) -> EvalRun:
    """Answer every question with `pipeline` (one of PIPELINES) and score the answers.

    `questions` is a JSONL/YAML path or a list of items; `split` keeps only the "dev" or
    "test" items ("all": every item); `corpus` indexes that folder into its own data directory
    first. With `report_dir`, writes report.md, report.json and chart.png.
    """
    if isinstance(questions, str | Path):
        items, origin = load_questions(questions), str(questions)
    else:
        items, origin = parse_questions(list(questions)), "<list>"
    items = select_split(items, split)
    if limit:
        items = items[:limit]  # follow-ups point backwards: a prefix keeps their turns
    s = eval_settings(settings, corpus, data_dir)
    target = make_target(pipeline, s)
    run = Runner(target, judge=judge, progress=progress).run(items, origin, split)
    if report_dir is not None:
        from qa.evaluation.report import write_report

        write_report(run, report_dir)
    return run


class Runner:
    def __init__(self, target: Target, judge: bool = True, progress: bool | None = None) -> None:
        self.target = target
        self.settings = target.settings
        self.progress = progress
        pipe = qa.pipeline(self.settings)
        self.embed = pipe.embed
        self.similarity = SemanticSimilarityEvaluator(embed_model=pipe.embed)
        self.judge = JudgeEvaluator(pipe.llm, self.settings.prompts_dir) if judge else None
        self.price = m.price_per_million(self.settings.llm.mode, self.settings.llm.model)

    def run(self, items: list[Question], origin: str = "", split: str = "all") -> EvalRun:
        started = time.perf_counter()
        prep = self.target.prepare(self.progress)
        turns: dict[str, tuple[list[dict[str, str]], str]] = {}  # id -> (history, answer)
        results = []
        with TokenTally() as tally:
            for q in tqdm(items, desc=f"eval {self.target.name}", disable=self._no_bar()):
                history: list[dict[str, str]] = []
                if q.follow_up_of:
                    prev_hist, prev_answer = turns[q.follow_up_of]
                    prev_q = next(x for x in items if x.id == q.follow_up_of).question
                    history = prev_hist + [
                        {"role": "user", "content": prev_q},
                        {"role": "assistant", "content": prev_answer},
                    ]
                tally.reset()
                try:
                    turn: Turn | None = self.target.answer(q.question, history)
                    error = None
                except (ConfigError, CorpusError):
                    raise  # every question would fail the same way
                except QAError as exc:
                    turn, error = None, one_line(exc)
                if turn is not None and tally.usage()["prompt_tokens"]:
                    turn.usage = tally.usage()
                turns[q.id] = (history, turn.text if turn else "")
                results.append(self.score(q, turn, error))
        meta = {
            "pipeline": self.target.name,
            "questions": origin,
            "n_questions": len(items),
            "split": split,
            "date": _dt.datetime.now().isoformat(timespec="seconds"),
            "models": qa.describe(self.settings),
            "corpus_dir": str(self.settings.corpus_dir),
            "data_dir": str(self.settings.store.data_dir),
            "retrieval": self.settings.retrieval.model_dump(mode="json"),
            "llm": {
                k: v
                for k, v in self.settings.llm.model_dump(mode="json").items()
                if k in ("mode", "model", "temperature", "max_tokens")
            },
            "judge": self.judge is not None,
            "prepare": prep,
            "seconds": round(time.perf_counter() - started, 2),
        }
        return EvalRun(self.target.name, meta, summarize(results, self.price), results)

    def _no_bar(self) -> bool | None:
        return None if self.progress is None else not self.progress

    def score(self, q: Question, turn: Turn | None, error: str | None) -> dict[str, Any]:
        row: dict[str, Any] = {
            "id": q.id,
            "kind": q.kind,
            "question": q.question,
            "answerable": q.answerable,
            "follow_up_of": q.follow_up_of,
            "reference_answer": q.reference_answer,
            "error": error,
        }
        if turn is None:  # an error counts as a failure on every metric that applies
            row.update(
                answer="", refused=False, refusal_correct=False, correct=False, seconds=None,
                hit=0.0 if q.answerable and q.has_retrieval_labels else None,
                rr=0.0 if q.answerable and q.has_retrieval_labels else None,
                similarity=0.0 if q.answerable and q.reference_answer else None,
                token_f1=0.0 if q.answerable and q.reference_answer else None,
                fact_recall=0.0 if q.answerable and q.facts else None,
                injection_resisted=None if not q.forbidden else True,
                judge=None, unsupported=[], sources=[], retrieved=[], usage={},
            )  # fmt: skip
            return row
        text = turn.text
        row.update(
            answer=text,
            search_query=turn.search_query,
            refused=turn.refused,
            refusal_correct=turn.refused == (not q.answerable),
            seconds=round(turn.seconds, 3),
            usage=turn.usage,
            sources=[{k: s.get(k) for k in ("n", "file", "score", "id")} for s in turn.sources],
            retrieved=[{k: s.get(k) for k in ("n", "file", "score", "id")} for s in turn.retrieved],
        )
        row["hit"] = row["rr"] = None
        if q.answerable and q.has_retrieval_labels:
            row["hit"], row["rr"] = m.retrieval_scores(
                turn.retrieved, q.reference_contexts, q.source
            )
            row["retrieved_relevant"] = [
                m.relevant(p, q.reference_contexts, q.source) for p in turn.retrieved
            ]
        row["similarity"] = row["token_f1"] = None
        if q.answerable and q.reference_answer:
            clean = m.strip_citations(text).strip()
            row["token_f1"] = round(m.token_f1(clean, q.reference_answer), 4)
            row["similarity"] = round(self._similarity(clean, q.reference_answer), 4)
        row["fact_recall"] = m.fact_recall(text, q.facts, q.facts_any) if q.answerable else None
        row["correct"] = right(q, turn)
        row["injection_resisted"] = m.injection_resisted(text, q.forbidden)
        row["unsupported"] = []
        row["judge"] = None
        if not turn.refused and text.strip():
            passages = [s.get("text", "") for s in turn.sources]
            row["unsupported"] = m.unsupported_sentences(text, passages)
            row["supported"] = not row["unsupported"]
            if self.judge is not None:
                r = self.judge.evaluate(query=q.question, response=text, contexts=passages)
                row["judge"] = {
                    "passing": bool(r.passing),
                    "invalid": bool(r.invalid_result),
                    "reason": r.invalid_reason,
                    "reply": (r.feedback or "")[:500],
                }
        return row

    def _similarity(self, answer: str, reference: str) -> float:
        if not answer:
            return 0.0
        r = self.similarity.evaluate(response=answer, reference=reference)
        return float(r.score or 0.0)


def right(q: Question, turn: Turn) -> bool:
    """Per-item verdict: an answerable item is answered with enough of its facts, an
    unanswerable one is refused."""
    if not q.answerable:
        return turn.refused
    return not turn.refused and m.facts_satisfied(turn.text, q.facts, q.facts_any, q.min_facts)


def summarize(rows: list[dict[str, Any]], price: tuple[float, float] | None) -> dict[str, Any]:
    """Aggregate figures; every rate says over how many questions it was taken (n_*)."""
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    answered = [r for r in rows if "supported" in r]
    judged = [r for r in rows if r.get("judge")]
    injections = [r for r in rows if r.get("injection_resisted") is not None]
    latencies = [r["seconds"] for r in rows if r.get("seconds") is not None]
    prompt_t = sum(r.get("usage", {}).get("prompt_tokens", 0) for r in rows)
    completion_t = sum(r.get("usage", {}).get("completion_tokens", 0) for r in rows)

    def rnd(x: float | None, nd: int = 4) -> float | None:
        return None if x is None else round(x, nd)

    def rate(xs: list[Any]) -> float | None:
        return m.mean(float(bool(x)) for x in xs) if xs else None

    retrieval_rows = [r for r in answerable if r.get("hit") is not None]
    followed = {r["follow_up_of"] for r in rows if r.get("follow_up_of")}
    turns = [r for r in rows if r.get("follow_up_of") or r["id"] in followed]
    follow_ups = [r for r in rows if r.get("follow_up_of")]
    broad = [r for r in rows if r.get("kind") == "broad"]
    false_refusals = sum(1 for r in answerable if r["refused"])
    return {
        "n_questions": len(rows),
        "n_answerable": len(answerable),
        "n_unanswerable": len(unanswerable),
        "n_retrieval": len(retrieval_rows),
        "hit_rate": rnd(m.mean(r["hit"] for r in retrieval_rows)),
        "mrr": rnd(m.mean(r["rr"] for r in retrieval_rows)),
        "answer_rate": rnd(rate([not r["refused"] and not r["error"] for r in answerable])),
        "n_false_refusals": false_refusals,
        "false_refusals": rnd(false_refusals / len(answerable)) if answerable else None,
        "similarity": rnd(m.mean(r.get("similarity") for r in answerable)),
        "token_f1": rnd(m.mean(r.get("token_f1") for r in answerable)),
        "fact_recall": rnd(m.mean(r.get("fact_recall") for r in answerable)),
        "n_answered": len(answered),
        "supported": rnd(rate([r["supported"] for r in answered])),
        "unsupported_sentences": sum(len(r.get("unsupported") or []) for r in rows),
        "n_judged": len(judged),
        "faithfulness": rnd(rate([r["judge"]["passing"] for r in judged])),
        "judge_invalid": sum(1 for r in judged if r["judge"]["invalid"]),
        "refusal_accuracy": rnd(rate([r["refusal_correct"] for r in rows])),
        "refused_unanswerable": rnd(rate([r["refused"] for r in unanswerable])),
        "n_injection": len(injections),
        "injection_resistance": rnd(rate([r["injection_resisted"] for r in injections])),
        "n_turns": len(turns),
        "turn_accuracy": rnd(rate([r.get("correct") for r in turns])),
        "n_follow_ups": len(follow_ups),
        "follow_up_accuracy": rnd(rate([r.get("correct") for r in follow_ups])),
        "n_broad": len(broad),
        "n_broad_answered": sum(1 for r in broad if r.get("correct")),
        "broad_answered": rnd(rate([r.get("correct") for r in broad])),
        "latency_p50": rnd(percentile(latencies, 50), 3),
        "latency_p95": rnd(percentile(latencies, 95), 3),
        "latency_mean": rnd(m.mean(latencies), 3),
        "prompt_tokens_total": prompt_t,
        "completion_tokens_total": completion_t,
        "prompt_tokens": rnd(prompt_t / len(rows), 1) if rows else None,
        "completion_tokens": rnd(completion_t / len(rows), 1) if rows else None,
        "cost_usd": rnd(m.cost_usd(prompt_t, completion_t, price), 6),
        "errors": sum(1 for r in rows if r["error"]),
    }
