"""The engine, as the server sees it: the public `qa` API, nothing below it (tests swap in a
fake)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import qa


class Engine:
    """The public `qa` API, nothing below it."""

    def ask(self, question: str, history: list[dict], settings: qa.Settings) -> qa.Answer:
        return qa.ask(question, history=history, settings=settings)

    def stream_ask(self, question: str, history: list[dict], settings: qa.Settings):
        return qa.stream_ask(question, history=history, settings=settings)

    def save_uploads(self, settings: qa.Settings, files: list[tuple[str, bytes]]) -> list[Path]:
        """All checked before any is written (qa.uploads.save_uploads)."""
        from qa.uploads import save_uploads

        return save_uploads(settings, files)

    def discard_uploads(self, paths: list[Path]) -> None:
        from qa.uploads import remove

        remove(paths)

    def ingest(self, paths: list[Path], settings: qa.Settings) -> dict[str, Any]:
        report = qa.ingest(paths, settings=settings, progress=False)
        return report.as_dict() if hasattr(report, "as_dict") else dict(report)

    def unreachable(self, settings: qa.Settings) -> tuple[str, str] | None:
        """(operator line, client line) when the database or the model server does not
        answer now, else None (qa.readiness)."""
        return qa.readiness(settings)

    def warm_up(self, settings: qa.Settings) -> None:
        """Load the index (synced with corpus/, qa.ensure_index) and the model."""
        qa.ensure_index(settings, progress=False)
        pipe = qa.pipeline(settings)
        pipe.retriever()
        _ = pipe.llm
