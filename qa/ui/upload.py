"""Adding documents from the browser: read only what Gradio received, save, index, report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

import qa
from qa.ui.render import ERROR_MARK, error_text


def gradio_upload_folder() -> str:
    from gradio.utils import get_upload_folder

    return get_upload_folder()


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


def uploader(s: qa.Settings) -> Callable[..., tuple]:
    """The gr.File upload handler: returns (cleared file list, report markdown)."""

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
                lines.append(error_text(exc))
        if saved:
            progress(0.5, desc=f"indexing {len(saved)} file(s)")
            try:
                warned: list[str] = []
                report = qa.ingest(saved, settings=s, progress=True, warn=warned.append)
                lines += added_lines(report, saved, warned)
            except Exception as exc:
                lines.append(error_text(exc))
        return None, "\n\n".join(lines)

    return upload


def passages(n: int) -> str:
    """'1 passage', '3 passages'."""
    return f"{n} passage" if n == 1 else f"{n} passages"


def added_lines(report: Any, saved: list[Path], warned: list[str] | None = None) -> list[str]:
    """What the upload did, a line per document: its name and passage count, or why it was
    not indexed (a scanned PDF, a damaged file...)."""
    chunks = getattr(report, "chunks", {}) or {}
    skipped = set(getattr(report, "skipped", []) or [])
    done = [f"{p.name} ({passages(chunks.get(p.name, 0))})" for p in saved if p.name not in skipped]
    lines = []
    if done:
        lines.append(
            f"✅ Added {', '.join(done)} to the corpus; {passages(report.total_chunks)} in the "
            "index. Ask about it in the chat."
        )
    for p in saved:
        if p.name in skipped:
            # an upload ingestion cannot read is taken back, so later ingests do not warn
            # about it again and again
            p.unlink(missing_ok=True)
            why = [w for w in warned or [] if w.startswith(f"{p.name}: ")]
            why_line = why[0] if why else f"{p.name}: could not be read"
            lines.append(f"{ERROR_MARK} {why_line}; not added to the corpus")
    return lines
