"""Self-check questions: the right option is marked in the option itself, each option can say why,
old files (``answer`` as an index) still load, and every mistake names its file, line and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from courseware.content import ContentError, load_module
from courseware.store import SQLiteStore
from courseware.widgets import open_module

HEAD = """\
id: m
title: M
stream: postgraduate
stage: foundation-doctor
minutes: 30
summary: S
outcomes: [Do a thing]
self_check:
"""

NEW = """\
  - id: which
    question: "Which statement respects the patient?"
    options:
      - text: "Naming the emotion."
        explanation: "Naming is a different NURSE move."
      - text: "Saying you admire how they cope"
        correct: true
        explanation: "Respect acknowledges their effort."
    explanation: "NURSE: Naming, Understanding, Respecting, Supporting, Exploring."
"""


def module_dir(tmp_path: Path, questions: str) -> Path:
    (tmp_path / "module.yaml").write_text(HEAD + textwrap.dedent(questions), encoding="utf-8")
    return tmp_path


def problems(tmp_path: Path, questions: str) -> list[tuple[int, str, str]]:
    with pytest.raises(ContentError) as info:
        load_module(module_dir(tmp_path, questions))
    return [(p.line, p.field, p.message) for p in info.value.problems]


def test_new_format_marks_the_option_itself(tmp_path: Path) -> None:
    question = load_module(module_dir(tmp_path, NEW)).spec.self_check[0]
    assert question.correct_option == 1 and question.is_correct(1) and not question.is_correct(0)
    assert question.texts == ("Naming the emotion.", "Saying you admire how they cope")
    assert question.options[0].explanation == "Naming is a different NURSE move."
    # The compiled cache rebuilds the same question without validating again.
    again = load_module(tmp_path).spec.self_check[0]
    assert again == question and (tmp_path / "__pycache__").is_dir()


def test_old_format_still_loads(tmp_path: Path) -> None:
    old = """\
      - id: old
        question: "Which?"
        options: ["a", "b", "c"]
        answer: 2
        explanation: "Because."
    """
    question = load_module(module_dir(tmp_path, old)).spec.self_check[0]
    assert question.correct_option == 2 and question.texts == ("a", "b", "c")


def test_no_option_marked_correct_is_an_error(tmp_path: Path) -> None:
    found = problems(tmp_path, NEW.replace("        correct: true\n", ""))
    ((line, field, message),) = found
    assert (line, field) == (11, "self_check.0.options") and "correct: true" in message


def test_two_options_marked_correct_is_an_error(tmp_path: Path) -> None:
    text = NEW.replace(
        '      - text: "Naming the emotion."\n', '      - text: "Naming."\n        correct: true\n'
    )
    ((line, field, message),) = problems(tmp_path, text)
    # Points at the second ``correct: true``.
    assert (line, field) == (16, "self_check.0.options.1.correct")
    assert "mark exactly one" in message


def test_mixing_answer_and_correct_is_an_error(tmp_path: Path) -> None:
    text = NEW + "    answer: 1\n"
    ((line, field, message),) = problems(tmp_path, text)
    assert (line, field) == (18, "self_check.0.answer") and "not both" in message


def test_answer_out_of_range_suggests_marking_the_option(tmp_path: Path) -> None:
    old = """\
      - id: old
        question: "Which?"
        options: ["a", "b"]
        answer: 2
        explanation: "Because."
    """
    ((line, field, message),) = problems(tmp_path, old)
    assert (line, field) == (12, "self_check.0.answer") and "correct: true" in message


def test_an_explanation_is_required(tmp_path: Path) -> None:
    text = NEW.replace('    explanation: "NURSE', '    # "NURSE').replace(
        '        explanation: "Naming is a different NURSE move."\n', ""
    )
    ((line, field, message),) = problems(tmp_path, text)
    assert (line, field) == (12, "self_check.0.options.0.explanation")
    assert "explanation" in message


def test_widget_shows_the_chosen_options_explanation(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    directory = module_dir(tmp_path / "m", NEW)
    with SQLiteStore(tmp_path / "store.db") as store:
        check = open_module(directory, store=store, learner="ana").self_check()
        assert check.answer("which", 0) is False
        shown = check.feedback["which"].value
        assert "Not quite." in shown and "Naming is a different NURSE move." in shown
        assert "Respect acknowledges" not in shown  # another option's explanation stays hidden
        assert "NURSE: Naming, Understanding" in shown  # the overall explanation
        # One full stop after an option that already ends in one, never "..".
        assert "Naming the emotion.." not in shown and "Naming the emotion." in shown
        assert "The best answer is: Saying you admire how they cope." in shown
        assert check.answer("which", 1) is True
        shown = check.feedback["which"].value
        assert "Correct." in shown and "Respect acknowledges their effort." in shown
        assert "Naming is a different" not in shown
        events = [e.value for e in store.events(item="self-check/which")]
        assert events == [{"choice": 0, "correct": False}, {"choice": 1, "correct": True}]
