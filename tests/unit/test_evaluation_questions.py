"""Question-set loading: good files load, every bad file is one InputError line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import qa
from qa.cli import main
from qa.evaluation.questions import load_questions, parse_questions, select_split
from qa.settings import REPO_ROOT

ARTICLE_SET = REPO_ROOT / "tests" / "questions" / "article.jsonl"


def write(tmp: Path, name: str, text: str) -> Path:
    f = tmp / name
    f.write_text(text, encoding="utf-8")
    return f


def test_shipped_article_set_is_complete():
    qs = load_questions(ARTICLE_SET)
    assert len(qs) >= 30
    unanswerable = [q for q in qs if not q.answerable]
    assert len(unanswerable) >= 5
    assert any(q.follow_up_of for q in qs)
    assert any(q.forbidden for q in qs)  # injection attempts
    article = (REPO_ROOT / "corpus" / "xi_celac_sixth_summit_speech.txt").read_text()
    for q in qs:
        assert q.reference_answer
        for ctx in q.reference_contexts:
            assert ctx in article, q.id  # reference contexts are verbatim passages


def test_jsonl_and_yaml_load_the_same(tmp_path):
    items = [
        {"id": "a", "question": "When?", "reference_answer": "Then.", "source": "x.txt"},
        {"id": "b", "question": "Where?", "follow_up_of": "a", "reference_contexts": "here"},
        {"question": "Price of rice?", "answerable": False},
    ]
    jl = write(tmp_path, "q.jsonl", "\n".join(json.dumps(i) for i in items) + "\n\n")
    import yaml

    ym = write(tmp_path, "q.yaml", yaml.safe_dump({"questions": items}))
    for f in (jl, ym):
        qs = load_questions(f)
        assert [q.id for q in qs] == ["a", "b", "q3"]
        assert qs[1].reference_contexts == ["here"] and qs[1].follow_up_of == "a"
        assert qs[2].answerable is False and qs[2].kind == "unanswerable"


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("q.jsonl", '{"question": "ok"}\n{"question": \n', "q.jsonl:2: not valid JSON"),
        ("q.jsonl", '{"reference_answer": "x"}\n', "item 1: item has no 'question' text"),
        ("q.jsonl", '["a list"]\n', "each item must be an object"),
        ("q.jsonl", '{"question": "a", "follow_up_of": "zz"}\n', "names no earlier item"),
        ("q.jsonl", '{"id": "a", "question": "x"}\n{"id": "a", "question": "y"}\n', "duplicate"),
        ("q.jsonl", '{"question": "a", "answerable": "no"}\n', "'answerable' must be true"),
        ("q.jsonl", '{"question": "a", "facts": [1]}\n', "'facts' must be a string or a list"),
        ("q.jsonl", '{"question": "a", "split": "train"}\n', "'split' must be one of dev, test"),
        ("q.jsonl", '{"question": "a", "facts": ["x"], "min_facts": 2}\n', "'min_facts' must"),
        ("q.jsonl", '{"question": "a", "facts": ["x"], "min_facts": true}\n', "'min_facts' must"),
        (
            "q.jsonl",
            '{"id": "a", "question": "x", "split": "dev"}\n'
            '{"id": "b", "question": "y", "follow_up_of": "a", "split": "test"}\n',
            "never straddles splits",
        ),
        ("q.jsonl", "\n\n", "the question set is empty"),
        ("q.yaml", "questions: [a, {b: \n", "not valid YAML"),
        ("q.json", '{"nope": 1}', "expected a list of questions"),
    ],
)
def test_bad_files_give_one_line_errors(tmp_path, name, text, message):
    f = write(tmp_path, name, text)
    with pytest.raises(qa.InputError) as info:
        load_questions(f)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(qa.InputError, match="question file not found"):
        load_questions(tmp_path / "nope.jsonl")


def test_cli_bad_set_value_is_one_config_error_line(capsys):
    code = main(["eval", str(ARTICLE_SET), "--set", "llm.mode=bogus"])
    err = capsys.readouterr().err.strip()
    assert code == qa.ConfigError.exit_code
    assert err.startswith("error: invalid setting llm.mode") and len(err.splitlines()) == 1


def test_cli_bad_question_file_is_one_line_and_exit_2(tmp_path, capsys):
    f = write(tmp_path, "q.jsonl", "not json\n")
    code = main(["eval", str(f), "--set", "llm.mode=mock", "--set", "embedding.mode=mock"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: ") and "q.jsonl:1: not valid JSON" in err
    assert len(err.splitlines()) == 1


def test_cli_needs_questions_or_compare(capsys):
    assert main(["eval"]) == 2
    assert "give a question set" in capsys.readouterr().err


SPLIT_ITEMS = [
    {"id": "d1", "question": "Where?", "split": "dev", "facts": ["a | b", "c"], "min_facts": 1},
    {"id": "d2", "question": "And when?", "split": "dev", "follow_up_of": "d1"},
    {"id": "t1", "question": "Who?", "split": "test"},
    {"id": "t2", "question": "What else?", "split": "test", "follow_up_of": "t1"},
    {"id": "x", "question": "Unlabelled?"},
]


def test_split_and_min_facts_are_read():
    qs = parse_questions(SPLIT_ITEMS)
    assert [q.split for q in qs] == ["dev", "dev", "test", "test", ""]
    assert qs[0].min_facts == 1 and qs[0].facts == ["a | b", "c"]
    assert qs[2].min_facts is None


def test_select_split_keeps_whole_conversations():
    qs = parse_questions(SPLIT_ITEMS)
    assert [q.id for q in select_split(qs, "dev")] == ["d1", "d2"]
    assert [q.id for q in select_split(qs, "test")] == ["t1", "t2"]
    assert [q.id for q in select_split(qs, "all")] == ["d1", "d2", "t1", "t2", "x"]
    with pytest.raises(qa.InputError, match="split must be dev, test or all"):
        select_split(qs, "train")
    with pytest.raises(qa.InputError, match="no question is in split 'dev'"):
        select_split(parse_questions(SPLIT_ITEMS[4:]), "dev")


def test_a_follow_up_in_another_split_than_its_first_turn_is_an_error():
    """The second turn agrees with its parent, the third does not: the first turn decides."""
    items = [
        {"id": "a", "question": "x", "split": "dev"},
        {"id": "b", "question": "y", "split": "dev", "follow_up_of": "a"},
        {"id": "c", "question": "z", "follow_up_of": "b"},
    ]
    with pytest.raises(qa.InputError, match="conversation starts at 'a' in split 'dev'"):
        parse_questions(items)
