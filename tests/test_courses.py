"""Course files: credits and hours agree, weights add up, every module and assignment exists."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from helpers import run_check, run_courseware
from markupsafe import escape

from courseware.content import ContentError
from courseware.content._course import find_courses, load_course

from conftest import FIXTURES, REPO

COURSE = """\
id: demo-course
title: Demo course
award: cpd-course
summary: A short course.
audience: Clinicians
modules: [what-is-clinical-empathy, what-is-clinical-empathy]
notional_hours: 100
credits: 15
outcomes:
  - Reflect on practice
assessment:
  - assignment: essay
    title: An essay
    weight: 60
"""


def write_course(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "courses"
    folder.mkdir(exist_ok=True)
    path = folder / "demo-course.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_inconsistent_course_lists_every_problem(tmp_path: Path) -> None:
    with pytest.raises(ContentError) as info:
        load_course(write_course(tmp_path, COURSE))
    found = {(p.line, p.field): p.message for p in info.value.problems}
    assert "150 notional hours" in found[(8, "credits")]
    assert "listed twice" in found[(6, "modules.1")]
    assert "weights add up to 60, not 100" in found[(11, "assessment")]


def test_check_finds_unknown_modules_and_assignments(tmp_path: Path) -> None:
    text = (
        COURSE.replace(
            "what-is-clinical-empathy, what-is-clinical-empathy", "what-is-clinical-empathy, ghost"
        )
        .replace("credits: 15", "credits: 10")
        .replace("weight: 60", "weight: 100")
    ) + "fheq_level: 6\n"  # assessed work states its academic level
    path = write_course(tmp_path, text)
    result = run_check(tmp_path)
    assert result.returncode == 1
    assert f"{path}:6: modules.1: no module with id 'ghost'" in result.stdout
    assert f"{path}:12: assessment.0.assignment: no assignment 'essay'" in result.stdout


def test_shipped_courses_load_and_name_real_modules() -> None:
    courses = [load_course(p) for p in find_courses(REPO)]
    awards = {c.spec.award for c in courses}
    assert {"undergraduate-thread"} <= awards
    titles = " ".join(c.spec.title for c in courses)
    assert "Creative Medicine" in titles and "Medical Humanities" in titles
    for course in courses:
        if course.spec.credits is not None:
            assert course.spec.credits * 10 == course.spec.notional_hours


def test_gallery_shows_courses_as_pathways_and_links_progress() -> None:
    from courseware.apps._gallery import render_gallery

    html = render_gallery(REPO / "modules")
    for course in (load_course(p) for p in find_courses(REPO)):
        assert f'data-course="{course.id}"' in html
    start = html.index('data-course="creative-medicine-cpd"')
    card = html[start : html.index("</li>\n", html.index("</ol>", start))]
    links = [line for line in card.split("<li>") if "voila/render/" in line]
    creative = load_course(REPO / "courses" / "creative-medicine-cpd.yaml").spec
    assert len(links) == len(creative.modules) >= 4
    assert "creative-and-reflective-writing/module.ipynb" in links[0]
    assert "15 credits" in card and "150 notional hours" in card
    assert 'href="/voila/render/my-progress.ipynb"' in html
    assert 'data-course="' not in render_gallery(REPO / "modules", query="nurse")


# -- hours, tariff and parts -------------------------------------------------------------------

MSC = """\
id: demo-course
title: Demo MSc module
award: msc-module
summary: A short course.
audience: Clinicians
modules: [demo]
notional_hours: 150
credits: 15
fheq_level: 7
hours:
  module_study: 30
  directed_reading: 50
  seminars: 20
  assessment: 40
outcomes:
  - Reflect on practice
assessment:
  - title: An essay
    weight: 60
    size:
      words: 1500
  - title: A portfolio
    weight: 40
    size:
      form: portfolio
      words: 1000
