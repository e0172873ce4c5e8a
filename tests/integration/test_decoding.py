"""The real default model answers a real prompt the same with the decoding speed-ups as
without them (llm.prompt_lookup, llm.prefix_cache; bench/results_decoding.md)."""

from __future__ import annotations

import qa
from qa.models.factory import build_llm
from tests.helpers import with_section


def test_prompt_lookup_and_prefix_cache_keep_the_answer(local_settings):
    """Two answers and one warming prompt: the fast LLM first reads another question's prompt
    (one token generated), so the answer it gives reuses that prompt's shared start."""
    pipe = qa.pipeline(local_settings)
    asked = pipe.prepare("Where was the sixth CELAC summit held?").messages
    other = pipe.prepare("In what year was the China-CELAC Forum established?").messages
    assert asked and other
    plain = build_llm(with_section(local_settings, "llm", prompt_lookup=0, prefix_cache=False))
    fast = build_llm(with_section(local_settings, "llm", prompt_lookup=4, prefix_cache=True))
    expected = plain.chat(asked).message.content
    fast.chat(other, max_tokens=1)
    got = fast.chat(asked).message.content
    assert fast._llama.reused >= 64  # the system prompt and passage header were kept
    assert got == expected and "Mexico City" in got
