"""The people register: ``courseware check`` reads modules/people.yaml and refuses a name twice."""

from __future__ import annotations

from pathlib import Path

from courseware.content._check import check_paths

REPO = Path(__file__).resolve().parent.parent

REGISTER = """\
people:
  - name: Winston Clarke
    age: 66
    background: retired postman with COPD
    module: responding-with-nurse
  - name: Marcia Clarke
    background: Winston Clarke's wife
    module: responding-with-nurse
"""


def _problems(tmp_path: Path, text: str) -> list[tuple[int, str, str]]:
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / "people.yaml").write_text(text, encoding="utf-8")
    return [(p.line, p.field, p.message) for p in check_paths([modules]) if not p.warning]


def test_a_register_with_distinct_names_passes(tmp_path: Path) -> None:
    assert _problems(tmp_path, REGISTER) == []


def test_a_name_listed_twice_is_reported_at_the_second_entry(tmp_path: Path) -> None:
    text = REGISTER + (
        "  - name: Winston  Clarke\n"
        "    age: 84\n"
        "    background: retired bus mechanic with dementia\n"
        "    module: empathy-with-families-and-carers\n"
    )
    [(line, field, message)] = _problems(tmp_path, text)
    assert (line, field) == (9, "people.2.name")
    assert "already listed (line 2)" in message and "one name, one person" in message


def test_an_entry_without_a_module_names_the_field(tmp_path: Path) -> None:
    found = _problems(tmp_path, REGISTER.replace("    module: responding-with-nurse\n", "", 1))
    assert [(line, field) for line, field, _ in found] == [(2, "people.0.module")]


def test_the_curriculum_register_lists_each_name_once() -> None:
    register = REPO / "modules" / "people.yaml"
    found = [p for p in check_paths([register]) if not p.warning]
    assert found == []
