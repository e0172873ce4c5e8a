"""Cold start (issue 17): `qa ask` on the local store loads no door it does not use: no Gradio,
no FastAPI/Starlette/uvicorn, no PostgreSQL driver. Each costs start-up time (FastAPI with the
openai types about 0.9 s of CPU, Gradio several seconds) on every question asked from the
terminal.

This process has all of them loaded already, so the check runs in a fresh interpreter, on mock
models (tests/unit/conftest.py starts it when collection ends).
"""

from __future__ import annotations

# top-level packages `qa ask` must not import with store.mode = "local"
DOORS = {"gradio", "fastapi", "starlette", "uvicorn", "psycopg", "psycopg2", "asyncpg"}


def test_qa_ask_imports_no_browser_server_or_postgres_driver(cold_ask) -> None:
    code, out, err, got = cold_ask.result()
    assert code == 0 and got is not None, err
    assert got["code"] == 0 and "Sources:" in out, out + err
    asked = {m.split(".")[0] for m in got["asked"]}
    assert "qa" in asked and "llama_index" in asked  # the answer really went through qa
    assert not DOORS & asked, sorted(DOORS & asked)
    assert not {m for m in got["asked"] if m.startswith(("qa.ui", "qa.server.app"))}
    served = {m.split(".")[0] for m in got["served"]}
    assert {"fastapi", "starlette"} <= served  # the names above are the ones that load
