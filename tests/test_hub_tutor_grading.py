"""Tutors grade in the browser on the hub: nbgrader's formgrader and the courseware marking view.

One real JupyterHub (deploy/jupyterhub_config.py with test identities), configurable-http-proxy,
the courseware service on PostgreSQL, and course101's formgrader as a hub service run by its grader
account (nbgrader's multi-course layout). The hub-wide nbgrader config (deploy/nbgrader_config.py,
with ``JupyterHubAuthPlugin``) is read by the learner's server and by the formgrader, as
/etc/jupyter/nbgrader_config.py would be. A learner submits through nbgrader's exchange; the
instructor collects and autogrades with nbgrader's command line; the tutor works in Debian's
Chromium signed in at the hub.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from browser_helpers import describe
from fixtures.hub.hubtest import Hub, http
from helpers import wait_until
from playwright.sync_api import Page, expect

from courseware.grading._marking import MarkingBook
from courseware.grading._marking_records import Script
from courseware.grading._rubric import load_rubric

from conftest import REPO

pytestmark = pytest.mark.hub

ASSIGNMENT = "reflective-essay"
COURSE = "course101"
BIN = Path(sys.executable).parent
ESSAY = (
    "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">\n"
    "On my first ward round a patient asked me whether she was dying. I froze, then said the "
    "registrar would be along soon. =1+1 I felt ashamed of that answer, and this essay is about "
    "what I would say now."
)


def nbgrader(course_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(course_dir)}
    return subprocess.run(
        [str(BIN / "nbgrader"), *args],
        cwd=course_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@dataclass
class Setup:
    hub: Hub
    course: Path
    exchange: Path


def course_folder(root: Path) -> tuple[Path, Path, Path]:
    """assignments/ copied as course101 under ``root``, the essay generated: (the course folder,
    its exchange, the folder holding the hub-wide nbgrader_config.py)."""
    exchange = root / "exchange"
    exchange.mkdir()
    exchange.chmod(0o777)
    hub_wide = root / "etc-jupyter"
    hub_wide.mkdir()
    shutil.copy(REPO / "deploy" / "nbgrader_config.py", hub_wide / "nbgrader_config.py")
    course = root / "courses" / COURSE
    shutil.copytree(REPO / "assignments", course)
    config = course / "nbgrader_config.py"
    config.write_text(
        config.read_text().replace('course_id = "clinical-empathy"', f"course_id = {COURSE!r}")
        + f"c.Exchange.root = {str(exchange)!r}\n"
    )
    done = nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    assert done.returncode == 0, done.stderr[-3000:]
    return course, exchange, hub_wide


@pytest.fixture(scope="module")
def setup(postgres: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("tutor-hub")
    course, exchange, hub_wide = course_folder(root)
    done = nbgrader(course, "release_assignment", ASSIGNMENT)
    assert done.returncode == 0, done.stderr[-3000:]
    hub = Hub(
        root / "hub",
        database_url=postgres.create_database(f"tutor_grading_{uuid.uuid4().hex[:8]}"),
        groups={
            f"nbgrader-{COURSE}": ["stu"],
            f"formgrade-{COURSE}": ["tutor", "tutor2"],
            "formgrade-course202": ["other-tutor"],
        },
        courses=[COURSE, "course202"],
        formgraders={COURSE: course},
        env={"COURSEWARE_TEST_JUPYTER_CONFIG": str(hub_wide), "NBGRADER_EXCHANGE": str(exchange)},
    ).start()
    try:
        yield Setup(hub, course, exchange)
    finally:
        hub.stop()


def test_formgrader_lists_the_courses_assignments(setup: Setup) -> None:
    """The formgrader's own API, as its Manage Assignments page calls it, through the hub."""
    hub = setup.hub
    hub.ensure_user("tutor")
    status, answer = http(
        "GET", f"{hub.url}/services/{COURSE}/formgrader/api/assignments", token=hub.token("tutor")
    )
    assert status == 200, answer
    (found,) = [a for a in answer if a["name"] == ASSIGNMENT]
    assert found["status"] == "released"


