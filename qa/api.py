"""The public functions behind `import qa`: build engines from one Settings, share models."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, MessageRole
from pydantic import SecretStr

from qa.answering.engines import CorpusChatEngine, CorpusQueryEngine
from qa.answering.pipeline import Pipeline, Prepared, sources_of
from qa.answering.summary import summarize_corpus
from qa.backend_errors import unreachable
from qa.documents.corpus import scan
from qa.documents.excerpt import excerpt
from qa.errors import require_text
from qa.ingest import IngestReport
from qa.ingest import ingest as _ingest
from qa.models.factory import describe as _describe
from qa.settings import Settings, load_settings
from qa.stores import database_problem

_PIPES: dict[str, Pipeline] = {}
_LOCK = threading.Lock()
_INDEXED: set[str] = set()  # configurations ensure_index has seen ready in this process


def pipeline(settings: Settings | None = None) -> Pipeline:
    """The shared Pipeline for these settings (one per configuration per process)."""
    s = settings or load_settings()
    key = cache_key(s)
    with _LOCK:
        if key not in _PIPES:
            _PIPES[key] = Pipeline(s)
        return _PIPES[key]


def cache_key(settings: Settings) -> str:
    """One key per configuration, secrets included, none of them readable from the key.

    model_dump_json() writes every SecretStr as '**********', so settings that differed only in
    store.postgres_url or openai.api_key shared one Pipeline (and its store and clients): the
    key is a SHA-256 of the dump with the secret values revealed."""

    def reveal(value: Any) -> Any:
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        if isinstance(value, dict):
            return {k: reveal(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [reveal(v) for v in value]
        if isinstance(value, set | frozenset):
            return sorted((reveal(v) for v in value), key=str)
        return value

    dumped = json.dumps(reveal(settings.model_dump()), sort_keys=True, default=str)
    return hashlib.sha256(dumped.encode()).hexdigest()


def ingest(
    paths: Iterable[str | Path] | None = None,
    settings: Settings | None = None,
    progress: bool | None = None,
    warn: Callable[[str], None] | None = None,
) -> IngestReport:
    """Index corpus/ (or the given files and folders) incrementally; see qa.ingest. `warn`
    receives each one-line warning (a skipped file) instead of standard error."""
    paths = [Path(p) for p in paths] if paths else None
    extra = {"warn": warn} if warn else {}
    return _ingest(settings or load_settings(), paths, progress=progress, **extra)


def summarize(settings: Settings | None = None, say: Any = None) -> int:
    """Compute and cache the summaries of the indexed documents too long to read whole
    (qa.answering.summary.summarize_corpus); how many were computed. `say` gets progress."""
    s = settings or load_settings()
    files = [rel for _path, rel in scan(s.corpus_dir)]
    return summarize_corpus(_indexed_pipeline(s), files, say or (lambda _msg: None))


def ensure_index(
    settings: Settings | None = None, progress: bool | None = None
) -> IngestReport | None:
    """Bring the index up to date with corpus/ at start-up: the incremental ingest indexes a
    fresh checkout (or rebuilds a corrupt index), brings the schema up to date (its writer
    does) and syncs, so a file put into corpus/ (or edited, or removed) since the last run is
    answered from after a restart with no `qa ingest`; unchanged files are only hashed. The
    report, or None when nothing changed. The write side of start-up: the doors call it, the
    read path never writes."""
    s = settings or load_settings()
    report = _ingest(s, progress=progress)
    _INDEXED.add(cache_key(s))
    changed = report.added or report.updated or report.deleted or report.rebuilt
    return report if changed else None


def _indexed_pipeline(settings: Settings | None) -> Pipeline:
    """The Python door's pipeline: ensure_index runs once per configuration and process, so
    `qa.ask()` on a fresh checkout answers with no separate ingest step."""
    s = settings or load_settings()
    if cache_key(s) not in _INDEXED:
        ensure_index(s, progress=False)
    return pipeline(s)


def query_engine(settings: Settings | None = None, streaming: bool = False) -> CorpusQueryEngine:
    return CorpusQueryEngine(pipeline=_indexed_pipeline(settings), streaming=streaming)


def chat_engine(
    settings: Settings | None = None, chat_history: list[ChatMessage] | None = None
) -> CorpusChatEngine:
    """A fresh chat engine with its own history (give each user or session its own)."""
    return CorpusChatEngine(_indexed_pipeline(settings), chat_history=chat_history)


def readiness(settings: Settings | None = None) -> tuple[str, str] | None:
    """Why these settings cannot answer a question now, as (operator line naming the server
    without credentials, client line without it), or None when they can: the index's database
    answers (store.mode postgres) and so does the model server (a URL given in openai_like or
    openai mode). What /health reports; each call probes afresh."""
    s = settings or load_settings()
    return database_problem(s) or unreachable(s)


def describe(settings: Settings | None = None) -> dict[str, Any]:
    return _describe(settings or load_settings())


def sources(response: Any) -> list[dict[str, Any]]:
    """Source passages of any engine response as plain dicts (n, file, title, score, text)."""
    return [s.as_dict() for s in sources_of(list(getattr(response, "source_nodes", []) or []))]


@dataclass
class Answer:
    """One answer as plain data, for doors that do not want llama-index types."""

    text: str
    sources: list[dict[str, Any]]
    refused: bool
    usage: dict[str, int]
    seconds: float
    search_query: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    language: str = ""  # the answer's (ISO 639-1): the question's unless llm.answer_language
    question_language: str = ""


def _history(history: list[tuple[str, str]] | list[dict] | None) -> list[ChatMessage]:
    """Accept [(user, assistant), ...] pairs or OpenAI-style [{'role', 'content'}] messages."""
    out: list[ChatMessage] = []
    for item in history or []:
        if isinstance(item, dict):
            role = MessageRole.USER if item.get("role") == "user" else MessageRole.ASSISTANT
            text = require_text(str(item.get("content") or ""), "history")
            out.append(ChatMessage(role=role, content=text))
        else:
            user, bot = item
            out.append(ChatMessage(role=MessageRole.USER, content=require_text(user, "history")))
            out.append(
                ChatMessage(role=MessageRole.ASSISTANT, content=require_text(bot, "history"))
            )
    return out


def _start(question: str, history: Any, settings: Settings | None) -> tuple[Pipeline, Prepared]:
    """The first half of every answer here: the shared pipeline condenses and retrieves (its
    Prepared holds the clock); `pipe.outcome(p, text)` closes it."""
    pipe = _indexed_pipeline(settings)
    return pipe, pipe.prepare(question, _history(history))


def ask(question: str, history: Any = None, settings: Settings | None = None) -> Answer:
    """Answer one question (a follow-up when history is given) with its sources."""
    pipe, p = _start(question, history, settings)
    text = pipe.generate(p)
    return _answer(text, pipe.outcome(p, text))


def _answer(text: str, outcome: dict[str, Any]) -> Answer:
    keys = ("sources", "refused", "usage", "seconds", "search_query", "language")
    keys += ("question_language",)
    extra = {"dropped": outcome["dropped"]}
    return Answer(text=text, extra=extra, **{k: outcome[k] for k in keys})


def stream_ask(
    question: str, history: Any = None, settings: Settings | None = None
) -> tuple[list[dict[str, Any]], Iterator[str], Answer]:
    """(sources, deltas, answer): sources are known before the first token; `answer` is filled
    in (text, usage, seconds, refused) once the deltas are exhausted."""
    pipe, p = _start(question, history, settings)
    srcs = [s.as_dict() for s in sources_of(p.nodes)]
    answer = Answer(
        text="",
        sources=srcs,
        refused=p.messages is None,
        usage={},
        seconds=0.0,
        search_query=p.search_query,
        language=p.language,
        question_language=p.question_language,
    )

    def deltas() -> Iterator[str]:
        for d in pipe.stream(p):
            answer.text += d
            yield d
        done = _answer(answer.text, pipe.outcome(p, answer.text))
        answer.refused, answer.usage, answer.seconds = done.refused, done.usage, done.seconds
        answer.extra = done.extra

    return srcs, deltas(), answer


def open_source(source: dict[str, Any], settings: Settings | None = None) -> dict[str, Any] | None:
    """The document text around a source passage ({before, passage, after, page, section}),
    read from the corpus file; None when the file is gone or no longer holds the passage."""
    s = settings or load_settings()
    found = excerpt(
        s.corpus_dir,
        str(source.get("file", "")),
        str(source.get("text", "")),
        source.get("page"),
        source.get("section"),
    )
    return found.as_dict() if found else None


def evaluate(*args: Any, **kwargs: Any) -> Any:
    """Score answers against a question set (see qa.evaluation.evaluate); imported on use."""
    from qa.evaluation import evaluate as _evaluate

    return _evaluate(*args, **kwargs)


def eval_reports(settings: Settings | None = None) -> list[Any]:
    """The saved evaluation reports, newest first: bench/eval/ and the runs under the data
    dir's eval/ (qa.evaluation.saved.SavedReport); imported on use."""
    from qa.evaluation import list_reports, report_folders

    return list_reports(report_folders(settings or load_settings()))


def eval_sets(settings: Settings | None = None) -> dict[str, Path]:
    """The question sets a door may run, by shown name: tests/questions/ and the data dir's
    questions/."""
    from qa.evaluation import question_sets

    return question_sets(settings or load_settings())


def run_eval(questions: str | Path, settings: Settings | None = None, **kwargs: Any) -> Any:
    """Evaluate one of eval_sets() with these settings into the data dir's eval/, compared with
    the previous run of the set; one at a time per process, else qa.evaluation.saved.Busy
    (see qa.evaluation.saved.run_saved for split, judge, progress)."""
    from qa.evaluation import run_saved

    return run_saved(questions, settings or load_settings(), **kwargs)
