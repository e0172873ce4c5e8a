"""Turn failures of a model server (down, refusing, stalling) into one-line BackendErrors.

The openai client already retries with exponential backoff (`llm.max_retries`) and enforces
`llm.timeout`; what is left when it gives up becomes a message a person can act on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

from qa.errors import BackendError, QAError
from qa.settings import Settings

T = TypeVar("T")


def describe_failure(exc: BaseException, s: Settings) -> str:
    where = s.openai.base() or ("OpenAI" if s.llm.mode == "openai" else "the model")
    name = exc.__class__.__name__
    status = getattr(exc, "status_code", None)
    if "Timeout" in name:
        return (
            f"the model server at {where} did not answer within {s.llm.timeout:g} s "
            f"(after {s.llm.max_retries} retries)"
        )
    if "Connection" in name:
        return (
            f"cannot reach the model server at {where} "
            f"(after {s.llm.max_retries} retries): is it running?"
        )
    if status == 401:
        return f"the model server at {where} refused the API key (401)"
    if status is not None:
        return f"the model server at {where} answered with an error ({status})"
    return f"the model failed: {' '.join(str(exc).split())[:200] or name}"


def guard(fn: Callable[[], T], s: Settings) -> T:
    try:
        return fn()
    except QAError:
        raise
    except Exception as exc:  # any client library's failure becomes one line
        raise BackendError(describe_failure(exc, s)) from exc


def guard_stream(fn: Callable[[], Iterator[T]], s: Settings) -> Iterator[T]:
    try:
        yield from fn()
    except QAError:
        raise
    except Exception as exc:
        raise BackendError(describe_failure(exc, s)) from exc
