"""Question sets: JSONL (one object a line) or YAML (a list, or {questions: [...]}).

Per item: `question` (required), `reference_answer`, `reference_contexts` (passages that hold
the answer), `source` (file name), `answerable` (default true), `follow_up_of` (id of the
previous turn), and optionally `id`, `kind`, `facts` (strings the answer should contain) and
`forbidden` (strings an answer must never contain: the target of an injection attempt),
`language` (the question's language, ISO 639-1: scored on detection and answer language);
`facts_any: true` when the facts are alternatives (SQuAD's several gold answers): one suffices.
A fact may itself hold alternatives separated by " | " ("Sept 18 | September 18"): any one
found counts for that fact. `min_facts` is how many facts a right answer needs (default all;
1 with facts_any). `split` is "dev" (tunes the pipeline) or "test" (only reported); a
conversation's turns all share its first turn's split, so a split never cuts one in two.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from qa.errors import InputError

KNOWN = {
    "id",
    "question",
    "reference_answer",
    "reference_contexts",
    "source",
    "answerable",
    "follow_up_of",
    "kind",
    "facts",
    "facts_any",
    "forbidden",
    "split",
    "min_facts",
    "language",
}
SPLITS = ("dev", "test")


@dataclass
class Question:
    id: str
    question: str
    reference_answer: str = ""
    reference_contexts: list[str] = field(default_factory=list)
    source: str | None = None
    answerable: bool = True
    follow_up_of: str | None = None
    kind: str = ""
    facts: list[str] = field(default_factory=list)
    facts_any: bool = False
    forbidden: list[str] = field(default_factory=list)
    split: str = ""
    min_facts: int | None = None
    # ISO 639-1 code of the question's language, when the set says (article_es: "es"): the
    # language the answer should be in, and what language detection should find
    language: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def has_retrieval_labels(self) -> bool:
        return bool(self.reference_contexts or self.source)

    @property
    def refusal_and_sources_only(self) -> bool:
        """Answerable with neither a reference answer nor facts (a thumbs down without a
        correction, qa.feedback): whether it is refused and which sources it finds are all
        that can be scored; it is never called right or wrong."""
        return self.answerable and not self.reference_answer and not self.facts


def _strings(value: Any, key: str, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise InputError(f"{where}: '{key}' must be a string or a list of strings")


def parse_item(raw: Any, where: str, default_id: str) -> Question:
    if not isinstance(raw, dict):
        raise InputError(f"{where}: each item must be an object with a 'question'")
    question = raw.get("question")
    if not isinstance(question, str) or not question.strip():
        raise InputError(f"{where}: item has no 'question' text")
    answerable = raw.get("answerable", True)
    if not isinstance(answerable, bool):
        raise InputError(f"{where}: 'answerable' must be true or false")
    ref = raw.get("reference_answer", "")
    if not isinstance(ref, str):
        raise InputError(f"{where}: 'reference_answer' must be a string")
    follow = raw.get("follow_up_of")
    split = raw.get("split") or ""
    if split not in ("", *SPLITS):
        raise InputError(f"{where}: 'split' must be one of {', '.join(SPLITS)}, got {split!r}")
    facts = _strings(raw.get("facts"), "facts", where)
    min_facts = raw.get("min_facts")
    if min_facts is not None and (
        isinstance(min_facts, bool)
        or not isinstance(min_facts, int)
        or not 1 <= min_facts <= len(facts)
    ):
        raise InputError(
            f"{where}: 'min_facts' must be a whole number from 1 to the number of facts"
            f" ({len(facts)})"
        )
    return Question(
        id=str(raw.get("id") or default_id),
        question=question.strip(),
        reference_answer=ref.strip(),
        reference_contexts=_strings(raw.get("reference_contexts"), "reference_contexts", where),
        source=str(raw["source"]) if raw.get("source") else None,
        answerable=answerable,
        follow_up_of=str(follow) if follow not in (None, "") else None,
        kind=str(raw.get("kind") or ("answerable" if answerable else "unanswerable")),
        facts=facts,
        facts_any=bool(raw.get("facts_any", False)),
        forbidden=_strings(raw.get("forbidden"), "forbidden", where),
        split=split,
        min_facts=min_facts,
        language=str(raw["language"]).lower() if raw.get("language") else None,
    )


def parse_questions(items: list[Any], origin: str = "questions") -> list[Question]:
    """Validate a list of raw items (dicts or Questions); follow-ups must point backwards and
    stay in their first turn's split."""
    out: list[Question] = []
    first: dict[str, Question] = {}  # id -> the first turn of its conversation
    for i, raw in enumerate(items, 1):
        where = f"{origin}: item {i}"
        q = raw if isinstance(raw, Question) else parse_item(raw, where, f"q{i}")
        if q.id in first:
            raise InputError(f"{where}: duplicate id {q.id!r}")
        if q.follow_up_of is not None and q.follow_up_of not in first:
            raise InputError(
                f"{where}: follow_up_of {q.follow_up_of!r} names no earlier item in the set"
            )
        head = first[q.follow_up_of] if q.follow_up_of is not None else q
        if head.split != q.split:
            raise InputError(
                f"{where}: {q.id!r} is in split {q.split or '(none)'!r} but its conversation"
                f" starts at {head.id!r} in split {head.split or '(none)'!r}: a conversation"
                " never straddles splits"
            )
        first[q.id] = head
        out.append(q)
    if not out:
        raise InputError(f"{origin}: the question set is empty")
    return out


def select_split(items: list[Question], split: str = "all") -> list[Question]:
    """The items of one split ("dev", "test", or "all"); conversations stay whole because
    parse_questions keeps every turn in its first turn's split."""
    if split == "all":
        return items
    if split not in SPLITS:
        raise InputError(f"split must be dev, test or all, got {split!r}")
    out = [q for q in items if q.split == split]
    if not out:
        raise InputError(f"no question is in split {split!r} (set 'split' on the items)")
    return out


def load_questions(path: str | Path) -> list[Question]:
    """Read a .jsonl (or .json / .yaml / .yml) question set; any problem is one InputError."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"question file not found: {p}")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read question file {p}: {exc}") from exc
    suffix = p.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return parse_questions(_yaml_items(text, p), str(p))
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{p}: not valid JSON: {exc.msg} (line {exc.lineno})") from exc
        return parse_questions(_unwrap(data, p), str(p))
    items: list[Any] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        try:
            items.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InputError(f"{p}:{n}: not valid JSON: {exc.msg}") from exc
    return parse_questions(items, str(p))


def _unwrap(data: Any, p: Path) -> list[Any]:
    if isinstance(data, dict) and isinstance(data.get("questions"), list):
        return data["questions"]
    if isinstance(data, list):
        return data
    raise InputError(f"{p}: expected a list of questions (or {{questions: [...]}})")


def _yaml_items(text: str, p: Path) -> list[Any]:
    try:
        import yaml
    except ImportError as exc:  # PyYAML comes with llama-index-core; say so if it is gone
        raise InputError(f"{p}: YAML question sets need PyYAML (pip install pyyaml)") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "parse error"
        raise InputError(f"{p}: not valid YAML: {first}") from exc
    return _unwrap(data, p)
