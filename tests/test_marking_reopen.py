"""A marker re-opens a script they marked in the browser marking view, and hostile posts get 4xx.

The real thing, as in test_hub_tutor_grading: JupyterHub with configurable-http-proxy, course101's
formgrader as a hub service (the marking extension inside it), nbgrader's autograde and the
courseware command line, Debian's Chromium signed in at the hub. Two essays are placed in
``submitted/`` by hand (a supported way in, docs/grading.md §3), so no learner server is needed.
"""

from __future__ import annotations

import html
import json
import re
import sqlite3
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from browser_helpers import describe
from fixtures.hub.hubtest import Hub, http
from playwright.sync_api import Page, expect
from test_hub_tutor_grading import (
    ASSIGNMENT,
    COURSE,
    ESSAY,
    course_folder,
    courseware_grade,
    manual_score,
    nbgrader,
    post_form,
    sign_in,
)

from courseware.grading._marking import MarkingBook
from courseware.grading._rubric import Rubric, load_rubric

from conftest import REPO

pytestmark = pytest.mark.hub

ESSAYS = {"s01": ESSAY, "s02": "I listened, and she talked about her son."}
MARKUP = "<script>alert(1)</script><img src=x onerror=alert(1)> & =1+1 \u00e9\U0001f600"


@dataclass
class Course:
    hub: Hub
    root: Path
    scripts: list[str]  # both scripts, allocated to "tutor" for first marking, sorted by id
    students: dict[str, str]  # script -> student (for the test's own checks, never shown)
    rubric: Rubric


