"""The people register: one name, one person. Each rule fires on a small curriculum, at its file
and line, and ordinary words that are also names ("I hope", "brown eyes") never do."""

from __future__ import annotations

import textwrap
from pathlib import Path

from courseware.content import check_paths

MODULE = """\
id: {id}
title: "{id}"
stream: postgraduate
stage: foundation-doctor
minutes: 10
summary: "S"
outcomes: ["Do a thing"]
vignettes: [vignettes/case.yaml]
"""

CASE = """\
id: case
title: "Case"
start: a
nodes:
  a:
    title: "Start"
    text: "{text}"
    choices:
      - {{label: "Go", to: b}}
  b:
    title: "End"
    text: "The end."
    end: true
setting: hospital-ward
"""


def module(root: Path, module_id: str, text: str) -> Path:
    folder = root / "modules" / "postgraduate" / module_id
    (folder / "vignettes").mkdir(parents=True)
    (folder / "module.yaml").write_text(MODULE.format(id=module_id), encoding="utf-8")
    (folder / "vignettes" / "case.yaml").write_text(CASE.format(text=text), encoding="utf-8")
    return folder


def register(root: Path, text: str) -> Path:
    path = root / "modules" / "people.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def found(root: Path) -> list[tuple[str, int, str, bool]]:
    return [
        (Path(p.file).name, p.line, p.message, p.warning)
        for p in check_paths([root / "modules"], warnings=True)
        if "module.ipynb" not in p.message  # these small modules have no notebook
    ]


def curriculum(tmp_path: Path) -> None:
    module(tmp_path, "copd", "Winston Clarke, 74, and his wife Marcia Clarke. I hope it helps.")
    module(tmp_path, "delirium", "Mr Clarke's daughter rings. Dr Osei is on call.")
    module(tmp_path, "breathless", "Will you sit? Her brown eyes; Hope and Grace. Marcia waits.")


REGISTER = """\
    people:
      - name: Winston Clarke
        age: 74
        background: retired postman with COPD
        module: copd
      - name: Marcia Clarke
        age: 70
        background: his wife
        module: copd
      - name: Grace Brown
        background: ward sister
        module: breathless
"""


def test_a_name_reused_in_another_module_is_an_error_at_its_line(tmp_path: Path) -> None:
    curriculum(tmp_path)
    register(tmp_path, REGISTER)
    problems = found(tmp_path)
    errors = [(f, n, m) for f, n, m, w in problems if not w]
    # "Mr Clarke" in delirium: Winston's and Marcia's surname, written as a person.
    assert any(
        f == "case.yaml" and n == 7 and "'Clarke' is the surname of Winston Clarke" in m
        for f, n, m in errors
    )
    # "Marcia" in breathless: Marcia Clarke's first name.
    assert any(
        "'Marcia' is the first name of Marcia Clarke (module copd" in m for _, _, m in errors
    )
    assert any(
        f == "case.yaml" and n == 7 and "surname of Marcia Clarke" in m for f, n, m in errors
    )
    assert all("people.yaml:" in m for _, _, m in errors)
    # A family sharing a surname inside one module, and everyday words, are fine.
    assert not any("Grace" in m or "Brown" in m or "Will" in m for _, _, m in errors)
    assert len(errors) == 3  # Clarke for Winston and for Marcia in delirium; Marcia in breathless


def test_duplicate_names_and_unknown_modules_are_errors(tmp_path: Path) -> None:
    curriculum(tmp_path)
    register(
        tmp_path,
        REGISTER
        + """\
      - name: Winston  Clarke
        background: another postman
        module: delirium
      - name: Ada Lowe
        background: carer
        module: no-such-module
""",
    )
    problems = {(f, n, m) for f, n, m, w in found(tmp_path) if not w}
    assert any(
        f == "people.yaml" and n == 13 and "already in the register" in m for f, n, m in problems
    )
    assert any(
        f == "people.yaml" and n == 18 and "no module or assignment with id 'no-such-module'" in m
        for f, n, m in problems
    )


def test_unused_entries_and_unregistered_titles_are_warnings(tmp_path: Path) -> None:
    curriculum(tmp_path)
    register(
        tmp_path,
        REGISTER
        + """\
      - name: Femi Adebayo
        background: nobody writes about him
        module: delirium
""",
    )
    warnings = {(f, n, m) for f, n, m, w in found(tmp_path) if w}
    assert any(
        f == "people.yaml"
        and n == 13
        and "'Femi Adebayo' appears in no file of module 'delirium'" in m
        for f, n, m in warnings
    )
    assert any(
        f == "case.yaml" and n == 7 and "Dr Osei is not in the people register for 'delirium'" in m
        for f, n, m in warnings
    )
    # "Mr Clarke" in delirium is already an error (a reused name); "Dr Osei" is the only title.
    assert len([m for _, _, m in warnings if "not in the people register" in m]) == 1


def test_a_missing_register_is_one_warning(tmp_path: Path) -> None:
    curriculum(tmp_path)
    problems = found(tmp_path)
    assert problems == [
        (
            "people.yaml",
            1,
            "there is no people register: list every character once (name, age, background, "
            "module) so that check can keep one name to one person",
            True,
        )
    ]
    plain = check_paths([tmp_path / "modules"])  # without warnings: only the missing notebooks
    assert all("module.ipynb" in p.message for p in plain)


def test_the_shipped_register_has_no_errors_and_no_warnings() -> None:
    """The curriculum's own register: every name once, every entry used, every titled name listed."""
    register = Path(__file__).resolve().parent.parent / "modules" / "people.yaml"
    assert register.is_file()
    assert [(p.line, p.message) for p in check_paths([register])] == []


def test_a_possessive_ends_a_titled_name(tmp_path: Path) -> None:
    """ "Mr Clarke's HbA1c" is Mr Clarke (registered here), not a stranger called HbA1c."""
    module(
        tmp_path,
        "copd",
        "Winston Clarke and Marcia Clarke. Mr Clarke\u2019s HbA1c; Mr Clarke's NEWS2.",
    )
    register(tmp_path, REGISTER.split("      - name: Grace Brown")[0])
    assert [(f, n, m) for f, n, m, w in found(tmp_path) if "people register" in m] == []
