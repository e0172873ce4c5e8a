"""Questions in another language than the documents': which languages, and the translation
retrieval reads (route (a) of bench/results_multilingual.md).

The embedding model (all-MiniLM-L6-v2), BM25 (English stemming) and the gate's key terms are
English-only, so "¿Dónde se celebró la sexta cumbre?" found nothing over the English article and
was refused before the LLM saw it. The LLM (Qwen2.5) reads and writes Spanish and Chinese: it
translates the question into the corpus's language (prompts/translate.txt) for retrieval, then
answers the question as asked, in its language. A question in the corpus's language makes no
LLM call here.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from llama_index.core.base.llms.types import ChatMessage, MessageRole

from qa.answering.grounding import markers_of, strip_markers
from qa.language import detect, stray_han
from qa.language import name as language_name
from qa.settings import Settings

if TYPE_CHECKING:
    from qa.answering.pipeline import Pipeline

CACHE_SIZE = 512  # translations kept per pipeline (question text, language) -> translation
# The translation prompt names the indexed documents when their titles fit in this many tokens
# (prompts/translate_documents.txt): with no titles, 拉共体 (CELAC) was translated "the
# African Union" and "BRICS" (article_zh dev). 300 tokens is about 30 titles.
TITLE_TOKENS = 300


def languages(s: Settings, question: str, history: list[ChatMessage]) -> tuple[str, str]:
    """(the question's language, the answer's): a question too short to tell ("CELAC?") keeps
    the language of the previous question, else the corpus's; llm.answer_language, when set,
    forces the answer's."""
    corpus = s.retrieval.corpus_language
    asked = [m.content or "" for m in history if m.role == MessageRole.USER]
    fallback = detect(asked[-1], corpus) if asked else corpus
    lang = detect(question, fallback)
    return lang, s.llm.answer_language or lang


def for_language(pipe: Pipeline, name: str, code: str, **values: str) -> str:
    """Prompt `name` for the language `code`: prompts/<name>_<code>.txt when there is one, else
    <name>.txt."""
    keyed = f"{name}_{code}"
    exists = (pipe.settings.prompts_dir / f"{keyed}.txt").is_file()
    return pipe.prompt(keyed if exists else name, **values)


def refusal_in(pipe: Pipeline, language: str) -> str:
    """The refusal sentence in `language` (prompts/refusal_<code>.txt)."""
    return for_language(pipe, "refusal", language)


def written_in(pipe: Pipeline, texts: list[str]) -> str:
    """The language the retrieved passages (`texts`) are written in, the corpus's when their
    text cannot tell: retrieval.corpus_language names one language for the whole index, but a
    Spanish notice can sit in an index set to English, and the LLM and the grounding check
    read the passages, not the setting."""
    return detect(" ".join(texts), pipe.settings.retrieval.corpus_language)


def language_line(
    pipe: Pipeline, question_language: str, answer_language: str, passages: str
) -> str:
    """What the answer prompt adds to its instruction: "Write the answer in Spanish." when
    the answer is not in the question's, the corpus's and the passages' language alike; else
    nothing, so an English question over English documents is asked as it always was, and an
    English question over Spanish passages is told "Write the answer in English.". Chinese
    has its own line (prompts/answer_language_zh.txt): the 1.5B model copied English phrases
    of the passages into Chinese answers ("中拉友谊 lasts forever"), and asked to translate
    them it answered 4 of 9 answerable dev questions against 2 (bench/results_multilingual.md);
    the same line lost one Spanish dev answer to a refusal, so Spanish keeps the plain one."""
    corpus = pipe.settings.retrieval.corpus_language
    if answer_language == question_language == corpus == passages:
        return ""
    name = language_name(answer_language)
    return "\n" + for_language(pipe, "answer_language", answer_language, language=name)


# A line that introduces what follows ("Sí, aquí está la traducción al español:"), and quotes
# put around the whole translation: the 1.5B model answered "Xi Jinping gave the speech." with
# both, and the lead-in line was sent as the Spanish answer (stop-36 browser session).
_LEAD_IN = re.compile(r"[:：]\s*$")
_QUOTES = {'"': '"', "“": "”", "«": "»", "「": "」", "'": "'"}


def translation_in(reply: str, text: str, prompt: str = "", label: str = "") -> str:
    """The translation in the LLM's `reply`: its first line that is not a lead-in nor a line
    of the `prompt` said back, without a `label` ("English:") and quotes the `text` did not
    have; `text` itself when there is none. Asked to translate "Resume el artículo en dos
    frases.", the 1.5B model echoed the prompt's instruction and "Text: ..." line before
    'English: "Please resume the article in two sentences."' (stop 37)."""
    skipped = {ln.strip() for ln in prompt.splitlines()} | {""}  # said back, or blank
    lines = [ln.strip() for ln in reply.splitlines() if ln.strip() not in skipped]
    out = next((ln for ln in lines if not _LEAD_IN.search(ln)), "")
    if label and out.lower().startswith(label.lower() + ":"):
        out = out[len(label) + 1 :].strip()
    close = _QUOTES.get(out[:1])
    if close and len(out) > 2 and out.endswith(close) and not text.startswith(out[:1]):
        out = out[1:-1].strip()
    return out or text


