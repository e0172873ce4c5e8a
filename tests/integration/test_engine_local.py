"""The real embedded default end to end: local ONNX embeddings + Qwen2.5-Coder-0.5B (llama.cpp).

The pass rates asserted here were measured on this machine kind (see bench/results.md); they are
set a little below the measurement so that the test fails when quality drops, not on noise.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import qa
from qa.answering.grounding import split_sentences, strip_markers
from tests.helpers import INJECTION, UNANSWERABLE

# (question, facts: each inner tuple lists accepted spellings of one required fact)
FACTUAL = [
    ("Where was the sixth CELAC summit held?", [("Mexico City",)]),
    ("On what date was the 6th CELAC summit held?", [("September 18", "18 September", "Sept. 18")]),
    ("Who delivered a video speech to the summit?", [("Xi Jinping", "Xi")]),
    ("Which country holds the rotating presidency of CELAC?", [("Mexico",)]),
    ("How did Xi Jinping address the summit?", [("video",)]),
    ("How many years ago did CELAC come into being?", [("10", "ten")]),
    ("In what year was the China-CELAC Forum established?", [("2014",)]),
    ("In which month of 2014 was the China-Latin America forum announced?", [("July",)]),
    ("For how many years has the China-Latin America Forum flourished?", [("seven", "7")]),
    ("What was the birth of CELAC in the process of regional integration?", [("milestone",)]),
    (
        "What kind of cooperation did China and Latin America carry out against the epidemic?",
        [("anti-epidemic", "all-round", "helped each other")],
    ),
    ("What does China want to build together with Latin America?", [("shared future",)]),
    (
        "What kind of era have China-Latin America relations entered?",
        [("equality", "mutual benefit", "innovation", "openness")],
    ),
    (
        "What role has CELAC played in the region over the past 10 years?",
        [("peace", "stability", "common development")],
    ),
    ("Where is the friendship between China and Latin America rooted?", [("hearts", "people")]),
    (
        "What will China continue to provide to Latin American and Caribbean countries?",
        [("assistance",)],
    ),
    ("Who invited Xi Jinping to speak at the summit?", [("Mexico",)]),
]

MIN_FACT_PASS = 0.70  # measured 14/17 (0.82) on 2026-11-29 with the default settings


def has_facts(answer: str, facts) -> bool:
    low = answer.lower()
    return all(any(v.lower() in low for v in alts) for alts in facts)


def test_factual_questions_are_answered_with_sources(local_settings):
    passed, failures = 0, []
    for question, facts in FACTUAL:
        ans = qa.ask(question, settings=local_settings)
        ok = has_facts(ans.text, facts) and not ans.refused and ans.sources
        passed += bool(ok)
        if not ok:
            failures.append((question, ans.text))
        if ok:
            assert ans.sources[0]["file"] == "xi_celac_sixth_summit_speech.txt"
            assert "[" in ans.text  # cites a numbered source
    rate = passed / len(FACTUAL)
    print(f"\nfactual pass rate {passed}/{len(FACTUAL)} = {rate:.2f}; failures: {failures}")
    assert rate >= MIN_FACT_PASS, failures


def test_unanswerable_questions_are_refused(local_settings):
    for q in UNANSWERABLE:
        ans = qa.ask(q, settings=local_settings)
        assert ans.refused, (q, ans.text)
        assert "do not contain" in ans.text


def test_injected_instruction_is_not_obeyed(local_settings):
    ans = qa.ask(INJECTION, settings=local_settings)
    assert ans.refused and "sea" not in ans.text.lower()


def test_follow_up_uses_history(local_settings):
    engine = qa.chat_engine(local_settings)
    first = engine.chat("When was the sixth CELAC summit held?")
    assert "18" in first.response
    second = engine.chat("And where was it held?")
    assert "Mexico City" in second.response, (engine.last_metadata, second.response)
    assert "summit" in engine.last_metadata["search_query"].lower()


def test_stream_chat_streams_checked_sentences(local_settings):
    """Streaming sends each sentence once it has passed the grounding check: the streamed text
    is the same answer the non-streamed door gives, one piece per kept sentence."""
    q = "Where was the sixth CELAC summit held?"
    response = qa.chat_engine(local_settings).stream_chat(q)
    pieces = list(response.response_gen)
    whole = qa.chat_engine(local_settings).chat(q).response
    assert "".join(pieces) == whole and "Mexico City" in whole
    assert len(pieces) == len(split_sentences(strip_markers(whole)))
    assert qa.sources(response)[0]["file"] == "xi_celac_sixth_summit_speech.txt"


def test_query_engine_response_shape(local_settings):
    r = qa.query_engine(local_settings).query("Where was the sixth CELAC summit held?")
    assert "Mexico City" in r.response
    node = r.source_nodes[0]
    assert node.node.metadata["title"].startswith("Xi Delivered a Video Speech")
    assert node.score > local_settings.retrieval.similarity_cutoff


def test_ask_json_from_the_command_line(local_settings):
    env = {
        **os.environ,
        "QA_CORPUS_DIR": str(local_settings.corpus_dir),
        "QA_STORE__DATA_DIR": str(local_settings.store.data_dir),
    }
    out = subprocess.run(
        [sys.executable, "-m", "qa.cli", "ask", "--json", "Where was the sixth CELAC summit held?"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert "Mexico City" in data["answer"]
    assert set(data) >= {"answer", "sources", "usage", "seconds"}
    first = data["sources"][0]
    assert {"file", "title", "citation", "score", "text"} <= set(first)
    assert set(first) <= {"file", "title", "page", "section", "citation", "score", "text"}
    assert first["citation"].startswith("xi_celac_sixth_summit_speech.txt")
    assert data["usage"]["prompt_tokens"] > 0 and data["usage"]["completion_tokens"] > 0


def test_first_question_on_fresh_checkout_ingests_by_itself(settings_factory):
    """The Python door indexes a fresh checkout itself (qa.ensure_index, once)."""
    s = settings_factory(embedding="local", llm="mock")
    assert not (s.store.data_dir / "CURRENT").exists()
    qa.query_engine(s)  # indexes corpus/ when it builds the engine
    assert (s.store.data_dir / "CURRENT").exists()
    srcs = qa.pipeline(s).retrieve("Where was the sixth CELAC summit held?")
    assert "Mexico City" in srcs[0].node.get_content()


def _can_unshare() -> bool:
    try:
        return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not _can_unshare(), reason="needs `unshare -n` (root or user namespaces)")
def test_answers_with_no_network_at_all(local_settings):
    """The embedded default in a network namespace with no interfaces: nothing to download."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        "QA_CORPUS_DIR": str(local_settings.corpus_dir),
        "QA_STORE__DATA_DIR": str(local_settings.store.data_dir),
    }
    out = subprocess.run(
        ["unshare", "-n", sys.executable, "-m", "qa.cli", "ask", "Who delivered a video speech?"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "Xi" in out.stdout
