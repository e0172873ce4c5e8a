"""Generation-side speed of the local LLM: prompt-lookup decoding, and reuse of the prompt's
shared start (issue 17).

    QA_LLM__THREADS=1 .venv/bin/python bench/decoding.py [--presets qwen2.5-coder-0.5b,...]
        [--variants plain,lookup4,...] [--questions N] [--out bench/results_decoding.md]
        [--append]

Without --append the output file is rewritten, its summary at the top included; the shipped
file was made by the runs it lists, each with --append after the first.

The prompts are the real ones: the dev questions of tests/questions/article.jsonl through
`Pipeline.prepare` (questions refused before the LLM are left out), then `llama_cpp.Llama`
directly, at temperature 0 with the settings' seed, context window and max_tokens. Every variant
has its own Llama (its own KV cache) and they run interleaved question by question, the order
rotated each question, so the machine's noise (shared cores) falls on all of them alike; the
figures are medians of per-question ratios to `plain`, which is today's LocalLlamaLLM (reset
before every call, n_batch 512).

Variants:
- plain: today.
- lookupN: plain + LlamaPromptLookupDecoding(num_pred_tokens=N) as draft_model.
- prefix[B]: llm.prefix_cache (qa.models.local_llm.prefix_llama_class) with n_batch B (default
  512), warm: the context keeps the previous question's prompt and reuses its first
  PREFIX_HEAD tokens, and B more at a time as far as the prompts agree.
- prefix[B]-cold: the same Llama class and n_batch, reset before every call: what `prefix[B]`
  must answer identically (the answer does not depend on the question before).
- ramcache: plain + Llama.set_cache(LlamaRAMCache()), reset before every call.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_VARIANTS = "plain,lookup2,lookup4,lookup10,prefix,prefix-cold,ramcache"


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def prompts(n: int | None) -> list[dict[str, Any]]:
    """The dev questions' answer prompts, as the pipeline builds them."""
    import qa
    from qa.evaluation.questions import load_questions

    data = Path(tempfile.mkdtemp(prefix="qa-bench-decoding-"))
    s = qa.load_settings(corpus_dir=str(ROOT / "corpus"), store={"data_dir": str(data)})
    qa.ingest(settings=s, progress=False)
    pipe = qa.pipeline(s)
    out = []
    for q in load_questions(ROOT / "tests" / "questions" / "article.jsonl"):
        if q.split != "dev":
            continue
        p = pipe.prepare(q.question)
        if p.messages is not None:
            msgs = [{"role": m.role.value, "content": m.content or ""} for m in p.messages]
            out.append({"id": q.id, "messages": msgs})
    return out[:n] if n else out


@dataclass
class Variant:
    name: str
    llama: Any
    reset: bool  # reset before every call (today's LocalLlamaLLM)
    rows: list[dict[str, float]] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)


def build(name: str, path: str, s: Any, threads: int) -> Variant:
    from llama_cpp import Llama, LlamaRAMCache
    from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

    from qa.models.local_llm import prefix_llama_class

    kw: dict[str, Any] = dict(
        model_path=path,
        n_ctx=s.llm.context_window,
        n_threads=threads,
        n_threads_batch=threads,  # as LocalLlamaLLM; llama_cpp's default is every core
        seed=s.llm.seed,
    )
    kw["verbose"] = False
    if name == "plain":
        return Variant(name, Llama(**kw), True)
    if name.startswith("lookup"):
        draft = LlamaPromptLookupDecoding(num_pred_tokens=int(name.removeprefix("lookup")))
        # logits_all: Llama sizes its logits buffer by it, not by draft_model (which turns on
        # logits for every token); without it a prompt + answer over n_batch tokens fails
        return Variant(name, Llama(**kw, draft_model=draft, logits_all=True), True)
    if name.startswith("prefix"):  # prefix[B][-cold]: B = n_batch after the head
        size, _, cold = name.removeprefix("prefix").partition("-")
        llama = prefix_llama_class()(**kw, n_batch=int(size or 512))
        return Variant(name, llama, cold == "cold")
    if name == "ramcache":
        llama = Llama(**kw)
        # its capacity counts KV state only; each entry also holds a copy of the logits buffer
        # (n_batch x vocab floats, 311 MB with Qwen2.5), so it is kept small here
        llama.set_cache(LlamaRAMCache(capacity_bytes=32 << 20))
        return Variant(name, llama, True)
    raise SystemExit(f"unknown variant {name}")


def ask(v: Variant, messages: list[dict[str, str]], s: Any) -> dict[str, float]:
    """One streamed answer: prompt phase (to the first text), generation, CPU time."""
    llama = v.llama
    cpu, t0 = time.process_time(), time.perf_counter()
    if v.reset:
        llama.reset()
    first, text = None, ""
    for chunk in llama.create_chat_completion(
        messages=messages,
        temperature=s.llm.temperature,
        max_tokens=s.llm.max_tokens,
        seed=s.llm.seed,
        stream=True,
    ):
        delta = chunk["choices"][0]["delta"].get("content") or ""
        if delta and first is None:
            first = time.perf_counter()
        text += delta
    end = time.perf_counter()
    first = first or end
    tokens = len(llama.tokenize(text.encode(), add_bos=False)) + 1  # + end of turn
    return {
        "text": text,
        "answer_s": end - t0,
        "prompt_s": first - t0,
        "gen_tps": (tokens - 1) / (end - first) if end > first else float("nan"),
        "cpu_s": time.process_time() - cpu,
        "tokens": tokens,
        "reused": getattr(llama, "reused", 0),
    }


