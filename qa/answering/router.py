"""What kind of question this is, which decides what the LLM reads and how it is asked.

- `summary`: summaries, overviews, "main points", "what is this document about": the LLM reads
  the whole document (or its map-reduced summary when it does not fit), not three 48-token
  chunks, which is why these were refused before.
- `list`: "which ... did X mention", "list ...": top passages, answered as a short list.
- `definition`: "What is CELAC?", "What does X stand for?": the hits are widened to their
  neighbouring chunks, since an acronym and its expansion often sit in different 48-token
  chunks (the article names "CELAC" one chunk after "Community of Latin American and
  Caribbean States").
- `fact`: everything else.

Rules, not a model: a question's type shows in a handful of phrasings, the rules run in
microseconds and are measured on the dev parts of the question sets (bench/results.md,
"Router"), where kind "broad" marks summaries and lists.
"""

from __future__ import annotations

import re
from typing import Literal

Route = Literal["summary", "list", "definition", "fact"]

_SUMMARY = re.compile(
    r"\b(summari[sz]e|summary|summarise|overview|outline|recap|gist|tl;?dr|main (points?|ideas?|"
    r"themes?|messages?|topics?|takeaways?|arguments?)|key (points?|ideas?|messages?|themes?|"
    r"takeaways?|facts?)|(what|which) (is|are) (this|the|these) (document|text|article|speech|"
    r"report|file|page|story|documents|texts|articles|files)s? (about|on)|what does (this|the) "
    r"(document|text|article|speech|report|file|page) (say|cover|discuss|describe)|"
    r"(tell|explain) me about (this|the) (document|text|article|speech|report|file))\b",
    re.IGNORECASE,
)
_LIST = re.compile(
    r"^\s*(list|name|enumerate)\b|\b(which|what) (are the|were the|areas|fields|countries|"
    r"things|topics|steps|ways|kinds|types|examples)\b|\b(all|every) (the )?\w+ (that|which|"
    r"mentioned|named|listed)\b",
    re.IGNORECASE,
)


_DEFINITION = re.compile(
    r"^\s*(what|who)(\s+(is|are)|'s)\s+(an?\s+|the\s+)?[\w.&-]+(\s+[\w.&-]+){0,3}\s*\??\s*$|"
    r"\bwhat does [\w.&-]+ (stand for|mean)\b|^\s*define\b|\bmeaning of\b",
    re.IGNORECASE,
)


def route(question: str) -> Route:
    if _SUMMARY.search(question):
        return "summary"
    if _LIST.search(question):
        return "list"
    if _DEFINITION.search(question):
        return "definition"
    return "fact"


# Words that say what kind of answer is wanted, not what it is about: left out of the key
# terms the gate looks for in a chunk (as 5-letter stems, like qa.text.stems).
GENERIC_WORDS = frozenset(
    w[:5]
    for w in """summarize summarise summary overview outline recap gist main point points key
    idea ideas theme themes message messages topic topics takeaway takeaways argument arguments
    document text article speech report file page story tell explain describe list name
    enumerate mention mentioned discuss discussed cover covers give short brief""".split()
)
