"""The HTTP API on the real embedded default (local Qwen GGUF + local ONNX embeddings), through
the official `openai` client: plain, streamed, a follow-up, a refusal."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

import qa
from qa.answering.grounding import split_sentences, strip_markers
from qa.evaluation import evaluate
from qa.server import ServerSettings, create_app
from tests.helpers import client, serving

ARTICLE = "xi_celac_sixth_summit_speech.txt"


@pytest.fixture(scope="module")
def base(local_settings) -> Iterator[str]:
    app = create_app(local_settings, ServerSettings(api_keys=["k"]), mount_ui=False)
    with serving(app) as url:  # ready once the index and the model are loaded
        yield url


def test_plain_answer_with_sources(base):
    r = client(base, key="k", timeout=120).chat.completions.create(
        model="corpus-qa",
        messages=[{"role": "user", "content": "Where was the sixth CELAC summit held?"}],
    )
    text = r.choices[0].message.content
    assert "Mexico" in text
    assert r.model_extra["refused"] is False
    sources = r.model_extra["sources"]
    assert sources[0]["file"] == ARTICLE and sources[0]["score"] > 0.35
    assert sources[0]["title"] and sources[0]["text"]
    assert r.usage.prompt_tokens > 50 and r.usage.completion_tokens > 0


def test_streamed_answer(base):
    chunks = list(
        client(base, key="k", timeout=120).chat.completions.create(
            model="corpus-qa",
            messages=[{"role": "user", "content": "Where was the sixth CELAC summit held?"}],
            stream=True,
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "Mexico" in text
    # one content chunk per checked sentence (qa.answering.check), then the final chunk
    contents = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(contents) == len(split_sentences(strip_markers(text))) >= 1
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["sources"][0]["file"] == ARTICLE


def test_follow_up_is_condensed_with_the_history(base):
    c = client(base, key="k", timeout=120)
    first = "When was the sixth summit?"
    a1 = c.chat.completions.create(model="corpus-qa", messages=[{"role": "user", "content": first}])
    msgs = [
        {"role": "user", "content": first},
        {"role": "assistant", "content": a1.choices[0].message.content},
        {"role": "user", "content": "And where was it held?"},
    ]
    chunks = list(c.chat.completions.create(model="corpus-qa", messages=msgs, stream=True))
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert "Mexico" in text
    assert chunks[-1].model_extra["sources"]


def test_question_outside_the_documents_is_refused(base):
    r = client(base, key="k", timeout=120).chat.completions.create(
        model="corpus-qa",
        messages=[{"role": "user", "content": "What is the price of rice in Lima today?"}],
    )
    assert r.model_extra["refused"] is True


def test_rated_answer_becomes_a_scored_question(base, local_settings):
    """An answer from the `openai` client, rated down with a correction through
    POST /v1/feedback by its completion id; the export runs as a question and is scored."""
    question = "Where was the sixth CELAC summit held?"
    r = client(base, key="k", timeout=120).chat.completions.create(
        model="corpus-qa", messages=[{"role": "user", "content": question}]
    )
    rating = {"id": r.id, "verdict": "down", "correction": "It was held in Mexico City, Mexico."}
    h = {"Authorization": "Bearer k"}
    got = httpx.post(f"{base}/v1/feedback", json=rating, headers=h)
    assert got.status_code == 200, got.text
    unknown = httpx.post(f"{base}/v1/feedback", json={**rating, "id": "chatcmpl-x"}, headers=h)
    assert unknown.status_code == 404 and "unknown answer id" in unknown.json()["error"]["message"]
    records = [x for x in qa.feedback.open_feedback(local_settings).records() if x["id"] == r.id]
    assert len(records) == 1 and records[0]["answer"] == r.choices[0].message.content
    assert records[0]["search_query"] and records[0]["sources"][0]["file"] == ARTICLE
    run = evaluate(qa.feedback.export_items(records), local_settings, judge=False, progress=False)
    (row,) = run.results
    assert row["id"] == r.id and row["refusal_correct"] and row["similarity"] > 0.5
    assert run.summary["n_refusal_sources_only"] == 0


def test_health_ready(base):
    r = httpx.get(f"{base}/health")
    assert r.status_code == 200 and r.json()["llm"] == "local"
