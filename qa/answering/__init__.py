"""Answering: from a question (and its conversation) to a grounded answer with sources.

pipeline.py    condense -> retrieve -> gate -> route -> passages -> prompt -> generate
router.py      what kind of question (summary, list, definition, fact)
gate.py        which retrieved chunks count as evidence (cosine or key terms)
context.py     widening hits to their neighbours, merging and deduplicating passages
summary.py     map-reduce summaries of documents too long to read whole, cached
injection.py   sentences in documents that give orders to the assistant
grounding.py   which answer sentences the evidence supports, and their [n] citations
check.py       that check applied sentence by sentence, streamed or whole
answer.py      sources, the prepared answer, refusal bookkeeping
engines.py     the llama-index query and chat engines over the pipeline
"""
