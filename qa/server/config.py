"""Settings of the HTTP server: API keys, limits, queue.

They belong in `qa.settings.Settings` as a `server` section; until that section exists they are
read here from the same places (env `QA_SERVER__...`, table `[server]` of qa.toml), so
`server_settings(s)` works either way.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from qa.settings import is_loopback  # noqa: F401  (re-exported: its old home)


class ServerSettings(BaseModel):
    """Fields proposed for a `server` section of qa.settings.Settings."""

    # Bearer keys accepted on /v1/*; required when binding anything but loopback.
    api_keys: list[str] = Field(default_factory=list)
    max_body_kb: int = 256  # JSON request bodies (chat); uploads use ui.max_upload_mb
    request_timeout: float = 120.0  # seconds per request, waiting in the queue included
    queue_size: int = 16  # requests allowed to wait for a generation slot; more get 503
    concurrency: int | None = None  # generation slots; None: 1 for the local LLM, else 4
    retry_after: int = 5  # seconds, sent with 503 when the queue is full
    model_id: str = "corpus-qa"
    mount_ui: bool = True  # mount the Gradio chat at / when app.py is importable

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split(cls, v: Any) -> Any:
        """Accept a JSON list or a comma-separated string (env vars)."""
        if isinstance(v, str):
            v = v.strip()
            if v.startswith("["):
                return json.loads(v)
            return [k.strip() for k in v.split(",") if k.strip()]
        return v

    def slots(self, llm_mode: str) -> int:
        if self.concurrency:
            return max(1, self.concurrency)
        return 1 if llm_mode in ("local", "mock") else 4


class _EnvServer(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QA_SERVER__", extra="ignore")

    api_keys: str | None = None  # JSON list or comma-separated; split by ServerSettings
    max_body_kb: int | None = None
    request_timeout: float | None = None
    queue_size: int | None = None
    concurrency: int | None = None
    retry_after: int | None = None
    model_id: str | None = None
    mount_ui: bool | None = None


def _toml_server() -> dict[str, Any]:
    explicit = os.environ.get("QA_CONFIG")
    path = Path(explicit) if explicit else Path.cwd() / "qa.toml"
    if not path.is_file():
        return {}
    with path.open("rb") as fh:
        return dict(tomllib.load(fh).get("server", {}))


def server_settings(settings: Any = None, **overrides: Any) -> ServerSettings:
    """The server section: from `settings.server` when the engine has one, else env + qa.toml."""
    section = getattr(settings, "server", None)
    if section is not None:
        data = section.model_dump() if hasattr(section, "model_dump") else dict(section)
    else:
        data = _toml_server()
        data.update(_EnvServer().model_dump(exclude_none=True))
    data.update(overrides)
    return ServerSettings.model_validate(data)
