"""User-facing errors: one clear line each, never a traceback at a door."""

from __future__ import annotations


class QAError(Exception):
    """Base of every error a door shows as a single line."""

    exit_code = 1


class InputError(QAError):
    """The question or file is not acceptable (empty, too long, wrong type)."""

    exit_code = 2


class ConfigError(QAError):
    """Settings are incomplete or contradictory (e.g. openai mode without a key)."""

    exit_code = 3


class BackendError(QAError):
    """The model server or store is down, refused, or too slow.

    `str(exc)` is for the operator (log, CLI) and may name the server; `public` is what a
    remote client sees, without addresses (see `public_message`)."""

    exit_code = 4

    def __init__(self, message: str, public: str | None = None) -> None:
        super().__init__(message)
        self.public = public


class DatabaseError(BackendError):
    """The index's database (PostgreSQL) is down or refused: the index cannot be read now.
    A replica answers 503 `database_unavailable` with `public`, never the database's address."""


class CorpusError(QAError):
    """The corpus or its index cannot be used (empty corpus, bad weights)."""

    exit_code = 5


def require_text(value: object, what: str = "question") -> str:
    """`value` if it is text a model can read, else InputError.

    Bytes, numbers and None are refused rather than guessed at, and so are lone surrogates
    ("\\ud800" in JSON, undecodable bytes on a command line): they pass as str but fail deep in
    the tokenizer or HTTP client as TypeError / UnicodeEncodeError."""
    if not isinstance(value, str):
        raise InputError(f"the {what} must be text, not {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(
            f"the {what} contains invalid text (character {exc.start + 1} is not valid Unicode)"
        ) from None
    return value


def public_message(exc: BaseException) -> str:
    """The one line a remote client may see: the error's `public` text when it has one."""
    public = getattr(exc, "public", None)
    return one_line(Exception(public)) if public else one_line(exc)


def one_line(exc: BaseException) -> str:
    """Collapse any exception into one short line suitable for a chat window or a terminal."""
    text = " ".join(str(exc).split()) or exc.__class__.__name__
    return text if len(text) <= 300 else text[:297] + "..."
