"""The page: a Chat tab (chat on the left with a thumbs up / down on each answer, sources and
uploads on the right) and an Evaluation tab, as one gr.Blocks."""

from __future__ import annotations

import gradio as gr

import qa
from qa.ui.chat import responder
from qa.ui.evaluation import evaluation_tab
from qa.ui.rating import rater, remembering
from qa.ui.render import render_sources, status
from qa.ui.upload import uploader

EXAMPLES = [
    "Where was the sixth CELAC summit held?",
    "When was the China-Latin America Forum established?",
    "What did Xi say China will do about the epidemic?",
]


def build_app(settings: qa.Settings | None = None) -> gr.Blocks:
    """The chat as a gr.Blocks (launch it, or mount it on a FastAPI app)."""
    s = settings or qa.load_settings()
    recent = qa.feedback.RecentAnswers()  # the answers of this page's sessions, for their ratings
    rate, correct = rater(s, qa.feedback.open_feedback(s), recent)
    with gr.Blocks(title="corpus-qa") as demo:
        gr.Markdown(
            "## corpus-qa\nAsk about the documents in the corpus. Answers cite the passages "
            "they use as [n]; the passages are listed on the right."
        )
        status_line = gr.Markdown(status(s), elem_id="qa-status")
        sources = gr.HTML(render_sources([]), elem_id="qa-sources", render=False)
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        chat = gr.ChatInterface(
                            responder(s, remembering(recent)),
                            chatbot=gr.Chatbot(
                                elem_id="qa-chat",
                                height=520,
                                buttons=["copy"],
                                feedback_options=("Like", "Dislike"),
                            ),
                            textbox=gr.Textbox(
                                placeholder="Ask a question about the documents…",
                                elem_id="qa-question",
                                show_label=False,
                                max_length=s.retrieval.max_question_chars * 2,
                                submit_btn=True,
                                stop_btn=True,
                            ),
                            additional_outputs=[sources, status_line],
                            examples=EXAMPLES,
                            cache_examples=False,
                            api_name="chat",
                            concurrency_limit=1 if s.llm.mode == "local" else 4,
                            fill_height=False,
                        )
                        rated = gr.Markdown(elem_id="qa-rating-status")
                        pending = gr.State(None)  # the thumbs-down record a correction goes to
                        with gr.Group(visible=False, elem_id="qa-correction") as correction_box:
                            correction = gr.Textbox(
                                label="What should it have said? (optional)",
                                lines=2,
                                max_length=qa.feedback.MAX_CORRECTION_CHARS,
                                elem_id="qa-correction-text",
                            )
                            send = gr.Button(
                                "Send correction", size="sm", elem_id="qa-correction-send"
                            )
                    with gr.Column(scale=2):
                        gr.Markdown("### Sources")
                        sources.render()
                        with gr.Accordion("Add documents to the corpus", open=False):
                            files = gr.File(
                                label=f"Upload PDF, Word, HTML, Markdown or text (up to "
                                f"{s.ui.max_upload_mb} MB each)",
                                file_count="multiple",
                                # only what ingestion reads (qa.documents.readers.KINDS)
                                file_types=sorted(qa.FILE_TYPES),
                                elem_id="qa-upload",
                            )
                            upload_status = gr.Markdown(elem_id="qa-upload-status")
            evaluation_tab(s)
        files.upload(uploader(s), files, [files, upload_status], api_name="upload")
        rating = [pending, correction_box, correction, rated]
        chat.chatbot.like(rate, chat.chatbot, rating, api_visibility="undocumented")
        send.click(correct, [pending, correction], rating, api_visibility="undocumented")
        chat.chatbot.clear(
            lambda: (render_sources([]), status(s)),
            None,
            [sources, status_line],
            queue=False,
            api_visibility="undocumented",
        )
    return demo
