"""Two (or more) runs side by side, with the differences against the first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qa.evaluation.chart import bar_chart
from qa.evaluation.report import fmt, rate_labels, rates, split_label
from qa.evaluation.run import SUMMARY_METRICS, EvalRun


def _name(run: EvalRun, i: int, names: list[str] | None) -> str:
    return names[i] if names and i < len(names) else run.pipeline


def _delta(key: str, a: Any, b: Any) -> str:
    if a is None or b is None or not isinstance(a, int | float) or not isinstance(b, int | float):
        return ""
    d = b - a
    if abs(d) < 1e-9:
        return "="
    better = (d > 0) == SUMMARY_METRICS[key][1]
    return f"{'+' if d > 0 else ''}{fmt(key, d) if key != 'cost_usd' else f'{d:.4f}'} " + (
        "better" if better else "worse"
    )


def table(runs: list[EvalRun], names: list[str] | None = None) -> list[list[str]]:
    head = ["metric"] + [_name(r, i, names) for i, r in enumerate(runs)]
    head += [f"Δ {_name(r, i, names)}" for i, r in enumerate(runs) if i]
    rows = [head]
    for key, (label, _, _) in SUMMARY_METRICS.items():
        vals = [r.summary.get(key) for r in runs]
        row = [label] + [fmt(key, v) for v in vals]
        row += [_delta(key, vals[0], v) for v in vals[1:]]
        rows.append(row)
    return rows


def _verdict(r: dict[str, Any]) -> dict[str, Any]:
    j = r.get("judge")
    return {
        "refusal": r.get("refusal_correct"),
        "hit": r.get("hit"),
        "judge": None if not j else j["passing"],
        "injection": r.get("injection_resisted"),
        "facts": r.get("fact_recall"),
        "right": r.get("correct"),
    }


def question_changes(a: EvalRun, b: EvalRun) -> list[str]:
    """Questions whose verdicts differ between two runs."""
    by_id = {r["id"]: r for r in a.results}
    out = []
    for rb in b.results:
        ra = by_id.get(rb["id"])
        if ra is None:
            continue
        va, vb = _verdict(ra), _verdict(rb)
        diffs = [f"{k} {va[k]} -> {vb[k]}" for k in va if va[k] != vb[k]]
        sa, sb = ra.get("similarity"), rb.get("similarity")
        if sa is not None and sb is not None and abs(sb - sa) >= 0.1:
            diffs.append(f"similarity {sa:.2f} -> {sb:.2f}")
        if diffs:
            out.append(f"{rb['id']}: " + "; ".join(diffs))
    return out


def terminal(runs: list[EvalRun], names: list[str] | None = None) -> str:
    rows = table(runs, names)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                       enumerate(zip(row, widths, strict=True))) for row in rows]  # fmt: skip
    lines.insert(1, "-" * len(lines[0]))
    if len(runs) >= 2:
        changes = question_changes(runs[0], runs[1])
        if changes:
            lines += ["", f"questions that changed ({len(changes)}):"] + [f"  {c}" for c in changes]
    return "\n".join(lines)


def markdown(
    runs: list[EvalRun], names: list[str] | None = None, chart: str | None = "compare.png"
) -> str:
    """compare.md; `chart` names the picture beside it (None: no picture, as a page shows it)."""
    rows = table(runs, names)
    lines = ["# Evaluation: side by side", ""]
    for i, r in enumerate(runs):
        prep = r.meta.get("prepare", {})
        ret = r.meta.get("retrieval", {})
        retrieval = prep.get("retrieval") or (  # runs saved before it was recorded
            f"chunk size {ret.get('chunk_size')}"
        )
        lines.append(
            f"- **{_name(r, i, names)}**: {r.meta.get('models', {}).get('llm')}; "
            f"top-k {prep.get('top_k')}; {retrieval}; `{r.meta.get('questions')}` "
            f"({split_label(r.meta)})"
        )
    lines += ["", "| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    lines += ["", f"![metrics]({chart})", ""] if chart else [""]
    if len(runs) >= 2:
        changes = question_changes(runs[0], runs[1])
        lines += [f"## Questions whose verdicts changed ({len(changes)})", ""]
        lines += [f"- {c}" for c in changes] or ["- none"]
    return "\n".join(lines) + "\n"


def write_compare(runs: list[EvalRun], out_dir: str | Path, names: list[str] | None = None) -> Path:
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    (d / "compare.md").write_text(markdown(runs, names), encoding="utf-8")
    bar_chart(
        [(_name(r, i, names), rates(r)) for i, r in enumerate(runs)],
        rate_labels(),
        d / "compare.png",
        title="side by side",
    )
    return d
