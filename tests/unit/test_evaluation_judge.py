"""The faithfulness judge: verdict parsing, and a reply that fails to parse is a counted
failure (never NaN) -- with llama-index's MockLLM, whose replies hold no verdict."""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.base.llms.types import CompletionResponse, LLMMetadata
from llama_index.core.llms import MockLLM
from llama_index.core.llms.callbacks import llm_completion_callback
from llama_index.core.llms.custom import CustomLLM

from qa.evaluation.judge import JudgeEvaluator, parse_verdict
from qa.settings import REPO_ROOT

PROMPTS = REPO_ROOT / "qa" / "prompts"


class Fixed(CustomLLM):
    """Replies with a fixed text (or raises) and remembers the prompt it was given."""

    reply: str = ""
    fail: bool = False
    seen: list[str] = []

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata()

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kw: Any) -> CompletionResponse:
        self.seen.append(prompt)
        if self.fail:
            raise ConnectionError("server went away")
        return CompletionResponse(text=self.reply)

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kw: Any):
        raise NotImplementedError


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ("YES. Every fact is in passage 1.", True),
        ("No - the date is not stated.", False),
        ("**Yes**", True),
        ("Verdict: NO\nThe answer adds a number.", False),
        ("The answer is supported.\nAnswer: yes", True),
        ("I think so, yes.", True),
        ("", None),
        ("text text text", None),
        ("It could be yes or it could be no.", None),
    ],
)
def test_parse_verdict(reply, verdict):
    assert parse_verdict(reply) is verdict


def test_judge_prompt_comes_from_prompts_dir_and_yes_passes():
    llm = Fixed(reply="YES\nIt is in [1].", seen=[])
    r = JudgeEvaluator(llm, PROMPTS).evaluate(
        query="Where?", response="Mexico City [1].", contexts=["held in Mexico City"]
    )
    assert r.passing is True and r.score == 1.0 and not r.invalid_result
    template = (PROMPTS / "judge.txt").read_text().split("{context}")[0].strip()
    assert llm.seen[0].startswith(template)
    assert "[1] held in Mexico City" in llm.seen[0] and "Mexico City [1]." in llm.seen[0]


def test_mock_llm_reply_is_an_invalid_failed_verdict():
    r = JudgeEvaluator(MockLLM(max_tokens=8), PROMPTS).evaluate(
        query="Where?", response="Mexico City.", contexts=["held in Mexico City"]
    )
    assert r.passing is False and r.score == 0.0
    assert r.invalid_result and "no YES/NO verdict" in r.invalid_reason


def test_judge_backend_error_is_an_invalid_failed_verdict():
    r = JudgeEvaluator(Fixed(fail=True, seen=[]), PROMPTS).evaluate(
        query="q", response="a", contexts=["c"]
    )
    assert r.passing is False and r.invalid_result
    assert "judge error: server went away" in r.invalid_reason
