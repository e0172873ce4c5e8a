"""Questions that ask for a count ("How many ...?") are answered only by a number.

The 1.5B model answered "How many ministerial meetings has the China-CELAC Forum held?", which
the article does not say, with a true sentence about the Forum that holds no number at all;
every word of it was in the passages, so the grounding check let it through as an answer.
AnswerCheck holds the sentences of such an answer until one states a number; an answer in
which none does is the refusal.
"""

from __future__ import annotations

import re

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


def asks_count(question: str) -> bool:
    return bool(_ASKS_COUNT.search(question))


def states_number(sentence: str) -> bool:
    sentence = _YEAR.sub(" ", sentence)
    return bool(_NUMERAL.search(sentence) or _NUMBER_WORD.search(sentence))