LEARNER_SUBMITS = """
import json, os, subprocess
home = os.environ['HOME']
def nbgrader(*args):
    done = subprocess.run(['nbgrader', *args], cwd=home, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
nbgrader('fetch_assignment', '--course', {course!r}, {assignment!r})
path = os.path.join(home, {course!r}, {assignment!r}, {assignment!r} + '.ipynb')
with open(path) as f:
    nb = json.load(f)
for cell in nb['cells']:
    if cell['metadata'].get('nbgrader', {{}}).get('grade_id') == 'essay':
        cell['source'] = {essay!r}
with open(path, 'w') as f:
    json.dump(nb, f)
nbgrader('submit', '--course', {course!r}, {assignment!r})
print('submitted')
"""


@pytest.fixture(scope="module")
def submitted(setup: Setup) -> str:
    """The learner fetches, writes and submits through the exchange; the instructor collects
    and autogrades. Returns the student id nbgrader filed the submission under."""
    hub, course = setup.hub, setup.course
    hub.spawn("stu")
    kernel = hub.kernel("stu")
    try:
        out = kernel.execute(
            LEARNER_SUBMITS.format(course=COURSE, assignment=ASSIGNMENT, essay=ESSAY)
        )
    finally:
        kernel.close()
    assert out.strip() == "submitted"
    for step in ("collect", "autograde"):
        done = nbgrader(course, step, ASSIGNMENT)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (student,) = [p.name for p in (course / "autograded").iterdir()]
    return student


