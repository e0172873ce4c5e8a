"""Context assembly (qa/answering/context.py): window expansion, merging and dedup (on the real
stores: tests/integration/test_context.py)."""

from __future__ import annotations

from llama_index.core.schema import NodeWithScore, TextNode

from qa.answering.context import WindowExpansion, dedupe, expand

CHUNKS = {
    "a.txt": ["Alpha one.", "Alpha two.", "Alpha three.", "Alpha four.", "Alpha five."],
    "b.txt": ["Beta one.", "Beta two."],
}


def chunk(file: str, pos: int) -> TextNode:
    text = CHUNKS[file][pos]
    return TextNode(id_=f"{file}#{pos}", text=text, metadata={"file_name": file, "position": pos})


def fetch(file: str, positions: list[int]) -> dict[int, TextNode]:
    return {p: chunk(file, p) for p in positions if 0 <= p < len(CHUNKS[file])}


def hit(file: str, pos: int, score: float) -> NodeWithScore:
    return NodeWithScore(node=chunk(file, pos), score=score)


def test_window_zero_keeps_the_hits():
    hits = [hit("a.txt", 2, 0.9), hit("b.txt", 0, 0.5)]
    assert [n.node.get_content() for n in expand(hits, fetch, 0)] == ["Alpha three.", "Beta one."]


def test_window_adds_neighbours_and_keeps_the_hit_id_and_score():
    out = expand([hit("a.txt", 2, 0.9)], fetch, 1)
    assert [n.node.get_content() for n in out] == ["Alpha two. Alpha three. Alpha four."]
    assert out[0].node.node_id == "a.txt#2" and out[0].score == 0.9
    assert out[0].node.metadata["window"] == [1, 3]


def test_window_stops_at_the_file_edges():
    out = expand([hit("b.txt", 0, 0.7)], fetch, 2)
    assert out[0].node.get_content() == "Beta one. Beta two."


def test_touching_windows_merge_into_one_passage_with_the_best_score():
    out = expand([hit("a.txt", 0, 0.6), hit("b.txt", 1, 0.5), hit("a.txt", 3, 0.8)], fetch, 1)
    texts = [n.node.get_content() for n in out]
    assert texts == [
        "Alpha one. Alpha two. Alpha three. Alpha four. Alpha five.",
        "Beta one. Beta two.",
    ]
    assert out[0].score == 0.8 and out[0].node.node_id == "a.txt#0"


def test_overlapping_chunks_are_written_once():
    a = TextNode(id_="x#0", text="one two three", start_char_idx=0, end_char_idx=13)
    b = TextNode(id_="x#1", text="three four", start_char_idx=8, end_char_idx=18)
    a.metadata = {"file_name": "x", "position": 0}
    b.metadata = {"file_name": "x", "position": 1}
    out = expand([NodeWithScore(node=a, score=1.0)], lambda f, ps: {0: a, 1: b}, 1)
    assert out[0].node.get_content() == "one two three four"


def test_dedupe_drops_text_a_better_passage_already_holds():
    same = [
        NodeWithScore(node=TextNode(id_="1", text="The cat sat on the mat."), score=0.9),
        NodeWithScore(node=TextNode(id_="2", text="the  cat sat on the mat."), score=0.8),
        NodeWithScore(node=TextNode(id_="3", text="cat sat"), score=0.7),
        NodeWithScore(node=TextNode(id_="4", text="A dog barked."), score=0.6),
    ]
    assert [n.node.node_id for n in dedupe(same)] == ["1", "4"]


def test_hits_without_a_position_pass_through():
    free = NodeWithScore(node=TextNode(id_="free", text="No position here."), score=0.4)
    assert expand([free], fetch, 1) == [free]


def test_window_expansion_is_a_llama_index_node_postprocessor():
    pp = WindowExpansion(window=1, fetch=fetch)
    got = pp.postprocess_nodes([hit("a.txt", 2, 0.9)], query_str="anything")
    assert [n.node.get_content() for n in got] == [
        n.node.get_content() for n in expand([hit("a.txt", 2, 0.9)], fetch, 1)
    ]
