"""deploy/: the compose file of the typical deployment is plain, valid and complete.

No container runtime runs here, so this checks the structure a runtime relies on (YAML, the
Compose keys used, services, images, health checks, env files, volumes, dependencies) and that
qa.env names every setting; tests/e2e/test_replicas.py runs the same parts as processes.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import yaml
from pydantic import BaseModel

import qa
from qa.settings import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
# the top-level and service keys of the Compose specification this file may use
TOP_KEYS = {"name", "services", "volumes", "networks", "configs", "secrets"}
SERVICE_KEYS = {
    "image",
    "build",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "volumes",
    "ports",
    "expose",
    "depends_on",
    "healthcheck",
    "restart",
    "deploy",
    "networks",
    "user",
    "working_dir",
}
HEALTH_KEYS = {"test", "interval", "timeout", "retries", "start_period", "disable"}
REPLICAS = ("qa-a", "qa-b")


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def env_file(name: str) -> dict[str, str]:
    """The KEY=value lines of an env file (comments and blank lines skipped)."""
    pairs = {}
    for line in (DEPLOY / name).read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            assert sep and re.fullmatch(r"[A-Z][A-Z0-9_]*", key), f"{name}: bad line {line!r}"
            pairs[key] = value
    return pairs


def setting_names(model: type[BaseModel] = qa.Settings, prefix: str = "QA_") -> set[str]:
    """Every setting as its environment variable (QA_SECTION__FIELD)."""
    names = set()
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            names |= setting_names(ann, f"{prefix}{name.upper()}__")
        else:
            names.add(f"{prefix}{name.upper()}")
    return names


def test_compose_uses_only_known_keys_and_declares_what_it_references():
    doc = compose()
    assert set(k for k in doc if not k.startswith("x-")) <= TOP_KEYS
    services = doc["services"]
    assert set(services) == {"db", "model", *REPLICAS, "proxy"}
    volumes = set(doc.get("volumes") or {})
    for name, svc in services.items():
        assert set(svc) <= SERVICE_KEYS, (name, set(svc) - SERVICE_KEYS)
        assert isinstance(svc.get("image"), str) and ":" in svc["image"], name  # pinned tag
        for dep in svc.get("depends_on") or {}:
            assert dep in services, (name, dep)
        for mount in svc.get("volumes") or []:
            source = mount.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).is_file(), (name, source)
            else:
                assert source in volumes, (name, source)
        for f in svc.get("env_file") or []:
            assert (DEPLOY / f).is_file(), (name, f)
        if "build" in svc:
            build = svc["build"]
            assert (DEPLOY / build["context"] / build["dockerfile"]).is_file()


def test_every_service_has_a_health_check_and_the_replicas_check_readiness():
    services = compose()["services"]
    for name, svc in services.items():
        check = svc.get("healthcheck")
        assert check and set(check) <= HEALTH_KEYS, name
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
    for name in REPLICAS:
        svc = services[name]
        assert "/health'" in " ".join(svc["healthcheck"]["test"])  # readiness, not liveness
        assert svc["command"][:2] == ["qa", "serve"]
        assert svc["depends_on"]["db"]["condition"] == "service_healthy"
        assert svc["depends_on"]["model"]["condition"] == "service_healthy"
        assert any(m.startswith("corpus:") for m in svc["volumes"])  # one shared corpus
    assert services["qa-a"] == services["qa-b"]  # identical, stateless


def test_qa_env_names_every_setting_and_points_at_the_compose_services():
    text = (DEPLOY / "qa.env").read_text()
    named = set(re.findall(r"^#? ?(QA_[A-Z0-9_]+)=", text, flags=re.M))
    assert named == setting_names()
    env = env_file("qa.env")
    settings = qa.Settings(**_nested(env))  # the values parse as settings
    assert settings.store.mode == "postgres" and settings.llm.mode == "openai_like"
    services = compose()["services"]
    db = urlparse(env["QA_STORE__POSTGRES_URL"])
    assert db.hostname in services and db.path == "/" + env_file("db.env")["POSTGRES_DB"]
    assert db.username == env_file("db.env")["POSTGRES_USER"]
    assert db.password == env_file("db.env")["POSTGRES_PASSWORD"]
    assert urlparse(env["QA_OPENAI__API_BASE"]).hostname in services
    assert settings.server.api_keys and settings.ui.credentials()  # needed off loopback
    assert any(m.endswith(":" + env["QA_CORPUS_DIR"]) for m in services["qa-a"]["volumes"])


def test_model_server_keeps_streams_whole_and_the_proxy_pins_browser_sessions():
    model = env_file("model.env")
    assert model["INTERRUPT_REQUESTS"] == "false"
    assert model["MODEL_ALIAS"] == env_file("qa.env")["QA_LLM__MODEL"]
    command = compose()["services"]["model"]["command"]
    assert command[:3] == ["python", "-m", "llama_cpp.server"]
    gguf = Path(command[command.index("--model") + 1]).name
    from qa.models.weights import PRESETS

    assert gguf in {p.file_name for p in PRESETS.values()}
    caddy = (DEPLOY / "Caddyfile").read_text()
    assert "lb_policy cookie" in caddy and "health_uri /health" in caddy
    assert all(f"{r}:8000" in caddy for r in REPLICAS)


def _nested(env: dict[str, str]) -> dict:
    """QA_SECTION__FIELD=value pairs as Settings keyword arguments."""
    out: dict = {}
    for key, value in env.items():
        parts = key.removeprefix("QA_").lower().split("__")
        if len(parts) == 1:
            out[parts[0]] = value
        else:
            out.setdefault(parts[0], {})[parts[1]] = value
    return out
