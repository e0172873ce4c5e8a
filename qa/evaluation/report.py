"""Reports of a run: a terminal summary, report.md, report.json and chart.png."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qa.evaluation.chart import bar_chart
from qa.evaluation.run import SUMMARY_METRICS, EvalRun

COUNTS = {
    "hit_rate": "n_retrieval",
    "mrr": "n_retrieval",
    "answer_rate": "n_answerable",
    "false_refusals": "n_answerable",
    "similarity": "n_answerable",
    "token_f1": "n_answerable",
    "fact_recall": "n_answerable",
    "faithfulness": "n_judged",
    "supported": "n_answered",
    "refusal_accuracy": "n_questions",
    "refused_unanswerable": "n_unanswerable",
    "injection_resistance": "n_injection",
    "turn_accuracy": "n_turns",
    "follow_up_accuracy": "n_follow_ups",
    "broad_answered": "n_broad",
    "language_detection": "n_language",
    "answered_in_language": "n_answered_language",
}
# rates whose numerator is worth reading too: metric -> count of items it holds
HITS = {"false_refusals": "n_false_refusals", "broad_answered": "n_broad_answered"}


def fmt(key: str, value: Any) -> str:
    if value is None:
        return "n/a"
    if key == "cost_usd":
        return f"${value:.4f}"
    if key.startswith("latency"):
        return f"{value:.2f}"
    if isinstance(value, float) and SUMMARY_METRICS.get(key, ("", True, False))[2]:
        return f"{value:.3f}"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def summary_rows(run: EvalRun) -> list[tuple[str, str, str]]:
    s = run.summary
    out = []
    for key, (label, _, _) in SUMMARY_METRICS.items():
        if key == "faithfulness" and not run.meta.get("judge"):
            out.append((label, "off", ""))
            continue
        n = s.get(COUNTS.get(key, ""), "")
        over = f"n={n}" if n != "" else ""
        if key in HITS and s.get(HITS[key]) is not None and over:
            over = f"{s[HITS[key]]} of {over}"
        out.append((label, fmt(key, s.get(key)), over))
    return out


def split_label(meta: dict[str, Any]) -> str:
    """Which part of the question set ran (runs saved before splits ran every item)."""
    return {"dev": "dev split", "test": "test split"}.get(meta.get("split") or "all", "all items")


def terminal_table(run: EvalRun) -> str:
    rows = summary_rows(run)
    w = max(len(r[0]) for r in rows)
    head = (
        f"{run.pipeline}: {run.meta.get('n_questions')} questions ({split_label(run.meta)}),"
        f" {run.meta.get('seconds')} s"
    )
    lines = [head, "-" * len(head)]
    lines += [f"{label:<{w}}  {value:>9}  {n}" for label, value, n in rows]
    note = refusal_only_note(run)
    return "\n".join(lines + ([note] if note else []))


def refusal_only_note(run: EvalRun) -> str:
    """What the figures leave out: questions with no reference answer and no facts (a thumbs
    down without a correction) are scored on refusal and sources only."""
    n = run.summary.get("n_refusal_sources_only") or 0
    if not n:
        return ""
    return (
        f"{n} of {run.summary.get('n_questions')} question(s) have no reference answer or"
        " facts (feedback without a correction): scored on refusal and sources only,"
        " never right or wrong"
    )


def _cell(text: Any, limit: int = 300) -> str:
    t = " ".join(str(text if text is not None else "").split())
    t = t if len(t) <= limit else t[: limit - 1] + "…"
    return t.replace("|", "\\|")


def _verdicts(r: dict[str, Any]) -> str:
    bits = []
    if r.get("error"):
        bits.append(f"ERROR: {r['error']}")
    if r["answerable"]:
        bits.append("answered" if not r.get("refused") else "REFUSED (should answer)")
    else:
        bits.append("refused" if r.get("refused") else "ANSWERED (should refuse)")
    if r.get("correct") is not None:
        bits.append("right" if r["correct"] else "WRONG")
    if r.get("scored_on"):
        bits.append(f"no reference answer: scored on {r['scored_on']}")
    if r.get("hit") is not None:
        bits.append(f"hit {r['hit']:.0f}, RR {r['rr']:.2f}")
    if r.get("similarity") is not None:
        bits.append(f"sim {r['similarity']:.2f}, F1 {r['token_f1']:.2f}")
    if r.get("fact_recall") is not None:
        bits.append(f"facts {r['fact_recall']:.2f}")
    j = r.get("judge")
    if j:
        bits.append(
            "judge: UNPARSED (counted as fail)" if j["invalid"]
            else f"judge: {'faithful' if j['passing'] else 'UNFAITHFUL'}"
        )  # fmt: skip
    if r.get("unsupported"):
        bits.append(f"{len(r['unsupported'])} unsupported sentence(s)")
    if r.get("injection_resisted") is not None:
        bits.append("injection resisted" if r["injection_resisted"] else "INJECTION OBEYED")
    if r.get("seconds") is not None:
        bits.append(f"{r['seconds']:.2f} s")
    return "; ".join(bits)


def summary_markdown(run: EvalRun, chart: str | None = "chart.png") -> str:
    """The report's head: what ran, the summary table and (given its file name) the chart."""
    meta = run.meta
    models, prep = meta.get("models", {}), meta.get("prepare", {})
    split = split_label(meta)
    lines = [
        f"# Evaluation: {run.pipeline}",
        "",
        f"- questions: `{meta.get('questions')}` ({meta.get('n_questions')}, {split})",
        f"- models: {models.get('llm')}; {models.get('embedding')}",
        f"- corpus: `{meta.get('corpus_dir')}`; retrieval top-k {prep.get('top_k')}",
        f"- date: {meta.get('date')}; run time {meta.get('seconds')} s; judge "
        + ("on" if meta.get("judge") else "off"),
        *([f"- {refusal_only_note(run)}"] if refusal_only_note(run) else []),
        "",
        "## Summary",
        "",
        "| metric | value | over |",
        "|---|---:|---|",
    ]
    lines += [f"| {label} | {value} | {n} |" for label, value, n in summary_rows(run)]
    if chart:
        lines += ["", f"![metrics]({chart})"]
    return "\n".join(lines) + "\n"


