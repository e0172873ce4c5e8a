"""Where ratings are kept: `feedback.jsonl` in the data dir with the local store, a table
beside the index with PostgreSQL. One record per id: rating an answer again replaces its
record, withdrawing the rating removes it."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from qa.errors import ConfigError, InputError
from qa.feedback.record import Answered, RecentAnswers
from qa.settings import Settings

FILE_NAME = "feedback.jsonl"


class FeedbackStore(Protocol):
    where: str  # for messages: the file, or the database and table

    def put(self, record: dict[str, Any]) -> None:
        """Add the record, or replace the one with its id."""
        ...

    def remove(self, rid: str) -> bool: ...

    def records(self) -> list[dict[str, Any]]:
        """Every record, oldest first."""
        ...


def open_feedback(settings: Settings) -> FeedbackStore:
    """The feedback store beside the index that `store.mode` names."""
    match settings.store.mode:
        case "local":
            return LocalFeedback(Path(settings.store.data_dir) / FILE_NAME)
        case "postgres":
            from qa.feedback.postgres import PgFeedback

            return PgFeedback(settings)
    raise ConfigError(f"unknown store mode {settings.store.mode!r}")


class Recent(Protocol):
    """The recent answers a rating names by completion id (qa.feedback.RecentAnswers)."""

    size: int

    def put(self, key: str, answered: Answered) -> None: ...

    def get(self, key: str) -> Answered | None: ...


def open_recent(settings: Settings) -> Recent:
    """Where a server remembers its answers for ratings: in its own memory with the local
    store, in a table beside the index with PostgreSQL (shared by every replica)."""
    if settings.store.mode == "postgres":
        from qa.feedback.postgres import PgRecentAnswers

        return PgRecentAnswers(settings)
    return RecentAnswers()


class LocalFeedback:
    """A JSON Lines file. Every write holds an exclusive flock (threads and processes alike):
    a new record is one os.write of a whole line with O_APPEND, a replacement or removal
    rewrites the file and renames it into place, so no line is torn or lost."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def _lines(self) -> list[str]:
        try:
            return self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []

    def put(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False)
        with self._locked():
            lines = self._lines()
            if any(_id_of(x) == record["id"] for x in lines):
                self._rewrite([line if _id_of(x) == record["id"] else x for x in lines])
                return
            data = (line + "\n").encode("utf-8")
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                while data:  # one write, unless the disk takes only part of it
                    data = data[os.write(fd, data) :]
            finally:
                os.close(fd)

    def remove(self, rid: str) -> bool:
        with self._locked():
            lines = self._lines()
            kept = [x for x in lines if _id_of(x) != rid]
            if len(kept) != len(lines):
                self._rewrite(kept)
            return len(kept) != len(lines)

    def _rewrite(self, lines: list[str]) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("".join(x + "\n" for x in lines))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def records(self) -> list[dict[str, Any]]:
        out = []
        for n, line in enumerate(self._lines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                raise InputError(f"{self.path}:{n}: not a feedback record (bad JSON)") from None
            out.append(rec)
        return out


def _id_of(line: str) -> Any:
    try:
        return json.loads(line).get("id")
    except (json.JSONDecodeError, AttributeError):
        return None
