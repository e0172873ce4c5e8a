"""corpus-qa: offline question answering over a folder of documents, with cited sources.

Public API (everything a door may use):
    Settings, load_settings()          the one settings model
    ingest(paths=None)                 index corpus/ incrementally -> IngestReport
    ensure_index()                     index corpus/ only when there is no usable index yet
    summarize()                        cache the summaries of documents too long to read whole
    query_engine()                     llama-index query engine: .query(q) -> Response
    chat_engine(chat_history=None)     llama-index chat engine with its own history
    ask(question, history=None)        one answer as plain data (text, sources, usage, seconds)
    describe()                         which LLM / embedding / store are answering
    readiness()                        why this configuration cannot answer now (database,
                                       model server), or None: what /health reports
    open_source(source)                the document text around a source passage
    save_upload(settings, name, data)  checked, safely named copy of a file into the corpus
    FILE_TYPES                         the suffixes ingestion reads (qa.documents.readers.KINDS)
    evaluate(questions, ...)           score answers against a question set
    eval_reports(), eval_sets()        saved evaluation reports; question sets a door may run
    run_eval(questions, ...)           evaluate into the saved runs, one at a time, compared
    QAError and subclasses             one-line errors for any door to show
    one_line(exc)                      any exception as that one line
    text                               shared text helpers (content_words, is_refusal, ...)
    feedback                           ratings of answers kept as evaluation questions
                                       (open_feedback, make_record, export_items, ...)
"""

from __future__ import annotations

from qa import feedback, text
from qa import offline as _offline  # noqa: F401  (sets offline switches before anything else)
from qa.api import (
    Answer,
    ask,
    chat_engine,
    describe,
    ensure_index,
    eval_reports,
    eval_sets,
    evaluate,
    ingest,
    open_source,
    pipeline,
    query_engine,
    readiness,
    run_eval,
    sources,
    stream_ask,
    summarize,
)
from qa.documents.corpus import SUPPORTED as FILE_TYPES
from qa.errors import (
    BackendError,
    ConfigError,
    CorpusError,
    DatabaseError,
    InputError,
    QAError,
    one_line,
)
from qa.settings import Settings, load_settings
from qa.uploads import save_upload

__all__ = [
    "Answer",
    "BackendError",
    "ConfigError",
    "CorpusError",
    "DatabaseError",
    "FILE_TYPES",
    "InputError",
    "QAError",
    "Settings",
    "ask",
    "chat_engine",
    "describe",
    "ensure_index",
    "eval_reports",
    "eval_sets",
    "evaluate",
    "feedback",
    "ingest",
    "load_settings",
    "one_line",
    "open_source",
    "pipeline",
    "readiness",
    "query_engine",
    "run_eval",
    "save_upload",
    "sources",
    "stream_ask",
    "summarize",
    "text",
]
