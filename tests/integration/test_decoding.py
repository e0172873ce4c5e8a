"""The real default model answers a real prompt the same with llm.prefix_cache as without it
(bench/results_decoding.md)."""

from __future__ import annotations

import qa
from qa.models.factory import build_llm
from qa.models.local_llm import PREFIX_HEAD
from tests.helpers import with_section


def test_prefix_cache_keeps_the_answer(local_settings):
    """Two answers and one warming prompt: the cached LLM first reads another question's
    prompt (one token generated), so the answer it gives reuses that prompt's shared start."""
    pipe = qa.pipeline(local_settings)
    asked = pipe.prepare("Where was the sixth CELAC summit held?").messages
    other = pipe.prepare("In what year was the China-CELAC Forum established?").messages
    assert asked and other
    plain = build_llm(with_section(local_settings, "llm", prefix_cache=False))
    cached = build_llm(with_section(local_settings, "llm", prefix_cache=True))
    expected = plain.chat(asked).message.content
    cached.chat(other, max_tokens=1)
    got = cached.chat(asked).message.content
    assert cached._llama.reused >= PREFIX_HEAD  # the system prompt and passage header were kept
    assert got == expected and "Mexico City" in got
