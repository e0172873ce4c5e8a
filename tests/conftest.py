"""The test layers, marked by folder, and the shared fixtures.

- tests/unit/: logic on mocks and fakes, in this process (marker `unit`); the fast layer,
  `bash scripts/test --fast`, or `pytest -m "not integration and not browser"`. One test
  needs a fresh interpreter (test_lazy_imports.py: what `qa ask` imports, which this process,
  with everything loaded, cannot show); tests/unit/conftest.py starts it early.
- tests/integration/: the real embedded models, PostgreSQL, or the `qa` command in a
  subprocess (marker `integration`).
- tests/e2e/: a real server driven by a real client: app.py in Chromium, the HTTP API through
  the `openai` client (markers `e2e` and `integration`; `browser` where Chromium is used, i.e.
  the test uses the `browser` fixture).

Fixtures: settings pointed at a temporary data dir and a copy of the corpus. `mock_settings`
runs the whole pipeline on llama-index MockLLM/MockEmbedding (logic only), a fresh copy per
test; `shared_mock_settings` is one such copy for the whole session, indexed once, for tests
that only read (a server or a browser app built once per module over it saves 0.3-0.5 s a
test); `local_settings` runs the real embedded models (integration and e2e only).
"""

from __future__ import annotations

import gc

# No garbage collection until collection ends (pytest_collection_finish): importing
# llama-index, openai, FastAPI and Gradio makes millions of objects that all stay alive, and
# scanning them again and again while importing costs about 15% of the collection's CPU.
gc.disable()

from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

import qa  # noqa: E402
from tests.helpers import make_settings, stop_servers  # noqa: E402

TESTS = Path(__file__).parent


def _one_ssl_context() -> None:
    """Every httpx client (httpx.get, the openai client) loads the system CA bundle into a new
    SSL context: 44 ms each here, 14% of the unit layer's samples under py-spy. The tests talk
    plain HTTP to 127.0.0.1, so one context per set of arguments serves them all."""
    import httpx._transports.default as transport

    made: dict[object, object] = {}
    create = transport.create_ssl_context

    def cached(verify=True, cert=None, trust_env=True):  # type: ignore[no-untyped-def]
        key = (verify if isinstance(verify, bool | str) else id(verify), cert, trust_env)
        if key not in made:
            made[key] = create(verify=verify, cert=cert, trust_env=trust_env)
        return made[key]

    transport.create_ssl_context = cached


_one_ssl_context()
LAYERS = {"unit": ("unit",), "integration": ("integration",), "e2e": ("e2e", "integration")}


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if not item.path.is_relative_to(TESTS):
            continue
        rel = item.path.relative_to(TESTS)
        layer = rel.parts[0] if len(rel.parts) > 1 else None
        if layer not in LAYERS:
            raise pytest.UsageError(
                f"tests/{rel}: put test files in tests/unit, tests/integration or tests/e2e"
            )
        for marker in LAYERS[layer]:
            item.add_marker(marker)
        if "browser" in item.fixturenames:
            item.add_marker("browser")
        if layer == "unit" and "local_settings" in item.fixturenames:
            raise pytest.UsageError(f"{item.nodeid}: unit tests run on mocks, not local_settings")


def pytest_collection_finish(session: pytest.Session) -> None:
    gc.freeze()  # what the imports made lives to the end: later collections skip it
    gc.enable()


@pytest.fixture(scope="session", autouse=True)
def _servers_stopped() -> Iterator[None]:
    """Every test server (tests.helpers.serving) has stopped when the session ends."""
    yield
    stop_servers()


@pytest.fixture
def settings_factory(tmp_path: Path) -> Callable[..., qa.Settings]:
    return lambda **kw: make_settings(tmp_path, **kw)


@pytest.fixture
def mock_settings(tmp_path: Path) -> qa.Settings:
    return make_settings(tmp_path, llm="mock", embedding="mock")


@pytest.fixture(scope="session")
def shared_mock_settings(tmp_path_factory: pytest.TempPathFactory) -> qa.Settings:
    """Mock models over one copy of the article, indexed once. Read only: a test that adds a
    document or changes the index uses `mock_settings`."""
    s = make_settings(tmp_path_factory.mktemp("shared_mock"), llm="mock", embedding="mock")
    qa.ingest(settings=s, progress=False)
    return s


@pytest.fixture(scope="session")
def local_settings(tmp_path_factory: pytest.TempPathFactory) -> qa.Settings:
    """Real embedded models over a private copy of the article, ingested once per session."""
    s = make_settings(tmp_path_factory.mktemp("local"))
    qa.ingest(settings=s, progress=False)
    return s
