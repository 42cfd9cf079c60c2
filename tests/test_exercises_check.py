"""``courseware check`` on exercise files and the notebook calls that show them: every problem as
``FILE:LINE: message``. Also the model rules that need no widget: privacy and the export."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import run_check

from courseware.content import ContentError, check_paths, load_module
from courseware.content._exercises import load_exercise
from courseware.content._portfolio import PortfolioEntry, render_portfolio
from courseware.content._privacy import find_identifiers, nhs_number_valid

from conftest import REPO

GALLERY = REPO / "docs" / "widget-gallery"


@pytest.fixture
def module(tmp_path: Path) -> Path:
    copy = tmp_path / "widget-gallery"
    shutil.copytree(GALLERY, copy)
    return copy


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def messages(path: Path) -> list[str]:
    return [str(p) for p in check_paths([path])]


def test_schema_errors_name_file_line_and_field(module: Path) -> None:
    path = module / "exercises" / "first-reply.yaml"
    text = path.read_text()
    path.write_text(text.replace("techniques: [naming]", "techniques: [nameing]"))
    (problem,) = messages(path)
    assert (
        f":{line_of(path, '[nameing]')}: options.0.techniques.0: unknown technique 'nameing'"
        in (problem)
    )
    path.write_text(text.replace("    best: true\n", ""))
    (problem,) = messages(path)
    assert (
        problem
        == f"{path}:{line_of(path, 'options:')}: options: mark at least one option 'best: true'"
    )


def test_unknown_type_and_id_mismatch(module: Path) -> None:
    path = module / "exercises" / "waiting-write.yaml"
    path.write_text(path.read_text().replace("type: timed-write", "type: timed-essay"))
    (problem,) = messages(path)
    assert problem.startswith(f"{path}:{line_of(path, 'type:')}: type: must be one of:")
    renamed = module / "exercises" / "other-name.yaml"
    shutil.copy(module / "exercises" / "close-reading.yaml", renamed)
    (problem,) = messages(renamed)
    assert f"{renamed}:1: id: id 'close-reading' differs from the file name 'other-name'" == problem


def test_two_writing_boxes_with_one_id_are_refused(module: Path) -> None:
    """A parallel chart's sections and a reflection's parts are the same kind of box, saved under
    its id: two with one id are refused at the list's line, in either place."""
    chart = module / "exercises" / "parallel-chart.yaml"
    box = "  - id: same\n    title: A box\n    prompt: Write.\n"
    chart.write_text(chart.read_text() + "sections:\n" + box + box)
    (problem,) = messages(chart)
    assert problem == (
        f"{chart}:{line_of(chart, 'sections:')}: sections: each box needs its own id "
        "(the learner's writing is saved under it)"
    )
    yaml = module / "module.yaml"
    part = "      - id: same\n        title: A box\n        prompt: Write.\n"
    parts = "    parts:\n" + part + part
    yaml.write_text(yaml.read_text().replace("    structure: what-so-what-now-what\n", parts))
    assert (
        f"{yaml}:{line_of(yaml, 'parts:')}: reflections.0.parts: each box needs its own id "
        "(the learner's writing is saved under it)"
    ) in messages(yaml)


def test_likert_anchors_and_scoring_key_must_agree(module: Path) -> None:
    path = module / "exercises" / "confidence.yaml"
    text = path.read_text()
    path.write_text(text.replace("    5: Completely confident\n", ""))
    (problem,) = messages(path)
    assert f":{line_of(path, 'response:')}: response: label both ends of the scale" in problem
    path.write_text(
        text.replace('  - id: "8"', '  - id: "9"').replace(
            "    text: Asking about", "    reverse: true\n    text: Asking about"
        )
    )
    found = messages(path)
    items = line_of(path, "items:")
    assert any(
        f":{items}: items: the scoring key 'communication-confidence' has items" in m for m in found
    )
    assert any(
        f":{items}: items: reverse-keyed items differ" in m and "here: 4" in m for m in found
    )


def test_exercise_id_must_not_collide_with_a_vignette(module: Path) -> None:
    shutil.copy(
        module / "exercises" / "waiting-write.yaml", module / "exercises" / "night-call.yaml"
    )
    text = (module / "exercises" / "night-call.yaml").read_text()
    (module / "exercises" / "night-call.yaml").write_text(
        text.replace("id: waiting-write", "id: night-call")
    )
    with pytest.raises(ContentError) as info:
        load_module(module)
    assert any(
        "exercise 'night-call' has the same id as a vignette" in str(p) for p in info.value.problems
    )


def test_notebook_calls_are_checked(module: Path) -> None:
    notebook = module / "module.ipynb"
    nb = json.loads(notebook.read_text())
    calls = [c for c in nb["cells"] if "module.exercise(" in "".join(c["source"])]
    calls[0]["source"] = ['module.exercise("no-such-exercise")']
    calls[1]["source"] = ['module.exercise("compose-reply", wave="post")']
    calls[2]["source"] = ['module.exercise("confidence", wave="After the course!")']
    calls[3]["source"] = ["module.exercise(name)"]
    notebook.write_text(json.dumps(nb, indent=1))
    result = run_check(module)
    assert result.returncode == 1
    out = result.stdout
    assert (
        "module 'widget-gallery' has no exercise 'no-such-exercise' (it has: close-reading," in out
    )
    assert (
        "exercise 'compose-reply' (compose-response) takes no option 'wave' (options: none)" in out
    )
    assert "wave must be a short quoted name" in out
    assert "give the exercise id as a quoted string" in out
    lines = [line for line in out.splitlines() if ": warning: " not in line]  # teaching warnings
    assert len(lines) == 4 and all(line.split(":")[1].isdigit() for line in lines), lines


def test_every_exercise_file_in_the_gallery_loads() -> None:
    for path in sorted((GALLERY / "exercises").glob("*.yaml")):
        assert load_exercise(path).id == path.stem


@pytest.mark.parametrize(
    ("digits", "valid"),
    [("9434765919", True), ("9434765918", False), ("4010232137", True), ("1234567890", False)],
)
def test_nhs_number_modulus_11(digits: str, valid: bool) -> None:
    assert nhs_number_valid(digits) is valid


def test_identifiers_found_and_ordinary_text_left_alone() -> None:
    text = (
        "Mrs Jones (NHS 943-476-5919) of SW1A 1AA, DOB 1 April 1950, and 10/11/49; "
        "not 943 476 5918, not Mrs X."
    )
    kinds = [(i.kind, i.text) for i in find_identifiers(text)]
    assert kinds == [
        ("name", "Mrs Jones"),
        ("nhs-number", "943-476-5919"),
        ("postcode", "SW1A 1AA"),
        ("date", "DOB"),
        ("date", "1 April 1950"),
        ("date", "10/11/49"),
    ]
    plain = "I felt the patient's fear at 3 pm and stayed for 10 minutes. The doctor listened."
    assert find_identifiers(plain) == []


def test_portfolio_rendering_escapes_everything() -> None:
    entry = PortfolioEntry(
        "m", "r", "<b>Title</b>", '=HYPERLINK("x") <img src=x onerror=alert(1)>', 0.0
    )
    markdown = render_portfolio([entry], "markdown")
    html = render_portfolio([entry], "html")
    assert "<img" not in markdown and "&lt;img" in markdown and "&lt;b&gt;Title" in markdown
    assert "<img" not in html and "<b>" not in html and "=HYPERLINK(&quot;x&quot;)" in html
