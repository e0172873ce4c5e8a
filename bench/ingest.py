"""Ingest throughput against the raw embedding model, as a ratio within each round (issue 17).

    .venv/bin/python bench/ingest.py [--copies 30] [--rounds 5] [--out bench/results_ingest.md]

bench/engine.py measures ingest and the raw model once each, one after the other, so a noisy
neighbour moves the ratio (0.82x and 0.99x in two runs). Here every round indexes the copies of
the article from scratch into a new data dir (`qa.ingest`: reading, chunking, hashing,
embedding, the atomic commit) and then embeds the same chunks with the bare model in batches
of 32, alternating which goes first; the figure is the median of the per-round ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--copies", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results_ingest.md"))
    a = ap.parse_args()

    import qa

    tmp = Path(tempfile.mkdtemp(prefix="qa-bench-ingest-"))
    big = tmp / "corpus"
    big.mkdir()
    text = next((ROOT / "corpus").iterdir()).read_text()
    for i in range(a.copies):
        (big / f"copy{i:03d}.txt").write_text(text.replace("18th", f"18th ({i})"))

    def ingest(r: int) -> tuple[float, list[str], object]:
        s = qa.load_settings(corpus_dir=big, store={"data_dir": tmp / f"data{r}"})
        t = time.perf_counter()
        qa.ingest(settings=s, progress=False)
        seconds = time.perf_counter() - t
        pipe = qa.pipeline(s)
        return seconds, [rec["text"] for rec in pipe.store.load().records], pipe.embed

    _, chunks, embed = ingest(-1)  # warm-up: model load, first-call allocations

    def raw() -> float:
        t = time.perf_counter()
        for i in range(0, len(chunks), 32):
            embed.embed(chunks[i : i + 32])
        return time.perf_counter() - t

    rows = []
    for r in range(a.rounds):
        if r % 2:
            raw_s = raw()
            ingest_s, _, _ = ingest(r)
        else:
            ingest_s, _, _ = ingest(r)
            raw_s = raw()
        rows.append((len(chunks) / ingest_s, len(chunks) / raw_s))
        print(f"round {r + 1}: ingest {rows[-1][0]:.1f}, raw {rows[-1][1]:.1f} chunks/s")
    ratios = [i / m for i, m in rows]
    lines = [
        "## Ingest against the raw embedding model (issue 17)",
        "",
        f"`python bench/ingest.py --copies {a.copies} --rounds {a.rounds}` on "
        f"{time.strftime('%Y-%m-%d %H:%M')}; {len(chunks)} chunks; load average "
        f"{os.getloadavg()[0]:.1f} at the end. Ratio = ingest / raw model, per round.",
        "",
        "| round | ingest (chunks/s) | raw model (chunks/s) | ratio |",
        "|---|---|---|---|",
        *(f"| {r + 1} | {i:.1f} | {m:.1f} | {i / m:.2f} |" for r, (i, m) in enumerate(rows)),
        "",
        f"Median ratio {statistics.median(ratios):.2f} (range {min(ratios):.2f}-"
        f"{max(ratios):.2f}); the issue's target is 0.95.",
    ]
    Path(a.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
