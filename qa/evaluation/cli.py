"""`qa eval`: run a question set, print a summary, write reports, compare runs, gate on minimums.

    qa eval tests/questions/article.jsonl --report out/ours
    qa eval --feedback --report out/feedback     (the thumbs-down ratings, see qa.feedback)
    qa eval --corpus DIR QUESTIONS.jsonl --pipeline ours --pipeline baseline --report out/
    qa eval --compare out/ours out/baseline
    qa eval tests/questions/article.jsonl --no-judge --min-hit-rate 0.9 --min-refusal-accuracy 0.8
    qa eval QUESTIONS.jsonl --split test --max-false-refusals 0.03 --min-follow-up-accuracy 0.9

Exit codes: 0 all gates met, 1 a run is below a --min-* or above a --max-* threshold, 2-5 bad
input/settings.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from qa.errors import InputError


def _args(p: argparse.ArgumentParser) -> None:
    from qa.evaluation.questions import SPLITS
    from qa.evaluation.run import MAX_THRESHOLDS, THRESHOLDS
    from qa.evaluation.runner import PIPELINES

    p.add_argument("questions", nargs="?", help="question set (.jsonl, .json or .yaml)")
    p.add_argument(
        "--feedback",
        action="store_true",
        help="run the thumbs-down ratings as the question set (what `qa feedback export` writes)",
    )
    p.add_argument("--corpus", help="index this folder into its own data dir and evaluate on it")
    p.add_argument("--data-dir", help="data dir for --corpus (default: under the system temp dir)")
    p.add_argument(
        "--pipeline",
        action="append",
        choices=PIPELINES,
        help="ours (default), baseline (plain llama-index default query engine, same models)"
        " or condense_plus_context (llama-index's CondensePlusContextChatEngine over that"
        " index); repeat to run several side by side",
    )
    p.add_argument(
        "--split",
        choices=(*SPLITS, "all"),
        default="all",
        help="run only the items of this split (default all)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="settings override, e.g. retrieval.top_k=5 (repeatable)",
    )
    p.add_argument("--report", metavar="DIR", help="write report.md, report.json, chart.png")
    p.add_argument(
        "--compare", nargs="+", metavar="DIR", help="show saved runs (report dirs) side by side"
    )
    p.add_argument("--no-judge", action="store_true", help="skip the LLM faithfulness judge")
    p.add_argument("--limit", type=int, help="only the first N questions")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    g = p.add_argument_group(
        "quality gate (exit 1 below a --min-* or above a --max-*; applies to the first"
        " --pipeline, or the last --compare run)"
    )
    for opt, key in THRESHOLDS.items():
        g.add_argument(f"--min-{opt}", type=float, dest=f"min_{key}", metavar="X")
    for opt, key in MAX_THRESHOLDS.items():
        g.add_argument(f"--max-{opt}", type=float, dest=f"max_{key}", metavar="X")


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """["retrieval.top_k=5", "llm.mode=mock"] -> {"retrieval": {"top_k": 5}, "llm": {...}}."""
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise InputError(f"--set needs KEY=VALUE, got {pair!r}")
        key, raw = pair.split("=", 1)
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        node = out
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise InputError(f"--set {key}: conflicts with another --set")
        node[parts[-1]] = value
    return out


def minimums(a: argparse.Namespace) -> dict[str, float]:
    from qa.evaluation.run import THRESHOLDS

    return _given(a, "min", THRESHOLDS.values())


def maximums(a: argparse.Namespace) -> dict[str, float]:
    from qa.evaluation.run import MAX_THRESHOLDS

    return _given(a, "max", MAX_THRESHOLDS.values())


def _given(a: argparse.Namespace, prefix: str, keys: Any) -> dict[str, float]:
    return {
        key: getattr(a, f"{prefix}_{key}")
        for key in keys
        if getattr(a, f"{prefix}_{key}", None) is not None
    }


def register(sub: argparse._SubParsersAction) -> None:
    """`qa eval` (called by qa.cli)."""
    p = sub.add_parser(
        "eval", help="score answers on a question set (metrics, reports, comparisons)"
    )
    _args(p)
    p.set_defaults(run=cmd_eval)


def cmd_eval(a: argparse.Namespace) -> int:
    import qa
    from qa.evaluation import compare, report
    from qa.evaluation.runner import evaluate

    if a.compare:
        if len(a.compare) < 2:
            raise InputError("--compare needs at least two report directories")
        runs = [report.load_run(d) for d in a.compare]
        names = [Path(d).name for d in a.compare]
        print(compare.terminal(runs, names))
        if a.report:
            compare.write_compare(runs, a.report, names)
            print(f"\nwrote {Path(a.report) / 'compare.md'}")
        return _gate(runs[-1:], minimums(a), maximums(a))  # gate the candidate
    if a.feedback and a.questions:
        raise InputError("give a question set or --feedback, not both")
    if not a.questions and not a.feedback:
        raise InputError("give a question set (e.g. tests/questions/article.jsonl) or --compare")
    # a bad value: load_settings raises ConfigError naming the setting (exit 3, one line)
    settings = qa.load_settings(**parse_overrides(a.set))
    questions, origin = feedback_questions(settings) if a.feedback else (a.questions, None)
    pipelines = a.pipeline or ["ours"]
    runs = []
    for name in pipelines:
        out = None
        if a.report:
            out = Path(a.report) / name if len(pipelines) > 1 else Path(a.report)
        run = evaluate(
            questions,
            settings,
            corpus=a.corpus,
            data_dir=a.data_dir,
            pipeline=name,
            judge=not a.no_judge,
            limit=a.limit,
            split=a.split,
            origin=origin,
            progress=False if a.no_progress else None,
            report_dir=out,
        )
        runs.append(run)
        if a.json:
            print(json.dumps({"pipeline": name, **run.summary}))
        else:
            print(report.terminal_table(run), file=sys.stdout)
            if out:
                print(f"wrote {out / 'report.md'}, report.json, chart.png")
            print()
    if len(runs) > 1:
        if not a.json:
            print(compare.terminal(runs, pipelines))
        if a.report:
            compare.write_compare(runs, a.report, pipelines)
    return _gate(runs[:1], minimums(a), maximums(a))


def feedback_questions(settings: Any) -> tuple[list[dict[str, Any]], str]:
    """The thumbs-down ratings as a question set (qa.feedback.export_items), and its name."""
    from qa.feedback import export_items, open_feedback

    store = open_feedback(settings)
    items = export_items(store.records())
    if not items:
        raise InputError(f"no thumbs-down ratings in {store.where}: nothing to evaluate")
    return items, f"feedback in {store.where}"


def _gate(runs: list, mins: dict[str, float], maxs: dict[str, float]) -> int:
    failed = []
    for run in runs:
        failed += [f"below threshold: {run.pipeline}: {line}" for line in run.below(mins)]
        failed += [f"above threshold: {run.pipeline}: {line}" for line in run.above(maxs)]
    for line in failed:
        print(line, file=sys.stderr)
    return 1 if failed else 0
