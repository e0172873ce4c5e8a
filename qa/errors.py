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
    """The model server or store is down, refused, or too slow."""

    exit_code = 4


class CorpusError(QAError):
    """The corpus or its index cannot be used (empty corpus, bad weights)."""

    exit_code = 5


def one_line(exc: BaseException) -> str:
    """Collapse any exception into one short line suitable for a chat window or a terminal."""
    text = " ".join(str(exc).split()) or exc.__class__.__name__
    return text if len(text) <= 300 else text[:297] + "..."
