"""Running the chat on its own: `python app.py` / `python -m qa.ui` [--host H] [--port P]."""

from __future__ import annotations

import argparse
import socket
import sys
from typing import Any

import qa
from qa.ui.layout import build_app
from qa.ui.render import CSS


def _auth(settings: qa.Settings) -> list[tuple[str, str]] | None:
    """Gradio's login pairs from ui.auth (parsed by qa.settings, shared with `qa serve`); off
    loopback a login is required, as `qa serve` requires API keys there."""
    pairs = settings.ui.credentials()
    if not pairs and not settings.ui.on_loopback:
        raise qa.ConfigError(
            f"refusing to serve the chat on {settings.ui.host} without a login: set ui.auth "
            "(QA_UI__AUTH=user:password) or bind 127.0.0.1"
        )
    return pairs or None


def launch_kwargs(settings: qa.Settings) -> dict[str, Any]:
    return {
        "server_name": settings.ui.host,
        "server_port": settings.ui.port,
        "auth": _auth(settings),
        "max_file_size": f"{settings.ui.max_upload_mb}mb",
        "share": False,
        "ssr_mode": False,
        "pwa": False,
        "css": CSS,
        "footer_links": ["api"],
        "show_error": False,
    }


def port_taken(host: str, port: int) -> str | None:
    """Why the chat cannot listen on host:port, checked before the index and the model load:
    a second `python app.py` got Gradio's OSError traceback after loading both."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        # as the server binds: a port left in TIME_WAIT by a chat just stopped is free to it
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return (
                f"cannot listen on {host}:{port} ({exc.strerror or exc}): is the chat already "
                "running? Stop it, or pick another port with --port or QA_UI__PORT"
            )
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="app.py", description="corpus-qa browser chat")
    parser.add_argument("--host", help="interface to listen on (default from settings: 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default from settings: 7860)")
    args = parser.parse_args(argv)
    try:
        s = qa.load_settings()
        ui = s.ui.model_copy(
            update={k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
        )
        s = s.model_copy(update={"ui": ui})
        kwargs = launch_kwargs(s)  # a bad login setting fails before the page is built
        demo = build_app(s)
    except qa.QAError as exc:
        print(f"error: {qa.one_line(exc)}", file=sys.stderr)
        return getattr(exc, "exit_code", 1)
    taken = port_taken(s.ui.host, s.ui.port)
    if taken:
        print(f"error: {taken}", file=sys.stderr)
        return 1
    try:
        qa.ensure_index(s)  # sync corpus/ (a fresh checkout: index it) before the first question
    except qa.QAError as exc:  # the chat still starts; each question shows the error
        print(f"warning: {qa.one_line(exc)}", file=sys.stderr)
    demo.queue(default_concurrency_limit=1).launch(**kwargs)
    return 0