def courseware_grade(course: Path, *args: str) -> None:
    done = subprocess.run(
        [str(BIN / "courseware"), "grade", *args],
        cwd=course,
        env={
            "PATH": f"{BIN}:/usr/bin:/bin",
            "HOME": str(course),
            **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"},  # a worktree run
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def allocate(setup: Setup, submitted: str) -> Callable[[], Script]:
    """Prepare the anonymous essay scripts and give them to ``tutor`` (idempotent)."""

    def run() -> Script:
        courseware_grade(
            setup.course,
            "scripts",
            ASSIGNMENT,
            "--rubric",
            "reflect",
            "--cell",
            "essay",
            "--course-file",
            str(REPO / "courses" / "creative-medicine-cpd.yaml"),  # pass at reflection, 50%
        )
        courseware_grade(
            setup.course, "allocate", ASSIGNMENT, "--role", "first", "--markers", "tutor"
        )
        with MarkingBook(setup.course / "marking.sqlite") as book:
            (script,) = book.scripts(ASSIGNMENT)
        return script

    return run


def sign_in(page: Page, hub: Hub, user: str) -> None:
    page.goto(f"{hub.url}/hub/login")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(hub.env["COURSEWARE_TEST_PASSWORD"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/(hub/home|hub/spawn.*|user/.*)$"))


def manual_score(course: Path, student: str) -> float | None:
    """The essay cell's manual score in the course's gradebook, read with nbgrader's API."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE) as gb:
        score = gb.find_grade("essay", ASSIGNMENT, ASSIGNMENT, student).manual_score
    return None if score is None else float(score)


@pytest.mark.browser
@pytest.mark.timeout(600)
def test_tutor_grades_in_the_formgrader_and_marks_against_the_rubric(
    setup: Setup, submitted: str, allocate: Callable[[], Script], page: Page
) -> None:
    hub, course = setup.hub, setup.course
    hub.ensure_user("tutor")
    sign_in(page, hub, "tutor")

    # nbgrader's formgrader through the hub: the collected, autograded submission is listed.
    service = f"{hub.url}/services/{COURSE}"
    page.goto(f"{service}/formgrader/manage_submissions/{ASSIGNMENT}")
    expect(page.locator("#main-table")).to_contain_text(submitted, timeout=60_000)
    expect(page.locator("#main-table")).to_contain_text("needs manual grading")

    # Manual grading of the essay cell in nbgrader's own page reaches the gradebook.
    page.goto(f"{service}/formgrader/gradebook/{ASSIGNMENT}/{ASSIGNMENT}")
    page.get_by_role("link", name="Submission #1").click()
    score = page.locator("input.score#essay")
    expect(score).to_be_visible(timeout=60_000)
    # The learner's markup is shown as text in nbgrader's page (served by the tutor's server).
    expect(page.locator("body")).to_contain_text("<script>document.title='pwned'</script>")
    expect(page.locator("body")).to_contain_text("<img src=x onerror=")
    assert page.locator("img[onerror]").count() == 0
    assert page.title() != "pwned"
    # nbgrader binds the score boxes once it has loaded the submission's grades.
    page.wait_for_function(
        "() => window.formgrader && formgrader.grades && formgrader.grades.loaded"
    )
    with page.expect_response(
        lambda r: "/formgrader/api/grade/" in r.url and r.request.method == "PUT"
    ) as saving:
        score.fill("12")
        score.press("Tab")
    assert saving.value.ok, saving.value.status
    wait_until(lambda: manual_score(course, submitted) == 12.0, "the manual score in gradebook.db")

    # The course lead prepares anonymous scripts and allocates them (courseware grade).
    script = allocate()
    # The service's landing page is the marking view; it links to the formgrader and back.
    # A tutor finds it in the hub's Services menu.
    page.goto(f"{hub.url}/hub/home")
    page.get_by_role("button", name="Services").click()
    page.get_by_role("link", name=COURSE, exact=True).click()
    page.wait_for_url(re.compile(re.escape(f"{service}/marking/") + r"\??$"))
    expect(page.get_by_role("heading", name="Rubric marking")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("nbgrader formgrader"))).to_have_attribute(
        "href", f"/services/{COURSE}/formgrader"
    )
    page.get_by_role("link", name=ASSIGNMENT).click()
    expect(page.get_by_role("heading", name=f"Script {script.script}")).to_be_visible()
    body = page.content()
    assert submitted not in page.inner_text("main")  # blind: the script id only
    # The learner's hostile markup is shown as text, never run.
    expect(page.locator(".script")).to_contain_text("<script>document.title='pwned'</script>")
    assert page.locator(".script img, .script script").count() == 0
    assert page.title() == f"Marking {ASSIGNMENT}"
    assert "&lt;script&gt;" in body

    violations = Axe().run(page).response["violations"]
    assert not violations, describe(violations)

    # Keyboard only: each criterion is a labelled radio group in a fieldset.
    rubric = load_rubric(course / "rubrics" / "reflect.yaml")
    first = page.get_by_role("group", name=rubric.criteria[0].name)
    expect(first.get_by_role("radio")).to_have_count(len(rubric.criteria[0].levels))
    first.get_by_role("radio").first.focus()
    for number, criterion in enumerate(rubric.criteria):
        group = page.get_by_role("group", name=criterion.name)
        if number:
            page.keyboard.press("Tab")  # from the last comment box into the next group
        page.keyboard.press("ArrowRight")  # the second level
        expect(group.get_by_role("radio").nth(1)).to_be_checked()
        expect(group.get_by_role("radio").nth(1)).to_be_focused()
        page.keyboard.press("Tab")
        expect(page.get_by_label(f"Comment on {criterion.name} (optional)")).to_be_focused()
        page.keyboard.type("<b>ok</b> & fine" if number == 0 else "")
    # the overall level, a labelled group too: thoughtful action, as the criteria support
    overall = page.get_by_role("group", name=re.compile("^Overall level"))
    expect(overall.get_by_role("radio")).to_have_count(4)
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowRight")
    expect(overall.get_by_role("radio").nth(1)).to_be_checked()
    # learning is judged only within critical reflection: left unchosen
    learning = page.get_by_role("group", name=re.compile("^Learning"))
    expect(learning.get_by_role("radio")).to_have_count(2)
    page.keyboard.press("Tab")
    expect(learning.get_by_role("radio").first).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Overall comment")).to_be_focused()
    page.keyboard.type("Honest about the moment; say more about what you would do next time.")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text(f"Saved your mark for {script.script}")
    expect(page.get_by_text("Nothing left to mark")).to_be_visible()
    violations = Axe().run(page).response["violations"]
    assert not violations, describe(violations)

    with MarkingBook(course / "marking.sqlite") as book:
        mark = book.marks(ASSIGNMENT)[script.script]["first"]
    assert mark.marker == "tutor"  # the hub user who made the request
    assert mark.levels == {c.id: c.levels[1].id for c in rubric.criteria}
    assert (mark.overall, mark.learning) == ("thoughtful", None)
    assert mark.comments == {rubric.criteria[0].id: "<b>ok</b> & fine"}
    assert mark.comment.startswith("Honest about the moment")

    # A post riding on the tutor's cookie without the XSRF token is refused, and records nothing.
    forged = page.request.post(
        f"{service}/marking/{ASSIGNMENT}",
        form={
            "script": script.script,
            **{f"level-{c.id}": c.levels[0].id for c in rubric.criteria},
        },
        max_redirects=0,
    )
    assert forged.status == 403, forged.text()
    with MarkingBook(course / "marking.sqlite") as book:
        assert book.marks(ASSIGNMENT)[script.script]["first"] == mark

    # Moderation and the write-back to the gradebook work from the browser's mark.
    courseware_grade(course, "moderate", ASSIGNMENT, "--write")
    # thoughtful action is below the MSc module's pass level: 6.5 of 20, under the 50% pass mark
    assert manual_score(course, submitted) == mark.total == 6.5

    # Feedback shows the essay and the marker's comment as text; nothing in them runs.
    done = nbgrader(course, "generate_feedback", ASSIGNMENT)
    assert done.returncode == 0, done.stderr[-3000:]
    page.goto((course / "feedback" / submitted / ASSIGNMENT / f"{ASSIGNMENT}.html").as_uri())
    expect(page.locator("body")).to_contain_text("<script>document.title='pwned'</script>")
    expect(page.locator("body")).to_contain_text("<b>ok</b> & fine")
    assert page.locator("img[onerror]").count() == 0
    assert page.title() != "pwned"


def post_form(url: str, token: str, body: bytes) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Authorization", f"token {token}")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_malformed_or_unallocated_marks_get_a_clear_4xx(
    setup: Setup, allocate: Callable[[], Script]
) -> None:
    hub, course = setup.hub, setup.course
    script = allocate()
    rubric = load_rubric(course / "rubrics" / "reflect.yaml")
    levels = {f"level-{c.id}": c.levels[0].id for c in rubric.criteria}
    url = f"{hub.url}/services/{COURSE}/marking/{ASSIGNMENT}"
    for user in ("tutor", "tutor2"):
        hub.ensure_user(user)
    token = hub.token("tutor")
    with MarkingBook(course / "marking.sqlite") as book:
        before = book.marks(ASSIGNMENT)

    def form(**fields: str) -> bytes:
        return urllib.parse.urlencode(fields).encode()

    cases: dict[str, tuple[bytes, int, str]] = {
        "no script": (form(**levels), 400, "the form names no script"),
        "unknown script": (
            form(script="S-NOPE", **levels),
            400,
            "there is no script &#x27;S-NOPE&#x27; in reflective-essay",
        ),
        "missing level": (
            form(script=script.script, **dict(list(levels.items())[1:])),
            400,
            f"choose a level for {rubric.criteria[0].name}",
        ),
        "unknown level": (
            form(script=script.script, **{**levels, f"level-{rubric.criteria[0].id}": "top"}),
            400,
            f"{rubric.criteria[0].id}: no level &#x27;top&#x27;",
        ),
        "unknown criterion": (
            form(script=script.script, **levels, **{"level-charm": "high"}),
            400,
            "unknown: [&#x27;charm&#x27;]",
        ),
        "field twice": (
            form(script=script.script, **levels) + b"&overall=a&overall=b",
            400,
            "the field &#x27;overall&#x27; was sent 2 times",
        ),
        "not UTF-8": (
            form(script=script.script, **levels) + b"&overall=%ff%fe",
            400,
            "",
        ),
    }
    for name, (body, status, reason) in cases.items():
        got, page = post_form(url, token, body)
        assert got == status, (name, got, page[-2000:])
        assert reason in page, (name, page[-2000:])
    # A colleague in the same course cannot mark a script allocated to someone else.
    got, page = post_form(url, hub.token("tutor2"), form(script=script.script, **levels))
    assert got == 403 and "is not allocated to &#x27;tutor2&#x27;" in page, page[-2000:]
    got, _ = http("GET", f"{hub.url}/services/{COURSE}/marking/no-such-assignment", token=token)
    assert got == 404
    with MarkingBook(course / "marking.sqlite") as book:
        assert book.marks(ASSIGNMENT) == before  # nothing was recorded


def test_tutor_of_another_course_is_refused(setup: Setup) -> None:
    hub = setup.hub
    hub.ensure_user("other-tutor")
    token = hub.token("other-tutor")
    for path in ("formgrader", "formgrader/api/assignments", "marking/", f"marking/{ASSIGNMENT}"):
        status, _ = http("GET", f"{hub.url}/services/{COURSE}/{path}", token=token)
        assert status == 403, path
    status, _ = http("GET", f"{hub.url}/services/{COURSE}/marking/", token=hub.token("tutor"))
    assert status == 200
