"""When a translated answer's first sentence reaches the reader (issue 15, stop 26).

    .venv/bin/python bench/translated_stream.py [--out bench/results_translated_stream.md]

A question in another language than the documents' is answered in theirs, then each sentence
is translated (llm.translate_answers). Until stop 26 such an answer was sent whole, so its
first text arrived with its last; now each sentence is sent once translated. For the Spanish
and Chinese dev questions of tests/questions/article_<es|zh>.jsonl (first turns only) and four
overview questions (OVERVIEWS), through
`qa.stream_ask` as every streaming door uses it, this measures in one run the time from the
question to the first delta (now) and to the last (what the whole-answer design showed first),
and their ratio. Refusals (one piece either way) are left out.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# answers of several sentences, where sending each one once translated can show: the dev fact
# questions are answered in one sentence (written here, not taken from a question set)
OVERVIEWS = {
    "summary_es": "Resume el discurso en pocas frases.",
    "definition_es": "¿Qué es la CELAC?",
    "summary_zh": "请概括一下这篇讲话的要点。",
    "definition_zh": "拉共体是什么？",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "bench" / "results_translated_stream.md"))
    a = ap.parse_args()
    import qa

    qa.ensure_index()
    asked = [
        (item["id"], item["question"])
        for name in ("article_es", "article_zh")
        for item in map(json.loads, open(ROOT / "tests" / "questions" / f"{name}.jsonl"))
        if item.get("split") == "dev" and not item.get("follow_up_of")
    ] + list(OVERVIEWS.items())
    rows = []
    for item_id, question in asked:
        started = time.perf_counter()
        _, deltas, answer = qa.stream_ask(question)
        first = None
        pieces = 0
        for _ in deltas:
            first = first or time.perf_counter() - started
            pieces += 1
        last = time.perf_counter() - started
        if answer.refused or first is None:
            continue
        rows.append((item_id, pieces, first, last))
        print(f"{item_id}: {pieces} pieces, first {first:.1f} s, last {last:.1f} s")
    several = [r for r in rows if r[1] > 1]

    def medians(rs: list[tuple[str, int, float, float]], what: str) -> str:
        if not rs:
            return f"{what}: none."
        first, last = statistics.median(r[2] for r in rs), statistics.median(r[3] for r in rs)
        return (
            f"{what} ({len(rs)}): median first delta {first:.1f} s (sentence by sentence, now)"
            f" against {last:.1f} s (the last delta: when the whole answer, as sent before,"
            f" arrived); ratio {first / last:.2f}."
        )

    lines = [
        "# Translated answers: time to the first sentence",
        "",
        f"`.venv/bin/python bench/translated_stream.py` ({time.strftime('%Y-%m-%d')}, default"
        f" settings, {qa.describe()['llm']}). Dev first turns of article_es and article_zh"
        " and the four overview questions of the script, answered (refusals left out).",
        "",
        "| item | pieces sent | first delta (s) | last delta (s) |",
        "|---|---|---|---|",
        *[f"| {i} | {n} | {f:.1f} | {x:.1f} |" for i, n, f, x in rows],
        "",
        medians(rows, "All answers"),
        "",
        medians(several, "Answers of more than one sentence"),
        "",
    ]
    Path(a.out).write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
