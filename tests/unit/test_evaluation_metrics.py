"""Evaluation metrics on hand-made inputs (no models)."""

from __future__ import annotations

import math

import pytest

from qa.evaluation import metrics as m
from qa.evaluation.questions import parse_item
from qa.evaluation.run import EvalRun
from qa.evaluation.scoring import right, summarize
from qa.evaluation.targets import Turn

CTX = "On September 18th, the 6th Summit was held in Mexico City, Mexico."


def p(id_: str, text: str, file: str = "a.txt") -> dict:
    return {"id": id_, "text": text, "file": file}


@pytest.mark.parametrize(
    ("ranked", "hit", "rr"),
    [
        ([p("1", CTX), p("2", "other"), p("3", "more")], 1.0, 1.0),
        ([p("1", "other"), p("2", "x " + CTX + " y"), p("3", "more")], 1.0, 0.5),
        ([p("1", "other"), p("2", "more"), p("3", CTX.upper())], 1.0, 1 / 3),
        ([p("1", "other"), p("2", "more")], 0.0, 0.0),
        ([], 0.0, 0.0),
    ],
)
def test_hit_and_reciprocal_rank_against_reference_contexts(ranked, hit, rr):
    got_hit, got_rr = m.retrieval_scores(ranked, [CTX])
    assert got_hit == hit
    assert math.isclose(got_rr, rr)


def test_reference_context_cut_by_a_chunk_boundary_still_counts():
    head, tail = CTX[:40], CTX[40:]
    assert m.passage_holds("... earlier text " + head, CTX)  # 40 of 67 characters
    assert not m.passage_holds(tail[-10:], CTX)


def test_source_file_is_the_label_without_reference_contexts():
    ranked = [p("1", "x", "b.txt"), p("2", "y", "sub/a.txt")]
    assert m.retrieval_scores(ranked, [], "a.txt") == (1.0, 0.5)
    assert m.retrieval_scores(ranked, [], "c.txt") == (0.0, 0.0)


def test_token_f1():
    assert m.token_f1("Mexico City", "Mexico City") == 1.0
    # "it was held in mexico city": precision 2/6, recall 2/2 -> F1 0.5
    assert m.token_f1("It was held in Mexico City [1].", "Mexico City") == pytest.approx(0.5)
    assert m.token_f1("Lima", "Mexico City") == 0.0
    assert m.token_f1("", "") == 1.0
    assert m.token_f1("", "Mexico") == 0.0
    # precision 2/3, recall 2/2 -> F1 0.8
    assert m.token_f1("Mexico City today", "Mexico City") == pytest.approx(0.8)


def test_citations_articles_and_punctuation_are_ignored():
    assert m.normalize("The summit [1], in Mexico City [2, 3]!") == "summit in mexico city"


def test_fact_recall():
    assert m.fact_recall("Held on September 18 in Mexico City [1].", ["Mexico City", "2014"]) == 0.5
    assert m.fact_recall("anything", []) is None


def test_fact_recall_with_alternative_gold_answers():
    """SQuAD's golds are alternatives (facts_any): naming one of them is a full answer."""
    golds = ["January 2010", "February 2011"]
    assert m.fact_recall("It began in February 2011.", golds, any_of=True) == 1.0
    assert m.fact_recall("It began in 2012.", golds, any_of=True) == 0.0
    item = {"question": "When?", "facts": golds, "facts_any": True}
    assert parse_item(item, "set", "q1").facts_any is True


def test_judge_free_support_flags_invented_sentences_and_numbers():
    passages = [CTX, "Xi Jinping delivered a video speech to the summit."]
    answer = (
        "The summit was held in Mexico City [1]. Xi Jinping delivered a video speech [2]. "
        "It was held on July 20. Bananas are yellow fruits grown in Ecuador."
    )
    flagged = m.unsupported_sentences(answer, passages)
    assert flagged == ["It was held on July 20.", "Bananas are yellow fruits grown in Ecuador."]
    assert m.unsupported_sentences("Held on September 18th in Mexico City.", passages) == []


def test_injection_resisted():
    assert m.injection_resisted("Mexico City [1].", ["HACKED BY EVE"]) is True
    assert m.injection_resisted("Mexico City. hacked by eve", ["HACKED BY EVE"]) is False
    assert m.injection_resisted("anything", []) is None


def test_means():
    assert m.mean([None, 1.0, 0.0]) == 0.5
    assert m.mean([None]) is None


def test_cost():
    assert m.price_per_million("local", None) == (0.0, 0.0)
    assert m.price_per_million("openai_like", "x") is None
    price = m.price_per_million("openai", "gpt-4o-mini")
    assert m.cost_usd(1_000_000, 1_000_000, price) == pytest.approx(0.75)
    assert m.cost_usd(10, 10, None) is None


def test_fact_alternatives_count_for_one_fact():
    """A fact "Sept 18 | September 18" has two accepted wordings; either one counts."""
    facts = ["Mexico City", "September 18 | Sept. 18 | 18 September"]
    assert m.facts_found("Held on 18 September in Mexico City [1].", facts) == [True, True]
    assert m.facts_found("Held in Mexico City.", facts) == [True, False]
    assert m.fact_recall("On Sept. 18, in Lima.", facts) == 0.5
    assert m.fact_recall("On September   18 [2], in mexico city.", facts) == 1.0


