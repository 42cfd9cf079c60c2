"""Course files: credits and hours agree, weights add up, every module and assignment exists."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from courseware.content import ContentError
from courseware.content._course import find_courses, load_course

from conftest import REPO

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
    result = subprocess.run(
        [sys.executable, "-m", "courseware.cli", "check", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
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
    assert len(links) == 4 and "creative-and-reflective-writing/module.ipynb" in links[0]
    assert "15 credits" in card and "150 notional hours" in card
    assert 'href="/voila/render/my-progress.ipynb"' in html
    assert 'data-course="' not in render_gallery(REPO / "modules", query="nurse")
