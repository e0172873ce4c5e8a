"""Cold start of `qa ask`, a base commit's code against this checkout's (issue 17: "Import
lazily: no Gradio, FastAPI or PostgreSQL driver for `qa ask`").

    .venv/bin/python bench/cold_start.py [--base COMMIT] [--rounds 5] [--out FILE]

Each run is a fresh interpreter doing what `qa ask QUESTION` does (qa.cli.main), over an index
already built and model files already assembled, so it measures imports, loading the index and
the model, and one answer. "Before" is `git archive BASE` unpacked in a temp folder and put
first on PYTHONPATH (the same venv, the same models); "after" is this checkout. The two
alternate run by run, so they share the machine's noise; the table gives medians. The LLM uses
QA_LLM__THREADS from the environment when set (on a busy 2-core machine, 1).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Where was the sixth CELAC summit held?"
DOORS = {"gradio", "fastapi", "starlette", "uvicorn", "psycopg", "psycopg2", "openai"}

# what `qa ask QUESTION` runs, plus a report of what it loaded (on stderr, after the answer)
ASK = """
import json, sys
from qa import cli
code = cli.main(["ask", sys.argv[1]])
import qa
doors = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.argv[2])))
print(json.dumps({"qa": qa.__file__, "doors": doors, "modules": len(sys.modules)}),
      file=sys.stderr)
sys.exit(code)
"""


def unpack(commit: str, into: Path) -> Path:
    """The base commit's qa/ and pyproject.toml (so its REPO_ROOT is that folder)."""
    tar = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit, "qa", "pyproject.toml"],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        t.extractall(into, filter="data")
    return into


def env_for(code_root: Path, corpus: Path, data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_") or k == "QA_LLM__THREADS"}
    return env | {
        "PYTHONPATH": str(code_root),
        "QA_CORPUS_DIR": str(corpus),
        "QA_STORE__DATA_DIR": str(data),
        "QA_STORE__MODE": "local",
        "QA_LLM__MODELS_DIR": str(ROOT / ".qa" / "models"),
    }


def ask_once(env: dict[str, str], cwd: Path) -> dict:
    """Seconds to the answer's first line on stdout and to the process's end."""
    t0 = time.perf_counter()
    p = subprocess.Popen(
        [sys.executable, "-c", ASK, QUESTION, json.dumps(sorted(DOORS))],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert p.stdout is not None
    first = p.stdout.readline()
    answered = time.perf_counter() - t0
    rest, err = p.communicate()
    ended = time.perf_counter() - t0
    if p.returncode != 0 or not first.strip():
        raise SystemExit(f"qa ask failed ({p.returncode}): {err[-2000:]}")
    report = json.loads(err.strip().splitlines()[-1])
    return {"answer_s": answered, "exit_s": ended, "text": first.strip()} | report


def import_once(env: dict[str, str], cwd: Path) -> float:
    """A fresh interpreter's `import qa.cli`, start to end."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import qa.cli"], env=env, cwd=cwd, check=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="79166fc", help="the commit measured as 'before'")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results_cold_start.md"))
    a = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="qa-cold-"))
    corpus = tmp / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    variants = {"before": unpack(a.base, tmp / "base"), "after": ROOT}
    envs = {}
    for name, code in variants.items():  # each indexes with its own code, untimed
        envs[name] = env_for(code, corpus, tmp / f"data-{name}")
        subprocess.run(
            [sys.executable, "-m", "qa.cli", "ingest", "--json"],
            env=envs[name],
            cwd=tmp,
            check=True,
            capture_output=True,
        )
    load_before = os.getloadavg()
    runs: dict[str, list[dict]] = {n: [] for n in variants}
    imports: dict[str, list[float]] = {n: [] for n in variants}
    for r in range(a.rounds):
        order = list(variants) if r % 2 == 0 else list(reversed(variants))
        for name in order:
            imports[name].append(import_once(envs[name], tmp))
            runs[name].append(ask_once(envs[name], tmp))
            print(name, f"{runs[name][-1]['answer_s']:.2f} s", runs[name][-1]["doors"], flush=True)
    load_after = os.getloadavg()
    for name, code in variants.items():  # each ran the code it should have
        assert all(Path(x["qa"]).is_relative_to(code) for x in runs[name]), name

    def med(name: str, key: str) -> float:
        return statistics.median(x[key] for x in runs[name])

    rows = [
        (
            "`import qa.cli`, fresh interpreter (s)",
            statistics.median(imports["before"]),
            statistics.median(imports["after"]),
        ),
        ("`qa ask` to the answer (s)", med("before", "answer_s"), med("after", "answer_s")),
        ("`qa ask` to the process's end (s)", med("before", "exit_s"), med("after", "exit_s")),
        ("modules loaded by `qa ask`", med("before", "modules"), med("after", "modules")),
    ]
    doors = {n: ", ".join(runs[n][0]["doors"]) or "none" for n in variants}
    threads = os.environ.get("QA_LLM__THREADS", "default")
    lines = [
        "## Cold start of `qa ask`: lazy imports (issue 17)",
        "",
        f"`{' '.join(['python', *sys.argv])}` on {time.strftime('%Y-%m-%d %H:%M')}: "
        f"before = commit {a.base}, after = this checkout; {a.rounds} fresh processes each, "
        f"alternating; medians. Default local model preset, QA_LLM__THREADS={threads}; index "
        "and model files in place. Ratio = after / before (below 1 is faster). Load average "
        f"(1 min) {load_before[0]:.1f} at the start, {load_after[0]:.1f} at the end "
        "(2 cores, shared with other jobs).",
        "",
        "| measure | before | after | ratio |",
        "|---|---|---|---|",
    ]
    for label, b, f in rows:
        fmt = ".0f" if label.startswith("modules") else ".2f"
        lines.append(f"| {label} | {b:{fmt}} | {f:{fmt}} | {f / b:.2f} |")
    lines += [
        f"| door packages loaded by `qa ask` | {doors['before']} | {doors['after']} | - |",
        "",
        "Lazy imports change the import row; the LLM's answer is most of `qa ask`, so compare "
        "the other rows' difference with the spread of all runs below.",
        "",
        f"Answers: before {runs['before'][0]['text']!r}; after {runs['after'][0]['text']!r}.",
        "",
        "All runs, to the answer (s): "
        + "; ".join(f"{n} " + ", ".join(f"{x['answer_s']:.2f}" for x in runs[n]) for n in variants)
        + ".",
    ]
    Path(a.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
