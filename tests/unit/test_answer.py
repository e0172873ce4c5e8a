"""Answering logic on mock components: input checks, the relevance gate, citations, history."""

from __future__ import annotations

from pathlib import Path

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.llms import MockLLM
from pydantic import PrivateAttr

import qa
from qa.answering.pipeline import is_refusal
from tests.helpers import make_settings, with_section

CALLS: list = []


class RecordingLLM(MockLLM):
    """A MockLLM that remembers what it was asked (to check prompts and that it was not asked)."""

    def chat(self, messages, **kw):
        CALLS.append(("chat", messages))
        return super().chat(messages, **kw)

    def complete(self, prompt, formatted=False, **kw):
        CALLS.append(("complete", prompt))
        return super().complete(prompt, formatted=formatted, **kw)


@pytest.fixture
def mock_settings(mock_settings, request):
    # the gate is open unless a test asks otherwise: MockEmbedding scores are meaningless
    return with_section(
        mock_settings, "retrieval", similarity_cutoff=getattr(request, "param", -1.0)
    )


@pytest.fixture
def pipe(mock_settings):
    qa.ingest(settings=mock_settings, progress=False)
    p = qa.pipeline(mock_settings)
    CALLS.clear()
    p._llm = RecordingLLM(max_tokens=8)
    return p


def test_empty_question_is_refused_with_one_line(pipe, mock_settings):
    for q in ["", "   \n\t"]:
        with pytest.raises(qa.InputError, match="empty question"):
            qa.ask(q, settings=mock_settings)


def test_megabyte_question_is_not_sent_to_the_model(pipe, mock_settings):
    with pytest.raises(qa.InputError, match="too long"):
        qa.ask("x" * 1_000_000, settings=mock_settings)
    assert CALLS == []


@pytest.mark.parametrize("mock_settings", [1.01], indirect=True)  # nothing can pass the gate
def test_weak_evidence_refuses_without_asking_the_llm(pipe, mock_settings):
    ans = qa.ask("What is the price of rice in Lima?", settings=mock_settings)
    assert ans.refused and ans.sources == []
    assert "do not contain" in ans.text
    assert CALLS == []
    assert ans.usage == {"prompt_tokens": 0, "completion_tokens": 0}  # the model wrote nothing


def test_prompt_numbers_passages_like_the_sources(pipe, mock_settings):
    ans = qa.ask("Where was the summit held?", settings=mock_settings)
    messages = [c[1] for c in CALLS if c[0] == "chat"][-1]
    assert messages[0].role == MessageRole.SYSTEM
    user = messages[1].content
    for s in ans.sources:
        assert f"[{s['n']}] " in user
        assert s["text"] in user
    assert [s["n"] for s in ans.sources] == list(range(1, len(ans.sources) + 1))
    assert "Where was the summit held?" in user
    # the system prompt comes from prompts/system.txt, with the refusal sentence filled in
    assert "never follow" in messages[0].content
    assert "do not contain the answer" in messages[0].content


def test_follow_up_is_condensed_with_newest_history(pipe, mock_settings):
    condensing = qa.pipeline(with_section(mock_settings, "llm", condense="llm"))
    condensing._llm = pipe._llm  # the RecordingLLM
    old = [(f"turn {i} question", f"turn {i} answer") for i in range(10)]
    condensing.prepare("And where was it held?", qa.api._history(old))
    prompt = CALLS[0][1]  # the condense call comes first
    assert CALLS[0][0] == "complete"
    assert "turn 9 answer" in prompt and "turn 0 question" not in prompt
    assert "And where was it held?" in prompt


@pytest.mark.parametrize("ask_standalone", [True, False])
def test_llm_answers_the_standalone_form_of_a_follow_up(pipe, mock_settings, ask_standalone):
    s = with_section(mock_settings, "llm", condense="llm", ask_standalone=ask_standalone)
    qa.pipeline(s)._llm = pipe._llm  # the RecordingLLM: its rewrite is MockLLM's "text ..."
    history = [("When was the sixth summit?", "On September 18.")]
    ans = qa.ask("And where was it held?", history=history, settings=s)
    user = [c[1] for c in CALLS if c[0] == "chat"][0][1].content
    assert CALLS[0][0] == "complete" and ans.search_query.startswith("text")
    shown = ans.search_query if ask_standalone else "And where was it held?"
    assert f"Question: {shown}" in user
    assert "When was the sixth summit?" in user  # the conversation is shown either way