@pytest.fixture(scope="module")
def course(postgres: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Course]:
    root = tmp_path_factory.mktemp("reopen-hub")
    folder, exchange, hub_wide = course_folder(root)
    released = folder / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    for student, essay in ESSAYS.items():
        nb = json.loads(released.read_text())
        for cell in nb["cells"]:
            if cell["metadata"].get("nbgrader", {}).get("grade_id") == "essay":
                cell["source"] = essay
        target = folder / "submitted" / student / ASSIGNMENT
        target.mkdir(parents=True)
        (target / released.name).write_text(json.dumps(nb))
    done = nbgrader(folder, "autograde", ASSIGNMENT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    courseware_grade(
        folder,
        *("scripts", ASSIGNMENT, "--rubric", "reflect", "--cell", "essay"),
        *("--course-file", str(REPO / "courses" / "creative-medicine-cpd.yaml")),
    )
    courseware_grade(folder, "allocate", ASSIGNMENT, "--role", "first", "--markers", "tutor")
    with MarkingBook(folder / "marking.sqlite") as book:
        scripts = book.scripts(ASSIGNMENT)
    hub = Hub(
        root / "hub",
        database_url=postgres.create_database(f"reopen_{uuid.uuid4().hex[:8]}"),
        groups={f"formgrade-{COURSE}": ["tutor", "tutor2"]},
        courses=[COURSE],
        formgraders={COURSE: folder},
        env={"COURSEWARE_TEST_JUPYTER_CONFIG": str(hub_wide), "NBGRADER_EXCHANGE": str(exchange)},
    ).start()
    for user in ("tutor", "tutor2"):
        hub.ensure_user(user)
    try:
        yield Course(
            hub,
            folder,
            [s.script for s in scripts],
            {s.script: s.student for s in scripts},
            load_rubric(folder / "rubrics" / "reflect.yaml"),
        )
    finally:
        hub.stop()


def history(course: Course) -> tuple[Any, ...]:
    """Everything the book holds about marks: every mark row, every re-mark, every agreed mark."""
    with sqlite3.connect(course.root / "marking.sqlite") as db:
        return tuple(
            db.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
            for table in ("marks", "remarks", "agreed")
        )


@pytest.mark.browser
@pytest.mark.timeout(600)
def test_a_marker_reopens_and_changes_their_mark_until_it_is_agreed(
    course: Course, page: Page
) -> None:
    first, waiting = course.scripts
    rubric, service = course.rubric, f"{course.hub.url}/services/{COURSE}"
    # The tutor first-marked one script on the command line: thoughtful action throughout.
    courseware_grade(
        course.root,
        *("mark", ASSIGNMENT, "--marker", "tutor", "--script", first),
        *(f"--level={c.id}=thoughtful" for c in rubric.criteria),
        "--level=overall=thoughtful",
        f"--comment={rubric.criteria[0].id}={MARKUP}",
        "--overall=Honest; say what you would do next time.",
    )
    sign_in(page, course.hub, "tutor")

    # The queue page: the next script's form, and "Marked by you" with the marked script's id.
    page.goto(f"{service}/marking/{ASSIGNMENT}")
    expect(page.get_by_role("heading", name=f"Script {waiting}")).to_be_visible()
    marked = page.get_by_role("region", name="Marked by you")
    expect(marked.get_by_role("link")).to_have_count(1)
    main = page.inner_text("main")
    assert all(student not in main for student in course.students.values())  # blind
    assert MARKUP not in main  # never a mark's comment on the queue page
    violations = Axe().run(page).response["violations"]
    assert not violations, describe(violations)

    # Keyboard only: open the marked script from the list.
    marked.get_by_role("link", name=first).focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{service}/marking/{ASSIGNMENT}/{first}")
    expect(page.get_by_role("heading", name=f"Script {first}")).to_be_visible()
    expect(page.locator(".script")).to_contain_text(ESSAYS[course.students[first]].splitlines()[0])
    # The saved mark is in the form: each criterion's level checked, comments in their boxes,
    # the markup shown as text.
    for criterion in rubric.criteria:
        group = page.get_by_role("group", name=criterion.name)
        expect(group.get_by_role("radio", name=re.compile("^Thoughtful action"))).to_be_checked()
    overall = page.get_by_role("group", name=re.compile("^Overall level"))
    expect(overall.get_by_role("radio").nth(1)).to_be_checked()
    comment = page.get_by_label(f"Comment on {rubric.criteria[0].name} (optional)")
    expect(comment).to_have_value(MARKUP)
    expect(page.get_by_label("Overall comment")).to_have_value(
        "Honest; say what you would do next time."
    )
    assert page.locator("main img, main script").count() == 0
    assert page.title() == f"Marking {ASSIGNMENT}"
    violations = Axe().run(page).response["violations"]
    assert not violations, describe(violations)

    # Change it with the keyboard: one level up on every criterion and overall, then save.
    page.get_by_role("group", name=rubric.criteria[0].name).get_by_role("radio").nth(1).focus()
    for number, criterion in enumerate(rubric.criteria):
        group = page.get_by_role("group", name=criterion.name)
        if number:
            page.keyboard.press("Tab")  # from the last comment box to the group's checked level
        expect(group.get_by_role("radio").nth(1)).to_be_focused()
        page.keyboard.press("ArrowRight")
        expect(group.get_by_role("radio").nth(2)).to_be_checked()
        page.keyboard.press("Tab")
        expect(page.get_by_label(f"Comment on {criterion.name} (optional)")).to_be_focused()
    page.keyboard.press("Tab")
    expect(overall.get_by_role("radio").nth(1)).to_be_focused()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Tab")  # learning: not judged below critical reflection
    page.keyboard.press("Tab")
    expect(page.get_by_label("Overall comment")).to_be_focused()
    page.keyboard.press("End")
    page.keyboard.type(" Better on reading it again.")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Save changed mark")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text(
        f"Saved your changed mark for {first}: 10, Reflection. Your earlier mark is kept"
    )
    expect(page.get_by_role("heading", name=f"Script {waiting}")).to_be_visible()

    # The change went through record_mark: a new mark, the earlier one kept, the re-mark recorded.
    with MarkingBook(course.root / "marking.sqlite") as book:
        mark = book.marks(ASSIGNMENT)[first]["first"]
        (remark,) = book.remarks(ASSIGNMENT)
    assert mark.marker == "tutor"
    assert mark.levels == {c.id: "reflection" for c in rubric.criteria}
    assert (mark.overall, mark.learning) == ("reflection", None)
    assert mark.comments == {rubric.criteria[0].id: MARKUP}  # stored intact
    assert mark.comment == "Honest; say what you would do next time. Better on reading it again."
    assert (remark.script, remark.marker, remark.old_level, remark.new_level) == (
        first,
        "tutor",
        "thoughtful",
        "reflection",
    )
    marks, _, _ = history(course)
    assert len(marks) == 2

    # Moderation agrees it: re-opening shows the mark read-only and says why, and who can change it.
    courseware_grade(course.root, "moderate", ASSIGNMENT)
    page.goto(f"{service}/marking/{ASSIGNMENT}/{first}")
    note = page.get_by_role("note")
    expect(note).to_have_text(
        f"Your mark is read-only because the marks for {first} have been agreed at moderation; "
        f"only the moderator can change it now, on the command line (courseware grade mark "
        f"{ASSIGNMENT} --marker tutor --script {first}, then courseware grade moderate "
        f"{ASSIGNMENT} --write)."
    )
    expect(page.get_by_role("radio")).to_have_count(0)
    expect(page.get_by_role("textbox")).to_have_count(0)
    expect(page.locator("main dl")).to_contain_text(MARKUP)  # as text
    violations = Axe().run(page).response["violations"]
    assert not violations, describe(violations)

    courseware_grade(course.root, "moderate", ASSIGNMENT, "--write")
    assert manual_score(course.root, course.students[first]) == 10.0
    page.reload()
    expect(page.get_by_role("note")).to_contain_text(
        f"because the agreed mark for {first} has been written to the gradebook"
    )
    page.goto(f"{service}/marking/{ASSIGNMENT}")
    expect(page.get_by_role("region", name="Marked by you")).to_contain_text(
        f"{first} (agreed: read-only)"
    )

    # A post that tries anyway (with a good XSRF token, from the queue page's form) is refused.
    token = page.locator("input[name=_xsrf]").get_attribute("value") or ""
    levels = {f"level-{c.id}": "habitual" for c in rubric.criteria}
    before = history(course)
    url = f"{service}/marking/{ASSIGNMENT}"
    tried = page.request.post(
        url, form={"_xsrf": token, "script": first, **levels, "level-overall": "habitual"}
    )
    assert tried.status == 409, tried.text()
    assert "Not saved: your mark is read-only because the agreed mark" in tried.text()
    # Without the XSRF token, or with another one, nothing is read at all.
    for form in ({"script": waiting, **levels}, {"_xsrf": "2|00|00|00", "script": waiting}):
        forged = page.request.post(url, form=form, max_redirects=0)
        assert forged.status == 403, forged.text()
        assert "security token (XSRF) is missing or does not match" in forged.text()
    assert history(course) == before
    assert manual_score(course.root, course.students[first]) == 10.0


