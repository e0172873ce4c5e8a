"""Neighbour windows on the real embedded models: the local store's neighbours and the prompt."""

from __future__ import annotations

import qa
from qa.stores.local import CorpusRetriever, LocalStore


def test_local_store_neighbours_are_the_article_chunks_in_order(local_settings):
    data = LocalStore(local_settings.store.data_dir).load()
    retriever = CorpusRetriever(data, qa.pipeline(local_settings).embed, 3)
    file = data.records[0]["metadata"]["file_name"]
    got = retriever.neighbours(file, [-1, 0, 1, 999])
    assert sorted(got) == [0, 1]
    assert [got[p].get_content() for p in (0, 1)] == [r["text"] for r in data.records[:2]]


def test_window_reaches_the_llm_prompt(local_settings):
    """With a window (the default, 2) the passage the model reads holds the hit and the chunks
    around it; with window=0 only the hit."""
    assert local_settings.retrieval.window > 0
    s = local_settings.model_copy(
        update={"retrieval": local_settings.retrieval.model_copy(update={"window": 0})}
    )
    narrow = qa.pipeline(s).prepare("Where was the sixth CELAC summit held?")
    wide = qa.pipeline(local_settings).prepare("Where was the sixth CELAC summit held?")
    best = narrow.nodes[0].node.get_content()
    assert best in wide.nodes[0].node.get_content()
    assert len(wide.nodes[0].node.get_content()) > len(best)
    assert best in wide.messages[1].content