"""


def problems_of(path: Path) -> dict[tuple[int, str], str]:
    with pytest.raises(ContentError) as info:
        load_course(path)
    return {(p.line, p.field): p.message for p in info.value.problems}


def line(text: str, start: str, after: str = "") -> int:
    """1-based number of the first line starting (after stripping) with ``start``, below ``after``."""
    lines = text.splitlines()
    first = next(i for i, s in enumerate(lines) if s.strip().startswith(after)) if after else 0
    return next(i for i, s in enumerate(lines) if i >= first and s.strip().startswith(start)) + 1


EQUIVALENT = "      words: 1000\n      equivalence: Two case write-ups of 500 words.\n"


def test_msc_hours_that_do_not_add_up_and_a_portfolio_without_equivalence(tmp_path: Path) -> None:
    found = problems_of(write_course(tmp_path, MSC))
    assert found[(line(MSC, "size:", "- title: A portfolio"), "assessment.1.size.equivalence")] == (
        "a portfolio counts against the tariff as 1000 words only with its equivalence stated "
        "(what is submitted, and how it adds up to that many words)"
    )
    stated = MSC.replace("      words: 1000\n", EQUIVALENT)
    found = problems_of(write_course(tmp_path, stated))
    assert found == {
        (line(stated, "hours:"), "hours"): "module study 30 + directed reading 50 + seminars 20 "
        "+ assessment 40 = 140 hours, not the 150 notional hours",
        (line(stated, "assessment:", "outcomes"), "assessment"): "the assessment adds up to 2,500 "
        "words or equivalent; the tariff for 15 credits at level 7 is 3,000 to 4,000",
    }
    fixed = stated.replace("assessment: 40", "assessment: 50").replace("words: 1500", "words: 2500")
    hours = load_course(write_course(tmp_path, fixed)).spec.hours
    assert hours is not None and hours.total == 150
    over = fixed.replace("words: 2500", "words: 3500")
    assert (
        "adds up to 4,500 words"
        in problems_of(write_course(tmp_path, over))[
            (line(over, "assessment:", "outcomes"), "assessment")
        ]
    )


def test_the_tariff_is_the_one_for_the_course_s_own_level(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not only an MSc module: any course that states its credits, level and sizes is held to the
    tariff of *its* FHEQ level, and the message names that level."""
    import courseware.content._course as course

    stated = MSC.replace("      words: 1000\n", EQUIVALENT).replace(
        "assessment: 40", "assessment: 50"
    )
    postgraduate = stated.replace("award: msc-module", "award: postgraduate-course")
    assert problems_of(write_course(tmp_path, postgraduate)) == {
        (line(postgraduate, "assessment:", "outcomes"), "assessment"): "the assessment adds up to "
        "2,500 words or equivalent; the tariff for 15 credits at level 7 is 3,000 to 4,000",
    }
    # A level with no tariff is not held to level 7's.
    level_6 = postgraduate.replace("fheq_level: 7", "fheq_level: 6")
    assert load_course(write_course(tmp_path, level_6)).spec.fheq_level == 6
    # A level with a tariff of its own is held to that one.
    monkeypatch.setitem(course.WORD_TARIFF, 6, (2000, 2400))
    assert problems_of(write_course(tmp_path, level_6)) == {
        (line(level_6, "assessment:", "outcomes"), "assessment"): "the assessment adds up to "
        "2,500 words or equivalent; the tariff for 15 credits at level 6 is 2,000 to 2,400",
    }


def test_credits_times_ten_and_an_msc_module_states_hours_and_sizes(tmp_path: Path) -> None:
    text = (
        MSC.replace("notional_hours: 150", "notional_hours: 140")
        .replace("hours:\n  module_study: 30\n  directed_reading: 50\n", "")
        .replace("  seminars: 20\n  assessment: 40\n", "")
        .replace("    size:\n      words: 1500\n", "")
        .replace("      words: 1000\n", EQUIVALENT)
    )
    found = problems_of(write_course(tmp_path, text))
    assert found[(line(text, "credits:"), "credits")].startswith(
        "15 credits means 150 notional hours (1 credit = 10 hours), not 140"
    )
    assert (
        "says where its notional hours go"
        in found[(line(text, "notional_hours"), "notional_hours")]
    )
    assert "state the component's size" in found[(line(text, "- title: An essay"), "assessment.0")]


def test_a_presentation_gives_its_minutes(tmp_path: Path) -> None:
    text = MSC.replace("form: portfolio", "form: presentation").replace(
        "      words: 1000\n", EQUIVALENT
    )
    found = problems_of(write_course(tmp_path, text))
    where = line(text, "size:", "- title: A portfolio")
    assert found == {
        (where, "assessment.1.size.minutes"): "give the presentation's length in minutes"
    }