def test_hostile_requests_get_a_clear_4xx_and_record_nothing(course: Course) -> None:
    hub, rubric = course.hub, course.rubric
    _, script = course.scripts  # unmarked, allocated to tutor
    base = f"{hub.url}/services/{COURSE}/marking/{ASSIGNMENT}"
    token = hub.token("tutor")
    levels = {
        **{f"level-{c.id}": "thoughtful" for c in rubric.criteria},
        "level-overall": "thoughtful",
    }

    def form(**fields: str) -> bytes:
        return urllib.parse.urlencode({"script": script, **levels, **fields}).encode()

    name = rubric.criteria[0].name
    megabyte = MARKUP + "x" * (2**20 - len(MARKUP))  # a 1 MB paste, with markup in it
    too_long = megabyte + "y"
    cases: dict[str, tuple[bytes, int, str]] = {
        "missing criterion": (
            urllib.parse.urlencode({"script": script, **dict(list(levels.items())[1:])}).encode(),
            400,
            f"choose a level for {name}",
        ),
        "level not in the rubric": (
            form(**{f"level-{rubric.criteria[0].id}": "excellent"}),
            400,
            "no level &#x27;excellent&#x27;",
        ),
        "non-numeric overall": (form(**{"level-overall": "NaN"}), 400, "choose an overall level"),
        "comment over 1 MB": (
            form(**{f"comment-{rubric.criteria[0].id}": too_long}),
            400,
            f"the comment on {name} is 1,048,577 characters long, and a comment can have at "
            "most 1,048,576",
        ),
        "lone surrogate": (form() + b"&overall=%ED%A0%80", 400, "is not UTF-8 text"),
        "huge body": (
            form(overall="y" * (17 * 2**20)),
            413,
            "a mark's form is at most 16 MB. Nothing was recorded.",
        ),
        "unknown script": (
            form(script="S-DEADBEEF"),
            400,
            "there is no script &#x27;S-DEADBEEF&#x27; in reflective-essay",
        ),
    }
    before = history(course)
    for case, (body, status, reason) in cases.items():
        got, page = post_form(base, token, body)
        assert got == status, (case, got, page[-2000:])
        assert reason in page, (case, page[-2000:])
        assert "Traceback" not in page
    # The comment over 1 MB is refused, not lost: it is back in its box (escaped) to shorten.
    _, page = post_form(base, token, form(**{f"comment-{rubric.criteria[0].id}": too_long}))
    assert f">{html.escape(too_long)}</textarea>" in page

    # Another marker's script: no post, no page, and never the script's text.
    got, page = post_form(base, hub.token("tutor2"), form())
    assert got == 403 and "is not allocated to &#x27;tutor2&#x27;" in page, page[-2000:]
    got, page = http("GET", f"{base}/{script}", token=hub.token("tutor2"))
    assert got == 403, page
    assert "is not allocated to &#x27;tutor2&#x27;" in page
    assert "her son" not in page and "ward round" not in page
    for path, status in (
        (f"{base}/S-DEADBEEF", 404),
        (f"{base}?saved=S-DEADBEEF", 200),  # the notice after saving, for an id typed by hand
        (f"{base}?saved=%FF", 400),
    ):
        got, page = http("GET", path, token=token)
        assert got == status, (path, page)
    assert history(course) == before  # nothing was recorded

    # Markup in a comment is stored as written and shown escaped when the script is opened again.
    got, page = post_form(base, token, form(**{f"comment-{rubric.criteria[0].id}": MARKUP}))
    assert got == 200 and f"Saved your mark for {script}" in page, page[-2000:]
    with MarkingBook(course.root / "marking.sqlite") as book:
        assert book.marks(ASSIGNMENT)[script]["first"].comments == {rubric.criteria[0].id: MARKUP}
    got, page = http("GET", f"{base}/{script}", token=token)
    assert got == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<script>alert" not in page and "<img src=x" not in page
    # A 1 MB paste (markup in it) is kept whole when the mark is changed, and shown escaped.
    got, page = post_form(base, token, form(**{f"comment-{rubric.criteria[0].id}": megabyte}))
    assert got == 200 and f"Saved your changed mark for {script}" in page, page[-2000:]
    with MarkingBook(course.root / "marking.sqlite") as book:
        kept = book.marks(ASSIGNMENT)[script]["first"].comments
    assert kept == {rubric.criteria[0].id: megabyte}
    got, page = http("GET", f"{base}/{script}", token=token)
    assert got == 200 and html.escape(megabyte) in page and "<script>alert" not in page
    # Another marker never sees that mark, not even through the notice after saving.
    got, page = http("GET", f"{base}?saved={script}", token=hub.token("tutor2"))
    assert got == 200 and "Saved" not in page and "alert(1)" not in page, page
