"""`qa serve [--host H] [--port P]`: the HTTP API (and the browser chat) in one process."""

from __future__ import annotations

import argparse

import qa


def _serve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default=None, help="interface to bind (default: ui.host, 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default: ui.port)")
    p.add_argument("--no-ui", action="store_true", help="do not mount the browser chat at /")
    p.add_argument("--log-level", default="info", help="uvicorn log level (default: info)")


def register(sub: argparse._SubParsersAction) -> None:
    """`qa serve` (called by qa.cli)."""
    p = sub.add_parser("serve", help="serve the OpenAI-compatible HTTP API and the browser chat")
    _serve_args(p)
    p.set_defaults(run=cmd_serve)


def cmd_serve(a: argparse.Namespace) -> int:
    import uvicorn

    from qa.server.app import create_app

    s = qa.load_settings()
    host = a.host or s.ui.host
    port = a.port or s.ui.port
    app = create_app(s, host=host, mount_ui=False if a.no_ui else None)
    print(f"corpus-qa API on http://{host}:{port}/v1 ({qa.describe(s)['llm']})", flush=True)
    uvicorn.run(app, host=host, port=port, log_level=a.log_level, timeout_graceful_shutdown=5)
    return 0