def test_module_study_less_than_the_modules_minutes_is_reported_by_check(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "modules" / "demo", tmp_path / "modules" / "demo")  # 10 minutes
    text = (
        MSC.replace("module_study: 30", "module_study: 0.1")
        .replace("assessment: 40", "assessment: 79.9")
        .replace("words: 1500", "words: 2500")
        .replace("      words: 1000\n", EQUIVALENT)
    )
    path = write_course(tmp_path, text)
    result = run_check(tmp_path / "courses")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{path}:{line(text, 'module_study')}: hours.module_study: the modules' minutes add up to "
        "0.2 hours, more than the 0.1 hours of module study"
    ]
    path.write_text(text.replace("module_study: 0.1", "module_study: 0.2").replace("79.9", "79.8"))
    fixed = run_check(tmp_path / "courses")
    assert fixed.returncode == 0, fixed.stdout


PARTS = """\
id: demo-course
title: Demo thread
award: undergraduate-thread
summary: A thread in two years.
audience: Students
parts:
  - title: Year 1
    modules: [demo, ghost]
  - title: Year 2
    summary: The second year.
    modules: [demo]
notional_hours: 10
outcomes:
  - Reflect on practice
"""


def test_parts_are_the_course_modules_in_order_and_checked_at_their_lines(tmp_path: Path) -> None:
    found = problems_of(write_course(tmp_path, PARTS))
    assert found == {(11, "parts.1.modules.0"): "module 'demo' is listed twice"}
    module = tmp_path / "modules" / "foundation-year" / "demo"
    shutil.copytree(FIXTURES / "modules" / "demo", module)
    path = write_course(tmp_path, PARTS.replace("modules: [demo]\n", "modules: [other]\n"))
    course = load_course(path)
    assert course.spec.modules == ["demo", "ghost", "other"]
    assert [p.title for p in course.spec.parts] == ["Year 1", "Year 2"]
    result = run_check(tmp_path / "courses")
    assert f"{path}:8: parts.0.modules.1: no module with id 'ghost'" in result.stdout
    assert f"{path}:11: parts.1.modules.0: no module with id 'other'" in result.stdout
    both = PARTS.replace("notional_hours: 10", "modules: [demo]\nnotional_hours: 10")
    assert (
        "in parts or in modules, not both"
        in problems_of(write_course(tmp_path, both))[(6, "parts")]
    )
    neither = PARTS[: PARTS.index("parts:")] + PARTS[PARTS.index("notional_hours") :]
    assert problems_of(write_course(tmp_path, neither)) == {
        (1, "modules"): "list the course's modules (in modules, or in parts)"
    }


def small_curriculum(tmp_path: Path, *modules: str) -> Path:
    """``modules/`` with copies of the demo module (each case given a setting) and a register."""
    root = tmp_path / "modules"
    for name in modules:
        folder = root / "foundation-year" / name
        shutil.copytree(FIXTURES / "modules" / "demo", folder)
        yaml = folder / "module.yaml"
        yaml.write_text(yaml.read_text().replace("id: demo", f"id: {name}", 1))
        case = folder / "vignettes" / "waiting-room.yaml"
        case.write_text(case.read_text() + "setting: general-practice\n")
        notebook = folder / "module.ipynb"
        notebook.write_text(notebook.read_text().replace("module/demo", f"module/{name}"))
    (root / "people.yaml").write_text("people: []\n")
    return root


def test_a_module_in_no_course_is_a_warning_at_its_module_yaml(tmp_path: Path) -> None:
    root = small_curriculum(tmp_path, "demo", "lonely")
    one_part = PARTS.replace("[demo, ghost]", "[demo]").replace(
        "  - title: Year 2\n    summary: The second year.\n    modules: [demo]\n", ""
    )
    course = write_course(tmp_path, one_part)
    lonely = root / "foundation-year" / "lonely" / "module.yaml"
    warning = (
        f"{lonely}:1: warning: id: module 'lonely' belongs to no course: add it to a course in "
        "courses/ (under modules: or in one of its parts)"
    )
    plain = run_check(root)
    assert plain.returncode == 0, plain.stdout + plain.stderr  # a warning, not an error
    assert [line for line in plain.stdout.splitlines() if "no course" in line] == [warning]
    strict = run_check("--strict", root)
    assert strict.returncode == 1 and warning in strict.stdout.splitlines()
    assert "(--strict: warnings fail)" in strict.stderr
    # Checking one module is not checking the curriculum: no course is expected of it.
    assert "belongs to no course" not in run_check("--strict", lonely.parent).stdout
    course.write_text(one_part.replace("[demo]", "[demo, lonely]"))
    assert "belongs to no course" not in run_check(root).stdout


