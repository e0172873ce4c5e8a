"""Run a question set through a pipeline and score every answer: `qa.evaluate(...)`.

The run's data and summary metrics live in qa.evaluation.run, the scoring in
qa.evaluation.scoring, the reports in qa.evaluation.report (which imports none of this).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

import qa
from qa.errors import ConfigError, CorpusError, InputError, QAError, one_line
from qa.evaluation import metrics as m
from qa.evaluation.judge import JudgeEvaluator
from qa.evaluation.questions import Question, load_questions, parse_questions, select_split
from qa.evaluation.report import write_report
from qa.evaluation.run import EvalRun
from qa.evaluation.scoring import Scorer, summarize
from qa.evaluation.targets import Ours, Target, TokenTally, Turn

PIPELINES = ("ours", "baseline", "condense_plus_context")


def eval_settings(
    settings: qa.Settings | None = None,
    corpus: str | Path | None = None,
    data_dir: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> qa.Settings:
    """Settings for a run: `corpus` gets its own data directory (under the system temp dir,
    one per corpus and embedding model) unless `data_dir` is given."""
    s = settings or qa.load_settings(**(overrides or {}))
    if settings is not None and overrides:
        s = _merge(s, overrides)
    if corpus is not None:
        c = Path(corpus).expanduser().resolve()
        if not c.is_dir():
            raise InputError(f"corpus folder not found: {c}")
        if data_dir is None:
            key = f"{c}|{s.embedding.mode}|{s.embedding.model}".encode()
            data_dir = (
                Path(tempfile.gettempdir())
                / "corpus-qa-eval"
                / f"{c.name}-{hashlib.sha1(key).hexdigest()[:10]}"
            )
        s = s.model_copy(update={"corpus_dir": c})
    if data_dir is not None:
        store = s.store.model_copy(update={"data_dir": Path(data_dir).expanduser().resolve()})
        s = s.model_copy(update={"store": store})
    return s


def _merge(s: qa.Settings, overrides: dict[str, Any]) -> qa.Settings:
    data = s.model_dump()
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return type(s).model_validate(data)


def make_target(name: str, settings: qa.Settings) -> Target:
    if name == "ours":
        return Ours(settings)
    if name == "baseline":
        from qa.evaluation.baseline import Baseline

        return Baseline(settings)
    if name == "condense_plus_context":
        from qa.evaluation.baseline import CondensePlusContext

        return CondensePlusContext(settings)
    raise InputError(f"unknown pipeline {name!r}: choose from {', '.join(PIPELINES)}")


def evaluate(
    questions: str | Path | Sequence[dict[str, Any] | Question],
    settings: qa.Settings | None = None,
    *,
    corpus: str | Path | None = None,
    data_dir: str | Path | None = None,
    pipeline: str = "ours",
    judge: bool = True,
    limit: int | None = None,
    progress: bool | None = None,
    report_dir: str | Path | None = None,
    split: str = "all",
    origin: str | None = None,
) -> EvalRun:
    """Answer every question with `pipeline` (one of PIPELINES) and score the answers.

    `questions` is a JSONL/YAML path or a list of items; `split` keeps only the "dev" or
    "test" items ("all": every item); `corpus` indexes that folder into its own data directory
    first. With `report_dir`, writes report.md, report.json and chart.png. `origin` names a
    list of items in the report.
    """
    if isinstance(questions, str | Path):
        items, origin = load_questions(questions), str(questions)
    else:
        origin = origin or "<list>"
        items = parse_questions(list(questions), origin)
    items = select_split(items, split)
    if limit:
        items = items[:limit]  # follow-ups point backwards: a prefix keeps their turns
    s = eval_settings(settings, corpus, data_dir)
    target = make_target(pipeline, s)
    run = Runner(target, judge=judge, progress=progress).run(items, origin, split)
    if report_dir is not None:
        write_report(run, report_dir)
    return run


class Runner:
    def __init__(self, target: Target, judge: bool = True, progress: bool | None = None) -> None:
        self.target = target
        self.settings = target.settings
        self.progress = progress
        pipe = qa.pipeline(self.settings)
        self.judge = JudgeEvaluator(pipe.llm, self.settings.prompts_dir) if judge else None
        self.scorer = Scorer(pipe.embed, self.judge)
        self.price = m.price_per_million(self.settings.llm.mode, self.settings.llm.model)

    def run(self, items: list[Question], origin: str = "", split: str = "all") -> EvalRun:
        started = time.perf_counter()
        prep = self.target.prepare(self.progress)
        turns: dict[str, tuple[list[dict[str, str]], str]] = {}  # id -> (history, answer)
        results = []
        with TokenTally() as tally:
            for q in tqdm(items, desc=f"eval {self.target.name}", disable=self._no_bar()):
                history: list[dict[str, str]] = []
                if q.follow_up_of:
                    prev_hist, prev_answer = turns[q.follow_up_of]
                    prev_q = next(x for x in items if x.id == q.follow_up_of).question
                    history = prev_hist + [
                        {"role": "user", "content": prev_q},
                        {"role": "assistant", "content": prev_answer},
                    ]
                tally.reset()
                try:
                    turn: Turn | None = self.target.answer(q.question, history)
                    error = None
                except (ConfigError, CorpusError):
                    raise  # every question would fail the same way
                except QAError as exc:
                    turn, error = None, one_line(exc)
                if turn is not None and tally.usage()["prompt_tokens"]:
                    turn.usage = tally.usage()
                turns[q.id] = (history, turn.text if turn else "")
                results.append(self.scorer.score(q, turn, error))
        meta = {
            "pipeline": self.target.name,
            "questions": origin,
            "n_questions": len(items),
            "split": split,
            "date": _dt.datetime.now().isoformat(timespec="seconds"),
            "models": qa.describe(self.settings),
            "corpus_dir": str(self.settings.corpus_dir),
            "data_dir": str(self.settings.store.data_dir),
            "retrieval": self.settings.retrieval.model_dump(mode="json"),
            "llm": {
                k: v
                for k, v in self.settings.llm.model_dump(mode="json").items()
                if k in ("mode", "model", "temperature", "max_tokens")
            },
            "judge": self.judge is not None,
            "prepare": prep,
            "seconds": round(time.perf_counter() - started, 2),
        }
        return EvalRun(self.target.name, meta, summarize(results, self.price), results)

    def _no_bar(self) -> bool | None:
        return None if self.progress is None else not self.progress
