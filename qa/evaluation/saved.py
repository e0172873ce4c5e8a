"""Saved evaluation reports as a door lists them, and new runs saved beside them.

The reports are the `qa eval --report DIR` folders under bench/eval/ (shipped) and under the
data dir's eval/ (the runs started from a door). A new run goes there, one at a time in this
process whichever session asks, and is compared with the previous run of its question set
(the `qa eval --compare` view).
"""

from __future__ import annotations

import datetime as _dt
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import qa
from qa.errors import InputError, QAError
from qa.evaluation import compare
from qa.evaluation.report import fmt, load_run, summary_markdown
from qa.evaluation.run import SUMMARY_METRICS, EvalRun
from qa.evaluation.runner import evaluate
from qa.settings import REPO_ROOT

SHIPPED_REPORTS = REPO_ROOT / "bench" / "eval"
SHIPPED_SETS = REPO_ROOT / "tests" / "questions"
SET_SUFFIXES = (".jsonl", ".json", ".yaml", ".yml")
# the figures a list of reports shows for each (the results in bench/results.md lead with them)
HEADLINE = ("false_refusals", "fact_recall", "refusal_accuracy", "broad_answered", "latency_p50")


class Busy(QAError):
    """Another evaluation is running: the model answers one question at a time, and two runs
    at once would each take twice as long and time each other's answers."""


def runs_dir(settings: qa.Settings) -> Path:
    """Where runs started from a door are saved: the data dir's eval/."""
    return settings.store.data_dir / "eval"


def sets_dir(settings: qa.Settings) -> Path:
    """Where a user's own question sets are looked for: the data dir's questions/."""
    return settings.store.data_dir / "questions"


def shown(path: Path) -> str:
    """A path as a page shows it: relative to the checkout when inside it."""
    p = path.resolve()
    return p.relative_to(REPO_ROOT).as_posix() if p.is_relative_to(REPO_ROOT) else str(p)


@dataclass(frozen=True)
class SavedReport:
    """One report folder (report.json, report.md, chart.png) and the run it holds."""

    name: str  # "bench/eval/test/article/ours", "runs/20261130-043501-tiny-all"
    path: Path
    run: EvalRun

    @property
    def chart(self) -> Path:
        return self.path / "chart.png"

    @property
    def questions(self) -> Path:
        """The question set it ran, resolved (runs record it as given, often relative)."""
        q = Path(str(self.run.meta.get("questions")))
        return (q if q.is_absolute() else REPO_ROOT / q).resolve()

    @property
    def split(self) -> str:
        return self.run.meta.get("split") or "all"  # runs saved before splits ran every item

    def row(self) -> dict[str, Any]:
        """The report as one line of a list: what ran, when, and the headline figures."""
        m = self.run.meta
        out = {"report": self.name, "questions": self.questions.name, "split": self.split}
        out |= {"items": m.get("n_questions"), "date": str(m.get("date", "")).replace("T", " ")}
        return out | {SUMMARY_METRICS[k][0]: fmt(k, self.run.summary.get(k)) for k in HEADLINE}

    def summary(self) -> str:
        """The report's head and summary table (report.md without its per-question part)."""
        return summary_markdown(self.run, chart=None)


def report_folders(settings: qa.Settings) -> list[tuple[str, Path]]:
    return [("bench/eval", SHIPPED_REPORTS), ("runs", runs_dir(settings))]


def list_reports(folders: list[tuple[str, Path]]) -> list[SavedReport]:
    """Every report under the folders, newest first; a report.json that does not parse is
    left out rather than hiding the others."""
    found = []
    for label, folder in folders:
        for f in sorted(folder.rglob("report.json")) if folder.is_dir() else []:
            try:
                run = load_run(f)
            except InputError:
                continue
            rel = f.parent.relative_to(folder).as_posix()
            found.append(SavedReport(f"{label}/{rel}".rstrip("/."), f.parent, run))
    return sorted(found, key=lambda r: (str(r.run.meta.get("date", "")), r.name), reverse=True)


def question_sets(settings: qa.Settings) -> dict[str, Path]:
    """The sets a door offers, by the name it shows: the shipped ones, then the user's (only
    these may be run)."""
    out = {}
    for folder in (SHIPPED_SETS, sets_dir(settings)):
        if folder.is_dir():
            found = sorted(p for p in folder.iterdir() if p.suffix in SET_SUFFIXES and p.is_file())
            out |= {shown(p): p for p in found}
    return out


@dataclass(frozen=True)
class SavedRun:
    """A run saved by `run_saved`, with the previous run of its set and their comparison."""

    report: SavedReport
    previous: SavedReport | None

    @property
    def compare_dir(self) -> Path:
        return self.report.path / "compare"

    @property
    def compare_chart(self) -> Path | None:
        return self.compare_dir / "compare.png" if self.previous else None

    def comparison(self) -> str:
        """The `qa eval --compare` view of the previous run and this one (markdown)."""
        if self.previous is None:
            return "No earlier run of this question set and split to compare with."
        runs, names = [self.previous.run, self.report.run], [self.previous.name, self.report.name]
        return compare.markdown(runs, names, chart=None)


_LOCK = threading.Lock()
_NOW: dict[str, str] = {}  # what runs now, for the line a second caller gets


def running() -> str:
    """What runs now ("" when nothing does)."""
    return _NOW.get("what", "")


def run_saved(
    questions: str | Path,
    settings: qa.Settings,
    *,
    split: str = "all",
    judge: bool = False,
    progress: bool | None = None,
) -> SavedRun:
    """Evaluate one of `question_sets(settings)` with these settings (the chat's: same engine,
    same index) into `runs_dir`, then compare it with the previous run of that set and split.

    One run at a time: while one runs, another call raises Busy at once instead of waiting."""
    path = Path(questions).resolve()
    if path not in [p.resolve() for p in question_sets(settings).values()]:
        raise InputError(f"not one of the question sets offered here: {Path(questions).name}")
    if not _LOCK.acquire(blocking=False):
        raise Busy(f"an evaluation is already running ({running()}); wait for it to finish")
    try:
        started = _dt.datetime.now()
        _NOW["what"] = f"{path.name}, {split}, started {started:%H:%M:%S}"
        same = [r for r in list_reports(report_folders(settings)) if _same(r, path, split)]
        out = _free(runs_dir(settings) / f"{started:%Y%m%d-%H%M%S}-{path.stem}-{split}")
        result = evaluate(
            path, settings, split=split, judge=judge, progress=progress, report_dir=out
        )
        report = SavedReport(f"runs/{out.name}", out, result)
        saved = SavedRun(report, same[0] if same else None)
        if saved.previous:
            runs = [saved.previous.run, result]
            compare.write_compare(runs, saved.compare_dir, [saved.previous.name, report.name])
        return saved
    finally:
        _NOW.clear()
        _LOCK.release()


def _same(report: SavedReport, questions: Path, split: str) -> bool:
    return report.questions == questions and report.split == split


def _free(folder: Path) -> Path:
    """`folder`, or with -2, -3... when a run of the same second has it (newest sorts first)."""
    n, out = 1, folder
    while out.exists():
        n += 1
        out = folder.with_name(f"{folder.name}-{n}")
    return out
