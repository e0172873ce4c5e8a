"""Feedback on answers (qa.feedback): the record as a question line, its checks, the export,
the local store under concurrent writers, the browser's rating handler, POST /v1/feedback on
mock models, and `qa feedback` / `qa eval --feedback`."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import threading
from types import SimpleNamespace

import gradio as gr
import httpx
import pytest

import qa
from qa.cli import main
from qa.evaluation.questions import load_questions
from qa.feedback import (
    MAX_CORRECTION_CHARS,
    Answered,
    LocalFeedback,
    RecentAnswers,
    corrected,
    export_items,
    make_record,
    open_feedback,
    select,
)
from qa.server import ServerSettings, create_app
from qa.ui.rating import answer_key, rater, remembering
from tests.helpers import KEY, client, serving

SRC = {"n": 1, "file": "speech.txt", "page": None, "section": "Summit",
       "chunk_id": "speech.txt#0:ab", "score": 0.61,
       "text": "The summit was held in Mexico City.", "title": "T"}  # fmt: skip
WHERE = Answered("Where was it held?", "Where was it held?", "In Lima [1].", False, [SRC])
MOCK = ["--set", "llm.mode=mock", "--set", "embedding.mode=mock"]


def rec(rid: str, verdict: str = "down", correction: str = "", day: int = 1, **kw) -> dict:
    answered = Answered(**{**WHERE.__dict__, "sources": [SRC], **kw})
    now = dt.datetime(2026, 11, day, 12, 0, tzinfo=dt.UTC)
    return make_record(rid, answered, verdict, qa.load_settings(), correction, now=now)


# ---- the record ------------------------------------------------------------------------------
def test_a_record_is_a_line_of_the_question_format(tmp_path, mock_settings):
    answered = Answered.of("Where?", qa.Answer("In Lima [1].", [SRC], False, {}, 0.1, "Where?"))
    r = make_record("a1", answered, "down", mock_settings, "  Mexico City.  ")
    assert r["question"] == "Where?" and r["search_query"] == "Where?"
    assert r["reference_answer"] == r["correction"] == "Mexico City." and r["answerable"]
    assert r["sources"] == [{k: SRC[k] for k in ("file", "page", "section", "chunk_id", "score")}]
    assert r["source"] == "speech.txt" and r["kind"] == "feedback" and r["verdict"] == "down"
    assert r["settings"] == {"model": "mock LLM", "retrieval_mode": "hybrid",
                             "similarity_cutoff": 0.3}  # fmt: skip
    assert r["created"].endswith("Z") and "user" not in r  # no login: no user name
    assert make_record("a2", answered, "up", mock_settings, user="ann")["user"] == "ann"
    f = tmp_path / "set.jsonl"
    f.write_text(json.dumps(r) + "\n")
    (q,) = load_questions(f)  # the feedback file is a question set as it stands
    assert (q.id, q.question, q.reference_answer, q.source) == ("a1", "Where?", "Mexico City.",
                                                                 "speech.txt")  # fmt: skip


def test_what_a_rating_says_about_answerability():
    # a correction saying the documents do not tell: the question should be refused
    assert not rec("a", correction="The documents do not say where it was held.")["answerable"]
    assert not rec("b", verdict="up", refused=True)["answerable"]  # an approved refusal
    assert rec("c", refused=True)["answerable"]  # a refusal voted down: it should answer
    assert corrected(rec("d"), "Mexico City.")["reference_answer"] == "Mexico City."


@pytest.mark.parametrize(
    "verdict, correction, message",
    [
        ("down", "x" * (MAX_CORRECTION_CHARS + 1), "at most 2000"),
        ("up", "Mexico City.", "goes with a thumbs down"),
        ("meh", "", "'up' or 'down'"),
        ("down", "bad \ud800 text", "not valid Unicode"),
    ],
)
def test_bad_ratings_are_one_line_input_errors(verdict, correction, message):
    with pytest.raises(qa.InputError, match=message) as err:
        rec("x", verdict=verdict, correction=correction)
    assert "\n" not in str(err.value)


def test_export_keeps_thumbs_down_one_per_question_corrected_first():
    records = [
        rec("up", verdict="up", day=1),
        rec("old", correction="Mexico City.", day=2),
        rec("new", day=3),  # the same question later, uncorrected: the correction wins
        rec("other", day=4, question="What  is CELAC?", search_query="What is CELAC?"),
        rec("dup", day=5, question="what is celac?", search_query="what is celac?"),
        rec("follow", day=6, question="And when?", search_query="Where was it held? And when?",
            follow_up=True),
    ]  # fmt: skip
    items = export_items(records)
    assert [i["id"] for i in items] == ["old", "dup", "follow"]
    follow = items[-1]  # replayed without its conversation: asked in its standalone form
    assert follow["question"] == "Where was it held? And when?" and follow["asked"] == "And when?"


def test_select_by_verdict_and_dates():
    records = [rec("a", day=1), rec("b", verdict="up", day=2), rec("c", day=3)]
    assert [r["id"] for r in select(records, verdict="down")] == ["a", "c"]
    days = select(records, since=dt.date(2026, 11, 2), until=dt.date(2026, 11, 3))
    assert [r["id"] for r in days] == ["b", "c"]


def test_recent_answers_forget_the_oldest():
    recent = RecentAnswers(size=3)
    for i in range(5):
        recent.put(f"id{i}", WHERE)
    assert recent.get("id0") is None and recent.get("id1") is None and recent.get("id4") is WHERE


# ---- the local store -------------------------------------------------------------------------
def test_local_store_appends_replaces_and_removes(tmp_path):
    store = LocalFeedback(tmp_path / "data" / "feedback.jsonl")
    assert store.records() == []
    store.put(rec("a"))
    store.put(rec("b"))
    store.put(rec("a", correction="Mexico City."))  # rated again: replaced in place
    assert [(r["id"], r["correction"]) for r in store.records()] == [
        ("a", "Mexico City."), ("b", "")]  # fmt: skip
    assert store.remove("b") and not store.remove("b")
    assert [r["id"] for r in store.records()] == ["a"]
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600  # questions people asked


def test_sixteen_threads_rating_at_once_lose_no_record(tmp_path):
    store = LocalFeedback(tmp_path / "feedback.jsonl")
    long = "word " * 3000  # lines of ~15 KB: larger than a pipe's atomic write
    start = threading.Barrier(16)

    def rate(t: int) -> None:
        start.wait()
        for i in range(8):
            store.put(rec(f"t{t}-{i}", correction=f"{t} {i} {long}"[:MAX_CORRECTION_CHARS]))
            if i % 4 == 3:  # some raters change their mind: a replacement amid the appends
                store.put(rec(f"t{t}-{i}", correction=f"changed {t} {i}"))

    threads = [threading.Thread(target=rate, args=(t,)) for t in range(16)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    lines = store.path.read_text(encoding="utf-8").splitlines()
    records = [json.loads(x) for x in lines]  # no torn line
    assert sorted(r["id"] for r in records) == sorted(f"t{t}-{i}" for t in range(16)
                                                      for i in range(8))  # fmt: skip
    changed = [r for r in records if r["correction"].startswith("changed")]
    assert len(changed) == 16 * 2


def test_a_broken_feedback_file_is_named_in_one_line(tmp_path):
    store = LocalFeedback(tmp_path / "feedback.jsonl")
    store.path.write_text('{"id": "a"}\n{"id": "b", \n')
    with pytest.raises(qa.InputError, match=r"feedback.jsonl:2: not a feedback record"):
        store.records()


# ---- the browser's rating handler ------------------------------------------------------------
def like(index: int, liked) -> gr.LikeData:
    return gr.LikeData(None, {"index": index, "value": "", "liked": liked})


def test_browser_rating_thumbs_down_then_correction(mock_settings):
    store, recent = open_feedback(mock_settings), RecentAnswers()
    answer = qa.Answer("In Lima [1].", [SRC], False, {}, 0.1, "Where was it held? standalone")
    remembering(recent)("Where was it held?", answer, False)
    rate, correct = rater(mock_settings, store, recent)
    history = [{"role": "user", "content": "Where was it held?"},
               {"role": "assistant", "content": "In Lima [1]."}]  # fmt: skip
    request = SimpleNamespace(session_hash="s1", username=None)
    pending, box, text, note = rate(history, like(1, False), request)
    assert box["visible"] and "What should it have said" in note
    (saved,) = store.records()
    assert saved["verdict"] == "down" and saved["search_query"] == "Where was it held? standalone"
    assert saved["sources"][0]["chunk_id"] == "speech.txt#0:ab" and "user" not in saved
    pending, box, text, note = correct(pending, "It was held in Mexico City.")
    assert pending is None and not box["visible"] and "Correction saved" in note
    (saved,) = store.records()  # one record per rating: the correction completed it
    assert saved["reference_answer"] == "It was held in Mexico City."
    *_, note = correct(None, "anything")
    assert "first" in note
    # the same answer rated up by a logged-in user replaces the record; withdrawn, it goes
    *_, note = rate(history, like(1, True), SimpleNamespace(session_hash="s1", username="ann"))
    assert "Thanks" in note
    assert [(r["verdict"], r["user"]) for r in store.records()] == [("up", "ann")]
    *_, note = rate(history, like(1, ""), request)
    assert "withdrawn" in note and store.records() == []


def test_browser_rating_of_an_error_or_a_forgotten_answer(mock_settings):
    store = open_feedback(mock_settings)
    rate, _ = rater(mock_settings, store, RecentAnswers())
    request = SimpleNamespace(session_hash="s", username=None)
    history = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "⚠️ boom"}]
    *_, note = rate(history, like(1, False), request)
    assert "not rated" in note and store.records() == []
    history[1]["content"] = "The documents do not contain the answer to this question."
    rate(history, like(1, False), request)  # not remembered: recorded from the chat alone
    (saved,) = store.records()
    assert saved["refused"] and saved["sources"] == [] and saved["question"] == "q"
    assert answer_key("a  b", "c") == answer_key("a b", "c ")


# ---- POST /v1/feedback -----------------------------------------------------------------------
@pytest.fixture
def fb_base(mock_settings):
    app = create_app(mock_settings, ServerSettings(api_keys=[KEY]), mount_ui=False)
    with serving(app) as base:
        yield base


def post(base: str, body, key: str = KEY) -> httpx.Response:
    h = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(f"{base}/v1/feedback", content=content, headers=h)


def test_feedback_by_completion_id_plain_and_streamed(fb_base, mock_settings):
    c = client(fb_base)
    r = c.chat.completions.create(
        model="corpus-qa", messages=[{"role": "user", "content": "Where was the summit held?"}]
    )
    got = post(fb_base, {"id": r.id, "verdict": "down", "correction": "In Mexico City."})
    assert got.status_code == 200, got.text
    assert got.json()["question"] == "Where was the summit held?"
    chunks = list(
        c.chat.completions.create(
            model="corpus-qa",
            messages=[
                {"role": "user", "content": "Where?"},
                {"role": "assistant", "content": "x"},
                {"role": "user", "content": "And when?"},
            ],  # fmt: skip
            stream=True,
        )
    )
    assert post(fb_base, {"id": chunks[-1].id, "verdict": "up"}).status_code == 200
    plain, streamed = open_feedback(mock_settings).records()
    assert plain["id"] == r.id and plain["reference_answer"] == "In Mexico City."
    assert plain["answer"] == r.choices[0].message.content
    assert plain["sources"][0]["file"] == r.model_extra["sources"][0]["file"]
    assert streamed["question"] == "And when?" and streamed["follow_up"]


@pytest.mark.parametrize(
    "body, status, message",
    [
        ({"id": "chatcmpl-unknown", "verdict": "down"}, 404, "unknown answer id"),
        ({"verdict": "down", "correction": "x" * 3000}, 400, "at most 2000"),
        ({"verdict": "sideways"}, 400, "'up' or 'down'"),
        (b'{"id": "x", "verdict": "down", "correction": "caf\xe9"}', 400, "not UTF-8"),
        ({"verdict": "down", "correction": "bad \ud800"}, 400, "not valid Unicode"),
    ],
)
def test_bad_feedback_is_a_clear_4xx_and_stores_nothing(fb_base, mock_settings, body, status,
                                                         message):  # fmt: skip
    r = client(fb_base).chat.completions.create(
        model="corpus-qa", messages=[{"role": "user", "content": "Where?"}]
    )
    if isinstance(body, dict):
        body = {"id": r.id, **body}
    got = post(fb_base, body)
    assert got.status_code == status and message in got.json()["error"]["message"]
    assert "\n" not in got.json()["error"]["message"]
    assert post(fb_base, {"id": r.id, "verdict": "down"}, key="wrong").status_code == 401
    assert open_feedback(mock_settings).records() == []


# ---- qa feedback list / export, qa eval --feedback ---------------------------------------------
def test_cli_lists_exports_and_evaluates_feedback(mock_settings, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("QA_STORE__DATA_DIR", str(mock_settings.store.data_dir))
    monkeypatch.setenv("QA_CORPUS_DIR", str(mock_settings.corpus_dir))
    out = tmp_path / "fb.jsonl"
    assert main(["feedback", "export", str(out)]) == 2  # nothing rated yet
    assert "no thumbs-down ratings" in capsys.readouterr().err
    store = open_feedback(mock_settings)
    store.put(rec("fixed", correction="It was held in Mexico City.", day=2))
    store.put(rec("bare", day=3, question="What is CELAC?", search_query="What is CELAC?"))
    store.put(rec("fine", verdict="up", day=4, question="Who spoke?", search_query="Who spoke?"))
    assert main(["feedback", "list", "--verdict", "down", "--since", "2026-11-03"]) == 0
    listed = capsys.readouterr().out
    assert "What is CELAC?" in listed and "Where was it held?" not in listed
    assert "1 rating(s) in" in listed
    assert main(["feedback", "export", str(out)]) == 0
    assert "wrote 2 question(s)" in capsys.readouterr().out
    assert [q.id for q in load_questions(out)] == ["fixed", "bare"]
    common = ["--data-dir", str(tmp_path / "d"), *MOCK, "--no-judge", "--no-progress"]
    report = tmp_path / "report"
    assert main(["eval", str(out), *common, "--report", str(report)]) == 0
    printed = capsys.readouterr().out
    assert "1 of 2 question(s) have no reference answer" in printed
    rows = {r["id"]: r for r in json.loads((report / "report.json").read_text())["results"]}
    assert rows["bare"]["correct"] is None and rows["bare"]["scored_on"]
    assert rows["bare"]["refusal_correct"] is not None and rows["bare"]["hit"] is not None
    assert rows["fixed"]["similarity"] is not None and "scored_on" not in rows["fixed"]
    md = (report / "report.md").read_text()
    assert "scored on refusal and sources only" in md
    # the same set straight from the store
    assert main(["eval", "--feedback", *common, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_refusal_sources_only"] == 1
    assert main(["eval", str(out), "--feedback"]) == 2
