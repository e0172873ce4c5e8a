"""The local LLM's settings reach llama_cpp.Llama (llm.prefix_cache, llm.threads), and the
prefix cache reuses only whole batches of the previous prompt (a fake Llama: no weights are
read here)."""

from __future__ import annotations

from pathlib import Path

import llama_cpp
import numpy as np
import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole

import qa
from qa.models.factory import build_llm
from qa.models.local_llm import PREFIX_BATCH, prefix_llama_class


class FakeLlama:
    """Records its constructor arguments and calls; generate() records what it would reuse."""

    def __init__(self, **kw) -> None:
        self.kw = kw
        self.n_batch = kw.get("n_batch", 512)
        self.n_tokens = 0
        self.input_ids = np.zeros(64, dtype=np.intc)
        self.resets = 0
        self.batches: list[list[int]] = []  # the prompt batches evaluated, per call

    @property
    def _input_ids(self) -> np.ndarray:
        return self.input_ids[: self.n_tokens]

    longest_token_prefix = staticmethod(llama_cpp.Llama.longest_token_prefix)

    def reset(self) -> None:
        self.resets += 1
        self.n_tokens = 0

    def eval(self, tokens) -> None:
        self.batches[-1].append(len(tokens))
        self.input_ids[self.n_tokens : self.n_tokens + len(tokens)] = tokens
        self.n_tokens += len(tokens)

    def generate(self, tokens, *args, **kw):
        """As Llama.generate: keep the state of n_tokens tokens when the prompt starts with
        them, evaluate the rest n_batch at a time, then write two answer tokens."""
        tokens = list(tokens)
        if self.input_ids[: self.n_tokens].tolist() != tokens[: self.n_tokens]:
            self.n_tokens = 0
        rest = tokens[self.n_tokens :]
        for i in range(0, len(rest), self.n_batch):
            self.eval(rest[i : i + self.n_batch])
        self.input_ids[self.n_tokens : self.n_tokens + 2] = [900, 901]
        self.n_tokens += 2
        return iter(())

    def create_chat_completion(self, messages, stream=False, **kw):
        if stream:
            return iter([{"choices": [{"delta": {"content": "ok"}}]}])
        return {"choices": [{"message": {"content": "ok"}}]}


@pytest.fixture
def fake_llama(monkeypatch: pytest.MonkeyPatch) -> type[FakeLlama]:
    monkeypatch.setattr(llama_cpp, "Llama", FakeLlama)
    return FakeLlama


def local_llm(tmp_path: Path, **llm):
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    s = qa.load_settings(llm={"mode": "local", "model_path": model, **llm})
    return build_llm(s)


def test_prefix_cache_on_keeps_the_context(tmp_path, fake_llama):
    assert qa.load_settings(llm={"mode": "local"}).llm.prefix_cache is True  # the default
    llm = local_llm(tmp_path, prefix_cache=True)
    made = llm._llama
    assert isinstance(made, fake_llama) and type(made) is not fake_llama  # the prefix subclass
    assert made.kw["n_threads_batch"] == made.kw["n_threads"]  # prompts too, not every core
    assert made.kw["n_batch"] == PREFIX_BATCH
    llm.chat([ChatMessage(role=MessageRole.USER, content="hi")])
    list(llm.stream_chat([ChatMessage(role=MessageRole.USER, content="hi")]))
    assert made.resets == 0  # the context keeps the previous prompt's start


def test_prefix_cache_off_builds_a_plain_llama_that_starts_empty_every_call(tmp_path, fake_llama):
    llm = local_llm(tmp_path, prefix_cache=False, threads=1)
    made = llm._llama
    assert type(made) is fake_llama
    assert made.kw["n_threads"] == made.kw["n_threads_batch"] == 1
    assert "n_batch" not in made.kw  # llama_cpp's 512: the whole prompt in one batch
    llm.chat([ChatMessage(role=MessageRole.USER, content="hi")])
    list(llm.stream_chat([ChatMessage(role=MessageRole.USER, content="hi")]))
    assert made.resets == 2


def test_prefix_is_reused_in_whole_batches_of_the_previous_prompt_only(fake_llama):
    llama = prefix_llama_class()(n_batch=4)
    llama.head = 3  # batches: [0:3], then 4 at a time: [3:7], [7:11], ...

    def ask(tokens: list[int]) -> tuple[int, list[int]]:
        llama.batches.append([])
        llama.generate(tokens)
        return llama.reused, llama.batches[-1]

    first = list(range(1, 11))
    assert ask(first) == (0, [3, 4, 3])  # cold: the head's batch, then n_batch at a time
    # shares 8 tokens: the head and one whole batch are kept
    assert ask([1, 2, 3, 4, 5, 6, 7, 8, 70, 80]) == (7, [3])
    assert ask([1, 2, 3, 4, 5, 6, 7, 8, 70, 80]) == (7, [3])  # the same: its last batch again
    # the previous prompt plus its answer (900, 901): the answer's tokens are not reused
    assert ask([1, 2, 3, 4, 5, 6, 7, 8, 70, 80, 900, 901, 5]) == (7, [4, 2])
    assert ask([1, 2, 9, 9, 9, 9]) == (0, [3, 3])  # shares less than the head: cold
    assert ask([1, 2]) == (0, [2])  # no longer than the head: one batch
