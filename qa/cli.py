"""The `qa` command: ingest, ask, chat, config (and eval/serve where installed).

A door over the public API. Every failure prints one line to stderr and exits non-zero;
QA_DEBUG=1 shows the traceback for bug reports.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable

import qa
from qa.errors import QAError, one_line

Command = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Command]] = {}


def command(name: str, help_: str, args: Callable[[argparse.ArgumentParser], None]):
    def register(fn: Command) -> Command:
        COMMANDS[name] = (help_, args, fn)
        return fn

    return register


def _ingest_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", help="files or folders (default: the corpus folder)")
    p.add_argument("--json", action="store_true", help="print the counts as JSON")
    p.add_argument(
        "--store",
        choices=["local", "postgres"],
        help="index into this store (postgres: moves an existing local index there)",
    )


@command("ingest", "index the corpus (incremental)", _ingest_args)
def cmd_ingest(a: argparse.Namespace) -> int:
    settings = qa.load_settings(**({"store": {"mode": a.store}} if a.store else {}))
    report = qa.ingest(a.paths or None, settings=settings, progress=None if not a.json else False)
    if report.total_chunks == 0:
        print("warning: the corpus has no readable documents yet", file=sys.stderr)
    if a.json:
        print(json.dumps(report.as_dict()))
    else:
        r = report
        print(
            f"added {r.added}, updated {r.updated}, deleted {r.deleted}, unchanged {r.unchanged}"
            f" files; embedded {r.embedded_chunks} chunks; {r.total_chunks} chunks in the index"
            + (f"; skipped {len(r.skipped)}" if r.skipped else "")
        )
    return 0


def _ask_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("question", help="the question, or - to read it from standard input")
    p.add_argument("--json", action="store_true", help="answer, sources, usage, seconds as JSON")


@command("ask", "answer one question with its sources", _ask_args)
def cmd_ask(a: argparse.Namespace) -> int:
    qa.ensure_index()  # a fresh checkout: index corpus/ first (the answer reads only)
    ans = qa.ask(sys.stdin.read() if a.question == "-" else a.question)
    if a.json:
        keep = ("file", "title", "score", "text")
        print(
            json.dumps(
                {
                    "answer": ans.text,
                    "refused": ans.refused,
                    "sources": [{k: s[k] for k in keep} for s in ans.sources],
                    "usage": ans.usage,
                    "seconds": ans.seconds,
                },
                ensure_ascii=False,
            )
        )
        return 0
    print(ans.text)
    _print_sources(ans.sources)
    return 0


def _print_sources(sources: list[dict]) -> None:
    if sources:
        print("\nSources:")
    for s in sources:
        date = f", {s['date']}" if s.get("date") else ""
        print(f"  [{s['n']}] {s['file']} ({s['title']}{date}) score {s['score']:.2f}")


@command("chat", "chat in the terminal (streaming, with history)", lambda p: None)
def cmd_chat(a: argparse.Namespace) -> int:
    print(f"corpus-qa — {qa.describe()['llm']}. Empty line or Ctrl-D to quit.")
    qa.ensure_index()  # a fresh checkout: index corpus/ first (the chat reads only)
    engine = qa.chat_engine()
    while True:
        try:
            question = input("\nyou> ")
        except EOFError:
            return 0
        if not question.strip():
            return 0
        try:
            response = engine.stream_chat(question)
            print("qa> ", end="", flush=True)
            for delta in response.response_gen:
                print(delta, end="", flush=True)
            print()
            _print_sources(qa.sources(response))
        except QAError as exc:
            print(f"error: {one_line(exc)}", file=sys.stderr)


@command("config", "print the effective settings (secrets masked)", lambda p: None)
def cmd_config(a: argparse.Namespace) -> int:
    s = qa.load_settings()
    print(json.dumps({**s.masked(), "models": qa.describe(s)}, indent=2))
    return 0


def _register_optional() -> None:
    """Doors that live in their own modules add their commands when present."""
    for module in ("qa.evaluation.cli", "qa.server.cli"):
        try:
            __import__(module)
        except ImportError:
            continue


def main(argv: list[str] | None = None) -> int:
    _register_optional()
    parser = argparse.ArgumentParser(prog="qa", description=qa.__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_, add_args, _fn) in COMMANDS.items():
        add_args(sub.add_parser(name, help=help_))
    a = parser.parse_args(argv)
    try:
        return COMMANDS[a.command][2](a)
    except QAError as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still one line, traceback on request
        if os.environ.get("QA_DEBUG"):
            traceback.print_exc()
        print(
            f"error: unexpected {exc.__class__.__name__}: {one_line(exc)} "
            "(QA_DEBUG=1 shows details)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # `python -m qa.cli`: use the registry of the imported module
    from qa.cli import main as _main

    sys.exit(_main())