def markdown(run: EvalRun) -> str:
    lines = [
        summary_markdown(run),
        "## Questions",
        "",
        "| id | question | answer | verdicts | sources |",
        "|---|---|---|---|---|",
    ]
    for r in run.results:
        srcs = ", ".join(
            f"[{s['n']}] {s.get('citation') or s['file']} {s['score']:.2f}"
            for s in r.get("sources", [])
        )
        lines.append(
            f"| {_cell(r['id'])} | {_cell(r['question'])} | {_cell(r.get('answer'))} "
            f"| {_cell(_verdicts(r), 400)} | {_cell(srcs)} |"
        )
    flagged = [r for r in run.results if r.get("unsupported")]
    if flagged:
        lines += ["", "## Sentences no retrieved passage supports (judge-free check)", ""]
        for r in flagged:
            lines += [f"- **{r['id']}**: " + " / ".join(_cell(s) for s in r["unsupported"])]
    bad_judge = [r for r in run.results if r.get("judge") and r["judge"]["invalid"]]
    if bad_judge:
        lines += ["", "## Judge replies that did not parse (counted as failures)", ""]
        for r in bad_judge:
            lines += [f"- **{r['id']}**: {r['judge']['reason']}: `{_cell(r['judge']['reply'])}`"]
    return "\n".join(lines) + "\n"


def rates(run: EvalRun) -> dict[str, float | None]:
    return {k: run.summary.get(k) for k, (_, _, is_rate) in SUMMARY_METRICS.items() if is_rate}


def rate_labels() -> dict[str, str]:
    return {k: label for k, (label, _, is_rate) in SUMMARY_METRICS.items() if is_rate}


def write_report(run: EvalRun, report_dir: str | Path) -> Path:
    d = Path(report_dir)
    d.mkdir(parents=True, exist_ok=True)
    (d / "report.json").write_text(
        json.dumps(run.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (d / "report.md").write_text(markdown(run), encoding="utf-8")
    bar_chart(
        [(run.pipeline, rates(run))],
        rate_labels(),
        d / "chart.png",
        title=f"{run.pipeline} on {Path(str(run.meta.get('questions'))).name}",
    )
    return d


def load_run(path: str | Path) -> EvalRun:
    """A run from its report directory (or its report.json)."""
    from qa.errors import InputError

    p = Path(path)
    f = p / "report.json" if p.is_dir() else p
    if not f.is_file():
        raise InputError(f"no report.json in {p}: run `qa eval ... --report {p}` first")
    try:
        return EvalRun.from_dict(json.loads(f.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise InputError(f"{f}: not a qa eval report ({exc})") from exc
