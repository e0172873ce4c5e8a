"""qa.text: the one stopword list, refusal detector and percentile every layer shares."""

from __future__ import annotations

import pytest

from qa import text
from qa.answering import pipeline
from qa.evaluation import metrics

REFUSAL = "The documents do not contain the answer to this question."


def test_every_layer_uses_the_one_stopword_list_and_refusal_detector():
    assert metrics.STOPWORDS is text.STOPWORDS
    assert pipeline.is_refusal is text.is_refusal
    assert not hasattr(metrics, "looks_like_refusal") and not hasattr(metrics, "percentile")


def test_content_words_leave_out_stopwords_and_claimless_words():
    assert text.content_words("According to the passage, the summit was held in Mexico") == [
        "summit",
        "held",
        "mexico",
    ]
    assert (
        metrics.unsupported_sentences(
            "The passage states the summit was held in Mexico City.",
            ["On September 18th the summit was held in Mexico City."],
        )
        == []
    )


@pytest.mark.parametrize(
    ("answer", "refused"),
    [
        (REFUSAL, True),
        ("Sorry, the passages do not contain the answer.", True),
        ("The documents  DO NOT contain the answer to this question", True),
        ("It was held in Mexico City [1].", False),
        # a real answer that mentions what is missing is no refusal on the answering path
        ("The price is not mentioned, but the summit was held in Mexico City [1].", False),
        ("", False),
    ],
)
def test_refusal_with_the_pipelines_refusal_text(answer, refused):
    assert text.is_refusal(answer, REFUSAL) is refused


@pytest.mark.parametrize(
    ("answer", "refused"),
    [
        (REFUSAL, True),
        ("The context does not provide information about the price of rice.", True),
        ("There is no information about that in the text.", True),
        ("The provided context does not mention the Copa America.", True),
        ("", True),
        ("The summit was held in Mexico City.", False),
        ("China will continue to provide assistance within its capacity.", False),
    ],
)
def test_refusal_without_a_refusal_text_reads_any_wording(answer, refused):
    assert text.is_refusal(answer) is refused


def test_percentile_interpolates_linearly():
    assert text.percentile([], 50) is None
    assert text.percentile([3.0], 95) == 3.0
    assert text.percentile([1, 2, 3, 4], 50) == 2.5
    assert text.percentile([4, 1, 3, 2], 0) == 1
    assert text.percentile([4, 1, 3, 2], 100) == 4
    assert text.percentile(list(range(1, 101)), 95) == pytest.approx(95.05)
