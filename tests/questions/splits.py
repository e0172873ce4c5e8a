"""Assign the fixed dev/test split of the shipped question sets, and check their labels.

    python tests/questions/splits.py           # give a split to the items that have none
    python tests/questions/splits.py --all     # recompute every split (how the sets were made)
    python tests/questions/splits.py --check   # fail if a split is missing or a label is off

The rule (also in tests/questions/README.md), per file:

1. Unit: a conversation (a first turn and every turn chained to it by `follow_up_of`) or a
   single question. All turns of a conversation share its unit, hence its split.
2. Stratum of a unit: (kind of its first turn, whether its first turn is answerable, whether
   it has more than one turn, whether any of its turns is unanswerable).
3. Units sorted by stratum, then by the sha1 hex digest of the first turn's id. Walking that
   list, the unit at position i (from 0) is "dev" when floor((i+1)*2/5) > floor(i*2/5),
   i.e. the 3rd and 5th of every five, and "test" otherwise: 40% dev, spread over strata.

Once a set is in use its splits stay as they are in the file: a plain run walks only the
units that have no split yet (a new turn of an existing conversation takes that
conversation's split), so adding items never moves an old one between dev and test.

The check also verifies labels against the documents (whitespace-normalised, case-insensitive
as the fact metric matches): every reference context occurs in its source document, and for
every fact at least its first " | " alternative does (the others are accepted phrasings).
An item whose `language` is not the documents' (article_es, article_zh: questions asked in
Spanish or Chinese over the English article) has its facts in that language, as the answer
should word them: only its reference contexts (English sentences) are checked against the
document, and every item of such a set must carry its `language`. reverse_es is the other way
round: English questions (facts in English) over a Spanish document.
Standard library only.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SETS = {  # question set -> folder of its documents
    "article.jsonl": ROOT / "corpus",
    "squad.jsonl": ROOT / "bench" / "data" / "squad" / "corpus",
    "chat_article.jsonl": ROOT / "corpus",
    "chat_squad.jsonl": ROOT / "bench" / "data" / "squad" / "corpus",
    "article_es.jsonl": ROOT / "corpus",
    "article_zh.jsonl": ROOT / "corpus",
    "reverse_es.jsonl": ROOT / "bench" / "data" / "reverse_es" / "corpus",
    "reverse_zh.jsonl": ROOT / "bench" / "data" / "reverse_zh" / "corpus",
}
DOCUMENT_LANGUAGE = "en"  # the language of a set's documents, unless DOCUMENT_LANGUAGES says
DOCUMENT_LANGUAGES = {"reverse_es.jsonl": "es", "reverse_zh.jsonl": "zh"}
# sets asked in another language than their documents'
LANGUAGES = {
    "article_es.jsonl": "es",
    "article_zh.jsonl": "zh",
    "reverse_es.jsonl": "en",
    "reverse_zh.jsonl": "en",
}
KINDS = {"fact", "paraphrase", "multi", "injection", "unanswerable", "follow_up", "broad", "yesno"}


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def read(path: Path) -> list[dict]:
    return [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def assign(items: list[dict], keep: bool = False) -> dict[str, str]:
    """Item id -> "dev" / "test" by the rule in the module docstring; with keep, units that
    already have a split keep it and only the others are walked."""
    root: dict[str, str] = {}
    turns: dict[str, list[dict]] = {}
    for it in items:
        parent = it.get("follow_up_of")
        r = root[parent] if parent else it["id"]
        root[it["id"]] = r
        turns.setdefault(r, []).append(it)

    def stratum(r: str) -> tuple:
        first, conv = turns[r][0], turns[r]
        return (
            first.get("kind", ""),
            first.get("answerable", True),
            len(conv) > 1,
            any(not t.get("answerable", True) for t in conv),
        )

    fixed = {r: t[0]["split"] for r, t in turns.items() if keep and t[0].get("split")}
    units = sorted(
        (r for r in turns if r not in fixed),
        key=lambda r: (repr(stratum(r)), hashlib.sha1(r.encode()).hexdigest()),
    )
    unit_split = {
        r: "dev" if (i + 1) * 2 // 5 > i * 2 // 5 else "test" for i, r in enumerate(units)
    }
    unit_split.update(fixed)
    return {it["id"]: unit_split[root[it["id"]]] for it in items}


def check(name: str, items: list[dict], docs: Path) -> list[str]:
    bad: list[str] = []
    texts = {p.name: _norm(p.read_text(encoding="utf-8")) for p in docs.glob("*.txt")}
    ids: set[str] = set()
    documents = DOCUMENT_LANGUAGES.get(name, DOCUMENT_LANGUAGE)
    asked = LANGUAGES.get(name, documents)
    for it in items:
        where = f"{name}:{it['id']}"
        if it.get("language", documents) != asked:
            bad.append(f"{where}: language must be {asked!r}")
        if it["id"] in ids:
            bad.append(f"{where}: duplicate id")
        ids.add(it["id"])
        kind, answerable = it.get("kind"), it.get("answerable", True)
        if kind not in KINDS:
            bad.append(f"{where}: unknown kind {kind!r}")
        if it.get("split") not in ("dev", "test"):
            bad.append(f"{where}: split must be dev or test")
        if it.get("follow_up_of") and answerable and kind != "follow_up":
            bad.append(f"{where}: an answerable follow-up has kind follow_up")
        if not answerable and (kind not in ("unanswerable", "injection") or it.get("facts")):
            bad.append(f"{where}: unanswerable items have kind unanswerable and no facts")
        if answerable and not it.get("facts"):
            bad.append(f"{where}: answerable item without facts")
        mf = it.get("min_facts")
        if mf is not None and not (isinstance(mf, int) and 1 <= mf <= len(it.get("facts", []))):
            bad.append(f"{where}: min_facts must be an integer in 1..len(facts)")
        if not answerable:
            continue
        text = texts.get(it.get("source") or "")
        if text is None:
            bad.append(f"{where}: source {it.get('source')!r} is not a document in {docs}")
            continue
        for ctx in it.get("reference_contexts", []):
            if _norm(ctx) not in text:
                bad.append(f"{where}: reference context not in the document: {ctx[:60]!r}")
        if it.get("language", documents) != documents:
            continue  # facts in the question's language: a translation is not in the document
        for fact in it.get("facts", []):
            first = fact.split(" | ")[0]
            if _norm(first) not in text:
                bad.append(f"{where}: fact {first!r} not in the document")
    return bad


def main(argv: list[str]) -> int:
    checking, everything = "--check" in argv, "--all" in argv
    problems: list[str] = []
    for name, docs in SETS.items():
        path = HERE / name
        if not path.is_file():
            continue
        items = read(path)
        if checking:
            split = assign(items, keep=True)  # a conversation's turns all take its first turn's
            problems += [
                f"{name}:{it['id']}: split {it.get('split')!r}, "
                f"its conversation is {split[it['id']]!r}"
                for it in items
                if it.get("split") and it.get("split") != split[it["id"]]
            ]
            problems += check(name, items, docs)
            dev = sum(it.get("split") == "dev" for it in items)
            print(f"{name}: {len(items)} items, {dev} dev, {len(items) - dev} test")
            continue
        split = assign(items, keep=not everything)
        for it in items:
            it["split"] = split[it["id"]]
        path.write_text(
            "".join(json.dumps(it, ensure_ascii=False) + "\n" for it in items), encoding="utf-8"
        )
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
