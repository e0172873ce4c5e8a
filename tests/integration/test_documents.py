"""PDF, Word, HTML and Markdown end to end on the real models (the fast 0.5B preset, as in
test_presets.py): for each type a question whose answer is on a known page or in a known
section; the answer states the fact and its first source cites that place."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import qa
from qa.models import weights
from tests.helpers import make_settings

DATA = Path(__file__).parents[1] / "data"
DOCS = [
    "shared-mime-info-spec.pdf",
    "heron-station-guide.docx",
    "libffi-arrays-unions-enums.html",
    "pip-local-project-installs.md",
]
# (question, a fact the answer states, the file, its page or section)
CASES = [
    (
        "What is the default weight value of a glob element?",
        "50",
        "shared-mime-info-spec.pdf",
        {"page": 4},
    ),
    (
        "Which TCP port does the Heron receiver daemon listen on?",
        "7431",
        "heron-station-guide.docx",
        {"section": "Installation > Linux"},
    ),
    (
        "Which compiler flag can change the integral type used for a C enum?",
        "-fshort-enums",
        "libffi-arrays-unions-enums.html",
        {"section": "2.3.4.3 Enumerations"},
    ),
    (
        "With an editable install, where are the files of the development directory added?",
        "import path",
        "pip-local-project-installs.md",
        {"section": "Editable installs"},
    ),
]


@pytest.fixture(scope="module")
def docs_settings(tmp_path_factory: pytest.TempPathFactory) -> qa.Settings:
    """The article and the four documents, ingested once, answered by the 0.5B preset."""
    small = weights.PRESETS["qwen2.5-coder-0.5b"].name
    s = make_settings(tmp_path_factory.mktemp("docs"), llm={"mode": "local", "model": small})
    for name in DOCS:
        shutil.copy(DATA / name, s.corpus_dir)
    report = qa.ingest(settings=s, progress=False)
    assert report.added == 5 and not report.skipped
    return s


@pytest.mark.parametrize(("question", "fact", "file", "place"), CASES, ids=[c[2] for c in CASES])
def test_answer_cites_the_page_or_section(
    docs_settings: qa.Settings, question: str, fact: str, file: str, place: dict
) -> None:
    answer = qa.ask(question, settings=docs_settings)
    assert not answer.refused, answer.text
    assert fact.lower() in answer.text.lower(), answer.text
    first = answer.sources[0]
    assert first["file"] == file, answer.sources
    for key, value in place.items():
        assert first[key] == value, first