def median(xs: list[float]) -> float:
    xs = [x for x in xs if x == x]
    return statistics.median(xs) if xs else float("nan")


def run_preset(preset_name: str, names: list[str], ps: list[dict], threads: int) -> list[str]:
    import qa
    from qa.models.weights import ensure_model, preset

    s = qa.load_settings()
    p = preset(preset_name)
    path = str(ensure_model(s.llm.models_dir, p))
    variants = [build(n, path, s, threads) for n in names]
    for v in variants:  # warm-up: page in the weights, first-call allocations
        ask(v, ps[0]["messages"], s)  # (not counted)
        v.llama.reset()  # the measured questions find nothing of the warm-up
        if v.llama.cache is not None:
            v.llama.cache.cache_state.clear()
    load0 = uptime()
    for i, pr in enumerate(ps):
        k = i % len(variants)
        for v in variants[k:] + variants[:k]:
            r = ask(v, pr["messages"], s)
            v.texts[pr["id"]] = r.pop("text")
            v.rows.append(r)
        print(f"{preset_name}: {i + 1}/{len(ps)} {pr['id']}", file=sys.stderr)
    load1 = uptime()
    base = variants[0]
    lines = [
        f"### {p.display_name}",
        "",
        f"{len(ps)} prompts; load at start `{load0}`, at end `{load1}`.",
        "",
        "| variant | answer s (p50) | answer / plain | prompt s (p50) | prompt / plain "
        "| gen tok/s (p50) | gen tok/s / plain | CPU s per answer | CPU / plain "
        "| prompt tokens reused (p50) | answers = plain | answers = cold |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for v in variants:

        def col(key: str, v: Variant = v) -> tuple[float, float]:
            mine = [r[key] for r in v.rows]
            ratio = [a / b for a, b in zip(mine, [r[key] for r in base.rows], strict=True) if b]
            return median(mine), median(ratio)

        same = sum(v.texts[k] == base.texts[k] for k in v.texts)
        cold = next((c for c in variants if c.name == f"{v.name}-cold"), None)
        same_cold = f"{sum(v.texts[k] == cold.texts[k] for k in v.texts)}/{len(ps)}" if cold else ""
        a, ar = col("answer_s")
        pp, pr_ = col("prompt_s")
        g, gr = col("gen_tps")
        c, cr = col("cpu_s")
        lines.append(
            f"| {v.name} | {a:.2f} | {ar:.2f} | {pp:.2f} | {pr_:.2f} | {g:.1f} | {gr:.2f} "
            f"| {c:.2f} | {cr:.2f} | {median([r['reused'] for r in v.rows]):.0f} "
            f"| {same}/{len(ps)} | {same_cold} |"
        )
    diffs = [
        f"- {v.name}, {k}: plain `{base.texts[k]!r}` / {v.name} `{v.texts[k]!r}`"
        for v in variants[1:]
        for k in v.texts
        if v.texts[k] != base.texts[k]
    ]
    tokens = median([r["tokens"] for r in base.rows])
    prompt = median([len(v.llama.tokenize(json.dumps(p["messages"]).encode())) for p in ps])
    lines += ["", f"Answer length p50: {tokens:.0f} tokens; prompt ~{prompt:.0f} tokens.", ""]
    if diffs:
        lines += ["Answers that differ from plain:", "", *diffs[:40], ""]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--presets", default="qwen2.5-coder-0.5b,qwen2.5-coder-1.5b")
    ap.add_argument("--variants", default=DEFAULT_VARIANTS, help="comma list, plain first")
    ap.add_argument("--questions", type=int, default=0, help="first N dev prompts (0: all)")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("QA_LLM__THREADS", "1")))
    ap.add_argument("--out", default=str(ROOT / "bench" / "results_decoding.md"))
    ap.add_argument("--append", action="store_true", help="add to --out (another run)")
    a = ap.parse_args()
    names = a.variants.split(",")
    if names[0] != "plain":
        raise SystemExit("--variants starts with plain (the ratios' base)")
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    ps = prompts(a.questions)
    head = ["# Decoding speed: prompt-lookup decoding and prompt-prefix reuse", ""]
    old = Path(a.out).read_text().splitlines() + [""] if a.append else head
    lines = old + [
        f"## Run {started}",
        "",
        f"`QA_LLM__THREADS={a.threads} .venv/bin/python bench/decoding.py "
        + " ".join(sys.argv[1:])
        + f"` ({os.cpu_count()} cores, shared).",
        "",
        "Ratios are medians of per-question ratios to `plain` in the same run "
        "(variants interleaved question by question). Prompt s: to the first streamed text.",
        "",
    ]
    for name in a.presets.split(","):
        lines += run_preset(name, names, ps, a.threads)
        Path(a.out).write_text("\n".join(lines) + "\n")  # partial results survive a stop
    print("\n".join(lines))


if __name__ == "__main__":
    main()
