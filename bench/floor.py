"""What the model alone costs on this machine: the floor under any answer (issue 17).

    .venv/bin/python bench/floor.py [--presets qwen2.5-coder-1.5b,qwen2.5-coder-0.5b]
        [--out bench/results_floor.md]

Run it on an idle machine. For each preset it loads `llama_cpp.Llama` as the engine does (all
cores, the settings' context window, seed and temperature 0) and measures, over the dev
questions' real answer prompts (the article set, through `Pipeline.prepare`):

- prompt evaluation: the prompt read with one token written (tokens/s);
- generation: the whole answer, less the prompt's time (tokens/s);
- the bare answer: the same answer's length written after a prompt with the system prompt and
  the question only, no passage: no retrieval-augmented answer on this machine can be faster;
- the model's load (import and `Llama(...)`, the weights in the page cache).

From these it derives two bounds for the targets of issue 17: the warm-answer floor (the bare
answer) and the cold-start floor (load + bare answer); and, for 16 users at once, the best
throughput gain batched decoding could give if writing 16 answers together cost no more than
writing one (prompt evaluation is compute-bound on 2 cores and is not shared across users):
1 / (p + (1 - p) / 16), with p the prompt's share of an answer's time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.decoding import prompts, uptime  # noqa: E402


def load(name: str) -> tuple[Any, float]:
    import qa
    from qa.models.factory import _threads
    from qa.models.weights import ensure_model, preset

    s = qa.load_settings(llm={"model": name})
    path = ensure_model(s.llm.models_dir, preset(name))
    started = time.perf_counter()
    from llama_cpp import Llama

    threads = _threads(s.llm.threads)
    llama = Llama(
        model_path=str(path),
        n_ctx=s.llm.context_window,
        n_threads=threads,
        n_threads_batch=threads,
        seed=s.llm.seed,
        verbose=False,
    )
    return llama, time.perf_counter() - started


def timed(llama: Any, messages: list[dict[str, str]], max_tokens: int) -> tuple[float, int, int]:
    """Seconds, prompt tokens and completion tokens of one call from an empty KV cache."""
    llama.reset()
    started = time.perf_counter()
    out = llama.create_chat_completion(messages, temperature=0.0, max_tokens=max_tokens, seed=0)
    seconds = time.perf_counter() - started
    usage = out["usage"]
    return seconds, usage["prompt_tokens"], usage["completion_tokens"]


def measure(name: str, items: list[dict[str, Any]]) -> dict[str, float]:
    llama, load_s = load(name)
    timed(llama, items[0]["messages"], 8)  # page in the weights, first-call allocations
    rows = []
    for item in items:
        msgs = item["messages"]
        read_s, prompt_tokens, _ = timed(llama, msgs, 1)
        answer_s, _, written = timed(llama, msgs, 256)
        question = msgs[-1]["content"].rsplit("Question:", 1)[-1].strip()
        bare = [msgs[0], {"role": "user", "content": question}]
        bare_read_s, bare_tokens, _ = timed(llama, bare, 1)
        gen_rate = max(written - 1, 1) / max(answer_s - read_s, 1e-6)
        rows.append(
            {
                "prompt_tokens": prompt_tokens,
                "prompt_s": read_s,
                "prompt_rate": prompt_tokens / read_s,
                "answer_s": answer_s,
                "written": written,
                "gen_rate": gen_rate,
                "bare_s": bare_read_s + (written - 1) / gen_rate,
                "bare_tokens": bare_tokens,
                "share": read_s / answer_s,
            }
        )
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    med["load_s"] = load_s
    med["cold_floor_s"] = load_s + med["bare_s"]
    p = med["share"]
    med["batch16_bound"] = 1 / (p + (1 - p) / 16)
    med["n"] = len(rows)
    return med


ROWS = [
    ("prompt tokens per answer", "prompt_tokens", "{:.0f}"),
    ("prompt evaluation (tokens/s)", "prompt_rate", "{:.1f}"),
    ("prompt evaluation (s)", "prompt_s", "{:.2f}"),
    ("answer tokens written", "written", "{:.0f}"),
    ("generation (tokens/s)", "gen_rate", "{:.1f}"),
    ("whole answer, model only (s)", "answer_s", "{:.2f}"),
    ("prompt's share of the answer's time", "share", "{:.2f}"),
    ("bare answer: system prompt + question, no passage (s)", "bare_s", "{:.2f}"),
    ("model load: import + Llama(...) (s)", "load_s", "{:.2f}"),
    ("cold-start floor: load + bare answer (s)", "cold_floor_s", "{:.2f}"),
    ("best gain at 16 users from batched decoding (x)", "batch16_bound", "{:.2f}"),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--presets", default="qwen2.5-coder-1.5b,qwen2.5-coder-0.5b")
    ap.add_argument("--questions", type=int, default=None)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results_floor.md"))
    a = ap.parse_args()
    items = prompts(a.questions)
    names = a.presets.split(",")
    got = {n: measure(n, items) for n in names}
    lines = [
        "## The model alone: the floor under any answer (issue 17)",
        "",
        f"`python bench/floor.py --presets {a.presets}` on {time.strftime('%Y-%m-%d %H:%M')};"
        f" medians over {got[names[0]]['n']} dev questions of the article set (their real"
        f" answer prompts); {uptime()}.",
        "",
        "| measure | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for label, key, fmt in ROWS:
        lines.append(f"| {label} | " + " | ".join(fmt.format(got[n][key]) for n in names) + " |")
    Path(a.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
