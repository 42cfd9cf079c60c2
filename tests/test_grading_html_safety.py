"""A learner's essay and a marker's comment full of HTML, through real nbgrader into real Chromium.

The course folder is a copy of assignments/ with its own nbgrader_config.py. Two submissions are
placed in submitted/ by hand (as docs/grading.md allows): ``hostile`` (script tags, an image with an
onerror handler, a javascript: link, a Mermaid block, a raw cell, and a code cell that displays HTML
and JavaScript) and ``quiet``. nbgrader autogrades them; a tutor's comment with a script goes into the
gradebook; then ``nbgrader generate_feedback`` and nbgrader's own formgrader (a Jupyter server in the
course folder) render them. In every page no dialog opens and the injected text reads as text.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import COURSEWARE, VENV_BIN, run_courseware, run_program
from playwright.sync_api import Page, expect

from conftest import FIXTURES, REPO, free_port

sys.path.insert(0, str(FIXTURES / "grading"))
from cohort import ESSAY, SCRIPTS, _cell, _edit_notebook, _write_submission

ESSAY_TEXT = (
    "<script>alert(1)</script> <img src=x onerror=alert(2)> "
    "[my notes](javascript:alert(3))\n\n"
    "On my first ward round a patient asked me whether she was dying. I froze.\n\n"
    "```mermaid\n<img src=y onerror=alert(4)>\n```\n"
)
RAW_CELL = "<script>alert(5)</script>raw words"
CODE_CELL = (
    "from IPython.display import HTML, Javascript, display\n"
    "display(HTML('<b>bold</b><img src=z onerror=alert(6)>'))\n"
    "display(Javascript('alert(7)'))\n"
)
COMMENT = "<script>alert(8)</script>Honest; say more about <b>what next</b>."
VISIBLE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    "<script>alert(8)</script>",
]


@dataclass
class Graded:
    course: Path
    env: dict[str, str]
    feedback_log: str


def nbgrader(course: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_program(VENV_BIN / "nbgrader", *args, cwd=course, env=env)


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    course = tmp_path_factory.mktemp("safety") / "course"
    shutil.copytree(REPO / "assignments", course)
    home = course.parent / "home"
    home.mkdir()
    env = {
        "PATH": f"{VENV_BIN}{os.pathsep}/usr/bin:/bin",
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
        # a worktree run (PYTHONPATH=$PWD) grades with the worktree's code
        **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"},
    }
    nbgrader(course, env, "generate_assignment", ESSAY)
    release = course / "release" / ESSAY

    def hostile(nb: dict[str, object]) -> None:
        cells = nb["cells"]
        assert isinstance(cells, list)
        _cell(nb, "essay").update(source=ESSAY_TEXT)
        cells.append({"cell_type": "raw", "metadata": {}, "source": RAW_CELL})
        cells.append(
            {
                "cell_type": "code",
                "metadata": {},
                "source": CODE_CELL,
                "outputs": [],
                "execution_count": None,
            }
        )

    for student in ("hostile", "quiet"):
        _write_submission(course / "submitted" / student / ESSAY, release)
    _edit_notebook(course / "submitted" / "hostile" / ESSAY / f"{ESSAY}.ipynb", hostile)
    _edit_notebook(
        course / "submitted" / "quiet" / ESSAY / f"{ESSAY}.ipynb",
        lambda nb: _cell(nb, "essay").update(source="A quiet essay about listening."),
    )
    nbgrader(course, env, "autograde", ESSAY)

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        grade = gb.find_grade("essay", ESSAY, ESSAY, "hostile")
        grade.manual_score = 12
        grade.needs_manual_grade = False  # as the formgrader does when a score is typed
        gb.find_comment("essay", ESSAY, ESSAY, "hostile").manual_comment = COMMENT
        gb.db.commit()
    done = nbgrader(course, env, "generate_feedback", ESSAY)
    return Graded(course, env, done.stdout + done.stderr)


def assert_inert_and_readable(page: Page, dialogs: list[str]) -> None:
    """No dialog opened, no injected script or handler is live, and the injected text shows."""
    page.wait_for_timeout(500)  # a handler on a broken image fires as the page loads
    assert dialogs == []
    live = page.evaluate(
        """() => ({
            scripts: [...document.scripts].filter(s => s.textContent.includes('alert(')).length,
            handlers: document.querySelectorAll('[onerror], [onload], [onclick]').length,
            links: [...document.links].filter(a => a.href.startsWith('javascript:')).length,
        })"""
    )
    assert live == {"scripts": 0, "handlers": 0, "links": 0}
    text = page.locator("body").inner_text()
    for shown in VISIBLE:
        assert shown in text, shown


def watch_dialogs(page: Page) -> list[str]:
    dialogs: list[str] = []

    def record(dialog: object) -> None:
        dialogs.append(dialog.message)  # type: ignore[attr-defined]
        dialog.dismiss()  # type: ignore[attr-defined]

    page.on("dialog", record)
    return dialogs


@pytest.mark.browser
def test_feedback_shows_learner_and_marker_html_as_text(graded: Graded, page: Page) -> None:
    dialogs = watch_dialogs(page)
    html_file = graded.course / "feedback" / "hostile" / ESSAY / f"{ESSAY}.html"
    page.goto(html_file.as_uri())
    assert_inert_and_readable(page, dialogs)
    text = page.locator("body").inner_text()
    assert "raw words" in text and "<script>alert(5)</script>" in text  # the raw cell, as text
    assert "bold" in text and "<img src=z onerror=alert(6)>" in text  # HTML output: tags shown
    expect(page.locator("b", has_text="what next")).to_have_count(0)


def test_feedback_before_marking_warns_and_names_the_students(graded: Graded) -> None:
    log = graded.feedback_log
    assert "feedback for student quiet" in log and "essay not marked yet" in log, log
    assert "feedback for student hostile" not in log
    quiet = (graded.course / "feedback" / "quiet" / ESSAY / f"{ESSAY}.html").read_text()
    assert "Not marked yet:" in quiet
    hostile = (graded.course / "feedback" / "hostile" / ESSAY / f"{ESSAY}.html").read_text()
    assert "Not marked yet:" not in hostile


def test_release_feedback_passes_over_hand_placed_submissions(graded: Graded) -> None:
    """The docs allow placing submissions by hand; nbgrader's release_feedback then crashed."""
    done = nbgrader(graded.course, graded.env, "release_feedback", ESSAY)
    log = done.stdout + done.stderr
    assert "Traceback" not in log
    for student in ("hostile", "quiet"):
        assert f"feedback for student {student} not released" in log, log
    assert (graded.course / "exchange").is_dir()  # the course's own exchange, not /srv


