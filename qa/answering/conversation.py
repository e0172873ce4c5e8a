"""A conversation as the answer prompt shows it, and a follow-up's standalone search queries.

"And on what date?" or "What did he say about it?" name nothing to search for: retrieval needs
a standalone form built from the conversation, and the LLM needs the newest turns to resolve
"he" and "it".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llama_index.core.base.llms.types import ChatMessage, MessageRole

from qa.answering.grounding import strip_markers
from qa.answering.router import about_the_documents, route

if TYPE_CHECKING:
    from qa.answering.pipeline import Pipeline


@dataclass
class FollowUp:
    """What retrieval searches for a question, and the form the LLM may be asked instead of
    the question as typed (the LLM's rewrite; the question itself when there is none)."""

    queries: list[str]
    standalone: str
    # a definition ("What is CELAC?") given back as is by the rewrite, pointing nowhere and
    # opening with no "And"/"What about": asked with no conversation shown
    alone: bool = False


def shown(pipe: Pipeline, history: list[ChatMessage]) -> str:
    """The newest turns, for the answer prompt: the LLM resolves "he" or "And on what
    date?" from them. Citation markers are stripped from earlier answers."""
    llm = pipe.settings.llm
    roles = {MessageRole.USER, MessageRole.ASSISTANT} if llm.history_answers else {MessageRole.USER}
    turns = [m for m in history if m.role in roles]
    keep = turns[-llm.history_messages :] if llm.history_messages else []
    if not keep:
        return ""
    lines = [
        f"{'User' if m.role == MessageRole.USER else 'Assistant'}: {strip_markers(m.content or '')}"
        for m in keep
    ]
    return pipe.prompt("conversation", turns="\n".join(lines)) + "\n\n"


# English words that refer to something said earlier in the conversation (anaphora)
POINTING_BACK = frozenset(
    "it its that this these those he him his she her they them their there then".split()
)


# An opening that carries on from the turn before: "And on what date?", "What about Peru?"
_CARRIES_ON = re.compile(r"^\s*(and|but|or|so|also|then|(what|how) about)\b", re.IGNORECASE)


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def follow_up(pipe: Pipeline, question: str, history: list[ChatMessage]) -> FollowUp:
    """Search queries for a question asked in a conversation.

    `template` appends the newest user questions through prompts/followup.txt (no LLM
    call); `llm` asks the LLM with prompts/condense.txt and the newest turns; `fusion`
    retrieves with both and fuses the rankings. Chosen by measurement on the dev parts of
    the conversation sets (bench/results.md, "Conversations").

    A follow-up that points back ("that", "it", "he") and comes back from the rewrite as is
    ("What year was that?") was not resolved: retrieval then uses the template form, which
    names the earlier questions, rather than search for "that". One given back as is that
    points nowhere ("Who headlined the halftime show?") stands alone and is searched as is."""
    turns = [m for m in history if m.role in (MessageRole.USER, MessageRole.ASSISTANT)]
    if not turns or about_the_documents(question):
        # "Give me a two-sentence summary of the article.", asked after "What did he propose
        # for the years ahead?", was rewritten into that question and answered as it (stop-36
        # browser session): a question about the documents themselves needs no conversation
        return FollowUp([question], question)
    mode = pipe.settings.llm.condense
    asked = [m.content or "" for m in turns if m.role == MessageRole.USER]
    previous = "; ".join(q.strip() for q in asked[-2:] if q.strip())
    template = pipe.prompt("followup", question=question, previous=previous)
    if mode == "template":
        return FollowUp([template], template)
    text = "\n".join(
        f"{m.role.value}: {strip_markers(m.content or '')}"
        for m in turns[-pipe.settings.llm.history_messages or -1 :]
    )
    got = pipe.side_call(pipe.prompt("condense", history=text, question=question))
    rewrite = (got.strip().splitlines() or [""])[0].strip()
    as_is = _words(rewrite) == _words(question)
    points_back = bool(POINTING_BACK & set(_words(question)))
    if not rewrite or (as_is and points_back):
        return FollowUp([template], question)
    # Only a definition: shown the conversation after a summary, the 1.5B model wrote a looser
    # "What is CELAC?" that failed the check (stop-37 browser session). A fact question stays
    # with its conversation: "Who headlined the halftime show?" (chat_squad dev), asked alone,
    # drew the halftime shows of two other Super Bowls (bench/results.md, stop 38).
    alone = as_is and not _CARRIES_ON.match(question) and route(question) == "definition"
    alone = alone and pipe.settings.llm.alone_unshown
    return FollowUp([template, rewrite] if mode == "fusion" else [rewrite], rewrite, alone)
