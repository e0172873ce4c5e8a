"""Which language a question (or an answer sentence) is written in.

Han characters are Chinese outright (no model needed); anything else goes to py3langid (a
naive Bayes model over byte n-grams, 4.6 MB inside its PyPI package, offline, numpy only),
restricted to the languages the answering prompts name. A short or mixed text it is unsure of
("CELAC?", "Is 1 a prime?", which it calls Portuguese at 0.53) keeps the fallback: the
conversation's language, else the corpus's. On the shipped question sets this is right on all
58 Spanish and Chinese questions and all 320 English ones, every turn of every set
(bench/results_multilingual.md, "Detection").
"""

from __future__ import annotations

import re
import threading
from typing import Annotated, Any

from pydantic import AfterValidator

# ISO 639-1 code -> the name the prompts use ("Answer in Spanish.")
LANGUAGES = {
    "en": "English",
    "es": "Spanish",
    "zh": "Chinese",
    "fr": "French",
    "pt": "Portuguese",
    "de": "German",
    "it": "Italian",
}
# py3langid's probability (normalised over LANGUAGES) below which a text keeps the fallback.
# English questions of the shipped sets score >= 0.71 for English ("When?") and the one miss
# scores 0.53 ("Is 1 a prime?" as Portuguese); Spanish ones >= 0.91.
CONFIDENCE = 0.8
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA_HANGUL = re.compile(r"[\u3040-\u30ff\uac00-\ud7af]")
_LETTER = re.compile(r"\w", re.UNICODE)

_IDENTIFIER: Any = None
_LOCK = threading.Lock()


def _identifier() -> Any:
    """py3langid's model, loaded once (about 1.5 s: it decompresses its table)."""
    global _IDENTIFIER
    with _LOCK:
        if _IDENTIFIER is None:
            from py3langid.langid import _load_identifier

            _IDENTIFIER = _load_identifier(norm_probs=True, langs=sorted(LANGUAGES))
        return _IDENTIFIER


def detect(text: str, fallback: str = "en") -> str:
    """The ISO 639-1 code of `text`'s language (a key of LANGUAGES), or `fallback` when the
    text is too short or too mixed to tell."""
    letters = _LETTER.findall(text or "")
    if not letters:
        return fallback
    han = len(_HAN.findall(text))
    if han and han >= 0.3 * len(letters) and not _KANA_HANGUL.search(text):
        return "zh"
    lang, prob = classify(text)
    return lang if lang in LANGUAGES and prob >= CONFIDENCE else fallback


def classify(text: str) -> tuple[str, float]:
    """py3langid's best language of LANGUAGES for `text` and its normalised probability, with
    no floor and no Han rule (what detect decides from; bench/multilingual.py measures it)."""
    lang, prob = _identifier().classify(text)
    return str(lang), float(prob)


def stray_han(text: str, language: str) -> bool:
    """Chinese characters in a text meant to be in another language: the 1.5B model, asked
    to translate an answer into Spanish, wrote "ha扮演ado" (stop-37 browser session)."""
    return language != "zh" and bool(_HAN.search(text))


def name(code: str) -> str:
    """The language's English name, as the prompts say it."""
    return LANGUAGES.get(code, code)


def _known(code: str) -> str:
    """A language code the prompts can name, lower-cased (a setting's validator)."""
    if code.strip().lower() not in LANGUAGES:
        raise ValueError(f"must be one of {', '.join(LANGUAGES)}, got {code!r}")
    return code.strip().lower()


Language = Annotated[str, AfterValidator(_known)]  # a setting holding a key of LANGUAGES