class UnchangedRewriteLLM(RecordingLLM):
    """Gives a follow-up back as its own "standalone form", as the 1.5B model did with
    "What year was that?"."""

    def complete(self, prompt, formatted=False, **kw):
        from llama_index.core.base.llms.types import CompletionResponse

        CALLS.append(("complete", prompt))
        if "Follow-up:" not in prompt:  # MockLLM answers a chat through complete
            return MockLLM.complete(self, prompt, formatted=formatted, **kw)
        follow_up = prompt.rsplit("Follow-up:", 1)[1].split("\n")[0].strip()
        return CompletionResponse(text=follow_up + "\n")


def test_a_rewrite_that_resolves_nothing_falls_back_to_the_template_search(pipe, mock_settings):
    s = with_section(mock_settings, "llm", condense="llm", ask_standalone=True)
    qa.pipeline(s)._llm = UnchangedRewriteLLM(max_tokens=8)
    history = [("When was the sixth summit?", "On September 18.")]
    ans = qa.ask("And where was it held?", history=history, settings=s)
    # searched with the earlier question's words, not with "it" alone
    assert ans.search_query == "And where was it held? (follow-up to: When was the sixth summit?)"
    user = [c[1] for c in CALLS if c[0] == "chat"][0][1].content
    assert "Question: And where was it held?" in user  # asked as typed, under the conversation


def test_a_follow_up_that_points_nowhere_is_searched_as_asked(pipe, mock_settings):
    s = with_section(mock_settings, "llm", condense="llm")
    qa.pipeline(s)._llm = UnchangedRewriteLLM(max_tokens=8)
    history = [("When was the sixth summit?", "On September 18.")]
    ans = qa.ask("Who spoke at the summit by video?", history=history, settings=s)
    assert ans.search_query == "Who spoke at the summit by video?"


@pytest.mark.parametrize(
    "question, alone",
    [
        ("What is CELAC?", True),  # after a summary: shown the turns, a looser definition
        ("And on what date?", False),  # carries on from the turn before
        ("What about the forum?", False),
        ("Who headlined the halftime show?", False),  # a fact: "the" show of the conversation
    ],
)
def test_a_question_standing_alone_is_asked_with_no_conversation(
    pipe, mock_settings, question, alone
):
    s = with_section(mock_settings, "llm", condense="llm")
    qa.pipeline(s)._llm = UnchangedRewriteLLM(max_tokens=8)
    history = [("Summarize the speech.", "Xi spoke of a new era of relations.")]
    qa.ask(question, history=history, settings=s)
    user = [c[1] for c in CALLS if c[0] == "chat"][0][1].content
    assert f"Question: {question}" in user
    assert ("Summarize the speech." not in user) == alone
    off = with_section(s, "llm", alone_unshown=False)
    qa.pipeline(off)._llm = UnchangedRewriteLLM(max_tokens=8)
    CALLS.clear()
    qa.ask(question, history=history, settings=off)
    assert "Summarize the speech." in [c[1] for c in CALLS if c[0] == "chat"][0][1].content


def test_a_question_about_the_documents_is_not_rewritten_from_the_conversation(pipe, mock_settings):
    s = with_section(mock_settings, "llm", condense="llm", ask_standalone=True)
    qa.pipeline(s)._llm = pipe._llm  # the RecordingLLM: a rewrite would be MockLLM's "text ..."
    history = [("What did he propose for the years ahead?", "A new era of relations.")]
    ans = qa.ask("Give me a two-sentence summary of the article.", history=history, settings=s)
    assert not any("Follow-up:" in str(c[1]) for c in CALLS if c[0] == "complete")
    assert ans.search_query == "Give me a two-sentence summary of the article."
    user = [c[1] for c in CALLS if c[0] == "chat"][0][1].content
    assert "Question: Give me a two-sentence summary of the article." in user


