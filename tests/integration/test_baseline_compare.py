"""Side by side with the plain llama-index default pipeline on the same embedded models.

Measured on this machine: the default pipeline answers the article's factual questions but
invents answers to questions the article cannot answer and obeys injected instructions.
Ours must refuse all of those.
"""

from __future__ import annotations

from llama_index.core import SimpleDirectoryReader, VectorStoreIndex

import qa
from qa.answering.pipeline import is_refusal
from tests.helpers import INJECTION, UNANSWERABLE


def test_we_refuse_where_the_default_pipeline_invents(local_settings):
    pipe = qa.pipeline(local_settings)
    docs = SimpleDirectoryReader(str(local_settings.corpus_dir)).load_data()
    baseline = VectorStoreIndex.from_documents(docs, embed_model=pipe.embed).as_query_engine(
        llm=pipe.llm
    )
    refusal = pipe.prompt("refusal")
    ours = baseline_refused = 0
    rows = []
    for q in [*UNANSWERABLE, INJECTION]:
        b = str(baseline.query(q))
        a = qa.ask(q, settings=local_settings)
        baseline_refused += is_refusal(b, refusal) or "not" in b.lower()[:40]
        ours += a.refused
        rows.append((q, b[:80], a.text[:80]))
    print("\nquestion | default pipeline | corpus-qa")
    for r in rows:
        print(" | ".join(r))
    assert ours == len(rows)
    assert ours > baseline_refused
