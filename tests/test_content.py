"""Content models and the loader: valid files load, broken ones name file, line and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from helpers import GOOD, problems_of

from courseware.content import ContentError, load_module, load_vignette


def write(tmp_path: Path, text: str, name: str = "case.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_valid_vignette_loads_and_walks(tmp_path: Path) -> None:
    vignette = load_vignette(write(tmp_path, GOOD))
    walk = vignette.walk()
    assert walk.node_id == "a" and not walk.finished
    walk.choose(0)
    assert walk.path == ["a", "b"] and walk.finished


def test_unknown_target_names_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("to: b", "to: nowhere"))
    found = problems_of(path)
    assert any(
        p.startswith(f"{path}:9: nodes.a.choices.0.to: unknown node 'nowhere'") for p in found
    )


def test_orphan_node_is_reported_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "  lost:\n    text: 'Nobody comes here'\n    end: true\n")
    assert f"{path}:14: nodes.lost: node 'lost' cannot be reached from the start" in problems_of(
        path
    )


def test_dead_end_and_missing_start(tmp_path: Path) -> None:
    text = GOOD.replace("start: a", "start: zz").replace("    end: true\n", "")
    found = problems_of(write(tmp_path, text))
    assert any("start node 'zz' does not exist" in p and ":3: start:" in p for p in found)
    assert any("node 'b' has no choices and is not an ending" in p for p in found)


def test_cycle_without_an_ending_is_reported(tmp_path: Path) -> None:
    text = GOOD + textwrap.indent(
        "loop1:\n  text: x\n  choices:\n    - {label: on, to: loop2}\n"
        "loop2:\n  text: y\n  choices:\n    - {label: back, to: loop1}\n",
        "  ",
    )
    text = text.replace(
        '        feedback: "Went"\n',
        '        feedback: "Went"\n      - label: Loop\n        to: loop1\n',
    )
    found = problems_of(write(tmp_path, text))
    assert any("no ending can be reached from node 'loop1'" in p for p in found)


def test_schema_errors_name_field_and_line(tmp_path: Path) -> None:
    text = GOOD.replace('title: "A case"\n', "").replace("feedback:", "feedbak:")
    path = write(tmp_path, text)
    found = problems_of(path)
    assert any(p.startswith(f"{path}:1: title: required field is missing") for p in found)
    assert any(":9: nodes.a.choices.0.feedbak: unknown field" in p for p in found)


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('    text: "End"', '    text: "End'))
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:") and "YAML syntax error" in problem
    assert int(problem.split(":")[1]) >= 12


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('title: "A case"', 'title: "A case"\ntitle: "Again"'))
    (problem,) = problems_of(path)
    assert ":3:" in problem and "duplicate" in problem.lower()


def test_id_must_match_file_name(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD, name="other.yaml")
    assert any(
        ":1: id: id 'case' differs from the file name 'other'" in p for p in problems_of(path)
    )


def test_hostile_text_is_kept_intact(tmp_path: Path) -> None:
    nasty = "<script>alert(1)</script> =SUM(A1) 😀 \u202e مرحبا"
    text = GOOD.replace('"Start"', repr(nasty).replace("'", '"'))
    vignette = load_vignette(write(tmp_path, text))
    assert vignette.node("a").text == nasty


def test_module_lists_missing_vignette_and_duplicate_reflection(tmp_path: Path) -> None:
    (tmp_path / "module.yaml").write_text(
        textwrap.dedent("""\
        id: m
        title: M
        stream: undergraduate
        stage: undergraduate
        minutes: 30
        summary: S
        outcomes: [Do a thing]
        reflections:
          - {id: r, title: R, prompt: P}
          - {id: r, title: R2, prompt: P2}
        vignettes:
          - vignettes/missing.yaml
        """)
    )
    with pytest.raises(ContentError) as info:
        load_module(tmp_path)
    found = [str(p) for p in info.value.problems]
    assert any(":10: reflections.1.id: duplicate id 'r'" in p for p in found)
    assert any(":12: vignettes.0: no such file 'vignettes/missing.yaml'" in p for p in found)


def test_module_stream_must_be_known(tmp_path: Path) -> None:
    (tmp_path / "module.yaml").write_text(
        "id: m\ntitle: M\nstream: astrology\nstage: cpd\nminutes: 5\nsummary: S\noutcomes: [x]\n"
    )
    with pytest.raises(ContentError) as info:
        load_module(tmp_path)
    (problem,) = info.value.problems
    assert problem.line == 3 and problem.field == "stream" and "must be one of" in problem.message


MODULE = """\
id: m
title: M
stream: postgraduate
stage: foundation-doctor
minutes: 30
summary: S
facilitator_notes: notes.md
outcomes:
  - text: Do a thing
    maps_to: [gmp-patients, gmp-nonsense]
self_check:
  - id: q
    question: Which?
    options: [a, b]
    answer: 2
    explanation: Because.
"""


def test_curriculum_fields_are_validated(tmp_path: Path) -> None:
    (tmp_path / "module.yaml").write_text(MODULE)
    with pytest.raises(ContentError) as info:
        load_module(tmp_path)
    found = {(p.line, p.field) for p in info.value.problems}
    assert (10, "outcomes.0.maps_to.1") in found
    assert (15, "self_check.0.answer") in found


def test_missing_facilitator_notes_is_reported(tmp_path: Path) -> None:
    text = MODULE.replace(", gmp-nonsense", "").replace("answer: 2", "answer: 1")
    (tmp_path / "module.yaml").write_text(text)
    with pytest.raises(ContentError) as info:
        load_module(tmp_path)
    (problem,) = info.value.problems
    assert (problem.line, problem.field) == (7, "facilitator_notes")
    (tmp_path / "notes.md").write_text("Notes")
    module = load_module(tmp_path)
    assert module.spec.outcomes[0].maps_to == ["gmp-patients"]


def test_content_errors_belong_to_the_one_tree(tmp_path: Path) -> None:
    """A caller catches CoursewareError once; a refused learner action is a Refused (and still the
    ValueError it always was)."""
    from courseware.content import ChoiceNotOffered, NotAllowed, ScaffoldError
    from courseware.errors import CoursewareError, Refused

    with pytest.raises(CoursewareError):
        load_vignette(write(tmp_path, GOOD.replace("to: b", "to: nowhere")))
    walk = load_vignette(write(tmp_path, GOOD, "good.yaml")).walk()
    with pytest.raises(Refused):
        walk.choose(5)
    assert issubclass(ChoiceNotOffered, Refused) and issubclass(NotAllowed, Refused)
    assert issubclass(ScaffoldError, CoursewareError) and issubclass(ContentError, ValueError)
