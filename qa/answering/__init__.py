"""Answering: from a question (and its conversation) to a grounded answer with sources.

pipeline.py    retrieve -> gate -> assemble passages -> prompt -> generate -> check
context.py     widening hits to their neighbours, merging and deduplicating passages
grounding.py   which answer sentences the passages support, and their [n] citations
engines.py     the llama-index query and chat engines over the pipeline
"""
