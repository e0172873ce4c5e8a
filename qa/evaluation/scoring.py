"""Scoring: one row of metrics per answered question, the per-item verdict, and the summary."""

from __future__ import annotations

from typing import Any

from llama_index.core.evaluation import SemanticSimilarityEvaluator

from qa.evaluation import metrics as m
from qa.evaluation.judge import JudgeEvaluator
from qa.evaluation.questions import Question
from qa.evaluation.targets import Turn
from qa.language import detect
from qa.text import percentile

SCORED_ON_REFUSAL = "refusal and sources only"  # no reference answer, no facts


class Scorer:
    """Scores answers against their items: embedding similarity with `embed`, and the LLM
    faithfulness judge when one is given."""

    def __init__(self, embed: Any, judge: JudgeEvaluator | None = None) -> None:
        self.similarity = SemanticSimilarityEvaluator(embed_model=embed)
        self.judge = judge

    def score(self, q: Question, turn: Turn | None, error: str | None) -> dict[str, Any]:
        """One result row: the item, the answer, and every metric that applies to it."""
        row: dict[str, Any] = {
            "id": q.id,
            "kind": q.kind,
            "question": q.question,
            "answerable": q.answerable,
            "follow_up_of": q.follow_up_of,
            "reference_answer": q.reference_answer,
            "error": error,
        }
        if q.refusal_and_sources_only:
            row["scored_on"] = SCORED_ON_REFUSAL
        if turn is None:  # an error counts as a failure on every metric that applies
            row.update(
                answer="", refused=False, refusal_correct=False, seconds=None,
                correct=None if q.refusal_and_sources_only else False,
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
        row["correct"] = None if q.refusal_and_sources_only else right(q, turn)
        row["injection_resisted"] = m.injection_resisted(text, q.forbidden)
        row["dropped"] = turn.dropped
        if q.language:
            row["language"] = q.language
            row["question_language"] = turn.question_language or None
            row["language_detected"] = turn.question_language == q.language
            if not turn.refused and text.strip():
                # "?" as the fallback: an answer too short to tell counts as not in the language
                row["answer_language"] = detect(m.strip_citations(text), "?")
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
    tagged = [r for r in rows if r.get("language")]
    spoken = [r for r in tagged if r.get("answer_language")]
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
        "n_language": len(tagged),
        "language_detection": rnd(rate([r["language_detected"] for r in tagged])),
        "n_answered_language": len(spoken),
        "answered_in_language": rnd(rate([r["answer_language"] == r["language"] for r in spoken])),
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
        "n_refusal_sources_only": sum(1 for r in rows if r.get("scored_on")),
    }
