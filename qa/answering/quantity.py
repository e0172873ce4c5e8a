"""Questions that ask for a count ("How many ...?") are answered only by a number, and those
that ask when only by a time.

The 1.5B model answered "How many ministerial meetings has the China-CELAC Forum held?", which
the article does not say, with a true sentence about the Forum that holds no number at all;
every word of it was in the passages, so the grounding check let it through as an answer.
Likewise "And when was it founded?" (stop-38 browser check): the model wrote "... was founded
in 1960.", the check cut the unsupported year, and "The Community ... was founded." was sent.
AnswerCheck holds the sentences of such an answer until one states a number (a time); an
answer in which none does is the refusal.
"""

from __future__ import annotations

import re
from typing import Literal

Asked = Literal["count", "time"]

# "how many", in the question as asked or as translated for retrieval (English)
_ASKS_COUNT = re.compile(
    r"(?i)\bhow many\b|\bcu[aá]nt[oa]s\b|\bcombien\b|\bquant[oa]s\b|\bwie viele?\b|"
    r"多少|几[个年次位名天种家项]"
)
# Number words of the languages a question may be asked in (qa.language), articles left out
# ("un", "ein" are also "a"); digits and CJK numerals are matched on their own.
_NUMBER_WORD = re.compile(
    r"(?i)\b(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|"
    r"hundred|thousand|million|billion|dozen|"
    r"uno|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|once|doce|veinte|cien|mil|"
    r"deux|trois|quatre|cinq|sept|huit|neuf|dix|vingt|cent|mille|"
    r"dois|duas|três|quatro|sete|oito|nove|dez|vinte|cem|"
    r"zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|zwanzig|hundert|tausend|"
    r"millones|millón|millions?|milliards?|milhões)\b"
)
_NUMERAL = re.compile(r"\d|[一二三四五六七八九十百千万亿两]")
# A year is no count: "founded in 1873 by the glassmaker" answered "How many glassmakers took
# part?" (browser session), "established in July 2014 and ..." answered "Over how many years?"
# (chat_article dev). A year-like number still counts when a content word follows it ("1500
# soldiers").
_YEAR = re.compile(
    r"\b(?:1\d{3}|20\d{2}|21\d{2})\b(?!\s+(?!(?:and|or|but|by|in|on|at|to|of|the|a|an|for|"
    r"from|with|as|after|before|until|since|when|which|that|was|were|is|are)\b)[a-z]+)"
)


# "When ...?", "What year ...?", "¿Cuándo ...?", "什么时候": in the question as asked or as
# translated for retrieval. "When" only opens the question: "What did he say when ...?" asks
# for what he said.
_ASKS_TIME = re.compile(
    r"(?i)^\W*(?:(?:and|so|but|y|e|et|und)\s+)?(?:when|cu[aá]ndo|quand|quando|wann)\b|"
    r"\b(?:what|which) (?:year|date|day|month|decade|century)\b|"
    r"\bqu[eé] (?:año|fecha|día|mes)\b|什么时候|何时|哪一?年|哪一?天|几月|几号"
)
# A time, however loosely: a digit, a month, a unit of time, or a word that places an event
# against another ("after the changes in the international situation").
_TIME = re.compile(
    r"(?i)\d|\b(?:january|february|march|april|may|june|july|august|september|october|"
    r"november|december|spring|summer|autumn|fall|winter|years?|months?|weeks?|days?|decades?|"
    r"centur(?:y|ies)|era|ago|today|yesterday|now|recently|since|during|after|before|until|"
    r"when|while|once|earlier|later|"
    r"enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|"
    r"diciembre|años?|mes(?:es)?|días?|siglo|hace|desde|durante|después|antes|hasta)\b|"
    r"[年月日]|世纪|之前|之后|以来"
)


def asked_for(question: str) -> Asked | None:
    """What only the answer to `question` can state: a count, a time, or nothing in particular."""
    if _ASKS_COUNT.search(question):
        return "count"
    return "time" if _ASKS_TIME.search(question) else None


def states_number(sentence: str) -> bool:
    sentence = _YEAR.sub(" ", sentence)
    return bool(_NUMERAL.search(sentence) or _NUMBER_WORD.search(sentence))


def states(sentence: str, asked: Asked) -> bool:
    """Does `sentence` state what was asked for?"""
    return states_number(sentence) if asked == "count" else bool(_TIME.search(sentence))
