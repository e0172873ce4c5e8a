"""Settings in a fresh interpreter: `qa config` masks secrets; importing qa sets the offline
switches."""

from __future__ import annotations

import json
import subprocess
import sys


def test_config_command_masks_secrets(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "QA_OPENAI__API_KEY": "sk-secret-value-123",
        "QA_STORE__POSTGRES_URL": "postgresql://bob:hunter2@127.0.0.1:5432/db",
    }
    out = subprocess.run(
        [sys.executable, "-m", "qa.cli", "config"], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    assert "sk-secret-value-123" not in out.stdout and "hunter2" not in out.stdout
    data = json.loads(out.stdout)
    assert data["openai"]["api_key"] == "***"
    assert data["store"]["postgres_url"] == "postgresql://bob:***@127.0.0.1:5432/db"
    assert data["llm"]["mode"] == "local"


def test_offline_switches_are_set_by_the_package():
    code = (
        "import os, qa, tiktoken; "
        "print(os.environ['HF_HUB_OFFLINE'], os.environ['GRADIO_ANALYTICS_ENABLED']); "
        "print(len(tiktoken.get_encoding('cl100k_base').encode('hello world')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "False", "2"]