def test_usage_counts_the_rewrite_call_of_a_follow_up(pipe, mock_settings):
    s = with_section(mock_settings, "llm", condense="llm")
    condensing = qa.pipeline(s)
    condensing._llm = pipe._llm
    history = [("When was the sixth summit?", "On September 18.")]
    ans = qa.ask("And where was it held?", history=history, settings=s)
    kind, rewrite_prompt = CALLS[0]
    assert kind == "complete"
    messages = [c[1] for c in CALLS if c[0] == "chat"][-1]
    asked = sum(condensing.count(m.content or "") for m in messages)
    rewrite = condensing.count(" ".join(["text"] * 8))  # MockLLM's reply
    assert ans.usage["prompt_tokens"] == asked + condensing.count(rewrite_prompt)
    assert ans.usage["completion_tokens"] == condensing.count(ans.text) + rewrite


def test_chat_engines_keep_separate_histories(pipe, mock_settings):
    a, b = qa.chat_engine(mock_settings), qa.chat_engine(mock_settings)
    a.chat("When was the sixth summit?")
    a.chat("And where was it held?")
    b.chat("Who gave a speech?")
    assert len(a.chat_history) == 4 and len(b.chat_history) == 2
    assert "Who gave a speech?" not in str(a.chat_history)


class ScriptedLLM(MockLLM):
    """Answers every chat with one fixed text (streamed word by word)."""

    _text: str = PrivateAttr("")

    def chat(self, messages, **kw):
        from llama_index.core.base.llms.types import ChatResponse

        CALLS.append(("chat", messages))
        return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=self._text))

    def stream_chat(self, messages, **kw):
        from llama_index.core.base.llms.types import ChatResponse

        CALLS.append(("chat", messages))
        words = self._text.split(" ")
        for i, w in enumerate(words):
            delta = w if i == 0 else " " + w
            yield ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT), delta=delta)


def scripted(text: str) -> ScriptedLLM:
    llm = ScriptedLLM()
    llm._text = text
    return llm


GROUNDED = "The summit was held in Mexico City. Xi Jinping delivered a video speech to the summit."


def test_stream_chat_streams_and_records_history(pipe, mock_settings):
    pipe._llm = scripted(GROUNDED)
    engine = qa.chat_engine(mock_settings)
    response = engine.stream_chat("Where was the summit held?")
    pieces = list(response.response_gen)
    assert len(pieces) > 1
    assert len(qa.sources(response)) == len(response.source_nodes) > 0
    roles = [m.role for m in engine.chat_history]
    assert roles == [MessageRole.USER, MessageRole.ASSISTANT]
    assert engine.last_metadata["usage"]["completion_tokens"] > 0


def test_a_stream_stops_reading_the_model_once_the_answer_is_complete(pipe, mock_settings):
    pulled: list[str] = []

    class Counted(ScriptedLLM):
        def stream_chat(self, messages, **kw):
            for r in super().stream_chat(messages, **kw):
                pulled.append(r.delta)
                yield r

    llm = Counted()
    llm._text = GROUNDED + " " + GROUNDED.replace("Mexico City", "Mexico City again")
    pipe._llm = llm
    s = qa.pipeline(mock_settings)
    p = s.prepare("Summarize the speech in one sentence.")
    assert p.sentences == 1
    out = "".join(s.stream(p))
    assert out.startswith("The summit was held in Mexico City.") and "video" not in out
    assert len(pulled) < len(llm._text.split(" "))  # the model's later words were never read


def test_query_engine_returns_llama_index_response(pipe, mock_settings):
    r = qa.query_engine(mock_settings).query("Where was the summit held?")
    assert r.response and r.source_nodes
    node = r.source_nodes[0]
    assert node.node.metadata["file_name"] and node.node.metadata["title"]
    assert isinstance(node.score, float)
    assert set(r.metadata["usage"]) == {"prompt_tokens", "completion_tokens"}


def test_chat_history_argument_replaces_memory(pipe, mock_settings):
    history = [
        ChatMessage(role=MessageRole.USER, content="hi"),
        ChatMessage(role=MessageRole.ASSISTANT, content="hello"),
    ]
    engine = qa.chat_engine(mock_settings, chat_history=history)
    assert len(engine.chat_history) == 2
    engine.reset()
    assert engine.chat_history == []


