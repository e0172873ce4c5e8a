"""corpus-qa in the browser: a Gradio chat over the public API of `qa`, nothing below it.

    python app.py [--host H] [--port P]      (or python -m qa.ui; `qa serve` mounts it at /)

Answers stream into the chat; the passages they cite are listed beside it, numbered like the
[n] markers. History lives in each browser session (gr.ChatInterface keeps it client side and
sends it with every message): this package holds no conversation state. A rating needs the
standalone question and sources of its answer, so those of the latest answers are remembered
(bounded, qa.feedback.RecentAnswers).

- layout.py   `build_app(settings)`: the gr.Blocks, to launch or mount on a FastAPI app
- chat.py     the chat handler and the browser history it reads
- upload.py   the upload handler; reads only files in Gradio's upload folder
- rating.py   thumbs up / down on each answer and the correction after a thumbs down
- evaluation.py  the Evaluation tab: saved reports, a run of a question set, its comparison
- render.py   the sources panel, the status line, errors as one line; the CSS
- launch.py   `main()` and `launch_kwargs()`: the command line, the login rule off loopback
"""

from __future__ import annotations

from qa.ui.chat import clean_history
from qa.ui.launch import launch_kwargs, main
from qa.ui.layout import EXAMPLES, build_app
from qa.ui.render import CSS, ERROR_MARK, error_text, render_sources
from qa.ui.upload import uploaded_bytes

__all__ = [
    "CSS",
    "ERROR_MARK",
    "EXAMPLES",
    "build_app",
    "clean_history",
    "error_text",
    "launch_kwargs",
    "main",
    "render_sources",
    "uploaded_bytes",
]
