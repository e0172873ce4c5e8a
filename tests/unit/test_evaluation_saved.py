"""Saved reports as the Evaluation tab lists them, and runs saved one at a time (mock models)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

import qa
from qa.evaluation import saved
from qa.evaluation.report import write_report
from qa.evaluation.run import EvalRun
from tests.helpers import with_section

ITEMS = [
    {"id": "where", "question": "Where was the summit held?", "facts": ["Mexico City"]},
    {"id": "rice", "question": "What is the price of rice in Lima?", "answerable": False},
]


def a_run(date: str, questions: str = "tests/questions/article.jsonl", **summary) -> EvalRun:
    meta = {"questions": questions, "n_questions": 2, "split": "test", "date": date}
    return EvalRun("ours", meta, {"fact_recall": 0.5, **summary})


def user_set(settings: qa.Settings, name: str = "tiny.jsonl", text: str | None = None) -> Path:
    f = saved.sets_dir(settings) / name
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(text if text is not None else "\n".join(json.dumps(i) for i in ITEMS) + "\n")
    return f


def test_reports_are_listed_newest_first_with_their_figures(tmp_path: Path) -> None:
    shipped, mine = tmp_path / "bench", tmp_path / "runs"
    write_report(a_run("2026-01-01T10:00:00"), shipped / "test" / "article")
    write_report(a_run("2026-03-01T10:00:00", fact_recall=0.75), mine / "later")
    (mine / "broken").mkdir()
    (mine / "broken" / "report.json").write_text("{not json")  # left out, hides nothing
    found = saved.list_reports([("bench/eval", shipped), ("runs", mine), ("none", tmp_path / "x")])
    assert [r.name for r in found] == ["runs/later", "bench/eval/test/article"]
    row = found[0].row()
    assert row["questions"] == "article.jsonl" and row["split"] == "test"
    assert row["date"] == "2026-03-01 10:00:00" and row["fact recall"] == "0.750"
    assert found[0].chart.is_file() and "| fact recall | 0.750 |" in found[0].summary()
    assert "chart.png" not in found[0].summary()  # a page shows the chart itself


def test_question_sets_are_the_shipped_ones_then_the_users(mock_settings: qa.Settings) -> None:
    mine = user_set(mock_settings)
    (mine.parent / "notes.txt").write_text("not a set")
    sets = saved.question_sets(mock_settings)
    assert sets["tests/questions/article.jsonl"] == saved.SHIPPED_SETS / "article.jsonl"
    assert list(sets.values())[-1] == mine and sets[str(mine.resolve())] == mine
    assert all(p.suffix in saved.SET_SUFFIXES for p in sets.values())


def test_a_run_is_saved_then_compared_with_the_previous_one(mock_settings: qa.Settings) -> None:
    s = with_section(mock_settings, "retrieval", min_support=0.0)
    qset = user_set(s)
    first = saved.run_saved(qset, s, judge=False, progress=False)
    assert first.previous is None and first.compare_chart is None
    assert "No earlier run" in first.comparison()
    assert first.report.path.parent == saved.runs_dir(s) and first.report.chart.is_file()
    second = saved.run_saved(qset, s, judge=False, progress=False)
    assert second.previous is not None and second.previous.name == first.report.name
    view = second.comparison()
    assert first.report.name in view and second.report.name in view and "hit rate@k" in view
    assert second.compare_chart is not None and second.compare_chart.is_file()
    assert (second.compare_dir / "compare.md").is_file()
    names = [r.name for r in qa.eval_reports(s)]
    assert names.index(second.report.name) < names.index(first.report.name)  # newest first
    # another split of the set is another series: nothing to compare with yet
    dev = user_set(s, "split.jsonl", "\n".join(json.dumps({**i, "split": "dev"}) for i in ITEMS))
    saved.run_saved(dev, s, judge=False, progress=False, split="all")
    assert saved.run_saved(dev, s, judge=False, progress=False, split="dev").previous is None


def test_only_offered_sets_run_and_bad_ones_fail_in_one_line(
    mock_settings: qa.Settings, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere.jsonl"
    elsewhere.write_text(json.dumps(ITEMS[0]) + "\n")
    with pytest.raises(qa.InputError, match="not one of the question sets offered here"):
        saved.run_saved(elsewhere, mock_settings)
    broken = user_set(mock_settings, "broken.jsonl", '{"question": "x"}\n{oops\n')
    with pytest.raises(qa.InputError, match=r"broken.jsonl:2: not valid JSON"):
        saved.run_saved(broken, mock_settings, progress=False)
    assert not saved.runs_dir(mock_settings).exists()  # nothing half-written


def test_one_run_at_a_time_across_callers(
    mock_settings: qa.Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, release = threading.Event(), threading.Event()

    def slow(path: Path, settings: qa.Settings, **kw) -> EvalRun:
        started.set()
        assert release.wait(30)
        return a_run("2026-01-01T10:00:00", questions=str(path))

    monkeypatch.setattr(saved, "evaluate", slow)
    qset = user_set(mock_settings)
    first: list = []
    worker = threading.Thread(target=lambda: first.append(saved.run_saved(qset, mock_settings)))
    worker.start()
    assert started.wait(30)
    with pytest.raises(saved.Busy, match=r"already running \(tiny.jsonl, all, started"):
        saved.run_saved(qset, mock_settings)
    assert saved.running().startswith("tiny.jsonl")
    release.set()
    worker.join(30)
    assert first and saved.running() == ""

    # a run that fails frees the slot too
    def fails(*args, **kw) -> EvalRun:
        raise qa.CorpusError("the corpus is empty")

    monkeypatch.setattr(saved, "evaluate", fails)
    with pytest.raises(qa.CorpusError):
        saved.run_saved(qset, mock_settings)
    monkeypatch.setattr(saved, "evaluate", slow)
    assert saved.run_saved(qset, mock_settings).previous is None  # the fake run saved nothing
