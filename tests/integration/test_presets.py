"""The fast 0.5B preset end to end (every other real-model test runs the 1.5B default): its six
packages joined, sha-checked, loaded and answering. Both presets come with the package."""

from __future__ import annotations

import qa
from qa.models import weights
from tests.helpers import make_settings

SMALL = weights.PRESETS["qwen2.5-coder-0.5b"]


def test_fast_preset_answers_from_the_article(tmp_path):
    s = make_settings(tmp_path, llm={"mode": "local", "model": SMALL.name})
    assert "0.5B" in qa.describe(s)["llm"]
    qa.ingest(settings=s, progress=False)
    answer = qa.ask("Where was the sixth CELAC summit held?", settings=s)
    assert "Mexico City" in answer.text and not answer.refused
    assert answer.sources