@pytest.fixture(scope="module")
def formgrader(graded: Graded) -> Iterator[str]:
    """nbgrader's formgrader in a Jupyter server run from the course folder, as a tutor runs it."""
    port = free_port()
    token = "safety-test-token"
    log = (graded.course.parent / "formgrader.log").open("w")
    server = subprocess.Popen(
        [
            str(VENV_BIN / "jupyter"),
            "server",
            "--no-browser",
            "--allow-root",
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
        ],
        cwd=graded.course,
        env=graded.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=30):
                break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError(f"jupyter server did not start: {log.name}") from None
            time.sleep(0.3)
    yield f"{url}|{token}"
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


@pytest.mark.browser
def test_formgrader_view_shows_learner_html_as_text(
    graded: Graded, formgrader: str, page: Page
) -> None:
    from nbgrader.api import Gradebook

    url, token = formgrader.split("|")
    with Gradebook(f"sqlite:///{graded.course / 'gradebook.db'}") as gb:
        submission = gb.find_submission_notebook(ESSAY, ESSAY, "hostile").id
    dialogs = watch_dialogs(page)
    page.goto(f"{url}/login?next=/formgrader/submissions/{submission}/")
    page.get_by_label("Password or token").fill(token)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.locator("input.score#essay")).to_be_visible(timeout=60_000)
    # nbgrader's own page still works: the comment box holds the marker's text, as text.
    expect(page.locator("textarea#essay-comment")).to_have_value(COMMENT, timeout=60_000)
    assert dialogs == []
    text = page.locator("body").inner_text()
    for shown in VISIBLE[:2]:
        assert shown in text, shown
    assert "<script>alert(5)</script>" in text
    live = page.evaluate(
        "() => [...document.scripts].filter(s => s.textContent.includes('alert(')).length"
        " + document.querySelectorAll('[onerror]').length"
    )
    assert live == 0


