"""A fast, deterministic OpenAI-compatible LLM server for tests and benchmarks (no model).

    python -m qa.server.stub_llm --port 8101 [--words 40] [--delay 0.0]

`POST /v1/chat/completions` (plain and streamed) answers:
- a condense prompt (qa/prompts/condense.txt: "Follow-up: ...", then "Standalone question:")
  with the follow-up itself, as the standalone question;
- anything else with `stub[ref-...] <the first --words words of the passages> end.`, listing
  every `ref-N` tag found in the last user message, so a caller can check that an answer
  belongs to its own conversation and arrived complete. The echoed words come lower-cased in
  sentences of eight, so corpus-qa's sentence-by-sentence grounding check passes them and
  streams each sentence as it ends.
`--delay` seconds pass between streamed words (`slow-N` in the message: N ms instead).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from qa.server.openai_schema import chunk, completion, sse

REF = re.compile(r"ref-\d+")
SLOW = re.compile(r"slow-(\d+)")


def reply_for(messages: list[dict[str, Any]], words: int) -> str:
    last = next((m for m in reversed(messages) if m.get("role") == "user"), {})
    text = str(last.get("content") or "")
    condense = re.search(r"Follow-up:\s*(.+)\s*\nStandalone question:\s*$", text)
    if condense:
        return condense.group(1).strip()
    refs = sorted(set(REF.findall(text)))
    quoted = text.split('"""')
    passages = quoted[1] if len(quoted) > 2 else text.split("Question:", 1)[0]
    echo = [w.lower() for w in passages.split() if w.isalpha()][:words] or ["answer"]
    sentences = [" ".join(echo[i : i + 8]) for i in range(0, len(echo), 8)]
    return f"stub[{','.join(refs)}] " + ". ".join(sentences) + " end."


def build(words: int = 40, delay: float = 0.0) -> FastAPI:
    app = FastAPI()

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": "stub", "object": "model", "owned_by": "x"}]}

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        body = await request.json()
        messages = body.get("messages", [])
        text = reply_for(messages, words)
        slow = SLOW.search(str(messages[-1].get("content") if messages else ""))
        pause = int(slow.group(1)) / 1000 if slow else delay
        cid, created, model = f"chatcmpl-{uuid.uuid4().hex[:12]}", int(time.time()), "stub"
        usage = {"prompt_tokens": 10, "completion_tokens": len(text.split())}
        if not body.get("stream"):
            return JSONResponse(completion(cid, model, text, usage))

        async def events():
            yield sse(chunk(cid, model, created, {"role": "assistant", "content": ""}))
            pieces = text.split(" ")
            for i, piece in enumerate(pieces):
                if pause:
                    await asyncio.sleep(pause)
                yield sse(chunk(cid, model, created, {"content": piece if i == 0 else " " + piece}))
            yield sse(chunk(cid, model, created, {}, "stop"))
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


def main() -> None:
    import uvicorn

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8101)
    p.add_argument("--words", type=int, default=40)
    p.add_argument("--delay", type=float, default=0.0)
    a = p.parse_args()
    uvicorn.run(build(a.words, a.delay), host=a.host, port=a.port, log_level="warning")


if __name__ == "__main__":
    main()
