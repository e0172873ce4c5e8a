"""Faithfulness judge: the configured LLM reads qa/prompts/judge.txt and says YES or NO.

A llama-index evaluator (BaseEvaluator -> EvaluationResult). llama-index's own
FaithfulnessEvaluator counts any reply without "yes" as a fail, so a reply that says nothing
parseable would pass unnoticed as a verdict; here it is `invalid_result` with the reason,
and the runner counts it as a failure shown in the report.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llama_index.core.evaluation import BaseEvaluator, EvaluationResult
from llama_index.core.llms import LLM

from qa import prompts
from qa.errors import one_line

_FIRST_WORD = re.compile(r"^[\W_]*(yes|no)\b", re.IGNORECASE)
_LABELLED = re.compile(r"\b(?:verdict|answer|supported)\s*[:=]\s*\**\s*(yes|no)\b", re.IGNORECASE)
_ANY = re.compile(r"\b(yes|no)\b", re.IGNORECASE)


def parse_verdict(text: str) -> bool | None:
    """YES -> True, NO -> False, None when the reply holds no clear verdict."""
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    if not lines:
        return None
    m = _FIRST_WORD.match(lines[0]) or _LABELLED.search(text)
    if m:
        return m.group(1).lower() == "yes"
    words = {w.lower() for w in _ANY.findall(text)}
    if len(words) == 1:
        return words.pop() == "yes"
    return None


class JudgeEvaluator(BaseEvaluator):
    """Is every claim of the answer supported by the retrieved passages? (LLM judge)"""

    def __init__(self, llm: LLM, prompts_dir: Path, template: str = "judge") -> None:
        self._llm = llm
        self._prompts_dir = Path(prompts_dir)
        self._template = template

    def _get_prompts(self) -> dict[str, Any]:
        return {}

    def _update_prompts(self, prompts_dict: dict[str, Any]) -> None:
        pass

    def evaluate(  # sync path: local models are not async
        self,
        query: str | None = None,
        response: str | None = None,
        contexts: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> EvaluationResult:
        context = "\n\n".join(f"[{i}] {c}" for i, c in enumerate(contexts or [], 1))
        prompt = prompts.render(
            self._prompts_dir,
            self._template,
            context=context or "(no passages)",
            question=query or "",
            answer=response or "",
        )
        base = {"query": query, "response": response, "contexts": list(contexts or [])}
        try:
            reply = self._llm.complete(prompt).text or ""
        except Exception as exc:  # a judge that errors is a failure shown in the report
            return EvaluationResult(
                **base,
                passing=False,
                score=0.0,
                invalid_result=True,
                invalid_reason=f"judge error: {one_line(exc)}",
            )
        verdict = parse_verdict(reply)
        if verdict is None:
            return EvaluationResult(
                **base,
                passing=False,
                score=0.0,
                feedback=reply.strip(),
                invalid_result=True,
                invalid_reason="judge reply has no YES/NO verdict",
            )
        return EvaluationResult(
            **base, passing=verdict, score=float(verdict), feedback=reply.strip()
        )

    async def aevaluate(
        self,
        query: str | None = None,
        response: str | None = None,
        contexts: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> EvaluationResult:
        return await asyncio.to_thread(self.evaluate, query, response, contexts, **kwargs)