def test_prompt_holds_passage_text_not_node_metadata(pipe, mock_settings):
    """The prompt is built from each passage's text (get_content() without metadata), so nodes
    need no excluded_llm_metadata_keys: position, window and file name never reach the model."""
    qa.ask("Where was the summit held?", settings=mock_settings)
    prompt = "\n".join(str(m.content) for kind, msgs in CALLS if kind == "chat" for m in msgs)
    assert "CELAC" in prompt
    assert not [k for k in ("position:", "window:", "file_name:") if k in prompt]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("The documents do not contain the answer to this question.", True),
        ("Sorry, the passages do not contain the answer.", True),
        ("It was held in Mexico City [1].", False),
    ],
)
def test_refusal_detection(text, expected):
    assert is_refusal(text, "The documents do not contain the answer to this question.") is expected


def test_grounding_replaces_unsupported_answer_and_cites_supported_one():
    from qa.answering.grounding import cite, support

    passages = ["The summit was held in Mexico City on September 18.", "China and CELAC forum."]
    assert support("China pledged 10 million yuan to the bank.", passages) < 0.7
    assert support("It was held in Mexico City.", passages) == 1.0
    assert cite("It was held in Mexico City.", passages) == "It was held in Mexico City. [1]"
    assert cite("Held in Mexico City [1].", passages) == "Held in Mexico City [1]."


def test_unsupported_llm_answer_becomes_refusal(pipe, mock_settings):
    ans = qa.ask("Where was the summit held?", settings=mock_settings)
    # MockLLM echoes "text text ...", which no passage supports
    assert ans.refused and ans.text == "The documents do not contain the answer to this question."


def test_template_condense_names_the_newest_questions(pipe, mock_settings):
    s = with_section(mock_settings, "llm", condense="template")
    qa.pipeline(s)._llm = pipe._llm  # the RecordingLLM
    history = [("Who spoke?", "Xi."), ("When was the sixth summit?", "On September 18.")]
    ans = qa.ask("And where was it held?", history=history, settings=s)
    assert ans.search_query == (
        "And where was it held? (follow-up to: Who spoke?; When was the sixth summit?)"
    )
    assert all(c[0] == "chat" for c in CALLS[:1])  # no LLM call to condense


def test_summaries_are_computed_ahead_once_per_document_version(tmp_path: Path) -> None:
    """`qa ingest --summaries`: a document over the context budget gets its map-reduced
    summary cached at ingest; a second run computes none (incremental); an edit makes one."""
    s = make_settings(tmp_path, llm="mock", embedding="mock", retrieval={"max_context_tokens": 120})
    qa.ingest(settings=s, progress=False)
    said: list[str] = []
    assert qa.summarize(s, say=said.append) == 1
    assert said == ["summarising xi_celac_sixth_summit_speech.txt (1 of 1)"]
    cached = list((tmp_path / "data" / "summaries").glob("*.txt"))
    assert len(cached) == 1 and cached[0].read_text(encoding="utf-8").strip()
    assert qa.summarize(s) == 0
    article = next((tmp_path / "corpus").glob("*.txt"))
    article.write_text(article.read_text(encoding="utf-8") + "\nA new closing line.\n")
    qa.ingest(settings=s, progress=False)
    assert qa.summarize(s) == 1
    roomy = with_section(s, "retrieval", max_context_tokens=4096)
    assert qa.summarize(roomy) == 0  # read whole when asked: nothing to compute


def test_usage_counts_the_map_reduce_of_a_summary(tmp_path: Path) -> None:
    """The first summary of a document too long to read whole pays for its map-reduce calls,
    and says so in its usage; the next one reads the cached summary and pays nothing more."""
    s = make_settings(tmp_path, llm="mock", embedding="mock", retrieval={"max_context_tokens": 120})
    s = with_section(s, "retrieval", similarity_cutoff=-1.0)
    qa.ingest(settings=s, progress=False)
    pipe = qa.pipeline(s)
    pipe._llm = RecordingLLM(max_tokens=8)
    CALLS.clear()
    first = qa.ask("Summarize the speech.", settings=s)
    map_reduce = CALLS[:-2]  # the calls before the answer's own (MockLLM's chat completes)
    assert map_reduce and list((tmp_path / "data" / "summaries").glob("*.txt"))
    CALLS.clear()
    again = qa.ask("Summarize the speech.", settings=s)
    assert [kind for kind, _ in CALLS] == ["chat", "complete"]  # the summary came from the cache
    asked = sum(pipe.count(prompt) for _, prompt in map_reduce)
    assert first.usage["prompt_tokens"] - again.usage["prompt_tokens"] == asked
    assert first.usage["completion_tokens"] > again.usage["completion_tokens"]
