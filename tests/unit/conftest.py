"""The unit layer's one subprocess, started early.

What a fresh `qa ask` imports (test_lazy_imports.py) can only be seen in a fresh interpreter,
which costs about 2 s of CPU, nearly all of it `import qa`. It starts when collection ends and
runs beside the other tests, on the second core; the test waits for its report.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import make_settings

COLD_ASK_TEST = "test_qa_ask_imports_no_browser_server_or_postgres_driver"

# `qa ask` on mock models over a fresh corpus copy (so it indexes first, as on a fresh
# checkout); then the modules it loaded, and those loaded once the server's app is asked for
PROBE = """
import json, sys
from qa import cli
code = cli.main(["ask", "Where was the sixth CELAC summit held?"])
asked = sorted(sys.modules)
from qa.server import create_app  # loaded on first use: the probe sees a door when one loads
json.dump({"code": code, "asked": asked, "served": sorted(sys.modules)}, open(sys.argv[1], "w"))
"""


class ColdAsk:
    """`qa ask` in a fresh interpreter, running while the other tests run."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="qa-cold-ask-"))
        s = make_settings(self.folder, llm="mock", embedding="mock")
        env = {
            **os.environ,
            "QA_CORPUS_DIR": str(s.corpus_dir),
            "QA_STORE__DATA_DIR": str(s.store.data_dir),
            "QA_STORE__MODE": "local",
            "QA_LLM__MODE": "mock",
            "QA_EMBEDDING__MODE": "mock",
            "QA_RETRIEVAL__SIMILARITY_CUTOFF": "-1",
        }
        self.report = self.folder / "modules.json"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", PROBE, str(self.report)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def result(self, timeout: float = 120.0) -> tuple[int, str, str, dict[str, Any] | None]:
        """(exit code, stdout, stderr, the modules report or None)."""
        out, err = self.proc.communicate(timeout=timeout)
        got = json.loads(self.report.read_text()) if self.report.is_file() else None
        return self.proc.returncode, out, err, got

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
        shutil.rmtree(self.folder, ignore_errors=True)


COLD_ASK = pytest.StashKey[ColdAsk]()


def pytest_collection_finish(session: pytest.Session) -> None:
    if any(item.name == COLD_ASK_TEST for item in session.items):
        session.config.stash[COLD_ASK] = ColdAsk()


def pytest_sessionfinish(session: pytest.Session) -> None:
    probe = session.config.stash.get(COLD_ASK, None)
    if probe is not None:
        probe.close()


@pytest.fixture
def cold_ask(request: pytest.FixtureRequest) -> ColdAsk:
    """The fresh `qa ask` started when collection ended."""
    return request.config.stash[COLD_ASK]
