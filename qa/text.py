"""Plain-text helpers every layer shares: stopwords and the content-word stems compared across
questions, passages and answers (grounding, the relevance gate, the judge-free support check,
highlighting), the one refusal detector, and the one percentile."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

_WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    """a an the and or but if of in on at to for from by with as is are was were be been being
    it its this that these those there their they them he she his her we our you your i me my
    not no do does did done has have had having will would can could should may might must
    which who whom whose what when where why how than then so such also very just about into
    over under after before between during while all any each both few more most other some
    many much
    same only own too up down out off again further once here passage passages document
    documents answer question according states stated say says said yes""".split()
)


def content_words(text: str) -> list[str]:
    """Lower-cased words that carry meaning (no stopwords)."""
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


def stems(text: str) -> list[str]:
    """Content words cut to 5 letters, so 'pledged' matches 'pledge' and 'summits' 'summit'."""
    return [w[:5] for w in content_words(text)]


# ---- refusals --------------------------------------------------------------------------------
# Close wordings of prompts/refusal.txt (and refusal_<language>.txt) that a model writes
# instead of copying it.
_CLOSE_REFUSALS = (
    "do not contain the answer",
    "does not contain the answer",
    "no contienen la respuesta",
    "no contiene la respuesta",
    "没有这个问题的答案",
    "没有该问题的答案",
    "不包含这个问题的答案",
    "不包含该问题的答案",
    "ne contiennent pas la réponse",
    "não contêm a resposta",
    "enthalten keine antwort",
    "non contengono la risposta",
)
# Any common wording of "the documents do not say" (answers that carry no refusal flag).
_ANY_REFUSAL = re.compile(
    r"(do(es)? not|don't|doesn't|cannot|can't|unable to|no)\s+(contain|provide|mention|include|"
    r"say|specify|state|answer|find|information|details|data)"
    r"|not (mentioned|provided|specified|stated|available|included|given)"
    r"|no (relevant |specific )?(information|mention|data|details)"
    r"|i (do not|don't) know|there is no information"
    # Spanish: "no se menciona", "no especifican", "no hay información", "no contienen"
    r"|\bno (se )?(menciona|mencionan|especifica|especifican|indica|indican|dice|dicen|"
    r"proporciona|proporcionan|contiene|contienen|incluye|incluyen)\b"
    r"|\bno (hay|tengo) (información|datos)|\bno lo sé\b"
    # Chinese: "没有提到", "未提及", "没有相关信息", "无法回答", "不包含"
    r"|没有(提到|提及|说明)|没有[^。，]{0,10}(答案|信息|内容)|未(提到|提及|说明|给出)|无法回答|不包含",
    re.IGNORECASE,
)


def is_refusal(text: str, refusal: str | None = None) -> bool:
    """Does `text` say that the documents lack the answer?

    With `refusal` (the pipeline's own refusal sentence, prompts/refusal.txt): only that
    sentence or a close wording of it counts. The answering path cuts such a sentence out of a
    model's answer, where a looser reading would also cut real answers ("X is not mentioned,
    but Y ...").
    Without it (answers that carry no refusal flag, e.g. the baselines in qa.evaluation): an
    empty answer, or any common wording of "the documents do not say"."""
    t = " ".join((text or "").split())
    if refusal is not None:
        low = t.lower()
        core = " ".join(refusal.lower().split()).rstrip(".。")
        return core in low or any(c in low for c in _CLOSE_REFUSALS)
    return not t or bool(_ANY_REFUSAL.search(t))


# ---- numbers ---------------------------------------------------------------------------------
def percentile(values: Sequence[float], pct: float) -> float | None:
    """The `pct` percentile (0..100), linearly interpolated (numpy's default); None for no
    values. The one definition for evaluation reports and the bench scripts."""
    v = sorted(values)
    if not v:
        return None
    k = (len(v) - 1) * pct / 100
    lo, hi = math.floor(k), math.ceil(k)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)
