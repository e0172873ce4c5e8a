"""Turn failures of a model server (down, refusing, stalling) into one-line BackendErrors.

Against a server (openai, openai_like) `llm.timeout` bounds the whole call, retries included:
the clients are built without retries of their own (qa.models.factory), and `guard` retries
transient failures with backoff while time is left, running each attempt in a helper thread it
stops waiting for at the deadline (the abandoned attempt ends by itself at the client's own
timeout). The embedded model is not bounded: it has no server to give up on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from qa.errors import BackendError, QAError, one_line
from qa.settings import Settings, without_credentials

T = TypeVar("T")

UNAVAILABLE = "the model server is unavailable"  # all an API client learns of the upstream
SERVER_MODES = ("openai", "openai_like")  # modes whose LLM is a remote server
RETRY_BACKOFF = 0.5  # seconds before the first retry, doubled each time (the openai default)
PROBE_TIMEOUT = 2.0  # seconds for the readiness probe; a server slower than this is not ready
_END = object()


class ModelTimeout(TimeoutError):
    """The model call ran past llm.timeout (all attempts together)."""


def describe_failure(
    exc: BaseException, s: Settings, retries: int | None = None
) -> tuple[str, str]:
    """(operator line naming the server without its credentials, client line without it)."""
    retries = s.llm.max_retries if retries is None else retries
    base = s.openai.base()
    where = without_credentials(base) if base else None
    where = where or ("OpenAI" if s.llm.mode == "openai" else "the model")
    name = exc.__class__.__name__
    status = getattr(exc, "status_code", None)
    if "Timeout" in name:
        why = f"it did not answer within {s.llm.timeout:g} s"
        detail = (
            f"the model server at {where} did not answer within {s.llm.timeout:g} s "
            f"(after {retries} retries)"
        )
    elif "Connection" in name:
        why = "it cannot be reached"
        detail = (
            f"cannot reach the model server at {where} (after {retries} retries): is it running?"
        )
    elif status == 401:
        why = "it refused the API key (401)"
        detail = f"the model server at {where} refused the API key (401)"
    elif status is not None:
        why = f"it answered with an error ({status})"
        detail = f"the model server at {where} answered with an error ({status})"
    else:
        why = "the model call failed"
        detail = f"the model failed: {' '.join(str(exc).split())[:200] or name}"
    return without_credentials(detail), f"{UNAVAILABLE}: {why}"


def _backend_error(exc: BaseException, s: Settings, retries: int | None = None) -> BackendError:
    detail, public = describe_failure(exc, s, retries)
    return BackendError(detail, public=public)


def _transient(exc: BaseException) -> bool:
    """Worth another attempt: the server was unreachable, overloaded or failed (not a 4xx)."""
    status = getattr(exc, "status_code", None)
    if status is not None:
        return status in (408, 409, 429) or status >= 500
    return "Connect" in exc.__class__.__name__


def _within(deadline: float, fn: Callable[[], T]) -> T:
    """fn() in a helper thread, given up at `deadline` (ModelTimeout); its result or error."""
    box: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed back to the caller below
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name="qa-model-call", daemon=True).start()
    if not done.wait(max(0.0, deadline - time.monotonic())):
        raise ModelTimeout
    if "error" in box:
        raise box["error"]
    return box["value"]


def guard(fn: Callable[[], T], s: Settings) -> T:
    """fn() with every failure as one BackendError; against a server, bounded by llm.timeout."""
    if s.llm.mode not in SERVER_MODES:
        try:
            return fn()
        except QAError:
            raise
        except Exception as exc:  # any client library's failure becomes one line
            raise _backend_error(exc, s) from exc
    deadline = time.monotonic() + s.llm.timeout
    delay = RETRY_BACKOFF
    attempt = 0
    while True:
        try:
            return _within(deadline, fn)
        except QAError:
            raise
        except Exception as exc:
            last = attempt >= s.llm.max_retries or time.monotonic() + delay >= deadline
            if last or not _transient(exc):
                raise _backend_error(exc, s, attempt) from exc
        time.sleep(delay)
        delay *= 2
        attempt += 1


def guard_stream(fn: Callable[[], Iterator[T]], s: Settings) -> Iterator[T]:
    """The deltas of fn(); starting the stream (up to its first delta) is bounded and retried
    like `guard`, later failures become one BackendError."""

    def start() -> tuple[Iterator[T], Any]:
        it = iter(fn())
        return it, next(it, _END)

    it, first = guard(start, s)
    if first is _END:
        return
    yield first
    try:
        yield from it
    except QAError:
        raise
    except Exception as exc:
        raise _backend_error(exc, s) from exc


def unreachable(s: Settings) -> tuple[str, str] | None:
    """None when the model server answers HTTP at all (any status), else (operator line,
    client line): the readiness probe behind /health. Only for a server we were given a URL
    of; the embedded model and the OpenAI cloud are not probed.

    It asks for the API's base URL itself, not `/models`: llama-cpp-python's server answers
    `/models` only once its model lock is free, so a server busy with one long prompt looked
    down to every replica (and, with its default interrupt_requests, each probe cut the running
    answer short). Any status proves the server answers; no model is touched."""
    base = s.openai.base()
    if s.llm.mode not in SERVER_MODES or not base:
        return None
    import httpx

    key = s.openai.key()
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        httpx.get(base.rstrip("/"), headers=headers, timeout=PROBE_TIMEOUT)
    except Exception as exc:  # down, refusing, stalling: not ready
        where = without_credentials(base)
        detail = f"the model server at {where} does not answer ({one_line(exc)})"
        return without_credentials(detail), UNAVAILABLE
    return None
