"""Broken YAML is explained in plain words: what is wrong, on which line, and how to fix it, never
the parser's own terms ("expected <block end>, but found '?'")."""

from __future__ import annotations

from pathlib import Path

import pytest

from courseware.content import ContentError, load_vignette

GOOD = """\
id: case
title: "A case"
start: a
nodes:
  a:
    text: "Start"
    choices:
      - label: "Go"
        to: b
  b:
    text: "End"
    end: true
"""

PARSER_WORDS = ("expected <block end>", "mapping values are not allowed", "<block", "scalar")


def broken(tmp_path: Path, old: str, new: str) -> tuple[int, str]:
    assert old in GOOD
    path = tmp_path / "case.yaml"
    path.write_text(GOOD.replace(old, new), encoding="utf-8")
    with pytest.raises(ContentError) as info:
        load_vignette(path)
    (problem,) = info.value.problems
    assert str(problem).startswith(f"{path}:{problem.line}: YAML syntax error: ")
    assert not any(words in problem.message for words in PARSER_WORDS), problem.message
    return problem.line, problem.message


def test_the_good_file_loads(tmp_path: Path) -> None:
    (tmp_path / "case.yaml").write_text(GOOD, encoding="utf-8")
    assert load_vignette(tmp_path / "case.yaml").spec.start == "a"


def test_a_field_indented_too_little(tmp_path: Path) -> None:
    line, message = broken(tmp_path, "    choices:", "   choices:")
    assert line == 7 and "indented by 3 spaces" in message and "line 6 has 4 spaces" in message


def test_a_field_indented_too_far(tmp_path: Path) -> None:
    line, message = broken(tmp_path, "    end: true", "      end: true")
    assert line == 12 and "indented by 6 spaces" in message and "line 11 has 4 spaces" in message


def test_a_field_among_list_items(tmp_path: Path) -> None:
    line, message = broken(tmp_path, "        to: b", "      to: b")
    assert line == 9 and "without a '- ' of its own" in message


def test_a_tab(tmp_path: Path) -> None:
    line, message = broken(tmp_path, "    end: true", "\tend: true")
    assert line == 12 and "tab" in message and "spaces" in message


def test_a_missing_colon(tmp_path: Path) -> None:
    line, message = broken(tmp_path, 'title: "A case"', 'title "A case"')
    assert line == 2 and "no colon" in message and "'name: value'" in message


def test_a_missing_colon_before_another_field(tmp_path: Path) -> None:
    line, message = broken(tmp_path, '    text: "End"', '    text "End"')
    assert line == 11 and "no colon" in message


def test_a_colon_inside_a_value(tmp_path: Path) -> None:
    line, message = broken(tmp_path, 'title: "A case"', "title: Note: a case")
    assert line == 2 and "double quotes" in message


def test_a_duplicate_key(tmp_path: Path) -> None:
    line, message = broken(tmp_path, "    end: true", '    end: true\n    text: "Again"')
    assert line == 13 and "'text' appears twice" in message and "first at line 11" in message


def test_an_unclosed_quote(tmp_path: Path) -> None:
    line, message = broken(tmp_path, '    text: "Start"', '    text: "Start')
    assert line == 6 and "never closed" in message and "closing quote" in message