@pytest.mark.parametrize(
    ("answer", "any_of", "min_facts", "ok"),
    [
        ("alpha beta gamma", False, None, True),  # default: every fact
        ("alpha beta", False, None, False),
        ("alpha beta", False, 2, True),  # min_facts: two of three suffice
        ("alpha", False, 2, False),
        ("gamma", True, None, True),  # facts_any: one suffices
        ("delta", True, None, False),
        ("a1 beta", False, 2, True),  # an alternative counts for its fact
    ],
)
def test_facts_satisfied(answer, any_of, min_facts, ok):
    facts = ["alpha | a1", "beta", "gamma"]
    assert m.facts_satisfied(answer, facts, any_of, min_facts) is ok


def test_no_facts_is_nothing_to_miss():
    assert m.facts_satisfied("anything", []) is True
    assert m.facts_needed(0, any_of=True) == 0


# ---- per-item verdicts and the figures built on them ----------------------------------------
def turn(text: str, refused: bool = False) -> Turn:
    return Turn(text=text, refused=refused, sources=[], retrieved=[], seconds=0.1)


def test_an_item_is_right_when_answered_with_its_facts_or_refused_when_it_should_be():
    q = parse_item({"question": "Where and when?", "facts": ["Mexico City", "18"]}, "s", "q")
    assert right(q, turn("Mexico City on the 18th."))
    assert not right(q, turn("Mexico City."))  # one fact short
    assert not right(q, turn("Mexico City on the 18th.", refused=True))  # refused anyway
    some = parse_item({"question": "?", "facts": ["a", "b", "c"], "min_facts": 2}, "s", "q")
    assert right(some, turn("a and c"))
    bare = parse_item({"question": "Summarize the speech."}, "s", "q")
    assert right(bare, turn("It is about cooperation.")) and not right(bare, turn("", True))
    no = parse_item({"question": "Price of rice?", "answerable": False}, "s", "q")
    assert right(no, turn("The documents do not say.", refused=True))
    assert not right(no, turn("Three soles."))


def row(id_: str, correct: bool, answerable: bool = True, refused: bool = False,
        follow_up_of: str | None = None, kind: str = "fact") -> dict:  # fmt: skip
    return {
        "id": id_, "kind": kind, "answerable": answerable, "follow_up_of": follow_up_of,
        "refused": refused, "refusal_correct": refused != answerable, "correct": correct,
        "error": None, "usage": {},
    }  # fmt: skip


ROWS = [
    row("a", True),
    row("a2", False, refused=True, follow_up_of="a"),  # a false refusal in a conversation
    row("a3", True, follow_up_of="a2"),
    row("b", False),  # a first turn nobody follows up: not in a conversation
    row("s1", True, kind="broad"),
    row("s2", False, refused=True, kind="broad"),  # a broad question refused
    row("no", True, answerable=False, refused=True),
]


def test_false_refusals_turn_follow_up_and_broad_figures():
    s = summarize(ROWS, None)
    assert s["n_answerable"] == 6 and s["n_false_refusals"] == 2
    assert s["false_refusals"] == pytest.approx(2 / 6, abs=1e-4)
    assert s["n_turns"] == 3 and s["turn_accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    assert s["n_follow_ups"] == 2 and s["follow_up_accuracy"] == 0.5
    assert s["n_broad"] == 2 and s["n_broad_answered"] == 1 and s["broad_answered"] == 0.5


def test_figures_without_their_items_are_not_measured():
    s = summarize([row("b", True), row("no", True, answerable=False, refused=True)], None)
    assert s["false_refusals"] == 0.0
    assert s["turn_accuracy"] is None and s["follow_up_accuracy"] is None
    assert s["broad_answered"] is None and s["n_broad"] == 0
    assert (
        summarize([row("no", True, answerable=False, refused=True)], None)["false_refusals"] is None
    )


def test_gates_floor_and_ceiling():
    run = EvalRun("ours", {}, summarize(ROWS, None))
    assert run.above({"false_refusals": 0.5}) == []
    assert run.above({"false_refusals": 0.03}) == ["false_refusals: 0.333 > maximum 0.03"]
    assert run.below({"turn_accuracy": 0.6, "broad_answered": 0.5}) == []
    assert run.below({"follow_up_accuracy": 0.9}) == ["follow_up_accuracy: 0.500 < minimum 0.9"]
    bare = EvalRun("ours", {}, summarize([row("b", True)], None))
    assert bare.below({"broad_answered": 0.5}) == ["broad_answered: not measured (minimum 0.5)"]
    assert bare.above({"false_refusals": 0.1}) == []


@pytest.mark.parametrize(
    ("answer", "fact", "found"),
    [
        ("From Denmark, Iceland, and Norway [1].", "Denmark, Iceland and Norway", True),
        ("It was the Great North Run.", "the Great North Run", True),
        ("A grass-roofed building.", "grass roofed", True),
        ("About 7.8% of them.", "7.8", True),
        ("About 78 of them.", "7.8", False),  # a decimal point is not dropped into one number
        ("会议在墨西哥城举行。", "墨西哥城", True),
        ("He wanted him to study law.", "lawyer", False),
    ],
)
def test_facts_are_matched_as_squad_normalizes_them(answer, fact, found):
    """Punctuation, articles and case do not decide a fact; its words and numbers do."""
    assert m.facts_found(answer, [fact]) == [found]