def test_failure_reasons_name_the_cell_and_are_given_once(graded: Graded) -> None:
    """A cell that kills its kernel is named; a file that is not JSON is reported once."""
    course, release = graded.course, graded.course / "release" / ESSAY
    for student in ("dies", "notjson"):
        _write_submission(course / "submitted" / student / ESSAY, release)
    kill = {
        "cell_type": "code",
        "metadata": {},
        "source": "import os\nos.kill(os.getpid(), 9)",
        "outputs": [],
        "execution_count": None,
    }
    _edit_notebook(
        course / "submitted" / "dies" / ESSAY / f"{ESSAY}.ipynb",
        lambda nb: nb["cells"].append(kill),
    )
    cells = len(json.loads((release / f"{ESSAY}.ipynb").read_text())["cells"])
    (course / "submitted" / "notjson" / ESSAY / f"{ESSAY}.ipynb").write_text("{not json")
    run_courseware(
        "grade",
        "autograde",
        ESSAY,
        "--quiet",
        "--student",
        "dies",
        "--student",
        "notjson",
        "--json",
        "report.json",
        cwd=course,
        env=graded.env,
        timeout=600,
    )
    report = {r["student"]: r for r in json.loads((course / "report.json").read_text())["results"]}
    assert report["dies"]["status"] == "failed"
    assert report["dies"]["problems"] == [
        f"the kernel died while running {ESSAY}.ipynb cell {cells + 1} "
        "(that cell ended or crashed it)"
    ]
    assert report["notjson"]["status"] == "failed"
    (reason,) = report["notjson"]["problems"]
    assert "is not a notebook" in reason and "JSONDecodeError" in reason


def run_on_a_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """Run a command with its stderr on a pseudo-terminal; return its exit status and stderr."""
    import pty

    leader, follower = pty.openpty()
    done = subprocess.run(
        args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=follower, timeout=300
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal is closed and drained
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return done.returncode, b"".join(chunks).decode(errors="replace")


def test_long_grade_steps_show_a_bar_on_a_terminal_only(graded: Graded, tmp_path: Path) -> None:
    course, env = graded.course, graded.env
    command = [*COURSEWARE, "grade"]
    steps = {
        "scripts": [*command, *SCRIPTS],
        "registry": [*command, "export", ESSAY, "--registry", str(tmp_path / "r.csv")],
        "research": [*command, "export", ESSAY, "--research", str(tmp_path / "p.csv")],
    }
    for label, args in steps.items():
        status, shown = run_on_a_terminal(args, course, env)
        assert status == 0, shown
        assert re.search(rf"{label} \[#{{30}}\] (\d+)/\1", shown), (label, shown)
        status, quiet = run_on_a_terminal([*args, "--quiet"], course, env)
        assert status == 0 and "[#" not in quiet, quiet
        piped = run_program(*args, cwd=course, env=env, expect_ok=False)
        assert piped.returncode == 0 and "[#" not in piped.stderr, piped.stderr


def test_examiner_pack_shows_each_script_as_written(graded: Graded, tmp_path: Path) -> None:
    """The pack's scripts are Markdown: a viewer that passes HTML through still shows the essay's
    markup as text (a code block), not as live HTML."""
    import mistune

    from courseware.grading._rubric import load_rubric

    course, env = graded.course, graded.env

    def grade(*args: str) -> str:
        return run_courseware("grade", *args, cwd=course, env=env, timeout=120).stdout

    rubric = load_rubric(course / "rubrics" / "reflect.yaml")
    levels = [arg for c in rubric.criteria for arg in ("--level", f"{c.id}={c.levels[1].id}")]
    levels += ["--level", "overall=thoughtful"]

    def mark_all(marker: str) -> None:
        for line in grade("queue", ESSAY, "--marker", marker).splitlines():
            script = line.split()[0]
            grade("mark", ESSAY, "--marker", marker, "--script", script, *levels)

    grade(*SCRIPTS)
    grade("allocate", ESSAY, "--role", "first", "--markers", "alice")
    mark_all("alice")
    grade("allocate", ESSAY, "--role", "second", "--markers", "bob", "--all")
    mark_all("bob")
    grade("examiner-pack", ESSAY, "--out", str(tmp_path / "pack"))
    texts = [p.read_text() for p in (tmp_path / "pack" / "scripts").glob("S-*.md")]
    (hostile,) = [t for t in texts if "alert(1)" in t]
    assert ESSAY_TEXT in hostile  # exactly as written
    rendered = str(mistune.html(hostile))
    assert "<script" not in rendered and "<img" not in rendered and "<a " not in rendered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered
