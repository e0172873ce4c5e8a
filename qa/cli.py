"""The `qa` command: ingest, ask, chat, config, eval, serve, feedback.

A door over the public API. Every failure prints one line to stderr and exits non-zero;
QA_DEBUG=1 shows the traceback for bug reports. The commands of other doors (`eval`, `serve`)
live with them: each module's `register(subparsers)` adds its own, called explicitly below, and
none of them imports this module back.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback

import qa
from qa.errors import QAError, one_line
from qa.evaluation import cli as evaluation_cli
from qa.feedback import cli as feedback_cli
from qa.server import cli as server_cli


def _ingest_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", help="files or folders (default: the corpus folder)")
    p.add_argument("--json", action="store_true", help="print the counts as JSON")
    p.add_argument(
        "--store",
        choices=["local", "postgres"],
        help="index into this store (postgres: moves an existing local index there)",
    )
    p.add_argument(
        "--summaries",
        action="store_true",
        help="also summarise each document too long to read whole (cached by content; slow)",
    )


def cmd_ingest(a: argparse.Namespace) -> int:
    settings = qa.load_settings(**({"store": {"mode": a.store}} if a.store else {}))
    report = qa.ingest(a.paths or None, settings=settings, progress=None if not a.json else False)
    if report.total_chunks == 0:
        print("warning: the corpus has no readable documents yet", file=sys.stderr)
    summaries = None
    if a.summaries and report.total_chunks:
        summaries = qa.summarize(settings, say=lambda msg: print(msg, file=sys.stderr))
    if a.json:
        out = report.as_dict()
        print(json.dumps(out if summaries is None else out | {"summaries": summaries}))
    else:
        r = report
        print(
            f"added {r.added}, updated {r.updated}, deleted {r.deleted}, unchanged {r.unchanged}"
            f" files; embedded {r.embedded_chunks} chunks; {r.total_chunks} chunks in the index"
            + (f"; skipped {len(r.skipped)}" if r.skipped else "")
            + (f"; summarised {summaries} documents" if summaries is not None else "")
        )
    return 0


def _ask_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("question", help="the question, or - to read it from standard input")
    p.add_argument(
        "--json", action="store_true", help="answer, language, sources, usage, seconds as JSON"
    )


def cmd_ask(a: argparse.Namespace) -> int:
    qa.ensure_index()  # sync corpus/ first (a fresh checkout: index it); the answer reads only
    ans = qa.ask(sys.stdin.read() if a.question == "-" else a.question)
    if a.json:
        keep = ("file", "title", "page", "section", "citation", "score", "text")
        print(
            json.dumps(
                {
                    "answer": ans.text,
                    "refused": ans.refused,
                    "language": ans.language,
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
        where = s.get("citation") or s["file"]
        print(f"  [{s['n']}] {where} ({s['title']}{date}) score {s['score']:.2f}")


def cmd_chat(a: argparse.Namespace) -> int:
    print(f"corpus-qa — {qa.describe()['llm']}. Empty line or Ctrl-D to quit.")
    qa.ensure_index()  # sync corpus/ first (a fresh checkout: index it); the chat reads only
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


def cmd_config(a: argparse.Namespace) -> int:
    s = qa.load_settings()
    print(json.dumps({**s.masked(), "models": qa.describe(s)}, indent=2))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """This module's commands: ingest, ask, chat, config."""
    for name, help_, add_args, run in (
        ("ingest", "index the corpus (incremental)", _ingest_args, cmd_ingest),
        ("ask", "answer one question with its sources", _ask_args, cmd_ask),
        ("chat", "chat in the terminal (streaming, with history)", None, cmd_chat),
        ("config", "print the effective settings (secrets masked)", None, cmd_config),
    ):
        p = sub.add_parser(name, help=help_)
        if add_args is not None:
            add_args(p)
        p.set_defaults(run=run)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qa", description=qa.__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    register(sub)
    evaluation_cli.register(sub)
    server_cli.register(sub)
    feedback_cli.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    try:
        return a.run(a)
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


if __name__ == "__main__":
    sys.exit(main())