def test_shipped_courses_account_for_their_hours() -> None:
    """Every shipped course says where its hours go; MSc modules are sized to the tariff."""
    from courseware.content._course import tariff_words

    courses = {c.id: c.spec for c in (load_course(p) for p in find_courses(REPO))}
    for spec in courses.values():
        assert spec.hours is not None and spec.hours.total == spec.notional_hours, spec.id
        if spec.award == "msc-module":
            assert spec.credits == 15 and spec.notional_hours == 150
            low, high = tariff_words(15, spec.fheq_level or 0) or (0, 0)
            assert low <= sum(a.size.words for a in spec.assessment if a.size) <= high
    assert {"foundation-year-empathy", "mbchb-empathy-spiral"} <= courses.keys()
    assert {
        "specialty-training-clinical-empathy",
        "clinical-empathy-refresher-cpd",
    } <= courses.keys()
    spiral = courses["mbchb-empathy-spiral"]
    assert [p.title.split(":")[0] for p in spiral.parts] == [f"Year {n}" for n in range(1, 6)]
    assert all(len(p.modules) >= 2 for p in spiral.parts)


def test_every_shipped_module_belongs_to_a_course() -> None:
    from courseware.content import find_modules, load_module
    from courseware.content._course import modules_in_no_course

    assert modules_in_no_course(REPO / "modules") == []
    listed = {m for p in find_courses(REPO) for m in load_course(p).spec.modules}
    assert {load_module(d).spec.id for d in find_modules(REPO / "modules")} <= listed


def test_the_gallery_shows_every_course_with_its_parts() -> None:
    from courseware.apps._gallery import render_gallery

    html = render_gallery(REPO / "modules")
    for course in (load_course(p).spec for p in find_courses(REPO)):
        start = html.index(f'data-course="{course.id}"')
        card = html[start : html.index("\n    </li>", start)]
        assert f"{course.notional_hours} notional hours" in card
        if course.hours is not None:
            assert f"module study {course.hours.module_study:g} · directed reading" in card
        position = 0
        for number, part in enumerate(course.parts, 1):
            heading = card.index(f'id="part-{course.id}-{number}">{escape(part.title)}</h4>')
            listing = card[heading : card.index("</ol>", heading)]
            assert f'aria-labelledby="part-{course.id}-{number} course-{course.id}"' in listing
            assert listing.count("<li>") == len(part.modules)
            assert heading > position
            position = heading
        links = [line for line in card.split("<li>")[1:]]
        assert len(links) == len(course.modules)


def test_link_gives_a_course_with_parts_one_link_per_module_in_order() -> None:
    """``courseware link COURSE`` on a course in parts: every module in order, each part named."""
    result = run_courseware(
        *("link", "mbchb-empathy-spiral"),
        *("--hub", "https://hub.example.org", "--repo", "https://git.example.org/c.git"),
        timeout=120,
    )
    spiral = load_course(REPO / "courses" / "mbchb-empathy-spiral.yaml").spec
    urls = result.stdout.split()
    assert [u.split("urlpath=courseware%2Fmodule%2F")[1] for u in urls] == spiral.modules
    told = result.stderr.splitlines()
    assert [line for line in told if line.startswith("[")] == [f"[{p.title}]" for p in spiral.parts]
    assert told.index(f"[{spiral.parts[1].title}]") == len(spiral.parts[0].modules) + 1


def test_the_authoring_guides_course_examples_are_valid(tmp_path: Path) -> None:
    """docs/authoring.md, "Courses": the course file and the parts example load and link."""
    from courseware.content._check import check_paths

    guide = (REPO / "docs" / "authoring.md").read_text(encoding="utf-8")
    section = guide[guide.index("## Courses (`courses/<id>.yaml`)") :]
    course, parts = (block.split("\n", 1)[1] for block in section.split("```yaml")[1:3])
    course = course[: course.index("```")]
    parts = parts[: parts.index("```")]
    folder = tmp_path / "courses"
    folder.mkdir()
    (folder / "creative-medicine-cpd.yaml").write_text(course, encoding="utf-8")
    spec = load_course(folder / "creative-medicine-cpd.yaml").spec
    assert spec.hours is not None and spec.hours.total == spec.notional_hours == 150
    assert [str(p) for p in check_paths([folder])] == []
    in_parts = course[: course.index("modules:")] + parts + course[course.index("notional_hours") :]
    (folder / "creative-medicine-cpd.yaml").write_text(in_parts, encoding="utf-8")
    assert load_course(folder / "creative-medicine-cpd.yaml").spec.modules == [
        "what-is-clinical-empathy",
        "empathic-opportunities-and-cues",
        "responding-with-nurse",
        "culture-language-and-communities",
    ]
    assert [str(p) for p in check_paths([folder])] == []