def _keep(cache: OrderedDict[Any, str], key: Any, value: str) -> None:
    """Store `value`, dropping the oldest entries past CACHE_SIZE."""
    cache[key] = value
    while len(cache) > CACHE_SIZE:
        cache.popitem(last=False)


class Translator:
    """The LLM's translations of questions, cached: a follow-up does not translate its
    conversation's earlier questions again."""

    def __init__(self, pipe: Pipeline) -> None:
        self.pipe = pipe
        self._cache: OrderedDict[tuple[str, str, str, str], str] = OrderedDict()
        # a translated answer sentence -> the sentence the LLM wrote (see `as_written`)
        self._written: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def translate(
        self,
        text: str,
        language: str,
        prompt: str = "translate",
        spent: list[int] | None = None,
        documents: str = "",
    ) -> str:
        """`text` in `language` (the first line of the LLM's reply; the text itself when the
        reply is empty), through prompts/`prompt`.txt, which may name the `documents`; its
        tokens count into `spent` (else into the question being prepared)."""
        key = (text, language, prompt, documents)  # new titles (an upload): a new translation
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        pipe = self.pipe
        values = {"language": language_name(language), "text": text}
        asked = pipe.prompt(prompt, documents=documents, **values)
        out = translation_in(pipe.side_call(asked, spent), text, asked, values["language"])
        with self._lock:
            _keep(self._cache, key, out)
        return out

    def documents(self) -> str:
        """The translation prompt's line naming the indexed documents, so a name is translated
        as they write it ("" when their titles take more than TITLE_TOKENS)."""
        titles = getattr(self.pipe.retriever(), "titles", list)()
        listed = "; ".join(dict.fromkeys(t for t in titles if t))
        if not listed or self.pipe.count(listed) > TITLE_TOKENS:
            return ""
        return self.pipe.prompt("translate_documents", titles=listed).strip() + "\n\n"

    def sentence(self, text: str, language: str, spent: list[int]) -> str:
        """A checked answer sentence in `language`, its [n] markers kept as they were."""
        lead = text[: len(text) - len(text.lstrip())]
        marks = markers_of(text)
        written = strip_markers(text).strip()
        said = self.translate(written, language, "translate_answer", spent)
        if stray_han(said, language) and not stray_han(written, language):
            said = written  # a garbled translation: the sentence as checked, not a made-up word
        with self._lock:
            _keep(self._written, said.strip(), written)
        return lead + said + (f" {marks}" if marks else "")

    def as_written(self, answer: str) -> str:
        """An earlier answer of the conversation as the LLM wrote it, before its sentences
        were translated: the follow-up's rewrite reads the conversation in the corpus's
        language, and a Chinese answer in it left "它后来发展成了什么？" ("What has it become
        since then?") with nothing to resolve "it" to. Sentences this process did not
        translate stay as they are."""
        text = strip_markers(answer)
        with self._lock:
            known = sorted(self._written.items(), key=lambda kv: -len(kv[0]))
        for said, written in known:
            if said and said in text:
                text = text.replace(said, written)
        return text

    def in_corpus_language(
        self, question: str, history: list[ChatMessage], language: str
    ) -> tuple[str, list[ChatMessage]]:
        """The question and the conversation's newest turns as retrieval reads them: user
        questions translated into retrieval.corpus_language and answers as the LLM wrote them,
        when the question is in another language and retrieval.translate_questions is on,
        else as asked (no LLM call)."""
        r = self.pipe.settings.retrieval
        if language == r.corpus_language or not r.translate_questions:
            return question, history
        recent = len(history) - max(4, 2 * self.pipe.settings.llm.history_messages)
        documents = self.documents()  # once per question, not per text translated

        def into_corpus(text: str) -> str:
            return self.translate(text, r.corpus_language, documents=documents)

        def searched(i: int, m: ChatMessage) -> ChatMessage:
            text = m.content or ""
            if i < recent or not text.strip():
                return m
            if m.role == MessageRole.ASSISTANT:
                return ChatMessage(role=m.role, content=self.as_written(text))
            if m.role != MessageRole.USER:
                return m
            return ChatMessage(role=m.role, content=into_corpus(text))

        translated = [searched(i, m) for i, m in enumerate(history)]
        return into_corpus(question), translated
