"""The Evaluation tab: the saved `qa eval` reports with their charts and headline figures, and
a button that runs a question set through the chat's own settings (qa.run_eval)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image

import qa
from qa.ui.render import error_text

SPLITS = ["all", "dev", "test"]


def picture(path: Path | None) -> Image.Image | None:
    """A chart as an image the page can show (from any folder: Gradio serves what it caches)."""
    if path is None or not path.is_file():
        return None
    with Image.open(path) as img:
        return img.copy()


def table(rows: list[dict[str, Any]]) -> str:
    """The reports as a markdown table, a row each."""
    if not rows:
        return "No saved reports yet: run one below, or `qa eval SET --report DIR`."

    def cell(value: Any) -> str:
        return str(value if value is not None else "").replace("|", "\\|")

    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(cell(r[k]) for k in head) + " |" for r in rows])


def listing(
    s: qa.Settings, pick: str | None = None, chosen_set: str | None = None
) -> tuple[str, Any, Any]:
    """(reports table, report picker, question-set picker), read afresh from disk; what was
    picked stays picked while it is still there."""
    reports = qa.eval_reports(s)
    names = [r.name for r in reports]
    sets = [(name, str(path)) for name, path in qa.eval_sets(s).items()]
    values = [v for _, v in sets]
    return (
        table([r.row() for r in reports]),
        gr.Dropdown(choices=names, value=pick if pick in names else next(iter(names), None)),
        gr.Dropdown(
            choices=sets, value=chosen_set if chosen_set in values else next(iter(values), None)
        ),
    )


def shower(s: qa.Settings) -> Callable[[str | None], tuple[Any, str]]:
    """The report picker's handler: (its chart, its head and summary table)."""

    def show(name: str | None) -> tuple[Any, str]:
        found = next((r for r in qa.eval_reports(s) if r.name == name), None)
        return (picture(found.chart), found.summary()) if found else (None, "")

    return show


def runner(s: qa.Settings) -> Callable[..., tuple]:
    """The run button's handler: (status line, table, picker, comparison chart, comparison)."""

    def run(
        questions: str | None,
        split: str,
        judge: bool,
        progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008
    ) -> tuple:
        try:
            if not questions:
                raise qa.InputError("choose a question set")
            progress(0, desc="starting the evaluation")
            done = qa.run_eval(questions, s, split=split, judge=judge, progress=True)
        except Exception as exc:  # unreadable set, model failure, one already running
            return error_text(exc), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        m, against = done.report.run.meta, done.previous.name if done.previous else "nothing yet"
        line = (
            f"✅ {done.report.name}: {m['n_questions']} questions in {m['seconds']} s; "
            f"compared with {against}"
        )
        chart = picture(done.compare_chart)
        shown = gr.update(value=chart, visible=chart is not None)
        return line, *listing(s, done.report.name)[:2], shown, done.comparison()

    return run


def _chart(elem_id: str, visible: bool = True) -> gr.Image:
    """A report's chart (a PNG the report wrote), shown as it is."""
    return gr.Image(
        type="pil",
        format="png",
        interactive=False,
        show_label=False,
        visible=visible,
        elem_id=elem_id,
    )


def evaluation_tab(s: qa.Settings) -> gr.Tab:
    """The tab's components and events (inside the page's gr.Blocks)."""
    with gr.Tab("Evaluation", id="evaluation") as tab:
        gr.Markdown(
            "Saved `qa eval` reports (`bench/eval/` and your runs), newest first. A run uses the "
            "chat's corpus, models and settings; one runs at a time."
        )
        reports = gr.Markdown(elem_id="qa-eval-reports")
        with gr.Row():
            pick = gr.Dropdown(label="Report", elem_id="qa-eval-pick", scale=2)
        with gr.Row(equal_height=False):
            chart = _chart("qa-eval-chart")
            summary = gr.Markdown(elem_id="qa-eval-summary")
        gr.Markdown("### Run an evaluation")
        with gr.Row():
            questions = gr.Dropdown(label="Question set", elem_id="qa-eval-set", scale=2)
            split = gr.Radio(SPLITS, value="all", label="Split", elem_id="qa-eval-split")
            judge = gr.Checkbox(False, label="LLM faithfulness judge (twice as slow)")
            button = gr.Button("Run evaluation", variant="primary", elem_id="qa-eval-run")
        run_status = gr.Markdown(elem_id="qa-eval-status")
        with gr.Row(equal_height=False):
            compare_chart = _chart("qa-eval-compare-chart", visible=False)
            comparison = gr.Markdown(elem_id="qa-eval-compare")
    tab.select(
        lambda *picked: listing(s, *picked),
        [pick, questions],
        [reports, pick, questions],
        queue=False,
        api_visibility="undocumented",
    )
    pick.change(shower(s), pick, [chart, summary], queue=False, api_visibility="undocumented")
    button.click(
        runner(s),
        [questions, split, judge],
        [run_status, reports, pick, compare_chart, comparison],
        api_name="evaluate",
        concurrency_limit=2,  # a second session reaches run_eval and hears one is running
    )
    return tab
