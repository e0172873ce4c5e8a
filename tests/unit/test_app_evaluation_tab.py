"""The browser's Evaluation tab, its handlers called as Gradio calls them (mock models)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

import qa
from qa import ui as app
from qa.evaluation import saved
from tests.helpers import with_section

ITEMS = [
    {"id": "where", "question": "Where was the summit held?", "facts": ["Mexico City"]},
    {"id": "rice", "question": "What is the price of rice in Lima?", "answerable": False},
]


def _endpoint(demo, name: str):
    for fn in demo.fns.values():
        if fn.api_name == name:
            return fn.fn
    raise AssertionError(f"no /{name} endpoint")


def _set(settings: qa.Settings, name: str, lines: list[str]) -> Path:
    f = saved.sets_dir(settings) / name
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return f


@pytest.fixture
def settings(mock_settings: qa.Settings) -> qa.Settings:
    return with_section(mock_settings, "retrieval", min_support=0.0)  # MockLLM's filler passes


def test_run_shows_the_new_report_beside_the_previous(settings: qa.Settings) -> None:
    qset = _set(settings, "tiny.jsonl", [json.dumps(i) for i in ITEMS])
    run = _endpoint(app.build_app(settings), "evaluate")
    line, reports, pick, chart, comparison = run(str(qset), "all", False)
    assert line.startswith("✅ runs/") and "2 questions" in line and "nothing yet" in line
    assert chart == {"__type__": "update", "value": None, "visible": False}
    assert "No earlier run" in comparison
    first = pick["value"] if isinstance(pick, dict) else pick.value
    line, reports, pick, chart, comparison = run(str(qset), "all", False)
    assert f"compared with {first}" in line
    assert chart["visible"] and chart["value"].size[0] > 0  # the --compare chart
    assert first in comparison and "| hit rate@k |" in comparison
    assert first in reports and "tiny.jsonl" in reports  # the list has both runs


def test_listing_offers_reports_and_sets(settings: qa.Settings) -> None:
    qset = _set(settings, "mine.jsonl", [json.dumps(ITEMS[0])])
    from qa.ui.evaluation import listing, shower

    reports, pick, sets = listing(settings)
    assert "bench/eval/test/article/ours" in reports and "| fact recall |" in reports
    shipped = str(saved.SHIPPED_SETS / "article.jsonl")
    assert (str(qset.resolve()), str(qset)) in sets.choices
    assert ("tests/questions/article.jsonl", shipped) in sets.choices
    assert sets.value == shipped  # the first set, until one is picked
    assert listing(settings, "bench/eval/squad/bm25", str(qset))[2].value == str(qset)
    assert listing(settings, "bench/eval/squad/bm25")[1].value == "bench/eval/squad/bm25"
    chart, summary = shower(settings)("bench/eval/test/article/ours")
    assert chart is not None and "# Evaluation: ours" in summary
    assert shower(settings)("no such report") == (None, "")


def test_errors_and_a_second_run_are_one_line(
    settings: qa.Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = _endpoint(app.build_app(settings), "evaluate")
    broken = _set(settings, "broken.jsonl", ['{"question": "x"}', "{oops"])
    line, *rest = run(str(broken), "all", False)
    assert line.startswith("⚠️ ") and "broken.jsonl:2: not valid JSON" in line
    assert "\n" not in line and "Traceback" not in line
    assert run(str(broken), "dev", False)[0].startswith("⚠️ ")
    assert run(None, "all", False)[0] == "⚠️ choose a question set"

    started, release = threading.Event(), threading.Event()

    def slow(*args, **kw):
        started.set()
        assert release.wait(30)
        raise qa.BackendError("the model server is unavailable")

    monkeypatch.setattr(saved, "evaluate", slow)
    qset = _set(settings, "tiny.jsonl", [json.dumps(i) for i in ITEMS])
    first: list = []
    other = threading.Thread(target=lambda: first.append(run(str(qset), "all", False)))
    other.start()  # another session's run
    assert started.wait(30)
    busy = run(str(qset), "all", False)[0]
    assert busy.startswith("⚠️ an evaluation is already running (tiny.jsonl, all, started")
    release.set()
    other.join(30)
    assert first[0][0] == "⚠️ the model server is unavailable"  # model failure: one line
