"""Cold start (issue 17): `qa ask` on the local store loads no door it does not use: no Gradio,
no FastAPI/Starlette/uvicorn, no PostgreSQL driver. Each costs start-up time (FastAPI with the
openai types about 0.9 s of CPU, Gradio several seconds) on every question asked from the
terminal.

This process has all of them loaded already, so the check runs one fresh interpreter: the
fast layer's only subprocess, on mock models over an index built here (about 1.5 s of
CPU, nearly all of it `import qa`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import qa
from tests.helpers import make_settings

# top-level packages `qa ask` must not import with store.mode = "local"
DOORS = {"gradio", "fastapi", "starlette", "uvicorn", "psycopg", "psycopg2", "asyncpg"}

PROBE = """
import json, sys
from qa import cli
code = cli.main(["ask", "Where was the sixth CELAC summit held?"])
asked = sorted(sys.modules)
from qa.server import create_app  # loaded on first use: the probe sees a door when one loads
json.dump({"code": code, "asked": asked, "served": sorted(sys.modules)}, open(sys.argv[1], "w"))
"""


def test_qa_ask_imports_no_browser_server_or_postgres_driver(tmp_path) -> None:
    s = make_settings(tmp_path, llm="mock", embedding="mock")
    qa.ingest(settings=s, progress=False)  # here, where it is cheap: the probe times nothing
    env = {
        **os.environ,
        "QA_CORPUS_DIR": str(s.corpus_dir),
        "QA_STORE__DATA_DIR": str(s.store.data_dir),
        "QA_STORE__MODE": "local",
        "QA_LLM__MODE": "mock",
        "QA_EMBEDDING__MODE": "mock",
        "QA_RETRIEVAL__SIMILARITY_CUTOFF": "-1",
    }
    out = tmp_path / "modules.json"
    run = subprocess.run(
        [sys.executable, "-c", PROBE, str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    got = json.loads(out.read_text())
    assert got["code"] == 0 and "Sources:" in run.stdout, run.stdout + run.stderr
    asked = {m.split(".")[0] for m in got["asked"]}
    assert "qa" in asked and "llama_index" in asked  # the answer really went through qa
    assert not DOORS & asked, sorted(DOORS & asked)
    assert not {m for m in got["asked"] if m.startswith(("qa.ui", "qa.server.app"))}
    served = {m.split(".")[0] for m in got["served"]}
    assert {"fastapi", "starlette"} <= served  # the names above are the ones that load
