"""corpus-qa in the browser: a Gradio chat over the public API of `qa`, nothing below it.

    python app.py [--host H] [--port P]

Answers stream into the chat; the passages they cite are listed beside it, numbered like the
[n] markers. History lives in each browser session (gr.ChatInterface keeps it client side and
sends it with every message): this module holds no conversation state. `build_app()` returns
the gr.Blocks so an HTTP server can mount it; `main()` parses the command line and launches.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# onnxruntime (the local embeddings) sends telemetry to events.data.microsoft.com unless this is
# set before it loads. Belongs in qa/offline.py; kept here too so the app never leaks it.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

import qa  # noqa: E402  first of the rest: sets offline switches before gradio is imported

# isort: split
import gradio as gr  # noqa: E402  (after qa, see above)

EXAMPLES = [
    "Where was the sixth CELAC summit held?",
    "When was the China-Latin America Forum established?",
    "What did Xi say China will do about the epidemic?",
]
ERROR_MARK = "⚠️"

CSS = """
#qa-sources { max-height: 70vh; overflow-y: auto; }
.qa-source { border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: 8px 10px; margin-bottom: 8px; }
.qa-source-head { font-weight: 600; }
.qa-source-n { display: inline-block; min-width: 2em; color: var(--color-accent); }
.qa-source-meta { color: var(--body-text-color-subdued); font-size: 0.9em; margin: 2px 0 6px; }
.qa-source-text { white-space: pre-wrap; font-size: 0.92em; line-height: 1.4; }
.qa-source-text mark { background: #fde68a; color: inherit; padding: 0 1px; }
#qa-status { font-size: 0.9em; color: var(--body-text-color-subdued); }
"""

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


# ---- rendering --------------------------------------------------------------------------------
def _words(text: str) -> set[str]:
    """Content words of three letters or more (qa's stopword list, shared with grounding)."""
    return {w for w in qa.text.content_words(text or "") if len(w) > 2}


def _highlight(passage: str, focus: str) -> str:
    """HTML of the passage with the sentence(s) sharing most words with `focus` marked."""
    parts = [p for p in _SENTENCE.split(passage) if p.strip()]
    want = _words(focus)
    scores = [len(_words(p) & want) for p in parts]
    best = max(scores, default=0)
    out = []
    for part, score in zip(parts, scores, strict=True):
        esc = html.escape(part.strip())
        out.append(f"<mark>{esc}</mark>" if best >= 2 and score == best else esc)
    return " ".join(out)


def render_sources(sources: list[dict[str, Any]], focus: str = "", note: str = "") -> str:
    """The sources panel: one card per passage, numbered like the answer's [n] markers."""
    if not sources:
        msg = note or "The passages an answer uses appear here, numbered like its [n] markers."
        return f'<div class="qa-sources-empty">{html.escape(msg)}</div>'
    cards = []
    for s in sources:
        meta = " · ".join(html.escape(str(x)) for x in (s.get("title"), s.get("date")) if x)
        cards.append(
            f'<div class="qa-source" id="qa-source-{int(s.get("n", 0))}">'
            f'<div class="qa-source-head"><span class="qa-source-n">[{int(s.get("n", 0))}]</span>'
            f'<span class="qa-source-file">{html.escape(str(s.get("file", "")))}</span>'
            f' <span class="qa-source-score">score {float(s.get("score") or 0):.2f}</span></div>'
            f'<div class="qa-source-meta">{meta}</div>'
            f'<div class="qa-source-text">{_highlight(str(s.get("text", "")), focus)}</div>'
            "</div>"
        )
    return "".join(cards)


def _models(settings: qa.Settings) -> str:
    d = qa.describe(settings)
    return f"LLM: {d['llm']} · embedding: {d['embedding']}"


def _status(settings: qa.Settings, answer: Any = None, note: str = "") -> str:
    line = _models(settings)
    if answer is not None:
        usage = answer.usage or {}
        tokens = int(usage.get("prompt_tokens", 0)) + int(usage.get("completion_tokens", 0))
        line += (
            f" · answered in {answer.seconds:.1f} s · {tokens} tokens "
            f"({usage.get('prompt_tokens', 0)} prompt + {usage.get('completion_tokens', 0)} "
            "completion)"
        )
    if note:
        line += f" · {note}"
    return line


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, qa.QAError):
        return f"{ERROR_MARK} {qa.one_line(exc)}"
    # unexpected: the log gets the traceback, the chat one line
    traceback.print_exc(file=sys.stderr)
    unexpected = RuntimeError(f"something went wrong ({exc.__class__.__name__}: {exc})")
    return f"{ERROR_MARK} {qa.one_line(unexpected)}"


# ---- history ----------------------------------------------------------------------------------
def _text_of(content: Any) -> str:
    """Plain text of a Gradio message content (str, list of parts, or a file/component)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list | tuple):
        return " ".join(_text_of(c) for c in content).strip()
    if isinstance(content, dict):
        if content.get("type") == "text" or "text" in content:
            return str(content.get("text") or "")
        return ""
    return ""


def clean_history(history: list[Any] | None) -> list[dict[str, str]]:
    """OpenAI-style messages for qa, without turns that ended in an error message."""
    msgs: list[dict[str, str]] = []
    for m in history or []:
        if isinstance(m, dict):
            role, content = m.get("role"), _text_of(m.get("content"))
        else:
            role, content = getattr(m, "role", None), _text_of(getattr(m, "content", ""))
        if role not in ("user", "assistant") or not content.strip():
            continue
        if role == "assistant" and content.startswith(ERROR_MARK):
            if msgs and msgs[-1]["role"] == "user":
                msgs.pop()
            continue
        msgs.append({"role": role, "content": content})
    return msgs


# ---- uploads -----------------------------------------------------------------------------------
def uploaded_bytes(path: Path) -> bytes:
    """The content of a file the browser uploaded, read only from Gradio's upload folder.

    The upload event's payload names a server path; without this check a crafted call could
    name any readable file (Gradio's own check is skipped when the app is mounted on FastAPI).
    The message is the same whether or not the path exists, so it cannot probe the disk."""
    folder = Path(gradio_upload_folder()).resolve()
    try:
        real = path.resolve(strict=True)
        if not real.is_relative_to(folder) or not real.is_file():
            raise OSError
        return real.read_bytes()
    except OSError:
        raise qa.InputError(f"{path.name}: not a file uploaded through this page") from None


def gradio_upload_folder() -> str:
    from gradio.utils import get_upload_folder

    return get_upload_folder()


# ---- the app ----------------------------------------------------------------------------------
def build_app(settings: qa.Settings | None = None) -> gr.Blocks:
    """The chat as a gr.Blocks (launch it, or mount it on a FastAPI app)."""
    s = settings or qa.load_settings()

    def respond(message: str, history: list[Any]) -> Iterator[tuple[str, str, str]]:
        srcs: list[dict[str, Any]] = []
        text = ""
        try:
            question = message if isinstance(message, str) else _text_of(message)
            srcs, deltas, answer = qa.stream_ask(
                question, history=clean_history(history), settings=s
            )
            panel = render_sources(
                srcs, focus=question, note="No passage in the documents matches this question."
            )
            yield "", panel, _status(s, note="answering…")
            for d in deltas:
                text += d
                yield text, panel, _status(s, note="answering…")
            note = "not in the documents" if answer.refused else ""
            final = render_sources(
                srcs, focus=answer.text or text, note="No passage matches this question."
            )
            yield answer.text or text, final, _status(s, answer, note)
        except Exception as exc:  # every error becomes one line in the chat
            err = _error_text(exc)
            shown = f"{text}\n\n{err}" if text else err
            yield shown, render_sources(srcs), _status(s, note="error")

    def upload(files: Any, progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple:  # noqa: B008
        paths = [files] if isinstance(files, str | Path) else list(files or [])
        if not paths:
            return None, ""
        lines, saved = [], []
        for i, f in enumerate(paths):
            src = Path(str(getattr(f, "name", f)))
            progress((i, len(paths)), desc=f"checking {src.name}")
            try:
                saved.append(qa.save_upload(s, src.name, uploaded_bytes(src)))
            except Exception as exc:
                lines.append(_error_text(exc))
        if saved:
            progress(0.5, desc=f"indexing {len(saved)} file(s)")
            try:
                report = qa.ingest(saved, settings=s, progress=True)
                names = ", ".join(p.name for p in saved)
                lines.append(
                    f"✅ Added {names} to the corpus: {report.embedded_chunks} passage(s) "
                    f"indexed, {report.total_chunks} in the index. Ask about it in the chat."
                )
                for skipped in getattr(report, "skipped", []) or []:
                    lines.append(f"{ERROR_MARK} {skipped}: could not be read, not indexed")
            except Exception as exc:
                lines.append(_error_text(exc))
        return None, "\n\n".join(lines)

    with gr.Blocks(title="corpus-qa") as demo:
        gr.Markdown(
            "## corpus-qa\nAsk about the documents in the corpus. Answers cite the passages "
            "they use as [n]; the passages are listed on the right."
        )
        status = gr.Markdown(_status(s), elem_id="qa-status")
        sources = gr.HTML(render_sources([]), elem_id="qa-sources", render=False)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chat = gr.ChatInterface(
                    respond,
                    chatbot=gr.Chatbot(
                        elem_id="qa-chat", height=520, buttons=["copy"], feedback_options=None
                    ),
                    textbox=gr.Textbox(
                        placeholder="Ask a question about the documents…",
                        elem_id="qa-question",
                        show_label=False,
                        max_length=s.retrieval.max_question_chars * 2,
                        submit_btn=True,
                        stop_btn=True,
                    ),
                    additional_outputs=[sources, status],
                    examples=EXAMPLES,
                    cache_examples=False,
                    api_name="chat",
                    concurrency_limit=1 if s.llm.mode == "local" else 4,
                    fill_height=False,
                )
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources.render()
                with gr.Accordion("Add documents to the corpus", open=False):
                    files = gr.File(
                        label=f"Upload .txt, .md, … (up to {s.ui.max_upload_mb} MB each)",
                        file_count="multiple",
                        # only what ingestion reads here: .pdf only where pypdf is installed
                        file_types=sorted(qa.FILE_TYPES),
                        elem_id="qa-upload",
                    )
                    upload_status = gr.Markdown(elem_id="qa-upload-status")
        files.upload(upload, files, [files, upload_status], api_name="upload")
        chat.chatbot.clear(
            lambda: (render_sources([]), _status(s)),
            None,
            [sources, status],
            queue=False,
            api_visibility="undocumented",
        )
    return demo


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
        demo = build_app(s)
        kwargs = launch_kwargs(s)
    except qa.QAError as exc:
        print(f"error: {qa.one_line(exc)}", file=sys.stderr)
        return getattr(exc, "exit_code", 1)
    try:
        qa.ensure_index(s)  # a fresh checkout: index corpus/ before the first question
    except qa.QAError as exc:  # the chat still starts; each question shows the error
        print(f"warning: {qa.one_line(exc)}", file=sys.stderr)
    demo.queue(default_concurrency_limit=1).launch(**kwargs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
